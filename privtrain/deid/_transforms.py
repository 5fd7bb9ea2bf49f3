"""Value transforms: normalization, keyed pseudonyms, generalization, date shift, masking.

Pseudonym: ``ENTITY + "_" + hex(HMAC-SHA256(key, ENTITY || 0x00 || normalize(ENTITY, value)))``
truncated to ``hex_chars`` hex characters (default 16 = 64 bits). Normalization makes the
same identifier written differently give the same token:

- PERSON: Unicode NFKD without accents, honorifics dropped ("Dr.", "Mrs"), "Last, First" ->
  "first last", punctuation removed, whitespace collapsed, casefolded;
- EMAIL_ADDRESS: trimmed, lowercased;
- PHONE_NUMBER: E.164 digits when ``phonenumbers`` can parse it (numbers without a country
  code are read in the first configured region), otherwise digits only;
- US_SSN, CREDIT_CARD, US_BANK_NUMBER: digits only; UK_NINO, IBAN_CODE, ID, passports: letters
  and digits, uppercased; IP_ADDRESS: canonical form; anything else: casefold + collapsed
  whitespace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from privtrain.deid._policy import Transform
from privtrain.errors import KeyAccessError

_WS = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]|_")
_HONORIFICS = frozenset(
    "mr mrs ms miss mx dr prof sir madam dame rev fr sr sra srta herr frau mme mlle".split()
)
_SUFFIXES = frozenset("jr sr ii iii iv md phd dds rn esq".split())
_DIGITS_ONLY = frozenset({"US_SSN", "CREDIT_CARD", "US_BANK_NUMBER", "US_ITIN"})
_ALNUM_UPPER = frozenset(
    {"UK_NINO", "IBAN_CODE", "ID", "US_PASSPORT", "US_DRIVER_LICENSE", "MEDICAL_LICENSE",
     "MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_ID", "ACCOUNT_NUMBER", "LICENSE_NUMBER", "VEHICLE_ID",
     "DEVICE_ID", "BIOMETRIC_ID"}
)  # fmt: skip


def _strip_accents(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize_person(value: str) -> str:
    s = _strip_accents(value).strip()
    first_word = re.match(r"\s*([^\W\d_]+)\.?\s+", s)
    while first_word and first_word.group(1).casefold() in _HONORIFICS:
        s = s[first_word.end() :]
        first_word = re.match(r"\s*([^\W\d_]+)\.?\s+", s)
    if s.count(",") == 1:
        last, first = (p.strip() for p in s.split(","))
        first_words = _NON_WORD.sub(" ", first).split()
        # "Smith, John" -> "John Smith"; "John Smith, Jr." keeps its order
        if first_words and not all(w.casefold() in _SUFFIXES for w in first_words):
            s = f"{first} {last}"
    words = _NON_WORD.sub(" ", s).casefold().split()
    while words and words[0] in _HONORIFICS:
        words = words[1:]
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words = words[:-1]
    return " ".join(words)


def normalize_phone(value: str, region: str = "US") -> str:
    digits = re.sub(r"\D", "", value)
    try:
        num = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return digits
    if phonenumbers.is_possible_number(num):
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)[1:]
    return digits


def normalize(entity: str, value: str, *, phone_region: str = "US") -> str:
    """The canonical form of ``value`` used for pseudonyms (see the module docstring)."""
    if entity == "PERSON":
        return normalize_person(value)
    if entity == "EMAIL_ADDRESS":
        v = value.strip().lower()
        return v[7:] if v.startswith("mailto:") else v
    if entity == "PHONE_NUMBER":
        return normalize_phone(value, phone_region)
    if entity in _DIGITS_ONLY:
        return re.sub(r"\D", "", value)
    if entity in _ALNUM_UPPER:
        v = re.sub(r"[\W_]", "", value).upper()
        # an all-digit id is the same id with or without leading zeros (a CSV keeps "00123",
        # a typed Parquet column holds 123): one pseudonym whatever the file type
        if v.isdigit():
            v = v.lstrip("0") or "0"
        return v
    if entity == "IP_ADDRESS":
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            return value.strip().lower()
    return _WS.sub(" ", value).strip().casefold()


@dataclass(frozen=True)
class PseudonymKey:
    """The project's pseudonym key ``(version, key)``; the key bytes never appear in repr."""

    version: int
    key: bytes = field(repr=False)
    hex_chars: int = 16
    phone_region: str = "US"

    @classmethod
    def from_tuple(
        cls, key: tuple[int, bytes], *, hex_chars: int = 16, phone_region: str = "US"
    ) -> PseudonymKey:
        try:
            version, raw = key
        except (TypeError, ValueError) as e:
            raise KeyAccessError("pseudonym key must be a (version, key bytes) pair") from e
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise KeyAccessError("pseudonym key version must be a non-negative integer")
        if not isinstance(raw, bytes | bytearray) or len(raw) < 16:
            raise KeyAccessError("pseudonym key must be at least 16 bytes")
        return cls(version, bytes(raw), hex_chars, phone_region)

    def digest(self, message: bytes) -> bytes:
        return hmac.new(self.key, message, hashlib.sha256).digest()


def pseudonym(entity: str, value: str, key: PseudonymKey) -> str:
    """``ENTITY_<hex>``: the keyed pseudonym of ``value`` (see the module docstring)."""
    norm = normalize(entity, value, phone_region=key.phone_region)
    mac = key.digest(entity.encode() + b"\x00" + norm.encode("utf-8"))
    return f"{entity}_{mac.hex()[: key.hex_chars]}"


def date_offset_days(person_token: str, key: PseudonymKey, max_days: int) -> int:
    """Per-person date shift in days: ±(1..max_days), from HMAC(key, person pseudonym)."""
    mac = key.digest(b"DATE_SHIFT\x00" + person_token.encode())
    n = int.from_bytes(mac[:8], "big")
    magnitude = 1 + (n >> 1) % max_days
    return magnitude if n & 1 else -magnitude


# ---------------------------------------------------------------------------------- dates

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_MON = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_FORMS = [
    # 2021-03-04, 2021/03/04, 2021.03.04, with an optional time part
    re.compile(
        r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[t ][\d:.]+(?:z|[+-][\d:]+)?)?"
    ),
    # 03/04/2021 (US m/d/y unless the first number > 12), 04.03.2021 (d.m.y), 2-digit years
    re.compile(r"(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"),
    # March 4, 2021 / Mar 4th 2021
    re.compile(_MON + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"),
    # 4 March 2021 / 4th of March, 2021 / 04-Mar-2021
    re.compile(r"(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?[\s-]+" + _MON + r",?[\s-]+(?P<y>\d{4})"),
    # March 2021 / 03/2021 (day unknown: the 1st)
    re.compile(_MON + r",?\s+(?P<y>\d{4})"),
    re.compile(r"(?P<m>\d{1,2})/(?P<y>\d{4})"),
    # 20210304
    re.compile(r"(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})"),
]


def _year(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        pivot = dt.date.today().year % 100
        n += 2000 if n <= pivot else 1900
    return n


def parse_date(value: Any) -> dt.date | None:
    """A date from a date/datetime or a string in one of the common forms; None if unparseable."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    s = value.strip().lower()
    for form in _DATE_FORMS:
        m = form.fullmatch(s)
        if not m:
            continue
        g = m.groupdict()
        try:
            year = _year(g["y"])
            if g.get("a") is not None:
                a, b = int(g["a"]), int(g["b"])
                if g["sep"] == ".":
                    month, day = b, a
                elif a > 12:
                    month, day = b, a
                else:
                    month, day = a, b
            else:
                month = _MONTHS[g["mon"]] if g.get("mon") else int(g["m"])
                day = int(g["d"]) if g.get("d") else 1
            return dt.date(year, month, day)
        except (ValueError, KeyError):
            return None
    return None


def generalize_date(value: Any, granularity: str) -> str | None:
    d = parse_date(value)
    if d is None:
        return None
    return f"{d.year:04d}" if granularity == "year" else f"{d.year:04d}-{d.month:02d}"


def shift_date(value: Any, days: int) -> str | None:
    d = parse_date(value)
    if d is None:
        return None
    try:
        return (d + dt.timedelta(days=days)).isoformat()
    except OverflowError:
        return None


# --------------------------------------------------------------------- other generalizers


def generalize_age(value: Any, band: int, top: int | None) -> str | None:
    try:
        age = int(float(str(value).strip()))
    except (TypeError, ValueError):
        return None
    if age < 0 or age > 150:
        return None
    if top is not None and age >= top:
        return f"{top}+"
    lo = (age // band) * band
    if top is not None:
        return f"{lo}-{min(lo + band, top) - 1}"
    return f"{lo}-{lo + band - 1}"


_AGE_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
} | {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
     "eighty": 80, "ninety": 90}  # fmt: skip
_AGE_WORDS_RE = re.compile(
    r"(?i)\b(?:(?:a|one)[- \t]hundred(?:(?:[- \t]and)?[- \t][a-z]+(?:[- \t][a-z]+)?)?|"
    r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- \t][a-z]+)?)\b"
)


def _words_to_age(words: str) -> tuple[int, int] | None:
    """(age, characters used) of a number written in words at the start of ``words``."""
    total, used = 0, 0
    for m in re.finditer(r"[a-z]+", words.lower()):
        w = m.group()
        if w == "hundred":
            total = max(total, 1) * 100
        elif w in ("a", "one") and re.match(r"[- \t]hundred", words[m.end() :].lower()):
            total += 1 if w == "one" else 0
        elif w in _AGE_NUMBER_WORDS:
            total += _AGE_NUMBER_WORDS[w]
        elif w == "and" and total:
            continue
        else:
            break
        used = m.end()
    return (total, used) if used else None


def generalize_age_phrase(value: Any, band: int, top: int | None) -> str | None:
    """An age phrase with its age generalized and the rest kept: "94-year-old" ->
    "90+-year-old", "94 yo" -> "90+ yo", "ninety-four years old" -> "90+ years old"."""
    plain = generalize_age(value, band, top)
    if plain is not None:
        return plain
    s = str(value)
    m = re.search(r"\d{1,3}", s)
    if m:
        out = generalize_age(m.group(), band, top)
        rest = re.sub(r"^(?:st|nd|rd|th)\b", "", s[m.end() :])
        return None if out is None else s[: m.start()] + out + rest
    w = _AGE_WORDS_RE.search(s)
    if not w:
        return None
    parsed = _words_to_age(s[w.start() :])
    if parsed is None:
        return None
    age, used = parsed
    out = generalize_age(age, band, top)
    return None if out is None else s[: w.start()] + out + s[w.start() + used :]


_UK_POSTCODE = re.compile(r"([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}")


def generalize_birth_date(
    value: Any, top: int | None, reference_year: int | None = None
) -> str | None:
    """The birth year, or ``"{top}+"`` when it says the person is ``top`` or older in
    ``reference_year`` (default: this year) - Safe Harbor's rule for ages over 89."""
    d = parse_date(value)
    if d is None:
        return None
    ref = reference_year or dt.date.today().year
    if top is not None and ref - d.year >= top:
        return f"{top}+"
    return f"{d.year:04d}"


def generalize_zip(value: Any, digits: int, restricted: bool = False) -> str | None:
    """The first ``digits`` digits of a ZIP code (a UK postcode: its outward code); with
    ``restricted``, "000" for the 3-digit areas of <= 20,000 people (Safe Harbor)."""
    from privtrain.deid._hipaa import RESTRICTED_ZIP3

    out = _generalize_zip(value, digits)
    if restricted and out is not None and out.isdigit() and len(out) == 3:
        if out in RESTRICTED_ZIP3:
            return "000"
    return out


def _generalize_zip(value: Any, digits: int) -> str | None:
    s = str(value).strip().upper()
    m = _UK_POSTCODE.fullmatch(s)
    if m:
        return m.group(1)
    d = re.sub(r"\D", "", s)
    if not d:
        return None
    if isinstance(value, int | float) and len(d) < 5:
        d = d.zfill(5)  # a US ZIP read as a number lost its leading zeros
    return d[:digits] if digits else ""


def mask(value: str, keep_last: int, mask_char: str) -> str:
    """Every letter/digit except the last ``keep_last`` -> ``mask_char``; separators kept."""
    positions = [i for i, c in enumerate(value) if c.isalnum()]
    keep = set(positions[-keep_last:]) if keep_last else set()
    return "".join(mask_char if (c.isalnum() and i not in keep) else c for i, c in enumerate(value))


def tag(entity: str, transform: Transform) -> str:
    return transform.tag if transform.tag is not None else f"<{entity}>"


# ------------------------------------------------------------------------- cell transforms


class CellTransform:
    """A compiled transform for one structured column.

    ``__call__(value, person_token)`` returns the output cell (``str`` or None) for
    string-producing actions; ``keep`` returns the value unchanged. ``unparseable`` counts
    values a generalize/date-shift could not read (they become null).
    """

    def __init__(self, entity: str | None, transform: Transform, key: PseudonymKey) -> None:
        self.entity = entity or "VALUE"
        self.transform = transform
        self.key = key
        self.unparseable = 0
        self._cache: dict[Any, str | None] = {}
        self._fn: Callable[[Any, str | None], Any] = self._compile()

    def _compile(self) -> Callable[[Any, str | None], Any]:
        t, entity = self.transform, self.entity
        if t.action == "keep":
            return lambda v, p: v
        if t.action in ("redact", "drop"):
            return lambda v, p: None
        if t.action == "replace":
            out = tag(entity, t)
            return lambda v, p: out
        if t.action == "mask":
            return lambda v, p: mask(str(v), t.keep_last, t.mask_char)
        if t.action == "pseudonymize":
            return self._pseudonymize
        if t.action == "generalize":
            if entity == "AGE":
                return self._counted(lambda v: generalize_age(v, t.band, t.top))
            if entity == "ZIP":
                return self._counted(lambda v: generalize_zip(v, t.digits, t.restricted_zip3))
            if entity == "BIRTH_DATE":
                if t.granularity == "year":
                    return self._counted(lambda v: generalize_birth_date(v, t.top))
                return self._counted(lambda v: generalize_date(v, t.granularity))
            return self._counted(lambda v: generalize_date(v, t.granularity))
        if t.action == "date_shift":
            return self._date_shift
        raise ValueError(f"action {t.action} is not a cell transform")

    def _counted(self, fn: Callable[[Any], str | None]) -> Callable[[Any, str | None], Any]:
        def run(v: Any, p: str | None) -> str | None:
            out = fn(v)
            if out is None:
                self.unparseable += 1
            return out

        return run

    def _pseudonymize(self, v: Any, p: str | None) -> str:
        s = v if isinstance(v, str) else str(v)
        hit = self._cache.get(s)
        if hit is None:
            hit = pseudonym(self.entity, s, self.key)
            if len(self._cache) < 65536:
                self._cache[s] = hit
        return hit

    def _date_shift(self, v: Any, p: str | None) -> str | None:
        if p is None:
            self.unparseable += 1
            return None
        out = shift_date(v, date_offset_days(p, self.key, self.transform.max_days))
        if out is None:
            self.unparseable += 1
        return out

    def __call__(self, value: Any, person_token: str | None = None) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return value if self.transform.action == "keep" else None
        return self._fn(value, person_token)
