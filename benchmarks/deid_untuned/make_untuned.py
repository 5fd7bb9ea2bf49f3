# ruff: noqa: E501
"""Generate the frozen "untuned" de-identification evaluation set.

    .venv/bin/python benchmarks/deid_untuned/make_untuned.py [--out PATH] [--n 2000] [--check]

The set is built from sentence templates and hard cases written for this file only, filled
with values from Faker (many locales) and from hand-written value lists. Every identifier is
recorded as a gold span (character offsets + label); medical terms, clinical values and common
words that must survive de-identification are recorded as "keep" spans. The output is
deterministic for a given Faker version (the README names the one used) and seed.

The set is for evaluation only: it was frozen before any recognizer tuning and must never be
used to tune one. ``--check`` regenerates it in memory and compares byte for byte with the
frozen file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faker import Faker

SEED = 104_729
N_RECORDS = 2000
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "untuned.jsonl"

# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------
# Gold identifier labels. The first ten are the vocabulary of benchmarks/deid_eval.py; the rest
# cover the remaining Safe Harbor classes (45 CFR 164.514(b)(2)(i)).
EVAL_LABELS = ["PERSON", "EMAIL", "PHONE", "US_SSN", "UK_NINO", "DATE", "ADDRESS", "LOCATION",
               "CREDIT_CARD", "IP"]  # fmt: skip
EXTRA_LABELS = ["ZIP", "AGE", "MRN", "HEALTH_PLAN_ID", "ACCOUNT_NUMBER", "LICENSE_NUMBER",
                "CERTIFICATE_NUMBER", "VEHICLE_ID", "DEVICE_ID", "URL", "BIOMETRIC_ID",
                "NATIONAL_ID"]  # fmt: skip
ALL_LABELS = EVAL_LABELS + EXTRA_LABELS
KEEP_KINDS = ["MEDICAL_TERM", "CLINICAL_VALUE", "COMMON_WORD"]

# ---------------------------------------------------------------------------------------------
# Locales
# ---------------------------------------------------------------------------------------------
LOCALES = [
    "en_US", "en_GB", "en_IN", "en_AU", "en_CA", "en_IE", "de_DE", "de_AT", "de_CH", "fr_FR",
    "fr_CH", "nl_BE", "nl_NL", "it_IT", "es_ES", "es_MX", "pt_BR", "pt_PT", "pl_PL", "cs_CZ",
    "hu_HU", "da_DK", "sv_SE", "no_NO", "fi_FI", "ro_RO", "el_GR", "tr_TR", "ru_RU", "uk_UA",
    "ja_JP", "zh_CN", "zh_TW", "ko_KR", "ar_AA", "ar_SA", "fa_IR", "he_IL", "vi_VN", "hi_IN",
]  # fmt: skip
LOCALE_WEIGHTS = {"en_US": 6, "en_GB": 3, "de_DE": 2, "fr_FR": 2, "es_ES": 2, "hu_HU": 2,
                  "da_DK": 2, "nl_BE": 2}  # fmt: skip
# Locales whose Faker address provider is a placeholder (en_US formats) or absent: their people
# are given an address from one of these locales instead.
ADDRESS_FALLBACK = {
    "ar_AA": ["en_GB", "de_DE", "fr_FR", "en_US", "ar_AA"],
    "ar_SA": ["en_GB", "de_DE", "sv_SE", "ar_SA"],
    "tr_TR": ["de_DE", "nl_NL", "tr_TR", "de_AT"],
    "fa_IR": ["de_DE", "en_GB", "fa_IR"],
    "hi_IN": ["en_IN"],
    "zh_TW": ["zh_TW", "en_US"],
}
# Family name first in these locales.
FAMILY_FIRST = {"hu_HU", "ja_JP", "zh_CN", "zh_TW", "ko_KR", "vi_VN"}
NO_SPACE_NAMES = {"zh_CN", "zh_TW", "ko_KR"}
CC_BY_LOCALE = {
    "en_US": "1", "en_CA": "1", "en_GB": "44", "en_IE": "353", "en_IN": "91", "en_AU": "61",
    "de_DE": "49", "de_AT": "43", "de_CH": "41", "fr_FR": "33", "fr_CH": "41", "nl_BE": "32",
    "nl_NL": "31", "it_IT": "39", "es_ES": "34", "es_MX": "52", "pt_BR": "55", "pt_PT": "351",
    "pl_PL": "48", "cs_CZ": "420", "hu_HU": "36", "da_DK": "45", "sv_SE": "46", "no_NO": "47",
    "fi_FI": "358", "ro_RO": "40", "el_GR": "30", "tr_TR": "90", "ru_RU": "7", "uk_UA": "380",
    "ja_JP": "81", "zh_CN": "86", "zh_TW": "886", "ko_KR": "82", "ar_AA": "20", "ar_SA": "966",
    "fa_IR": "98", "he_IL": "972", "vi_VN": "84", "hi_IN": "91",
}  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Hand-written values
# ---------------------------------------------------------------------------------------------
# Hard names: (given, family, display order "gf" or "fg"). Diacritics, non-Latin scripts,
# particles, hyphens, apostrophes.
HARD_NAMES: list[tuple[str, str, str]] = [
    ("Csanád", "Kovács", "gf"), ("Søren", "Østergaard", "gf"), ("Ágnes", "Szabó", "gf"),
    ("Zoë", "Brontë-Hale", "gf"), ("Björn", "Åkesson", "gf"), ("Łukasz", "Wróblewski", "gf"),
    ("Jiří", "Dvořák", "gf"), ("Đorđe", "Petrović", "gf"), ("Şükrü", "Çelik", "gf"),
    ("Çağla", "Öztürk", "gf"), ("François", "Lefèvre", "gf"), ("Núria", "Núñez i Puig", "gf"),
    ("Ólafur", "Þórðarson", "gf"), ("Žaneta", "Škodová", "gf"), ("Ștefan", "Țurcanu", "gf"),
    ("Ľubomír", "Ďuriš", "gf"), ("Gráinne", "Ní Bhriain", "gf"), ("Siobhán", "O'Dálaigh", "gf"),
    ("Aoife", "Mac Giolla Phádraig", "gf"), ("Jörg", "von der Mühlen", "gf"),
    ("Maëlle", "de La Fontaine", "gf"), ("Joaquín", "García-Peñalosa", "gf"),
    ("João", "da Conceição", "gf"), ("Tõnu", "Õunapuu", "gf"), ("Kęstutis", "Žemaitis", "gf"),
    ("Ērika", "Bērziņa", "gf"), ("Dženana", "Hodžić", "gf"), ("Anaïs", "Dubœuf", "gf"),
    ("Bünyamin", "Güneş", "gf"), ("Thị Hằng", "Nguyễn", "fg"), ("Mária", "Tőkés", "fg"),
    ("秀英", "王", "fg"), ("娜", "李", "fg"), ("伟", "张", "fg"), ("健", "佐藤", "fg"),
    ("花子", "鈴木", "fg"), ("민준", "김", "fg"), ("محمد", "العلي", "gf"),
    ("فاطمة", "الزهراء", "gf"), ("عبد الله", "بن سعيد", "gf"), ("مريم", "حدّاد", "gf"),
    ("رضا", "کاظمی", "gf"), ("נועה", "כהן", "gf"), ("Дмитрий", "Соколов", "gf"),
    ("Олена", "Шевченко", "gf"), ("Γιώργος", "Παπαδόπουλος", "gf"),
]  # fmt: skip
# Names that are also ordinary English words.
WORD_GIVEN = ["Will", "Frank", "Rose", "Hope", "Grace", "Faith", "Joy", "Dawn", "Bill", "Mark",
              "Pat", "Sue", "Art", "Hunter", "Summer", "Amber", "Ruby", "Iris", "Ivy", "Holly",
              "Cliff", "Dale", "Glen", "Lance", "Drew", "Gene", "Sandy", "Pearl", "Sunny",
              "Chase", "Miles", "Victor", "Precious", "Patience", "Rich", "Bob", "Jack",
              "Page", "Guy", "Heath"]  # fmt: skip
WORD_FAMILY = ["Baker", "Cook", "Brown", "White", "Black", "Green", "Young", "King", "Price",
               "Wood", "Hill", "Stone", "Church", "Bishop", "Fox", "Bird", "Moody", "Swift",
               "Sharp", "Bright", "Short", "Long", "Little", "Best", "Good", "Love", "Hardy",
               "Strong", "Gross", "Kind", "Small", "Rich", "Fair", "May", "Hope"]  # fmt: skip

EPONYMS = [
    "Epstein-Barr virus", "Raynaud's phenomenon", "Kawasaki disease", "Parkinson's disease",
    "Alzheimer's disease", "Hashimoto's thyroiditis", "Graves' disease", "Crohn's disease",
    "Cushing's syndrome", "Addison's disease", "Guillain-Barré syndrome", "Bell's palsy",
    "Hodgkin lymphoma", "Sjögren's syndrome", "Tourette syndrome", "Down syndrome",
    "Marfan syndrome", "Wilson's disease", "Huntington's disease", "Ménière's disease",
    "Paget's disease", "Barrett's esophagus", "Kaposi sarcoma", "Wernicke's encephalopathy",
    "Takayasu arteritis", "Horner syndrome", "Brugada syndrome",
    "Wolff-Parkinson-White syndrome", "Stevens-Johnson syndrome", "Osgood-Schlatter disease",
    "Dupuytren's contracture", "Baker's cyst", "Colles' fracture", "Lyme disease",
    "Tay-Sachs disease", "Gaucher disease", "Fanconi anemia", "von Willebrand disease",
    "Creutzfeldt-Jakob disease", "Cheyne-Stokes respiration", "Kussmaul breathing",
    "Still's disease", "Behçet's disease", "Raynaud's", "Kawasaki", "Parkinson's",
    "Epstein-Barr", "Hirschsprung disease", "Legionnaires' disease", "Bowen's disease",
    "Tietze syndrome", "Sheehan syndrome", "Conn syndrome", "Mallory-Weiss tear",
    "Zollinger-Ellison syndrome",
]  # fmt: skip
# Eponymous signs, scores, devices and procedures.
EPONYM_OTHER = [
    "Babinski sign", "Murphy's sign", "McBurney's point tenderness", "Kernig's sign",
    "Trendelenburg gait", "Apgar score", "Glasgow Coma Scale", "Gram stain", "Holter monitor",
    "Foley catheter", "Whipple procedure", "Nissen fundoplication", "Romberg test",
    "Tinel's sign", "Phalen's test", "Homans' sign", "Chvostek's sign", "Valsalva maneuver",
    "Swan-Ganz catheter", "Papanicolaou smear", "Heimlich maneuver", "Wells score",
]  # fmt: skip
DISEASES = [
    "atrial fibrillation", "type 2 diabetes mellitus", "community-acquired pneumonia", "COPD",
    "congestive heart failure", "chronic kidney disease stage 3", "hypothyroidism",
    "rheumatoid arthritis", "multiple sclerosis", "sickle cell disease", "asthma",
    "deep vein thrombosis", "pulmonary embolism", "cellulitis", "pyelonephritis", "sepsis",
    "gout", "psoriasis", "migraine with aura", "major depressive disorder", "hepatitis C",
    "urinary tract infection", "frank hematuria", "acute kidney injury", "osteoporosis",
]  # fmt: skip
DRUGS = [
    "Coumadin", "Ventolin", "metformin", "warfarin", "Lasix", "furosemide", "atorvastatin",
    "Lipitor", "lisinopril", "amlodipine", "Eliquis", "apixaban", "Xarelto", "Lantus",
    "insulin glargine", "levothyroxine", "Synthroid", "prednisone", "omeprazole", "Nexium",
    "amoxicillin", "Augmentin", "ceftriaxone", "vancomycin", "Zithromax", "Keflex",
    "gabapentin", "Neurontin", "sertraline", "Zoloft", "Prozac", "Xanax", "lorazepam",
    "morphine", "Tylenol", "paracetamol", "ibuprofen", "Advil", "aspirin", "clopidogrel",
    "Plavix", "heparin", "enoxaparin", "Lovenox", "salbutamol", "Symbicort", "Spiriva",
    "Humira", "methotrexate", "Keytruda", "tamoxifen", "Herceptin", "Ozempic", "semaglutide",
    "Jardiance", "Januvia", "digoxin", "Benadryl", "Valium", "Haldol", "Seroquel", "Depakote",
    "Keppra", "Dilantin", "Tegretol", "Sinemet", "levodopa", "Aricept", "Ritalin", "Flagyl",
    "Bactrim", "Cipro", "Diflucan", "Marcumar", "Pradaxa", "Zofran",
]  # fmt: skip

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"],
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Record building
# ---------------------------------------------------------------------------------------------
@dataclass
class Builder:
    parts: list[str] = field(default_factory=list)
    pos: int = 0
    spans: list[list] = field(default_factory=list)  # [start, end, label]
    tags: list[str] = field(default_factory=list)
    keep: list[list] = field(default_factory=list)  # [start, end, kind]
    addr_parts: list[list] = field(default_factory=list)  # [start, end, part, span index]

    def lit(self, s: str) -> None:
        self.parts.append(s)
        self.pos += len(s)

    def gold(self, s: str, label: str, tag: str, sub: list[tuple[int, int, str]] | None = None):
        s0 = self.pos
        self.lit(s)
        self.spans.append([s0, self.pos, label])
        self.tags.append(tag)
        for a, b, name in sub or []:
            self.addr_parts.append([s0 + a, s0 + b, name, len(self.spans) - 1])

    def kept(self, s: str, kind: str) -> None:
        s0 = self.pos
        self.lit(s)
        self.keep.append([s0, self.pos, kind])

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class Person:
    given: str
    family: str
    order: str  # "gf" or "fg"
    nospace: bool = False
    lower: bool = False
    source: str = "faker"

    def full(self) -> str:
        a, b = (self.given, self.family) if self.order == "gf" else (self.family, self.given)
        s = f"{a}{'' if self.nospace else ' '}{b}"
        return s.lower() if self.lower else s

    def g(self) -> str:
        return self.given.lower() if self.lower else self.given

    def f(self) -> str:
        return self.family.lower() if self.lower else self.family


class Ctx:
    """Per-record state: locale, fakers, people and addresses drawn so far."""

    def __init__(self, gen: Generator, rng: random.Random, locale: str, informal: bool):
        self.gen = gen
        self.rng = rng
        self.locale = locale
        self.informal = informal
        self.people: dict[str, Person] = {}
        self.values: dict[str, tuple[str, str, str, list]] = {}

    def fk(self, loc: str | None = None) -> Faker:
        return self.gen.fakers[loc or self.locale]


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


def _digits(rng: random.Random, n: int, first_nonzero: bool = False) -> str:
    s = "".join(rng.choice(string.digits) for _ in range(n))
    if first_nonzero and s[0] == "0":
        s = rng.choice("123456789") + s[1:]
    return s


def _alnum(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase + string.digits):
    return "".join(rng.choice(alphabet) for _ in range(n))


# ---------------------------------------------------------------------------------------------
# Value makers. Each returns (text, label, tag, address sub-parts).
# ---------------------------------------------------------------------------------------------
def make_person(ctx: Ctx) -> Person:
    rng = ctx.rng
    r = rng.random()
    if r < 0.16:
        g, f, o = rng.choice(HARD_NAMES)
        p = Person(g, f, o, nospace=bool(re.match(r"[\u4e00-\u9fff\uac00-\ud7af]", g)),
                   source="hard")  # fmt: skip
    elif r < 0.24:
        p = Person(rng.choice(WORD_GIVEN), rng.choice(WORD_FAMILY), "gf", source="word")
    else:
        fk = ctx.fk()
        female = rng.random() < 0.5
        g = fk.first_name_female() if female else fk.first_name_male()
        f = fk.last_name()
        p = Person(g, f, "fg" if ctx.locale in FAMILY_FIRST else "gf",
                   nospace=ctx.locale in NO_SPACE_NAMES)  # fmt: skip
    if ctx.informal and rng.random() < 0.35:
        p.lower = True
    elif rng.random() < 0.04:
        p.lower = True
    return p


def _person(ctx: Ctx, idx: str) -> Person:
    if idx not in ctx.people:
        ctx.people[idx] = make_person(ctx)
    return ctx.people[idx]


def _tagp(p: Person, kind: str) -> str:
    return f"{kind}:{p.source}{':lower' if p.lower else ''}"


def v_name(ctx: Ctx, idx: str):
    p = _person(ctx, idx)
    return p.full(), "PERSON", _tagp(p, "full"), []


def v_first(ctx: Ctx, idx: str):
    p = _person(ctx, idx)
    return p.g(), "PERSON", _tagp(p, "given"), []


def v_last(ctx: Ctx, idx: str):
    p = _person(ctx, idx)
    return p.f(), "PERSON", _tagp(p, "family"), []


def v_lname(ctx: Ctx, idx: str):
    p = _person(ctx, idx)
    return p.full().lower(), "PERSON", _tagp(p, "full") + ":lower", []


def v_initial(ctx: Ctx, idx: str):  # "K. Nowak"
    p = _person(ctx, idx)
    if p.nospace or p.order == "fg":
        return p.full(), "PERSON", _tagp(p, "full"), []
    return f"{p.g()[0]}. {p.f()}", "PERSON", _tagp(p, "initial"), []


def _addr_locale(ctx: Ctx) -> str:
    if ctx.locale in ADDRESS_FALLBACK:
        return ctx.rng.choice(ADDRESS_FALLBACK[ctx.locale])
    return ctx.locale


_TOK = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _expand(fk: Faker, fmt: str, rng: random.Random, depth: int) -> list[tuple[str, str | None]]:
    """Expand a Faker address format into (text, part-name|None) segments."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for m in _TOK.finditer(fmt):
        if m.start() > pos:
            out.append((fmt[pos : m.start()], None))
        tok = m.group(1)
        sub = None
        if depth < 1 and tok == "street_address":
            provs = [p for p in fk.get_providers() if hasattr(p, "street_address_formats")]
            if provs:
                sub = provs[0].street_address_formats
        if sub:
            fmts = list(sub)
            segs = _expand(fk, rng.choice(fmts), rng, depth + 1)
            while segs and segs[-1][1] is None and not segs[-1][0].strip():
                segs.pop()
            out.extend(segs)
        else:
            val = str(getattr(fk, tok)()).strip()
            out.append((val, tok))
        pos = m.end()
    if pos < len(fmt):
        out.append((fmt[pos:], None))
    return out


def _address(ctx: Ctx, one_line: bool) -> tuple[str, list[tuple[int, int, str]]]:
    loc = _addr_locale(ctx)
    fk = ctx.fk(loc)
    provs = [p for p in fk.get_providers() if hasattr(p, "address_formats")]
    fmts = [f for f in list(provs[0].address_formats) if "military" not in f]
    segs = _expand(fk, ctx.rng.choice(fmts), ctx.rng, 0)
    # the one house/unit part some locales lack in their format: add a unit now and then
    if ctx.rng.random() < 0.25 and not any(p == "secondary_address" for _, p in segs):
        unit = ctx.rng.choice(["Apt. {n}", "Suite {n}", "Flat {n}", "Unit {n}", "#{n}",
                               "Apt {n}B", "3. th.", "2. OG", "bus {n}", "porta {n}",
                               "Wohnung {n}", "app. {n}", "lgh {n}"])  # fmt: skip
        unit = unit.format(n=ctx.rng.randint(1, 999))
        for i, (s, p) in enumerate(segs):
            if p is None and "\n" in s:
                segs[i : i + 1] = [(", ", None), (unit, "unit"), (s, None)]
                break
    text = ""
    sub: list[tuple[int, int, str]] = []
    for s, p in segs:
        if p is None:
            s = s.replace(" \n", "\n")
            if one_line:
                s = s.replace(",\n", ", ").replace("\n", ", ")
        if p is not None and s:
            sub.append((len(text), len(text) + len(s), p))
        text += s
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    sub = [(a - lead, b - lead, p) for a, b, p in sub if b - lead <= len(text)]
    return text, sub


def v_addr(ctx: Ctx, idx: str):
    t, sub = _address(ctx, one_line=False)
    return t, "ADDRESS", f"block:{_addr_locale_tag(ctx)}", sub


def v_addr1(ctx: Ctx, idx: str):
    t, sub = _address(ctx, one_line=True)
    return t, "ADDRESS", f"line:{_addr_locale_tag(ctx)}", sub


def _addr_locale_tag(ctx: Ctx) -> str:
    return ctx.locale


def v_street(ctx: Ctx, idx: str):
    loc = _addr_locale(ctx)
    fk = ctx.fk(loc)
    s = fk.street_address().strip().replace("\n", ", ")
    if ctx.rng.random() < 0.3:
        s += ctx.rng.choice([", Apt. ", " Suite ", ", Flat ", " #", ", app. "]) + str(
            ctx.rng.randint(1, 999)
        )
    return s, "ADDRESS", f"street:{loc}", []


def v_city(ctx: Ctx, idx: str):
    fk = ctx.fk(_addr_locale(ctx))
    return fk.city().strip(), "LOCATION", "city", []


def v_zip(ctx: Ctx, idx: str):
    fk = ctx.fk(_addr_locale(ctx))
    z = fk.postcode().strip()
    if ctx.rng.random() < 0.3:
        z = ctx.gen.fakers["en_US"].zipcode()
        if ctx.rng.random() < 0.3:
            z += "-" + _digits(ctx.rng, 4)
    return z, "ZIP", "postcode", []


def _nat_phone(rng: random.Random, loc: str) -> str:
    d = lambda n: _digits(rng, n)  # noqa: E731
    pats: dict[str, list[Callable[[], str]]] = {
        "fr": [lambda: "0" + rng.choice("1234567") + "".join(" " + d(2) for _ in range(4)),
               lambda: "-".join(["0" + rng.choice("67")] + [d(2) for _ in range(4)]),
               lambda: "-".join(d(2) for _ in range(4)),
               lambda: ".".join(["0" + rng.choice("1234567")] + [d(2) for _ in range(4)])],
        "be": [lambda: f"04{rng.choice('6789')}{d(1)} {d(2)} {d(2)} {d(2)}",
               lambda: f"0{rng.choice('23')} {d(3)} {d(2)} {d(2)}",
               lambda: f"0{d(1)}{d(1)}/{d(2)}.{d(2)}.{d(2)}"],
        "de": [lambda: f"0{rng.choice(['30', '40', '89', '221', '711'])} {d(7)}",
               lambda: f"01{rng.choice(['51', '60', '71', '76'])} {d(7)}",
               lambda: f"(0{d(3)}) {d(3)} {d(2)} {d(2)}",
               lambda: f"0{d(3)}/{d(6)}"],
        "gb": [lambda: f"07{d(3)} {d(6)}", lambda: f"020 {d(4)} {d(4)}",
               lambda: f"0161 {d(3)} {d(4)}", lambda: f"(01{d(3)}) {d(6)}"],
        "dk": [lambda: f"{d(2)} {d(2)} {d(2)} {d(2)}", lambda: f"{d(2)} {d(6)}",
               lambda: d(8)],
        "hu": [lambda: f"06 {rng.choice(['20', '30', '70'])} {d(3)} {d(4)}",
               lambda: f"(1) {d(3)}-{d(4)}", lambda: f"{d(3)} {d(4)}",
               lambda: f"06-{d(2)}/{d(3)}-{d(3)}"],
        "it": [lambda: f"3{d(2)} {d(3)} {d(4)}", lambda: f"06 {d(4)} {d(4)}",
               lambda: f"0{d(2)}-{d(6)}"],
        "es": [lambda: f"6{d(2)} {d(2)} {d(2)} {d(2)}", lambda: f"9{d(1)} {d(3)} {d(2)} {d(2)}",
               lambda: f"6{d(8)}"],
        "pl": [lambda: f"{rng.choice('5678')}{d(2)} {d(3)} {d(3)}",
               lambda: f"(22) {d(3)} {d(2)} {d(2)}", lambda: f"{d(3)}-{d(3)}-{d(3)}"],
        "se": [lambda: f"07{d(1)}-{d(3)} {d(2)} {d(2)}", lambda: f"08-{d(3)} {d(3)} {d(2)}",
               lambda: f"0{d(2)}-{d(2)} {d(2)} {d(2)}"],
        "nl": [lambda: f"06-{d(8)}", lambda: f"020 {d(3)} {d(4)}", lambda: f"06 {d(2)} {d(2)} {d(2)} {d(2)}"],
        "us": [lambda: f"{d(3)}.{d(3)}.{d(4)}", lambda: f"({d(3)}) {d(3)}-{d(4)}",
               lambda: f"{d(3)}-{d(4)}", lambda: f"{d(3)} {d(3)} {d(4)}",
               lambda: f"{d(3)}-{d(3)}-{d(4)} ext. {d(3)}"],
        "in": [lambda: f"9{d(4)} {d(5)}", lambda: f"0{d(2)}-{d(8)}", lambda: f"0{d(4)} {d(5)}"],
        "jp": [lambda: f"0{rng.choice('789')}0-{d(4)}-{d(4)}", lambda: f"03-{d(4)}-{d(4)}"],
        "cn": [lambda: f"1{rng.choice('3589')}{d(1)} {d(4)} {d(4)}", lambda: f"010-{d(4)} {d(4)}",
               lambda: f"1{rng.choice('3589')}{d(9)}"],
        "br": [lambda: f"({d(2)}) 9{d(4)}-{d(4)}", lambda: f"{d(2)} {d(4)}-{d(4)}"],
        "fi": [lambda: f"04{d(1)} {d(3)} {d(4)}", lambda: f"09 {d(3)} {d(4)}"],
        "cz": [lambda: f"{rng.choice('67')}{d(2)} {d(3)} {d(3)}"],
        "tr": [lambda: f"05{d(2)} {d(3)} {d(2)} {d(2)}", lambda: f"(0212) {d(3)} {d(2)} {d(2)}"],
        "no": [lambda: f"{rng.choice('49')}{d(2)} {d(2)} {d(3)}", lambda: f"{d(2)} {d(2)} {d(2)} {d(2)}"],
        "gr": [lambda: f"69{d(1)} {d(3)} {d(4)}", lambda: f"210 {d(3)} {d(4)}"],
        "ar": [lambda: f"01{d(1)} {d(4)} {d(4)}", lambda: f"05{d(1)} {d(3)} {d(4)}"],
        "il": [lambda: f"05{d(1)}-{d(3)}-{d(4)}", lambda: f"0{d(1)}-{d(3)}-{d(4)}"],
        "kr": [lambda: f"010-{d(4)}-{d(4)}", lambda: f"02-{d(3)}-{d(4)}"],
    }  # fmt: skip
    key = {
        "fr_FR": "fr", "fr_CH": "fr", "nl_BE": "be", "de_DE": "de", "de_AT": "de", "de_CH": "de",
        "en_GB": "gb", "en_IE": "gb", "da_DK": "dk", "hu_HU": "hu", "it_IT": "it", "es_ES": "es",
        "es_MX": "es", "pl_PL": "pl", "sv_SE": "se", "nl_NL": "nl", "en_US": "us", "en_CA": "us",
        "en_IN": "in", "hi_IN": "in", "ja_JP": "jp", "zh_CN": "cn", "zh_TW": "cn", "pt_BR": "br",
        "pt_PT": "es", "fi_FI": "fi", "cs_CZ": "cz", "tr_TR": "tr", "no_NO": "no", "el_GR": "gr",
        "ar_AA": "ar", "ar_SA": "ar", "fa_IR": "ar", "he_IL": "il", "ko_KR": "kr", "en_AU": "gb",
        "ro_RO": "it", "ru_RU": "de", "uk_UA": "pl", "vi_VN": "cn",
    }.get(loc, "us")  # fmt: skip
    return rng.choice(pats[key])()


def v_phone(ctx: Ctx, idx: str):
    rng = ctx.rng
    r = rng.random()
    if r < 0.4:
        return ctx.fk().phone_number().strip(), "PHONE", f"faker:{ctx.locale}", []
    if r < 0.75:
        return _nat_phone(rng, ctx.locale), "PHONE", f"national:{ctx.locale}", []
    return _intl_phone(ctx), "PHONE", f"intl:{ctx.locale}", []


def _intl_phone(ctx: Ctx) -> str:
    rng = ctx.rng
    cc = CC_BY_LOCALE.get(ctx.locale, "44")
    nat = _nat_phone(rng, ctx.locale).lstrip("0(").replace(")", "")
    if nat.startswith("0"):
        nat = nat[1:]
    style = rng.random()
    if style < 0.3:
        return f"+{cc}{re.sub(r'[^0-9]', '', nat)}"
    if style < 0.6:
        return f"+{cc} {nat}"
    if style < 0.8:
        return f"00{cc} {nat}"
    return f"+{cc} (0) {nat}"


def v_phone_intl(ctx: Ctx, idx: str):
    return _intl_phone(ctx), "PHONE", f"intl:{ctx.locale}", []


def v_phone_nat(ctx: Ctx, idx: str):
    return _nat_phone(ctx.rng, ctx.locale), "PHONE", f"national:{ctx.locale}", []


def v_email(ctx: Ctx, idx: str):
    rng = ctx.rng
    p = ctx.people.get(idx)
    fk = ctx.fk()
    if p is not None and rng.random() < 0.6:
        g, f = _ascii(p.given), _ascii(p.family)
        g = re.sub(r"[^a-z]", "", g) or "pt"
        f = re.sub(r"[^a-z]", "", f) or _digits(rng, 4)
        local = rng.choice([f"{g}.{f}", f"{g[0]}{f}", f"{f}{rng.randint(1, 99)}", f"{g}_{f}"])
        dom = rng.choice(["gmail.com", "outlook.com", "web.de", "freemail.hu", "orange.fr",
                          "mail.dk", "telenet.be", "libero.it", "wp.pl", "seznam.cz", "yahoo.co.uk",
                          "qq.com", "naver.com", fk.free_email_domain()])  # fmt: skip
        return f"{local}@{dom}", "EMAIL", "from-name", []
    return fk.email(), "EMAIL", "faker", []


def _date_obj(rng: random.Random) -> dt.date:
    return dt.date(1921, 1, 1) + dt.timedelta(days=rng.randint(0, 38_000))


def _lang(locale: str) -> str:
    return locale.split("_")[0]


def v_date(ctx: Ctx, idx: str):
    rng = ctx.rng
    d = _date_obj(rng)
    lang = _lang(ctx.locale)
    y, m, dd = d.year, d.month, d.day
    forms = [f"{m}/{dd}/{y}", f"{m:02d}/{dd:02d}/{y}", f"{dd:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{dd:02d}",
             f"{dd}.{m}.{y}", f"{dd:02d}.{m:02d}.{y}", f"{MONTHS['en'][m - 1]} {dd}, {y}",
             f"{dd} {MONTHS['en'][m - 1][:3]} {y}", f"{dd}-{MONTHS['en'][m - 1][:3]}-{y % 100:02d}",
             f"{m}/{dd}/{y % 100:02d}", f"{dd} {MONTHS['en'][m - 1]} {y}",
             f"{MONTHS['en'][m - 1][:3]}. {dd}, {y}"]  # fmt: skip
    if lang in MONTHS and lang != "en":
        mn = MONTHS[lang][m - 1]
        loc_forms = {"de": f"{dd}. {mn} {y}", "fr": f"{dd} {mn} {y}", "es": f"{dd} de {mn} de {y}",
                     "it": f"{dd} {mn} {y}", "nl": f"{dd} {mn} {y}"}  # fmt: skip
        forms += [loc_forms[lang]] * 3
    if lang == "hu":
        forms += [f"{y}. {m:02d}. {dd:02d}.", f"{y}.{m:02d}.{dd:02d}."]
    if lang in ("ja", "zh"):
        forms += [f"{y}年{m}月{dd}日"] * 2
    return rng.choice(forms), "DATE", "full", []


def v_dateny(ctx: Ctx, idx: str):
    rng = ctx.rng
    d = _date_obj(rng)
    m, dd = d.month, d.day
    mon = MONTHS["en"][m - 1]
    suf = "th" if 11 <= dd <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(dd % 10, "th")
    forms = [f"{m}/{dd}", f"{m:02d}/{dd:02d}", f"{mon[:3]} {dd}", f"{mon} {dd}", f"{dd} {mon[:3]}",
             f"{dd} {mon}", f"{mon} {dd}{suf}", f"{dd}{suf} of {mon}", f"{dd:02d}.{m:02d}.",
             f"{mon[:3]}. {dd}"]  # fmt: skip
    return rng.choice(forms), "DATE", "no-year", []


def v_age90(ctx: Ctx, idx: str):
    rng = ctx.rng
    n = rng.choice([90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 106, 108])
    form = rng.choice([f"{n} y/o", f"{n}-year-old", f"{n} years old", f"{n}yo", f"{n} yo",
                       f"{n} y.o.", f"{n}-yr-old", f"{n}F", f"{n}M", f"{n} yrs"])  # fmt: skip
    return form, "AGE", "over-89", []


def v_ssn(ctx: Ctx, idx: str):
    rng = ctx.rng
    a = rng.randint(1, 899)
    while a == 666:
        a = rng.randint(1, 899)
    b, c = rng.randint(1, 99), rng.randint(1, 9999)
    r = rng.random()
    if r < 0.45:
        return f"{a:03d}-{b:02d}-{c:04d}", "US_SSN", "dashed", []
    if r < 0.6:
        return f"{a:03d} {b:02d} {c:04d}", "US_SSN", "spaced", []
    return f"{a:03d}{b:02d}{c:04d}", "US_SSN", "bare9", []


def v_ssnbare(ctx: Ctx, idx: str):
    rng = ctx.rng
    a = rng.choice([x for x in range(1, 900) if x != 666])
    return f"{a:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}", "US_SSN", "bare9", []


def v_nino(ctx: Ctx, idx: str):
    rng = ctx.rng
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    pre = rng.choice(first) + rng.choice(second)
    while pre in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
        pre = rng.choice(first) + rng.choice(second)
    digs = _digits(rng, 6)
    suf = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{pre} {digs[:2]} {digs[2:4]} {digs[4:]} {suf}", "UK_NINO", "spaced", []
    return f"{pre}{digs}{suf}", "UK_NINO", "compact", []


def v_natid(ctx: Ctx, idx: str):
    loc = ctx.locale if ctx.locale in {"fr_FR", "it_IT", "sv_SE", "fi_FI", "pl_PL", "cs_CZ",
                                       "da_DK", "nl_NL", "zh_CN", "ko_KR", "no_NO", "pt_BR",
                                       "ro_RO", "hu_HU", "nl_BE", "el_GR", "tr_TR",
                                       "he_IL"} else ctx.rng.choice(["fr_FR", "it_IT", "sv_SE",
                                                                     "pl_PL"])  # fmt: skip
    return str(ctx.fk(loc).ssn()).strip(), "NATIONAL_ID", f"ssn:{loc}", []


def _nhs(rng: random.Random) -> str:
    while True:
        ds = [rng.randint(0, 9) for _ in range(9)]
        ds[0] = rng.randint(1, 9)
        chk = 11 - sum(d * (10 - i) for i, d in enumerate(ds)) % 11
        if chk == 11:
            chk = 0
        if chk != 10:
            s = "".join(map(str, ds)) + str(chk)
            return f"{s[:3]} {s[3:6]} {s[6:]}"


def v_mrn(ctx: Ctx, idx: str):
    rng = ctx.rng
    forms = [lambda: "00" + _digits(rng, 6), lambda: "0" + _digits(rng, 7),
             lambda: _digits(rng, 7, True), lambda: f"{_digits(rng, 4)}-{_digits(rng, 4)}",
             lambda: rng.choice("ABEHKMT") + "0" + _digits(rng, 7),
             lambda: f"{rng.choice(['MR', 'HN', 'PT'])}{_digits(rng, 8)}",
             lambda: f"{_digits(rng, 2)}-{_digits(rng, 2)}-{_digits(rng, 2)}",
             lambda: _nhs(rng), lambda: f"{rng.randint(2015, 2025)}/{_digits(rng, 6)}"]  # fmt: skip
    i = rng.randrange(len(forms))
    return forms[i](), "MRN", ["zero2", "zero1", "digits7", "dash", "letter", "prefix",
                               "pairs", "nhs", "year-slash"][i], []  # fmt: skip


MBI_ALPHA = "ACDEFGHJKMNPQRTUVWXY"


def v_mbi(ctx: Ctx, idx: str):
    rng = ctx.rng
    an = MBI_ALPHA + string.digits
    s = (rng.choice("123456789") + rng.choice(MBI_ALPHA) + rng.choice(an) + rng.choice(string.digits)
         + rng.choice(MBI_ALPHA) + rng.choice(an) + rng.choice(string.digits) + rng.choice(MBI_ALPHA)
         + rng.choice(MBI_ALPHA) + rng.choice(string.digits) + rng.choice(string.digits))  # fmt: skip
    if rng.random() < 0.4:
        return f"{s[:4]}-{s[4:7]}-{s[7:]}", "HEALTH_PLAN_ID", "mbi-dashed", []
    return s, "HEALTH_PLAN_ID", "mbi", []


def v_planid(ctx: Ctx, idx: str):
    rng = ctx.rng
    forms = [lambda: f"{_alnum(rng, 3, string.ascii_uppercase)}{_digits(rng, 9)}",
             lambda: f"{rng.choice('ABCDEFGHKLMN')}{_digits(rng, 9)}",
             lambda: f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 3)}-{rng.choice('AB')}",
             lambda: f"W{_digits(rng, 8)}{rng.choice('0123456789')}",
             lambda: f"{_digits(rng, 2)} {_digits(rng, 6)} {_digits(rng, 3)}"]  # fmt: skip
    return rng.choice(forms)(), "HEALTH_PLAN_ID", "member", []


def v_acct(ctx: Ctx, idx: str):
    rng = ctx.rng
    r = rng.random()
    if r < 0.35:
        loc = ctx.locale if ctx.locale in {"de_DE", "fr_FR", "nl_BE", "nl_NL", "it_IT", "es_ES",
                                           "pl_PL", "da_DK", "en_GB", "fi_FI", "cs_CZ", "hu_HU",
                                           "sv_SE", "no_NO", "pt_PT", "ro_RO", "de_AT",
                                           "de_CH"} else "de_DE"  # fmt: skip
        iban = ctx.fk(loc).iban()
        if rng.random() < 0.5:
            iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return iban, "ACCOUNT_NUMBER", "iban", []
    forms = [lambda: _digits(rng, 10, True), lambda: f"{_digits(rng, 4)}-{_digits(rng, 6)}-{_digits(rng, 2)}",
             lambda: f"HAR{_digits(rng, 9)}", lambda: f"{_digits(rng, 3)}-{_digits(rng, 7)}",
             lambda: f"ACC-{_digits(rng, 8)}", lambda: ctx.fk("en_US").bban()]  # fmt: skip
    return rng.choice(forms)(), "ACCOUNT_NUMBER", "account", []


def v_cc(ctx: Ctx, idx: str):
    n = ctx.fk("en_US").credit_card_number()
    if ctx.rng.random() < 0.5 and len(n) == 16:
        n = " ".join(n[i : i + 4] for i in range(0, 16, 4))
    return n, "CREDIT_CARD", "faker", []


def v_lic(ctx: Ctx, idx: str):
    rng = ctx.rng
    up = string.ascii_uppercase
    forms = [lambda: f"{rng.choice(up)}{_digits(rng, 3)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
             lambda: f"{rng.choice(up)}{_digits(rng, 7)}",
             lambda: f"{_alnum(rng, 5, up)}{_digits(rng, 6)}{_alnum(rng, 2, up)}{_digits(rng, 1)}{_alnum(rng, 2, up)}",
             lambda: f"{rng.choice(up)}{rng.choice(up)}{_digits(rng, 7)}",
             lambda: f"RN{_digits(rng, 6)}", lambda: f"{_digits(rng, 3)} {_digits(rng, 3)} {_digits(rng, 3)}",
             lambda: f"B{_digits(rng, 2)}{rng.choice(up)}{_digits(rng, 6)}"]  # fmt: skip
    return rng.choice(forms)(), "LICENSE_NUMBER", "licence", []


def v_cert(ctx: Ctx, idx: str):
    rng = ctx.rng
    forms = [lambda: f"{rng.randint(1930, 2025)}-{_digits(rng, 3)}-{_digits(rng, 6)}",
             lambda: f"{rng.randint(2000, 2025)}-{rng.choice(['CA', 'MA', 'NY', 'TX', 'WA'])}-{_digits(rng, 7)}",
             lambda: f"{_digits(rng, 3)}/{rng.randint(1990, 2025)}",
             lambda: f"URN:UVCI:01:{rng.choice(['DE', 'FR', 'BE', 'HU', 'DK'])}:{_alnum(rng, 20)}#{rng.choice(string.ascii_uppercase)}",
             lambda: f"DC{_digits(rng, 8)}", lambda: f"{rng.choice(string.ascii_uppercase)}{_digits(rng, 2)}-{_digits(rng, 5)}"]  # fmt: skip
    return rng.choice(forms)(), "CERTIFICATE_NUMBER", "certificate", []


def v_plate(ctx: Ctx, idx: str):
    loc = ctx.locale if ctx.rng.random() < 0.8 else "en_US"
    try:
        p = ctx.fk(loc).license_plate()
    except AttributeError:
        p = ctx.fk("en_US").license_plate()
    return p.strip(), "VEHICLE_ID", f"plate:{loc}", []


def v_vin(ctx: Ctx, idx: str):
    return ctx.fk("en_US").vin(), "VEHICLE_ID", "vin", []


def _gtin14(rng: random.Random) -> str:
    body = "0" + _digits(rng, 12)
    tot = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return body + str((10 - tot % 10) % 10)


def v_serial(ctx: Ctx, idx: str):
    rng = ctx.rng
    up = string.ascii_uppercase
    forms = [lambda: f"{_alnum(rng, 3, up)}{_digits(rng, 6)}{rng.choice(up)}",
             lambda: f"{_digits(rng, 1)}{rng.choice(up)}{_digits(rng, 1)}-{_digits(rng, 5)}-{rng.choice(up)}",
             lambda: f"NG{_digits(rng, 7)}{rng.choice(up)}", lambda: f"SN{_digits(rng, 10)}",
             lambda: f"{_alnum(rng, 4)}-{_alnum(rng, 4)}-{_alnum(rng, 4)}",
             lambda: f"{_digits(rng, 3)}{_alnum(rng, 5, up)}{_digits(rng, 4)}"]  # fmt: skip
    return rng.choice(forms)(), "DEVICE_ID", "serial", []


def v_udi(ctx: Ctx, idx: str):
    rng = ctx.rng
    d = _date_obj(rng).replace(year=rng.randint(2024, 2031))
    exp = f"{d.year % 100:02d}{d.month:02d}{d.day:02d}"
    r = rng.random()
    if r < 0.5:
        s = f"(01){_gtin14(rng)}(17){exp}(10){_alnum(rng, 6)}(21){_alnum(rng, 8)}"
    elif r < 0.75:
        s = f"01{_gtin14(rng)}17{exp}10{_alnum(rng, 6)}"
    else:
        s = f"+H{_alnum(rng, 3)}{_alnum(rng, 8)}1/$${_digits(rng, 7)}{_alnum(rng, 5)}"
    return s, "DEVICE_ID", "udi", []


def v_url(ctx: Ctx, idx: str):
    rng = ctx.rng
    fk = ctx.fk("en_US")
    forms = [lambda: fk.url(), lambda: fk.uri(),
             lambda: f"https://portal.{fk.domain_name()}/patients/{_digits(rng, 7)}",
             lambda: f"www.{rng.choice(['facebook.com', 'instagram.com', 'linkedin.com/in'])}/{fk.user_name()}",
             lambda: f"http://{fk.domain_word()}.{rng.choice(['de', 'hu', 'fr', 'dk', 'be', 'co.uk', 'it'])}/~{fk.user_name()}"]  # fmt: skip
    return rng.choice(forms)().rstrip("/") + ("/" if rng.random() < 0.2 else ""), "URL", "url", []


def v_ip(ctx: Ctx, idx: str):
    fk = ctx.fk("en_US")
    r = ctx.rng.random()
    if r < 0.5:
        return fk.ipv4_public(), "IP", "ipv4", []
    if r < 0.75:
        return fk.ipv4_private(), "IP", "ipv4-private", []
    return fk.ipv6(), "IP", "ipv6", []


def v_bio(ctx: Ctx, idx: str):
    rng = ctx.rng
    hexd = "0123456789abcdef"
    forms = [lambda: f"FP-{_alnum(rng, 4)}-{_alnum(rng, 4)}", lambda: f"IRX{_digits(rng, 9)}",
             lambda: f"VP-{_digits(rng, 5)}-{rng.choice(string.ascii_uppercase)}",
             lambda: f"RET/{_digits(rng, 5)}/{rng.choice(string.ascii_uppercase)}",
             lambda: "".join(rng.choice(hexd) for _ in range(32)),
             lambda: f"FG{_alnum(rng, 10)}", lambda: f"DNA-{_digits(rng, 4)}-{_alnum(rng, 6)}"]  # fmt: skip
    return rng.choice(forms)(), "BIOMETRIC_ID", "biometric", []


# keep-slot makers: (text, kind)
def k_med(ctx: Ctx) -> str:
    return ctx.rng.choice(EPONYMS + DISEASES)


def k_epo(ctx: Ctx) -> str:
    return ctx.rng.choice(EPONYMS)


def k_sign(ctx: Ctx) -> str:
    return ctx.rng.choice(EPONYM_OTHER)


def k_drug(ctx: Ctx) -> str:
    return ctx.rng.choice(DRUGS)


def k_bp(ctx: Ctx) -> str:
    rng = ctx.rng
    s, d = rng.randint(95, 195), rng.randint(55, 115)
    return rng.choice([f"BP {s}/{d}", f"BP {s}/{d} mmHg", f"blood pressure {s}/{d}", f"RR {s}/{d}",
                       f"BP: {s}/{d}"])  # fmt: skip


def k_lab(ctx: Ctx) -> str:
    rng = ctx.rng
    u = rng.uniform
    return rng.choice([
        f"HbA1c {u(5.0, 11.5):.1f}%", f"K {u(2.9, 6.1):.1f} mmol/L", f"Na {rng.randint(124, 149)} mmol/L",
        f"Cr {u(0.5, 4.0):.1f} mg/dL", f"eGFR {rng.randint(12, 110)} mL/min", f"INR {u(0.9, 4.5):.1f}",
        f"Hb {u(6.5, 16.5):.1f} g/dL", f"WBC {u(2.0, 24.0):.1f}", f"plt {rng.randint(40, 520)}",
        f"CRP {rng.randint(1, 280)} mg/L", f"TSH {u(0.1, 9.9):.2f} mIU/L",
        f"glucose {rng.randint(60, 390)} mg/dL", f"LDL {u(1.2, 5.9):.1f} mmol/L",
        f"troponin {u(0.01, 2.5):.2f} ng/mL", f"lactate {u(0.6, 8.0):.1f}",
        f"ferritin {rng.randint(8, 900)} ng/mL", f"pH {u(7.05, 7.55):.2f}",
        f"pCO2 {rng.randint(25, 75)} mmHg", f"BNP {rng.randint(20, 3500)} pg/mL",
    ])  # fmt: skip


def k_vital(ctx: Ctx) -> str:
    rng = ctx.rng
    return rng.choice([
        f"HR {rng.randint(42, 148)}", f"SpO2 {rng.randint(84, 100)}%", f"T {rng.uniform(35.5, 40.2):.1f} °C",
        f"temp {rng.uniform(96.0, 104.0):.1f} F", f"RR {rng.randint(10, 32)}",
        f"BMI {rng.uniform(16.0, 44.0):.1f}", f"weight {rng.randint(38, 160)} kg",
        f"GCS {rng.randint(8, 15)}/15", f"pain {rng.randint(0, 10)}/10",
        f"strength {rng.randint(2, 5)}/5", f"visual acuity 20/{rng.choice([20, 25, 30, 40, 60, 80, 200])}",
        f"FEV1/FVC {rng.uniform(0.4, 0.85):.2f}",
        f"G{rng.randint(1, 6)}P{rng.randint(0, 5)}",
    ])  # fmt: skip


def k_dose(ctx: Ctx) -> str:
    rng = ctx.rng
    return rng.choice(["500 mg bid", "5 mg daily", "2 puffs q4h prn", "40 mg IV", "10 units at night",
                       "1 g q8h", "0.5 mg/kg", "75 mcg daily", "20 mg od", "1-0-1"])  # fmt: skip


def v_age(ctx: Ctx) -> str:  # not an identifier (< 90): ordinary text
    n = ctx.rng.randint(2, 89)
    return ctx.rng.choice([f"{n}-year-old", f"{n} y/o", f"{n} years old", f"{n}yo"])


PII_MAKERS: dict[str, Callable] = {
    "name": v_name, "first": v_first, "last": v_last, "lname": v_lname, "init": v_initial,
    "addr": v_addr, "addrline": v_addr1, "street": v_street, "city": v_city, "zip": v_zip,
    "phone": v_phone, "phonei": v_phone_intl, "phonen": v_phone_nat, "email": v_email,
    "date": v_date, "dateny": v_dateny, "old": v_age90, "ssn": v_ssn, "ssnbare": v_ssnbare,
    "nino": v_nino, "natid": v_natid, "mrn": v_mrn, "mbi": v_mbi, "plan": v_planid,
    "acct": v_acct, "cc": v_cc, "lic": v_lic, "cert": v_cert, "plate": v_plate, "vin": v_vin,
    "serial": v_serial, "udi": v_udi, "url": v_url, "ip": v_ip, "bio": v_bio,
}  # fmt: skip
KEEP_MAKERS: dict[str, tuple[Callable, str]] = {
    "med": (k_med, "MEDICAL_TERM"), "epo": (k_epo, "MEDICAL_TERM"), "drug": (k_drug, "MEDICAL_TERM"),
    "sign": (k_sign, "MEDICAL_TERM"),
    "bp": (k_bp, "CLINICAL_VALUE"), "lab": (k_lab, "CLINICAL_VALUE"), "vital": (k_vital, "CLINICAL_VALUE"),
    "dose": (k_dose, "CLINICAL_VALUE"),
}  # fmt: skip
PLAIN_MAKERS: dict[str, Callable] = {"age": v_age}

from _untuned_templates import HARD_SENTENCES, TEMPLATES  # noqa: E402

SLOT = re.compile(r"\{([a-z]+)(\d?)\}|\[\[([A-Z_]+)\|(.*?)\]\]", re.S)


def render(tpl: str, ctx: Ctx, b: Builder) -> None:
    pos = 0
    for m in SLOT.finditer(tpl):
        b.lit(tpl[pos : m.start()])
        pos = m.end()
        if m.group(3):  # inline annotated literal
            lab, txt = m.group(3), m.group(4)
            if lab in KEEP_KINDS:
                b.kept(txt, lab)
            elif lab in ALL_LABELS:
                b.gold(txt, lab, "hand")
            else:
                raise ValueError(f"unknown inline label {lab!r} in template: {tpl[:60]!r}")
            continue
        kind, idx = m.group(1), m.group(2) or "1"
        if kind in PII_MAKERS:
            key = f"{kind}{idx}"
            if key not in ctx.values:
                ctx.values[key] = PII_MAKERS[kind](ctx, idx)
            text, lab, tag, sub = ctx.values[key]
            b.gold(text, lab, tag, sub)
        elif kind in KEEP_MAKERS:
            fn, kk = KEEP_MAKERS[kind]
            b.kept(fn(ctx), kk)
        elif kind in PLAIN_MAKERS:
            b.lit(PLAIN_MAKERS[kind](ctx))
        else:
            raise ValueError(f"unknown slot {{{kind}}} in template: {tpl[:60]!r}")
    b.lit(tpl[pos:])


class Generator:
    def __init__(self, seed: int):
        self.seed = seed
        self.fakers: dict[str, Faker] = {}
        for i, loc in enumerate(sorted(set(LOCALES) | {"en_US"})):
            fk = Faker(loc)
            fk.seed_instance(seed * 1000 + i)
            self.fakers[loc] = fk


def generate(n: int = N_RECORDS, seed: int = SEED) -> list[dict]:
    gen = Generator(seed)
    rng = random.Random(seed)
    weights = [LOCALE_WEIGHTS.get(loc, 1) for loc in LOCALES]
    hard = list(HARD_SENTENCES)
    rng.shuffle(hard)
    n_hard = len(hard)
    n_tpl = n - n_hard
    # every template is used at least a few times: a shuffled round-robin base, then random
    order: list[int] = []
    while len(order) < n_tpl:
        block = list(range(len(TEMPLATES)))
        rng.shuffle(block)
        order.extend(block)
    order = order[:n_tpl]
    slots: list[tuple[str, int]] = [("tpl", i) for i in order] + [
        ("hard", i) for i in range(n_hard)
    ]
    rng.shuffle(slots)
    out: list[dict] = []
    for rid, (kind, i) in enumerate(slots):
        b = Builder()
        if kind == "hard":
            text_tpl, loc = hard[i]
            ctx = Ctx(gen, rng, loc, informal=False)
            render(text_tpl, ctx, b)
            tids = [f"hard{HARD_SENTENCES.index(hard[i]):03d}"]
        else:
            t = TEMPLATES[i]
            loc = t.pick_locale(rng, LOCALES, weights)
            ctx = Ctx(gen, rng, loc, informal=t.informal)
            render(t.text, ctx, b)
            tids = [t.tid]
            if rng.random() < 0.25:  # a second, compatible snippet from the same record
                cands = [x for x in TEMPLATES if x.short and x.fits(loc)]
                t2 = rng.choice(cands)
                b.lit(rng.choice([" ", "\n", "\n\n"]))
                ctx.informal = t2.informal
                render(t2.text, ctx, b)
                tids.append(t2.tid)
        out.append({
            "id": f"u{rid:04d}",
            "text": b.text,
            "spans": b.spans,
            "span_tags": b.tags,
            "addr_parts": b.addr_parts,
            "keep": b.keep,
            "locale": loc,
            "templates": tids,
        })  # fmt: skip
    return out


def check(records: list[dict]) -> list[str]:
    """Span integrity: offsets within text, non-empty, no overlaps, no edge whitespace."""
    errs: list[str] = []
    for r in records:
        t = r["text"]
        allspans = [(s, e, lab, "gold") for s, e, lab in r["spans"]] + [
            (s, e, k, "keep") for s, e, k in r["keep"]
        ]
        for s, e, lab, _w in allspans:
            if not (0 <= s < e <= len(t)):
                errs.append(f"{r['id']}: bad offsets {s},{e}")
                continue
            frag = t[s:e]
            if frag != frag.strip():
                errs.append(f"{r['id']}: span {lab} has edge whitespace: {frag!r}")
            if lab not in ALL_LABELS and lab not in KEEP_KINDS:
                errs.append(f"{r['id']}: unknown label {lab}")
        srt = sorted(allspans)
        for a, b_ in zip(srt, srt[1:], strict=False):
            if b_[0] < a[1]:
                errs.append(f"{r['id']}: overlap {a} {b_} in {t[a[0] : b_[1]]!r}")
        for s, e, _p, si in r["addr_parts"]:
            gs, ge, _l = r["spans"][si]
            if not (gs <= s < e <= ge):
                errs.append(f"{r['id']}: address part outside its span")
        if len(r["spans"]) != len(r["span_tags"]):
            errs.append(f"{r['id']}: span_tags length")
    return errs


def dump(records: list[dict]) -> bytes:
    return "".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records
    ).encode()


def main(argv: list[str] | None = None) -> int:
    # Some Faker value lists (it_IT cities) are built from sets, whose order follows the string
    # hash seed: fix it so the output is the same on every run.
    if os.environ.get("PYTHONHASHSEED") != "0" and argv is None:
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--n", type=int, default=N_RECORDS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--check", action="store_true", help="compare with the frozen file")
    args = ap.parse_args(argv)
    records = generate(args.n, args.seed)
    errs = check(records)
    if errs:
        for e in errs[:20]:
            print(e, file=sys.stderr)
        print(f"{len(errs)} span errors", file=sys.stderr)
        return 1
    data = dump(records)
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        frozen = args.out.read_bytes()
        same = frozen == data
        print(f"regenerated sha256 {digest}; frozen file {'matches' if same else 'DIFFERS'}")
        return 0 if same else 1
    tmp = args.out.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.out)
    lab = Counter(s[2] for r in records for s in r["spans"])
    keep = Counter(k[2] for r in records for k in r["keep"])
    print(
        f"{len(records)} records, {sum(lab.values())} gold spans, {sum(keep.values())} keep spans"
    )
    for k, v in sorted(lab.items(), key=lambda x: -x[1]):
        print(f"  {k:<20}{v:>6}")
    for k, v in sorted(keep.items()):
        print(f"  keep {k:<15}{v:>6}")
    print(f"sha256 {digest}  {args.out.name}  ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
