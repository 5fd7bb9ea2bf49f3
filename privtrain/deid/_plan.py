"""The reviewable de-identification plan of a table and the column classifier behind it."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from privtrain._io import atomic_write_text, read_yaml_mapping
from privtrain.deid._hipaa import value_entity as hipaa_value_entity
from privtrain.deid._policy import DeidPolicy, Transform
from privtrain.deid._recognizers import StreetAddressRecognizer, _card_prefix_ok, _luhn_ok
from privtrain.deid._source import TableSource
from privtrain.deid._transforms import parse_date
from privtrain.errors import ConfigError, InputError, first_validation_error

Kind = Literal["direct", "quasi", "free_text", "safe"]

#: Entities a direct-identifier column can hold (others are allowed: custom IDs).
DIRECT_ENTITIES = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "UK_NINO", "CREDIT_CARD", "IBAN_CODE",
    "IP_ADDRESS", "URL", "STREET_ADDRESS", "ID", "MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_ID",
    "ACCOUNT_NUMBER", "LICENSE_NUMBER", "VEHICLE_ID", "DEVICE_ID", "BIOMETRIC_ID", "FAX_NUMBER",
)  # fmt: skip
#: GEO: city, county, town (below a state); REGION: state, province, country.
QUASI_ENTITIES = ("AGE", "DATE", "BIRTH_DATE", "ZIP", "GENDER", "GEO", "REGION")
_TEXT_ACTIONS = {"scrub", "drop", "keep", "redact", "replace"}


class ColumnPlan(BaseModel):
    """What to do with one column. ``transform: null`` = the policy's default for the class."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Kind
    entity: str | None = None
    transform: Transform | None = None
    evidence: str = ""

    @model_validator(mode="after")
    def _check(self) -> ColumnPlan:
        where = f"column '{self.name}'"
        if self.kind in ("direct", "quasi") and not self.entity:
            raise ValueError(f"{where}: a {self.kind} column needs an entity")
        if self.kind == "quasi" and self.entity not in QUASI_ENTITIES:
            raise ValueError(f"{where}: quasi-identifier entity must be one of {QUASI_ENTITIES}")
        if self.entity is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", self.entity):
            raise ValueError(f"{where}: entity must be UPPER_SNAKE_CASE, e.g. PERSON")
        t = self.transform
        if t is not None:
            if self.kind == "free_text" and t.action not in _TEXT_ACTIONS:
                raise ValueError(f"{where}: free text takes one of {sorted(_TEXT_ACTIONS)}")
            if self.kind != "free_text" and t.action == "scrub":
                raise ValueError(f"{where}: scrub applies to free-text columns only")
            try:
                t.check_for(self.entity, where)
            except ConfigError as e:
                raise ValueError(e.message) from e
        return self


_HEADER = """\
# privtrain de-identification plan. Review it, edit it, pin it:
#   privtrain ingest FILE --plan THIS_FILE
# kind: direct (identifies a person alone), quasi (identifies in combination),
#       free_text (spans are detected and replaced), safe (kept as is).
# transform: null = the policy's default for the kind and entity; or e.g.
#   {action: pseudonymize} / {action: generalize, band: 5} / {action: date_shift} / drop / keep
# person_columns: the column(s) naming the person of a row: their pseudonym keys date shifts
#   and links mentions of that person in the row's free text.
"""


class Plan(BaseModel):
    """Per-column classification and transforms for one table layout."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    source: str | None = None
    format: str | None = None
    sample_rows: int | None = None
    person_columns: list[str] = Field(default_factory=list)
    columns: list[ColumnPlan]

    @model_validator(mode="after")
    def _check(self) -> Plan:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column(s) {dupes}")
        for p in self.person_columns:
            if p not in names:
                raise ValueError(f"person_columns names '{p}', which is not a column")
        return self

    def column(self, name: str) -> ColumnPlan:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_yaml(self) -> str:
        body = yaml.safe_dump(
            self.model_dump(mode="json", exclude_none=False),
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        return _HEADER + body

    def save(self, path: Path) -> None:
        """Write :meth:`to_yaml` atomically (temp file, fsync, rename)."""
        atomic_write_text(Path(path), self.to_yaml())

    @classmethod
    def from_yaml(cls, path: Path) -> Plan:
        """Load a plan file; InputError names the file and the field at fault."""
        path = Path(path)
        data = read_yaml_mapping(path, "plan file", error=InputError)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            loc, msg = first_validation_error(e)
            msg = msg.removeprefix("Value error, ")
            raise InputError(f"plan file {path}: {loc + ': ' if loc else ''}{msg}") from e

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def validate_for(self, columns: Sequence[str], path: Path) -> None:
        """InputError unless the plan covers exactly the file's columns."""
        names = [c.name for c in self.columns]
        missing = [n for n in names if n not in columns]
        if missing:
            raise InputError(f"plan column '{missing[0]}' not found in {path}")
        unplanned = [c for c in columns if c not in names]
        if unplanned:
            raise InputError(
                f"{path}: column '{unplanned[0]}' is not in the plan (re-run the plan or add it)"
            )


# ------------------------------------------------------------------------------ classifier

# (pattern over the snake_cased column name, kind, entity, other words may surround it)
_HINTS: list[tuple[str, Kind, str | None, bool]] = [
    (r"e_?mail(_address|_addr)?|mail", "direct", "EMAIL_ADDRESS", True),
    (r"ip|ip_?address|ipv4|ipv6|ip_addr", "direct", "IP_ADDRESS", True),
    (r"ssn|social_security(_number|_no)?|soc_sec", "direct", "US_SSN", True),
    (r"nino|ni_number|national_insurance(_number|_no)?", "direct", "UK_NINO", True),
    (r"fax|fax_number|fax_no", "direct", "FAX_NUMBER", True),
    (r"phone|telephone|tel|mobile|cell|cellphone|phone_number|contact_number", "direct",
     "PHONE_NUMBER", True),
    (r"vin|license_plate|licence_plate|plate|plate_number|number_plate|vehicle(_id)?|"
     r"registration_plate|chassis", "direct", "VEHICLE_ID", True),
    (r"serial|serial_number|serial_no|device(_id|_serial|_identifier)?|udi|implant(_id)?|imei",
     "direct", "DEVICE_ID", True),
    (r"biometric(_id)?|fingerprint(_id)?|retina(l)?(_scan)?(_id)?|iris(_scan)?(_id)?|"
     r"voice_?print(_id)?|palm_?print|face_?template", "direct", "BIOMETRIC_ID", True),
    (r"mrn|medical_record(_number|_no)?|chart(_number|_no)?|hospital_number|patient_id",
     "direct", "MEDICAL_RECORD_NUMBER", True),
    (r"mbi|hicn|member(_id|_number|_no)|subscriber(_id|_number)|beneficiary(_id|_number)?|"
     r"health_plan(_id|_number)?|plan_id|insurance(_id|_number|_no)|policy(_number|_no|_id)|"
     r"medicare(_id|_number)?|medicaid(_id|_number)?", "direct", "HEALTH_PLAN_ID", True),
    (r"account(_number|_no|_id)?|acct(_no|_number)?|bank_account|routing_number", "direct",
     "ACCOUNT_NUMBER", True),
    (r"licen[cs]e(_number|_no|_id)?|certificate(_number|_no|_id)?|cert(_no|_number)?|"
     r"dea(_number)?|npi|passport(_number|_no)?|permit(_number|_no)?", "direct",
     "LICENSE_NUMBER", True),
    (r"credit_?card(_number)?|card_number|cc_number|pan", "direct", "CREDIT_CARD", True),
    (r"iban", "direct", "IBAN_CODE", True),
    (r"url|website|homepage", "direct", "URL", True),
    (r"zip|zip_?code|postcode|post_code|postal_code|postal", "quasi", "ZIP", True),
    (r"address(_line_?\d?)?|street|addr", "direct", "STREET_ADDRESS", True),
    (r"dob|birth_?date|date_of_birth|birthday|born|birth|birth_year|year_of_birth", "quasi",
     "BIRTH_DATE", True),
    (r"age|age_years|age_at_\w+", "quasi", "AGE", True),
    (r"gender|sex", "quasi", "GENDER", True),
    (r"state|province|country|native_country|nationality|state_code", "quasi", "REGION", True),
    (r"city|town|county|region|birthplace|place_of_birth|district|precinct|village|borough|"
     r"neighbou?rhood|municipality|parish|suburb|locality|geocode|lat|lon|latitude|longitude",
     "quasi", "GEO", True),
    (r"date|dt|timestamp|datetime|admission|admitted|discharge|discharged|visit|"
     r"encounter|death|died", "quasi", "DATE", True),
    (r"(full_|first_|last_|given_|family_|middle_|maiden_|patient_|person_|customer_|client_|"
     r"contact_|spouse_|guardian_|relative_|emergency_contact_)?name|surname|forename|patient|"
     r"person|customer|client|next_of_kin|nok|spouse|guardian|emergency_contact|relative",
     "direct", "PERSON", False),
    (r"id|user_?name|login|national_id|tax_id|tin|nhs(_number)?", "direct", "ID", True),
    (r"notes?|comments?|text|description|narrative|summary|remarks|message|body|free_text|"
     r"report|history|complaint|observations?", "free_text", None, True),
]  # fmt: skip
_HINT_RES = [
    (re.compile(rf"(?:\w+_)?(?:{rx})(?:_\w+)?" if affix else rf"(?:{rx})"), kind, entity)
    for rx, kind, entity, affix in _HINTS
]


def _norm_name(name: str) -> str:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def name_hint(name: str) -> tuple[Kind, str | None] | None:
    n = _norm_name(name)
    for rx, kind, entity in _HINT_RES:
        if rx.fullmatch(n):
            return kind, entity
    return None


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_SSN = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]", re.IGNORECASE)
_CARD = re.compile(r"\d(?:[ -]?\d){11,18}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"\+?[\d\s().\-/]+(?:\s*(?:x|ext\.?)\s*\d{1,6})?", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_address = StreetAddressRecognizer()


def _iban_ok(s: str) -> bool:
    s = s.replace(" ", "").upper()
    n = int("".join(str(int(c, 36)) for c in s[4:] + s[:4]))
    return n % 97 == 1


def _value_entity(v: str, region: str) -> str | None:
    """The structured entity a whole value is, if any (no NER)."""
    s = v.strip()
    if not s:
        return None
    if _EMAIL.fullmatch(s):
        return "EMAIL_ADDRESS"
    if _URL.fullmatch(s):
        return "URL"
    if _SSN.fullmatch(s):
        return "US_SSN"
    if _NINO.fullmatch(s):
        return "UK_NINO"
    if (":" in s or s.count(".") == 3) and not s.isdigit():
        try:
            ipaddress.ip_address(s)
            return "IP_ADDRESS"
        except ValueError:
            pass
    if _CARD.fullmatch(s):
        d = re.sub(r"\D", "", s)
        if _card_prefix_ok(d) and _luhn_ok(d):
            return "CREDIT_CARD"
    if _IBAN.fullmatch(s.upper()) and _iban_ok(s):
        return "IBAN_CODE"
    if not _NUMBER.fullmatch(s) and parse_date(s) is not None:
        return "DATE_TIME"
    digits = sum(c.isdigit() for c in s)
    if digits >= 7 and _PHONE_CHARS.fullmatch(s) and not _NUMBER.fullmatch(s):
        try:
            num = phonenumbers.parse(s, None if s.startswith("+") else region)
            if phonenumbers.is_possible_number(num):
                return "PHONE_NUMBER"
        except phonenumbers.NumberParseException:
            pass
    hipaa = hipaa_value_entity(s, region)
    if hipaa in ("VEHICLE_ID", "HEALTH_PLAN_ID", "DEVICE_ID"):
        return hipaa
    if digits and any(c.isalpha() for c in s):
        res = _address.analyze(s, ["STREET_ADDRESS"])
        if res and (res[0].end - res[0].start) >= 0.6 * len(s):
            return "STREET_ADDRESS"
    return None


_NER_COLUMN = {"PERSON": ("direct", "PERSON"), "LOCATION": ("quasi", "GEO")}
_STRUCTURED_KIND = {"DATE_TIME": ("quasi", "DATE")}


def _classify(
    name: str,
    values: list[Any],
    ner_cover: dict[str, Counter[str]],
    policy: DeidPolicy,
) -> tuple[Kind, str | None, str]:
    settings = policy.detection
    region = settings.phone_regions[0]
    present = [v for v in values if v is not None and str(v).strip() != ""]
    n = len(present)
    hint = name_hint(name)
    if n == 0:
        if hint:
            return hint[0], hint[1], "no values sampled; column name suggests it"
        return "safe", None, "no values sampled"
    strs = [str(v) for v in present]
    numeric = sum(1 for s in strs if _NUMBER.fullmatch(s.strip())) / n
    support: Counter[str] = Counter()
    if numeric < 0.5:
        for s in strs:
            e = _value_entity(s, region)
            if e:
                support[e] += 1
        for entity, c in ner_cover.get(name, Counter()).items():
            support[entity] = max(support[entity], c)
    best, best_n = support.most_common(1)[0] if support else (None, 0)
    share = best_n / n
    avg_len = sum(len(s) for s in strs) / n
    avg_words = sum(len(s.split()) for s in strs) / n
    hint_txt = f"; column name suggests {hint[1] or hint[0]}" if hint else ""
    if best and share >= settings.min_support:
        kind, entity = _STRUCTURED_KIND.get(best) or _NER_COLUMN.get(best) or ("direct", best)
        dated = hint and hint[0] == "quasi" and hint[1] in ("DATE", "BIRTH_DATE")
        if dated and best == "DATE_TIME":
            kind, entity = "quasi", hint[1]
        if hint and hint[0] == "quasi" and hint[1] in ("GEO", "REGION") and best == "LOCATION":
            kind, entity = "quasi", hint[1]
        why = f"{share:.0%} of {n} sampled values look like {best}{hint_txt}"
        return kind, entity, why
    if hint:
        why = f"column name suggests {hint[1] or hint[0]}"
        if best:
            why += f" ({share:.0%} of sampled values look like {best})"
        return hint[0], hint[1], why
    code = _code_column(strs, settings.min_support)
    if code:
        return "direct", "ID", code
    if numeric >= 0.5:
        return "safe", None, f"numeric values, no identifying column name ({n} sampled)"
    if avg_len >= settings.free_text_min_chars or avg_words >= 6:
        return "free_text", None, f"text values ({avg_len:.0f} chars on average, {n} sampled)"
    span_share = ner_cover.get(f"{name}\x00spans", Counter()).get("any", 0) / n
    if span_share >= 0.2:
        return (
            "free_text",
            None,
            f"identifier spans in {span_share:.0%} of {n} sampled values (mixed content)",
        )
    why = f"no identifier in {n} sampled values"
    if best:
        why += f" (at most {share:.0%} look like {best}, below {settings.min_support:.0%})"
    return "safe", None, why


_CODE_VALUE = re.compile(r"(?=[^\s]*\d)[A-Za-z0-9][A-Za-z0-9\-_./#:]{3,39}")
_DECIMAL = re.compile(r"[+-]?\d*[.,]\d+|[+-]?\d+[.,]\d*")


def _code_column(strs: list[str], min_support: float) -> str | None:
    """Evidence that a column holds identifier codes (plates, serials, record numbers, device
    or biometric ids...), whatever its name: most values are one token mixing letters and
    digits, or digit strings with leading zeros or of 7+ digits, and nearly all distinct."""
    n = len(strs)
    if n < 5:
        return None
    shaped = 0
    for s in strs:
        v = s.strip()
        if not _CODE_VALUE.fullmatch(v) or _DECIMAL.fullmatch(v) or parse_date(v) is not None:
            continue
        if v.isdigit():
            if (v.startswith("0") and len(v) > 1) or len(v) >= 7:
                shaped += 1
        elif any(c.isalpha() for c in v) or any(c in "-_./#:" for c in v):
            shaped += 1
    distinct = len(set(strs)) / n
    if shaped / n >= min_support and distinct >= 0.9:
        return (
            f"{shaped / n:.0%} of {n} sampled values are identifier-shaped codes, "
            f"{distinct:.0%} distinct"
        )
    return None


_NER_VALUES = 100  # distinct values per column handed to NER (the most frequent)


def _ner_support(
    sample: dict[str, list[Any]], engine: Any, policy: DeidPolicy
) -> dict[str, Counter[str]]:
    """Per column: how many sampled values NER sees as one whole PERSON/LOCATION/DATE_TIME,
    and (key ``name\\0spans``) how many hold any direct-identifier span. Columns whose values
    are already recognised without NER (e-mails, phones, ...) are skipped; the share is
    measured on the most frequent distinct values."""
    region = policy.detection.phone_regions[0]
    todo: dict[str, Counter[str]] = {}
    for name, values in sample.items():
        strs = [str(v) for v in values if v is not None and str(v).strip()]
        if not strs or sum(1 for s in strs if _NUMBER.fullmatch(s.strip())) / len(strs) >= 0.5:
            continue
        structured = Counter(_value_entity(s, region) for s in strs[:200])
        top = max((c for e, c in structured.items() if e), default=0)
        if top >= policy.detection.min_support * min(len(strs), 200):
            continue
        counts = Counter(strs)
        keep = dict(counts.most_common(_NER_VALUES))
        scale = len(strs) / sum(keep.values())
        todo[name] = Counter({v: c * scale for v, c in keep.items()})
    distinct = sorted({v for c in todo.values() for v in c})
    if not distinct:
        return {}
    spans = engine.analyze(distinct, score_threshold=policy.detection.score_threshold)
    by_value = dict(zip(distinct, spans, strict=True))
    out: dict[str, Counter[str]] = {}
    for name, counts in todo.items():
        cover: Counter[str] = Counter()
        any_span = 0
        for value, count in counts.items():
            ss = by_value[value]
            if any(s.entity not in ("DATE_TIME", "LOCATION", "NRP") for s in ss):
                any_span += count
            letters = sum(1 for c in value if not c.isspace())
            for entity in ("PERSON", "LOCATION", "DATE_TIME"):
                covered = sum(
                    sum(1 for c in value[s.start : s.end] if not c.isspace())
                    for s in ss
                    if s.entity == entity
                )
                if letters and covered >= 0.6 * letters:
                    cover[entity] += count
        out[name] = cover
        out[f"{name}\x00spans"] = Counter({"any": any_span})
    return out


def plan_table(
    path: Path,
    *,
    sample_rows: int = 500,
    engine: Any = None,
    policy: DeidPolicy | None = None,
) -> Plan:
    """Classify every column of ``path`` from its first ``sample_rows`` rows.

    Each column becomes direct (with its entity), quasi (AGE/DATE/ZIP/GENDER/GEO),
    free_text or safe, from column-name hints and value detection (a value entity needs
    ``policy.detection.min_support`` of the sampled non-null values). Transforms are filled
    in from ``policy`` (default: the shipped policy) so the plan reads as a whole; edit and pin
    it with :meth:`Plan.save` / :meth:`Plan.from_yaml`.
    """
    from privtrain.deid._engine import get_engine
    from privtrain.deid._policy import load_policy

    if sample_rows < 1:
        raise InputError(f"sample_rows must be >= 1 (got {sample_rows})")
    policy = policy or load_policy()
    source = TableSource(Path(path))
    sample = source.sample(sample_rows)
    got = max((len(v) for v in sample.values()), default=0)
    if got == 0:
        raise InputError(f"{path}: no data rows")
    engine = engine or get_engine(phone_regions=policy.detection.phone_regions)
    ner = _ner_support(sample, engine, policy)
    columns = []
    for name in source.columns:
        kind, entity, why = _classify(name, sample[name], ner, policy)
        columns.append(
            ColumnPlan(
                name=name,
                kind=kind,
                entity=entity,
                transform=policy.transform_for(kind, entity),
                evidence=why,
            )
        )
    persons = [c.name for c in columns if c.kind == "direct" and c.entity == "PERSON"]
    split = [c for c in persons if re.search(r"first|given|fore|last|family|sur", _norm_name(c))]
    person_columns = split if len(split) >= 2 else persons[:1]
    return Plan(
        source=Path(path).name,
        format=source.format,
        sample_rows=got,
        person_columns=person_columns,
        columns=columns,
    )
