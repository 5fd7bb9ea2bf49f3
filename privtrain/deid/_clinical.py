"""Medical words are not identifiers: the allow-list filter applied to detected spans.

A span that a guessing recognizer (spaCy NER and the recognizers built on it) calls a
PERSON, LOCATION or NRP is dropped when every word of it is a medical word (ICD-10-CM
vocabulary, drug names and brands: :func:`privtrain.deid._vocab.medical_terms`), an English
stop word, or one of a few clinical verbs ("started Coumadin"). A word that is also a census
given name or surname ("Parkinson", "Frank", "Kawasaki") needs eponym evidence: a possessive
("Raynaud's"), a hyphenated eponym ("Epstein-Barr") or a medical word right after it
("Frank hematuria", "Kawasaki disease"). Names found from context (titles, labels, the row's
own values) are never dropped.

Clinical values are not dates: a DATE_TIME span that is a blood pressure ("150/90"), follows
a vital-sign or lab label (BP, HR, INR, ...) or is followed by a unit (mmHg, mg/dL, %) goes.
"""

from __future__ import annotations

import re

from spacy.lang.en.stop_words import STOP_WORDS

from privtrain.deid._vocab import given_names, medical_terms, surnames

#: Recognizers whose PERSON/LOCATION guesses the allow-list may overrule.
GUESSERS = frozenset({"SpacyRecognizer", "NerOrgNameRecognizer", "LastFirstNameRecognizer"})
# hand-written: verbs and words that open clinical sentences in front of a drug or disease
_CLINICAL_VERBS = frozenset(
    """started start starting stopped stop continue continued continuing resume resumed
    restart restarted given give prescribed prescribe administered taking takes took increase
    increased decrease decreased hold held discontinue discontinued switch switched trial
    known history hx suspected suspect possible probable rule r/o positive negative
    acute chronic severe mild moderate recurrent""".split()
)
_PRESCRIBING = frozenset(
    "started start starting continue continued continuing resume resumed restart restarted "
    "prescribed takes taking took on discontinued stopped switched increased decreased "
    "given administered".split()
)
_SPLIT = re.compile(r"[\s\-/]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def _bare(w: str) -> str:
    w = w.strip('.,;:()[]"')
    for suffix in ("'s", "’s", "s'", "'", "’"):
        if w.lower().endswith(suffix):
            return w[: -len(suffix)].lower()
    return w.lower()


def is_medical_phrase(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` reads as a medical term, not a name or place."""
    med = medical_terms()
    span = text[start:end]
    words = [w for w in _SPLIT.split(span) if w]
    if not words:
        return False
    # "Started Augmentin", "takes Keppra": one word after a prescribing verb is a drug
    before = re.search(r"([^\W\d_]+)[ \t]+$", text[max(0, start - 20) : start])
    lead = words[0].lower() if len(words) == 2 else (before.group(1).lower() if before else "")
    if len(words) <= 2 and lead in _PRESCRIBING and (len(words) == 1 or words[0].lower() == lead):
        return True
    bare = [_bare(w) for w in words]
    if not all(b in med or b in STOP_WORDS or b in _CLINICAL_VERBS for b in bare if b):
        return False
    if not any(b in med for b in bare):
        return False
    namey = [b for b in bare if b in given_names() or b in surnames()]
    if not namey:
        return True
    # eponym evidence for words that are also names
    after = text[end : end + 3]
    if re.search(r"['’]s\b|s['’](?!\w)", span) or re.match(r"['’](?:s\b|(?=\s))", after):
        return True
    if "-" in span and len(words) == 1:
        return True
    if any(w[:1].islower() and _clinical_word(_bare(w)) for w in words[1:]):
        return True
    nxt = _WORD.match(text, end + 1) if end < len(text) and text[end] in " \t-" else None
    return bool(nxt and nxt.group()[:1].islower() and _clinical_word(_bare(nxt.group())))


def _clinical_word(w: str) -> bool:
    """A medical word that is evidence of an eponym after a name: not a stop word ("was",
    "cannot" are in the ICD-10-CM descriptions too)."""
    return w in medical_terms() and w not in STOP_WORDS and w not in _CLINICAL_VERBS


_VITAL_LABEL = r"(?:bp|b/p|blood[ \t]+pressure|hr|rr|spo2|temp|inr|hba1c|a1c|gcs)\b[ \t:=]*\d"
_VITAL_BEFORE = re.compile(
    r"(?i)(?:\b(?:bp|b/p|blood[ \t]+pressure|pressure|hr|rr|pulse|spo2|sats?|o2|temp|"
    r"glucose|bgl?|hba1c|a1c|hb|hgb|inr|ptt|k|na|cr|creat|egfr|bun|wbc|plt|ldl|hdl|chol|"
    r"ratio|score|dose|dosage|lab|labs|result|level|psa|tsh|fev1|fvc|gcs|apgar|ef)\b)"
    r"[ \t:=]*(?:of|was|is|at|~)?[ \t]*$"
)
_UNIT_AFTER = re.compile(
    r"(?i)^[ \t]*(?:mm[ \t]*hg|mmhg|mg|mcg|µg|ug|g|kg|ml|mL|l|dl|mmol|µmol|umol|meq|iu|units?|"
    r"%|bpm|/min|cm|mm|mg/dl|g/dl|ng/ml|x10|times)\b"
)
_BP = re.compile(r"\d{2,3}/\d{2,3}")


def clinical_value(text: str, start: int, end: int) -> bool:
    """True when the DATE_TIME guess ``text[start:end]`` is a vital sign or lab value."""
    s = text[start:end].strip()
    if re.match(_VITAL_LABEL, s, re.IGNORECASE):
        return True  # "BP 110/90"
    if re.search(r"\b" + _VITAL_LABEL, s, re.IGNORECASE) and _BP.search(s):
        return True  # "Today BP 150/90"
    if _BP.fullmatch(s):
        a, b = (int(x) for x in s.split("/"))
        if a > 31 or b > 31 or a > 12 and b > 12:
            return True
    if _VITAL_BEFORE.search(text, max(0, start - 24), start):
        return True
    return bool(_UNIT_AFTER.match(text[end : end + 16]))


# hand-written: the nouns an eponym names ("Kernig's sign", "Meniere's disease", "Glasgow Coma
# Scale", "Osgood-Schlatter disease"); a guessed name right before one of them is the eponym
_EPONYM_HEAD = (
    r"(?:sign|signs|disease|diseases|syndrome|phenomenon|palsy|sarcoma|tumou?r|lymphoma|"
    r"reflex|contracture|cyst|ulcer|fracture|thyroiditis|encephalopathy|o?esophagus|scale|"
    r"criteria|triad|man(?:eu|oeu)vre|maneuver|virus|an(?:a)?emia|ataxia|dystrophy|chorea|"
    r"hernia|aneurysm|neuralgia|disorder|classification|score|node|nodes|test|procedure|"
    r"operation|deformity|murmur|fever|tremor|neuropathy|dementia|arteritis|myopathy|"
    r"leukemia|leukaemia|carcinoma|melanoma|nodule|nodules|gangrene|pouch|block|monitor|"
    r"catheter|point|position|tube|drain|bypass|shunt|fundoplication|splint|stockings?|"
    r"technique|incision|method|forceps|needle|mask|frame|pattern|tear|foot|contracture|"
    r"phenomenon|formula|equation|classification|staging|index|ratio|lens|valve|stent|"
    r"device|pump|line|clamp|retractor|approach|repair|osteotomy|nail)"
)
_EPONYM_AFTER = re.compile(
    rf"^(?:['’]s?|s['’])?(?:[ \t\-]+[A-Z][\w\-]*(?:['’]s?)?){{0,2}}?[ \t\-]+(?i:{_EPONYM_HEAD})\b"
)
_EPONYM_END = re.compile(rf"[ \t\-](?i:{_EPONYM_HEAD})$")


def eponym(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` names a sign, disease, syndrome or scale: it ends with
    such a noun or one follows it (after a possessive or other capitalised words)."""
    span = text[start:end].rstrip()
    if _EPONYM_END.search(span):
        return True
    return bool(_EPONYM_AFTER.match(text[end : end + 60]))


# hand-written: lab and vital-sign abbreviations the NER model takes for names or groups
# ("Hgb 9.1", "EF 35%", "CHA2DS2-VASc 5")
_LAB_WORDS = frozenset(
    """hgb hb hct wbc rbc plt ef bnp tsh psa ldl hdl inr ptt pt bun cr creat na k cl co2 alt
    ast alp ggt crp esr a1c hba1c qtc qrs gcs bmi spo2 fio2 peep map cvp egfr lactate ck mcv
    ferritin troponin trop lvef fev1 fvc dlco vasc cha2ds2 hasbled nihss mmse moca ecog""".split()
)
# words of identifier labels the NER model takes for names ("Addr", "NMC PIN", "Reg")
_LABEL_WORDS = frozenset(
    """addr address reg registration license licence lic state kennzeichen pin nmc gmc dea
    npi mrn no number plate vin serial sn udi imei mac id cert certificate board tel telephone
    phone fax mobile cell email dear fingerprint biometric postcode zip med rec""".split()
)
_TITLE_BEFORE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sra|Srta|Mme|Mlle|Herr|Frau|Dra|Dott|Sig|Dhr|Mevr)"
    r"\.?[ \t]+$"
)
_NUMBER_AFTER = re.compile(r"[ \t:=]*[<>~]?\d")
_ICD10 = re.compile(r"[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?")


def keep_clinical(entity: str, recognizer: str, text: str, start: int, end: int) -> bool:
    """False when a detected span should go: a guessed name/place that is a medical term, a
    guessed single-word name that is a stop word ("Will", "May"), a lab abbreviation before
    its value ("Hgb 9.1") or an identifier label ("Addr"), an ICD-10 code taken for a
    driving licence ("I48.91"), or a date guess that is a clinical value or an acronym."""
    if entity == "DATE_TIME" and recognizer in (
        "SpacyRecognizer",
        "DateRecognizer",
        "MonthDateRecognizer",
    ):
        span = text[start:end].strip()
        if span.isalpha() and span.isupper() and len(span) <= 6:
            return False  # "IMEI", "MRN": an acronym, not a date
        return not clinical_value(text, start, end)
    if entity == "US_DRIVER_LICENSE":
        m = _ICD10.match(text, start)
        if m and m.end() >= end and (m.end() == len(text) or not text[m.end()].isalnum()):
            return False
    if entity in ("PERSON", "LOCATION", "NRP") and recognizer in GUESSERS:
        span = text[start:end]
        if entity == "PERSON" and _TITLE_BEFORE.search(text, max(0, start - 12), start):
            return True  # "Mr. Jones", "Dr. Parkinson": a person, whatever the word
        if " " not in span.strip() and span.strip().lower() in STOP_WORDS:
            return False
        words = [w.lower() for w in re.findall(r"[^\W_]+", span)]
        last = words[-1] if words else ""
        if (last in _LAB_WORDS or any(c.isdigit() for c in last)) and _NUMBER_AFTER.match(
            text, end
        ):
            return False  # "Hgb 9.1", "Repeat EF 35%", "CHA2DS2-VASc 5"
        if start > 0 and text[start - 1] == "/" and len(span) <= 3:
            return False  # "mg/dL"
        if words and all(w in _LABEL_WORDS or w in STOP_WORDS for w in words):
            return False
        if eponym(text, start, end):
            return False
        return not is_medical_phrase(text, start, end)
    return True


_PREV_WORD = re.compile(r"([^\W\d_][^\W\d_'’\-]*)[ \t]+$")
_NOT_GIVEN = frozenset(
    "dear hi hello patient pt mr mrs ms dr doctor nurse prof regards thanks known started "
    "continue seen called the a an and or but with for from to at by of in on".split()
)


def extend_name_left(text: str, start: int) -> int:
    """Start of a name whose given name the NER model left out ("Mikuláš [Vlčková]"): one
    capitalised word right before it that is not a stop word, title, greeting or medical
    word."""
    m = _PREV_WORD.search(text, max(0, start - 30), start)
    if not m:
        return start
    w = m.group(1)
    if not (w[0].isupper() and (len(w) == 1 or not w[1:].isupper())):
        return start
    lw = w.lower()
    if lw in STOP_WORDS or lw in _NOT_GIVEN or lw in _CLINICAL_VERBS:
        return start
    if lw in medical_terms() and lw not in given_names():
        return start
    return m.start(1)
