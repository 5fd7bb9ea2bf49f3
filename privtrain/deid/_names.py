"""Names found by vocabulary and shape: a known given name opening a run of capitalised words.

:class:`VocabNameRecognizer` (entity ``PERSON``) finds

- "First [Middle|Initial] [particles] Last" in title case or capitals ("Csanád Kovács",
  "Job van den Bosch", "María Cristina M. Calzada", "HEINRICH WEIHMANN"), and
- "Last, First [Middle]" ("Dupont, Célina", "da Cunha, Emanuelly", "STECKEL, KAZIM"),

when the given name is in the shipped vocabulary (1990 US Census given names plus WIPO's
World Gender-Name Dictionary 2.0: :func:`privtrain.deid._vocab.world_given_names`). The
other words must be capitalised and must not be stop words, street or organisation words,
months or titles; a run that names a sign, disease or drug (an eponym, a medical phrase) is
not a name. The English NER model misses most such names when they come from other locales,
are written in capitals or stand where it expects no name. It also takes a run of Cyrillic,
Greek, Hebrew, Armenian or Georgian words right after a title, label or kinship word
("Dr. Анна Кузнецова") for a name.

:class:`AddressBlockRecognizer` (``PERSON`` and ``STREET_ADDRESS``) reads an address block:
a name alone on its line and, right under it, a street line with a house number
("Åbjørn Simonsen" / "Kæragergade 57").
"""

from __future__ import annotations

import re
import unicodedata

from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS

from privtrain.deid._clinical import eponym, is_medical_phrase
from privtrain.deid._recognizers import (
    _CAPS_TOKEN,
    _KIN,
    _LABELS,
    _NAME_TOKEN,
    _NOT_NAMES,
    _ORG_WORDS,
    _STATE_NAMES,
    _SUFFIXES,
    _TITLES,
    _LocalRecognizer,
    _result,
)
from privtrain.deid._vocab import given_names, medical_terms, surnames, world_given_names

_PARTICLES = (
    r"(?:van|von|de|da|di|del|della|dei|degli|dos|das|du|le|la|bin|ibn|ben|al|el|ter|ten|der|"
    r"den|die|het|uit|op|zu|af|av|y|e|i)"
)
_TOKEN = rf"(?:{_NAME_TOKEN}|{_CAPS_TOKEN})"
_INIT = r"[A-Z]\.(?![\w])"
_GAP = rf"[ \t]+(?:{_PARTICLES}[ \t]+)*"
# First [Middle|Initial]{0,2} Last: given name first, then one to three more words
_FIRST_LAST = re.compile(
    rf"(?<![\w'’\-.@])(?P<g>{_TOKEN})(?P<rest>(?:[ \t]+(?:{_TOKEN}|{_INIT})){{0,2}}?{_GAP}{_TOKEN})"
    rf"(?![\w'’@])"
)
# Last, First [Middle]: the given name after the comma
_LAST_FIRST = re.compile(
    rf"(?<![\w'’\-.@])(?P<l>(?:{_PARTICLES}[ \t]+)*{_TOKEN}(?:[ \t\-]+{_TOKEN})?),[ \t]+"
    rf"(?P<g>{_TOKEN})(?P<rest>(?:[ \t]+(?:{_TOKEN}|{_INIT}))?)(?![\w'’@])"
)
_NEXT_WORD = re.compile(rf"{_GAP}(?P<w>{_TOKEN}|{_INIT})(?![\w'’@])")
# identifier labels written in capitals after a name ("SMITH, JOHN SSN ...")
_LABEL_ACRONYMS = frozenset(
    "ssn dob mrn nino ni nhs id dl tel fax bp hr rr pt md rn do dod doa npi dea vin".split()
)
# a name in Cyrillic, Greek, Hebrew, Armenian or Georgian script right after a title, a label
# or a kinship word ("Dr. Анна Кузнецова", "Signed: Ольга Смирнова", "wife Γιώργος ...")
_SCRIPT_WORD = (
    r"[\u0370-\u03ff\u1f00-\u1fff\u0400-\u04ff\u0590-\u05ff\u0530-\u058f\u10a0-\u10ff]{2,}"
)
_SCRIPT_AFTER_CUE = re.compile(
    rf"\b(?:(?:{_TITLES})\.?|(?i:{_LABELS}|{_KIN})[ \t]*[:\-,]?)[ \t]+"
    rf"(?P<name>{_SCRIPT_WORD}(?:[ \t]+{_SCRIPT_WORD}){{0,2}})"
)
_WORDS = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
# hand-written: capitalised words that open or continue non-name phrases
_NOT_NAME_WORDS = frozenset(
    """herr frau santa san saint st mount lake north south east west new port fort grand
    upper lower great little old county city state university hospital clinic ward unit
    room street road avenue lane drive court place square park bridge station airport
    center centre tower house hall building church school college institute department
    dept avenida rua calle via viale piazza platz strasse straße rue chemin boulevard
    allee weg gasse plaza paseo camino carrera ticket payroll fax appointment discharge
    summary background vaccination employee spoke called met seen signed regards thanks
    dear hello hi hey mr mrs ms miss mx dr prof professor doctor nurse sister brother
    sr sra srta sig dott dra mme mlle dhr mevr pan pani don doña dña rev pt patient nr no
    reg lic licence license cert serial plate
    aleea aleja ulica utca strada calea bulevardul drumul soseaua rua travessa largo
    vicolo corso contrada via straat laan plein gade vej vägen gatan tie katu""".split()
)
_MONTHS_DAYS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday
    friday saturday sunday""".split()
)
_STREET = frozenset(w.lower().rstrip("?") for w in _SUFFIXES.split())
_STATES = frozenset(s.replace("[ \\t]+", " ").lower() for s in _STATE_NAMES.split("|"))


def fold(w: str) -> str:
    """``w`` without its combining marks ("ștefan" -> "stefan", "márta" -> "marta")."""
    if w.isascii():
        return w
    return "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))


def known_given(w: str, vocab: frozenset[str]) -> bool:
    """``w`` (lower case) is a given name: as written, without diacritics, or its first part
    ("lise-lotte")."""
    return w in vocab or fold(w) in vocab or ("-" in w and w.split("-", 1)[0] in vocab)


def _bad_word(w: str) -> bool:
    lw = w.lower().rstrip(".")
    return (
        lw in STOP_WORDS
        or lw in _NOT_NAMES
        or lw in _NOT_NAME_WORDS
        or lw in _ORG_WORDS
        or lw in _MONTHS_DAYS
        or lw in _STREET
        or lw in _STATES
    )


class VocabNameRecognizer(_LocalRecognizer):
    """Names that open with a known given name (entity ``PERSON``)."""

    ENTITIES = ("PERSON",)
    SCORE = 0.86  # above the NER model's 0.85: a same-span NER guess is the duplicate

    def __init__(self) -> None:
        super().__init__()
        self._given = given_names() | world_given_names()
        self._medical = medical_terms()
        self._surnames = surnames()

    def _given_ok(self, w: str) -> bool:
        return known_given(w.lower(), self._given) and not _bad_word(w)

    def _word_ok(self, w: str) -> bool:
        if _bad_word(w):
            return False
        lw = w.lower()
        # a medical word ("Hematuria", "Coumadin") ends the name unless it is also a surname
        return lw not in self._medical or lw in self._surnames or lw in self._given

    def _emit(self, text: str, s: int, e: int, out: list[RecognizerResult]) -> None:
        if eponym(text, s, e) or is_medical_phrase(text, s, e):
            return
        out.append(_result("PERSON", s, e, self.SCORE, self))

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out: list[RecognizerResult] = []
        for m in _LAST_FIRST.finditer(text):
            if not self._given_ok(m.group("g")):
                continue
            start = m.start()
            lw = list(_WORDS.finditer(m.group("l")))
            while len(lw) > 1 and lw[0].group()[0].isupper() and _bad_word(lw[0].group()):
                lw = lw[1:]  # "Patient Farkas, Márta": the label is not part of the name
                start = m.start() + lw[0].start()
            last = [w.group() for w in lw if w.group()[0].isupper()]
            rest = _WORDS.findall(m.group("rest"))
            if not last or not all(self._word_ok(w) for w in last):
                continue
            e = m.end("g")
            if (
                rest
                and len(rest[0]) > 1
                and self._word_ok(rest[0])
                and rest[0].lower() not in _LABEL_ACRONYMS
                and not (rest[0].isupper() and not m.group("g").isupper())
            ):
                e = m.end("rest")
            self._emit(text, start, e, out)
        if not text.isascii():
            for m in _SCRIPT_AFTER_CUE.finditer(text):
                out.append(_result("PERSON", m.start("name"), m.end("name"), self.SCORE, self))
        pos = 0
        while (m := _FIRST_LAST.search(text, pos)) is not None:
            pos = m.start() + 1
            g = m.group("g")
            if not self._given_ok(g):
                continue
            caps = g.isupper()
            # extend word by word while each word is name-like (at most four more)
            e = cur = m.end("g")
            words = 0
            for _ in range(4):
                w = _NEXT_WORD.match(text, cur)
                if w is None:
                    break
                word = w.group("w")
                cur = w.end()
                if len(word) == 2 and word.endswith("."):
                    continue  # an initial: part of the name if a word follows
                if not self._word_ok(word) or (not caps and word.isupper() and len(word) <= 4):
                    break
                if caps and (word.lower() in _LABEL_ACRONYMS or not word.isupper()):
                    break  # "SMITH, JOHN SSN", "DEA Reg": capitals then title case
                e = cur
                words += 1
            if words == 0:
                continue
            self._emit(text, m.start(), e, out)
            pos = e
        return out


# ------------------------------------------------------------------ address blocks

_NAME_LINE = re.compile(
    rf"[ \t]*(?P<name>{_TOKEN}(?:[ \t]+(?:{_PARTICLES}[ \t]+)*(?:{_TOKEN}|{_INIT})){{1,3}})"
    r"[ \t]*,?[ \t]*"
)
# a street line: "Kæragergade 57", "ulica Floriana 762", "84/541 phố Ngô Quyền",
# "Aleea Lorin Mazilescu Nr. 281 Bl. 86 Sc. 25 Ap. 232", "Kossuth utca 152."
_HOUSE_NO = r"\d{1,5}[A-Za-z]?(?:[/-]\d{1,5}[A-Za-z]?)?"
_STREET_LINE = re.compile(
    rf"[ \t]*(?P<addr>(?:{_HOUSE_NO},?[ \t]+[^\W\d_][^\n]{{1,60}}?"
    rf"|[^\W\d_][^\n\d]{{1,50}}?[ \t,]+(?:(?i:nr|no|n[°º])\.?[ \t]*)?{_HOUSE_NO}\.?"
    r"(?:[ \t,]+[^\n]{1,50}?)?))[ \t]*"
)
_NOT_STREET = re.compile(
    r"[:=%]|\d[.,]\d|(?i:\b(?:mg|mcg|ml|mmhg|kg|bpm|units?|days?|weeks?|"
    r"hours?|hrs?|years?|yrs?|x|tabs?|caps?|bid|tid|qd|prn)\b)"
)


class AddressBlockRecognizer(_LocalRecognizer):
    """An address block: a name alone on its line (opening with a known given name or holding
    a census surname) and the street line right under it (a house number and words) -
    entities ``PERSON`` and ``STREET_ADDRESS``."""

    ENTITIES = ("PERSON", "STREET_ADDRESS")

    def __init__(self) -> None:
        super().__init__()
        self._given = given_names() | world_given_names()
        self._surnames = surnames()
        self._medical = medical_terms()

    def _name_ok(self, name: str) -> bool:
        words = _WORDS.findall(name)
        if not 2 <= len(words) <= 4 or any(_bad_word(w) for w in words):
            return False
        low = [w.lower() for w in words]
        if not (known_given(low[0], self._given) or any(w in self._surnames for w in low)):
            return False
        return not all(w in self._medical for w in low)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out: list[RecognizerResult] = []
        if "\n" not in text:
            return out
        pos = 0
        lines = text.split("\n")
        starts = []
        for ln in lines:
            starts.append(pos)
            pos += len(ln) + 1
        for k in range(len(lines) - 1):
            m = _NAME_LINE.fullmatch(lines[k])
            if not m or not self._name_ok(m.group("name")):
                continue
            nxt = lines[k + 1]
            a = _STREET_LINE.fullmatch(nxt)
            if not a or _NOT_STREET.search(nxt) or len(nxt.split()) > 14:
                continue
            words = [w.lower() for w in _WORDS.findall(a.group("addr"))]
            if sum(w in self._medical and w not in self._surnames for w in words) > 1:
                continue
            s = starts[k]
            out.append(_result("PERSON", s + m.start("name"), s + m.end("name"), 0.7, self))
            s = starts[k + 1]
            out.append(_result("STREET_ADDRESS", s + a.start("addr"), s + a.end("addr"), 0.7, self))
        return out
