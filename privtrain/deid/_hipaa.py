"""HIPAA Safe Harbor: the 18 identifier classes, their recognizers, and a cheap value check.

45 CFR 164.514(b)(2) lists 18 kinds of identifiers that must be removed (or, for dates,
ages and ZIP codes, generalized) for health information to count as de-identified.
:data:`SAFE_HARBOR_CLASSES` maps each to the entities privtrain detects for it; the report
lists every class with what the policy did to it.

Recognizers here (each a presidio ``EntityRecognizer``):

- :class:`ContextIdRecognizer` - a code after a keyword: MRN, member/plan ids, account,
  licence/certificate, plate/VIN, serial/UDI, biometric ids;
- :class:`StructuredIdRecognizer` - ids whose shape is checkable without context: VINs (ISO
  3779 check digit), Medicare Beneficiary Identifiers, GS1 UDIs (``(01)`` + 14 digits);
- :class:`ZipRecognizer` - ZIP codes after "ZIP"/"postal code" or a US state;
- :class:`PartialDateRecognizer` - dates without a year ("DOB 7/16", "died Feb 4");
- :class:`OldAgeRecognizer` - ages over 89 ("103 y/o", "aged 94");
- :class:`ScriptNameRecognizer` - names in CJK and Arabic script, lower-case names
  (census given name + surname), names alone on a line that opens an address block or
  closes a signature.

:func:`value_entity` is the cheap per-value check ingest runs on every value of every column
the plan calls safe or quasi.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import phonenumbers
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from privtrain.deid._recognizers import (
    _LO,
    _STATE_NAMES,
    _UP,
    _card_prefix_ok,
    _LocalRecognizer,
    _luhn_ok,
    _result,
)
from privtrain.deid._vocab import given_names, medical_terms, surnames

# ------------------------------------------------------------------ the 18 Safe Harbor classes


@dataclass(frozen=True)
class SafeHarborClass:
    number: int
    key: str
    title: str
    entities: tuple[str, ...]


#: 45 CFR 164.514(b)(2)(i)(A)-(R) and the entities (column and span types) of each.
SAFE_HARBOR_CLASSES: tuple[SafeHarborClass, ...] = (
    SafeHarborClass(1, "A", "Names", ("PERSON",)),
    SafeHarborClass(
        2, "B", "Geographic subdivisions smaller than a state (street, city, county, ZIP)",
        ("STREET_ADDRESS", "LOCATION", "GEO", "ZIP"),
    ),
    SafeHarborClass(
        3, "C", "Dates (except year) directly related to an individual; ages over 89",
        ("DATE", "DATE_TIME", "BIRTH_DATE", "AGE"),
    ),
    SafeHarborClass(4, "D", "Telephone numbers", ("PHONE_NUMBER",)),
    SafeHarborClass(5, "E", "Fax numbers", ("FAX_NUMBER",)),
    SafeHarborClass(6, "F", "Electronic mail addresses", ("EMAIL_ADDRESS",)),
    SafeHarborClass(7, "G", "Social security numbers", ("US_SSN", "UK_NINO", "US_ITIN")),
    SafeHarborClass(8, "H", "Medical record numbers", ("MEDICAL_RECORD_NUMBER",)),
    SafeHarborClass(9, "I", "Health plan beneficiary numbers", ("HEALTH_PLAN_ID",)),
    SafeHarborClass(
        10, "J", "Account numbers",
        ("ACCOUNT_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER"),
    ),
    SafeHarborClass(
        11, "K", "Certificate/license numbers",
        ("LICENSE_NUMBER", "US_DRIVER_LICENSE", "MEDICAL_LICENSE", "US_PASSPORT"),
    ),
    SafeHarborClass(
        12, "L", "Vehicle identifiers and serial numbers, including license plates",
        ("VEHICLE_ID",),
    ),
    SafeHarborClass(13, "M", "Device identifiers and serial numbers", ("DEVICE_ID",)),
    SafeHarborClass(14, "N", "Web URLs", ("URL",)),
    SafeHarborClass(15, "O", "IP addresses", ("IP_ADDRESS", "MAC_ADDRESS")),
    SafeHarborClass(16, "P", "Biometric identifiers, including finger and voice prints",
                    ("BIOMETRIC_ID",)),
    SafeHarborClass(17, "Q", "Full-face photographs and comparable images", ("PHOTO",)),
    SafeHarborClass(18, "R", "Any other unique identifying number, characteristic or code",
                    ("ID", "CRYPTO")),
)  # fmt: skip

#: Entities privtrain adds for the Safe Harbor classes (besides presidio's).
HIPAA_ENTITIES = (
    "MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_ID", "ACCOUNT_NUMBER", "LICENSE_NUMBER", "VEHICLE_ID",
    "DEVICE_ID", "BIOMETRIC_ID", "FAX_NUMBER", "ZIP", "AGE",
)  # fmt: skip

#: 3-digit ZIP prefixes whose area held 20,000 people or fewer (Census 2000, as HHS lists them
#: in its Safe Harbor guidance): Safe Harbor replaces them by "000".
RESTRICTED_ZIP3 = frozenset(
    "036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893".split()
)


def safe_harbor_class(entity: str | None) -> SafeHarborClass | None:
    for c in SAFE_HARBOR_CLASSES:
        if entity in c.entities:
            return c
    return None


# ------------------------------------------------------------------------- keyword + code

# a code: letters/digits with a digit in its first token (or a short prefix, "MA 123456"),
# then up to five more space- or dash-separated groups that hold digits ("943 476 5919",
# "1 85 05 78 006 084 36", "CSN 258 546 3880"), or one short letter group for plates and
# ids ("2658 MAW", "NV 17 88 01 C")
_GROUP = r"(?:\d{1,8}|[A-Z]{0,3}\d[A-Z0-9]{0,11})(?![\w-])"
_CODE = (
    r"(?P<code>(?=[^\s]*\d|(?-i:[A-Z0-9\-]{1,6}(?:[ \t][A-Z]{1,3})?[ \t][A-Z0-9]*\d))"
    r"[^\W_](?:[\w\-./]{0,30}[^\W_])?"
    rf"(?:[ \t](?:{_GROUP}|(?-i:[A-Z]{{1,3}})(?![\w-]))){{0,6}})"
)
_GLUE = (
    r"[ \t]*(?:(?:number|num|no\.?|nr\.?|n[°º]\.?|n\.|#|id|code|is|was|:|-|=|of|\([A-Za-z]{2,8}\))"
    r"[ \t]*){0,3}"
)
_KEYWORDS: dict[str, str] = {
    "MEDICAL_RECORD_NUMBER": (
        r"mrn|medical[ \t]+record(?:[ \t]+number)?|med[ \t]*rec|chart(?:[ \t]+number)?|"
        r"hospital[ \t]+(?:number|id|no)|hosp\.?[ \t]+(?:no|number|id)|hosp\.?[ \t]*#|"
        r"patient[ \t]+(?:id|number|"
        r"no)|pt[ \t]+(?:id|no|#)|record[ \t]+(?:number|no)|accession|encounter[ \t]+(?:id|number)|"
        r"encounter|admission[ \t]+(?:id|number)|case[ \t]+number|nhs[ \t]+(?:number|no)|"
        r"ehr[ \t]+id|emr|ehr|(?-i:MR)(?=[ \t]*(?:#|no\b|No\b|number\b))|(?-i:PID|CHI|URN|UR|FIN|"
        r"CSN|HAR)|unit[ \t]+(?:number|no)|visit[ \t]+(?:number|no|id)|"
        r"hospital[ \t]+registration|clinic[ \t]+number|register[ \t]+number|"
        r"specimen(?:[ \t]+(?:id|number|no))?|sample[ \t]+(?:id|number|no)|"
        r"case(?:[ \t]+(?:no|id|#))|pt\.?[ \t]*#|record(?=[ \t]*[:#])|patient[ \t]*#|"
        r"visit[ \t]+#|fallnummer|fall-nr|patienten-?id|patientennummer|kh-nr|aufnahmenummer|"
        r"(?:n[°º]|num[ée]ro)[ \t]+(?:de[ \t]+)?dossier|dossier[ \t]+(?:n[°º]|no|m[ée]dical)|"
        r"(?-i:IPP|NIP|NHC)|historia[ \t]+cl[ií]nica|n[°º][ \t]+historia|cartella[ \t]+clinica|"
        r"prontu[aá]rio|pati[eë]ntnummer|journalnummer|mrd|med[ \t]+rec[ \t]+no|"
        r"medical[ \t]+rec(?:ord)?[ \t]+no|med\.?[ \t]*rec\.?|unit[ \t]*#|ur[ \t]+(?:no|number)"
    ),
    "HEALTH_PLAN_ID": (
        r"member(?:[ \t]+(?:id|number|no))?|subscriber(?:[ \t]+(?:id|number|no))?|"
        r"beneficiary(?:[ \t]+(?:id|number|no))?|mbi|hicn|medicare(?:[ \t]+(?:id|number|card))?|"
        r"medicaid(?:[ \t]+(?:id|number))?|health[ \t]+plan(?:[ \t]+(?:id|number))?|"
        r"health[ \t]+(?:card|insurance)(?:[ \t]+(?:id|number|no))?|"
        r"insurance(?:[ \t]+(?:id|number|card|no))?|insurer[ \t]+id|"
        r"policy(?:[ \t]+(?:id|number|no))?|plan[ \t]+id|group(?:[ \t]+(?:number|no|id))?|"
        r"ehic|carte[ \t]+vitale|versichertennummer|versicherungsnummer|krankenversicherung|"
        r"tarjeta[ \t]+sanitaria|tessera[ \t]+sanitaria|bcbs|aetna|cigna|humana|kaiser|"
        r"united[ \t]?healthcare|anthem|tricare"
    ),
    "ACCOUNT_NUMBER": (
        r"account(?:[ \t]+(?:id|number|no))?|acct|a/c|billing[ \t]+(?:id|number)|invoice|"
        r"routing[ \t]+number|claim(?:[ \t]+(?:id|number))?|iban|sort[ \t]+code"
    ),
    "LICENSE_NUMBER": (
        r"licen[cs]e(?:[ \t]+(?:id|number|no))?|driver'?’?s[ \t]+licen[cs]e|"
        r"driving[ \t]+licen[cs]e|"
        r"dl|lic\.?|certificate(?:[ \t]+of[ \t]+[a-z]+)?|cert\.?|certification|dea|npi|"
        r"registration(?:[ \t]+number)?|permit|passport|(?-i:GMC|NMC[ \t]+PIN|NMC|PIN)|upin|"
        r"führerschein|permis(?:[ \t]+de[ \t]+conduire)?|carnet|patente|"
        r"licenza|licencia|c[ée]dula[ \t]+profesional|zertifikat|certificat|certificado|"
        r"clia(?:[ \t]+(?:id|number|no))?|cap[ \t]+(?:accreditation|number|no)|"
        r"(?:medicare|medicaid)[ \t]+provider(?:[ \t]+(?:id|number|no))?|provider[ \t]+"
        r"(?:id|number|no)|ptan|ein|tax[ \t]+id(?:[ \t]*\(ein\))?|rpps|adeli|colegiado|"
        r"(?:n[°º]|n[uú]mero)[ \t]+(?:de[ \t]+)?colegiad[oa]|iscrizione(?:[ \t]+albo)?|albo|"
        r"big-?(?:nummer|register)|lanr|bsnr|approbation(?:surkunde)?|ahpra(?:[ \t]+reg\.?)?|"
        r"board[ \t]+(?:certification|cert\.?|certified)|accreditation|credential(?:[ \t]+id)?|"
        r"registration[ \t]+(?:no|#)|reg\.?[ \t]+no|lic#|licence#|license#|"
        r"(?:abim|abfm|abp|abs|abem|abpn|abr|abog|abpm|abms|aobim|ecfmg|usmle|nbme|fsmb|"
        r"acls|bls|pals|atls|nrp|cna|emt|nremt)(?:[ \t]+(?:card|cert(?:ificate)?|id|number))?"
    ),
    "VEHICLE_ID": (
        r"licen[cs]e[ \t]+plate|number[ \t]+plate|plate|registration[ \t]+plate|tag|"
        r"vin|vehicle(?:[ \t]+(?:id|identification[ \t]+number))?|chassis|(?:car[ \t]+)?reg\.?|"
        r"registration|kennzeichen|matr[ií]cula|targa|immatriculation|plaque|kenteken|"
        r"registreringsnummer|reg\.?[ \t]*nr|rekisterinumero|rendszám|spz|rego|placa|"
        r"nummernschild|autokennzeichen|tablica(?:[ \t]+rejestracyjna)?|numberplate|"
        r"licen[cs]e[ \t]+tag|fahrzeug-ident\.?-nr|fin-nr|vin[ \t]+no|motorcycle|trailer"
    ),
    "DEVICE_ID": (
        r"serial(?:[ \t]+(?:id|number|no))?|s/n|sn|device(?:[ \t]+(?:id|identifier|serial))?|"
        r"udi(?:-di)?|gudid|implant(?:[ \t]+(?:id|serial))?|pacemaker(?:[ \t]+serial)?|imei|"
        r"meid|mac(?:[ \t]+address)?|lot(?:[ \t]+number)?|transmitter(?:[ \t]+(?:id|serial))?|"
        r"sensor(?:[ \t]+(?:id|serial))?|pump(?:[ \t]+(?:id|serial))?|model[ \t]+(?:no|number)|"
        r"catalog(?:ue)?[ \t]+(?:no|number)|ref|asset[ \t]+tag|ser\.?[ \t]*(?:no|#)|serial#|"
        r"seriennummer|serien-?nr|n[°º][ \t]+de[ \t]+s[ée]rie|num[ée]ro[ \t]+de[ \t]+s[ée]rie|"
        r"n[uú]mero[ \t]+de[ \t]+serie|numero[ \t]+di[ \t]+serie|serienummer|sarjanumero|"
        r"numer[ \t]+seryjny|hibc(?:[ \t]+label)?|barcode|udi[ \t]+\(hibcc\)|"
        r"(?:insulin[ \t]+)?pump[ \t]+sn|transmitter|cgm|lvad|icd[ \t]+serial|generator[ \t]+"
        r"serial|lead[ \t]+serial|hearing[ \t]+aid(?:[ \t]+serial)?|cochlear[ \t]+implant"
    ),
    "BIOMETRIC_ID": (
        r"fingerprint(?:[ \t]+(?:id|template|hash))?|biometric(?:[ \t]+(?:id|template|hash))?|"
        r"retina(?:l)?(?:[ \t]+scan)?(?:[ \t]+id)?|iris(?:[ \t]+(?:scan|template|id))?|"
        r"voice[ \t]?print|palm[ \t]?print|face(?:print|[ \t]+template)|dna[ \t]+(?:profile|id)"
    ),
    "FAX_NUMBER": r"fax(?:[ \t]+(?:number|no))?",
    "ID": (
        r"employee[ \t]+(?:id|number)|badge(?:[ \t]+number)?|student[ \t]+(?:id|number)|"
        r"national[ \t]+(?:id|identity|identification|insurance|number)(?:[ \t]+(?:card|number))?|"
        r"id[ \t]+(?:number|card|no)|identity[ \t]+(?:card|document|number)|identifier|"
        r"customer[ \t]+(?:id|number)|reference[ \t]+number|ref\.?[ \t]+no|ticket[ \t]+number|"
        r"social[ \t]+(?:insurance|security)(?:[ \t]+(?:number|no))?|ss#|tax[ \t]+(?:id|file[ \t]+"
        r"number|number|code)|(?-i:SIN|NIR|DNI|NIE|NIF|CF|BSN|CPR|PESEL|PAN|CPF|CURP|RUT|PPSN?|"
        r"TFN|TIN|HETU|EGN|OIB|AMKA|CNP|JMBG|NIC|NRIC|EMSO|RFC|CUIL|CUIT|DUI)|c\.f\.|"
        r"codice[ \t]+fiscale|burgerservicenummer|rijksregisternummer|personnummer|"
        r"personal[ \t]+(?:number|id)|personnummer|henkilötunnus|fødselsnummer|aadhaar|"
        r"steuer-?id|steueridentifikationsnummer|numéro[ \t]+de[ \t]+sécurité[ \t]+sociale|"
        r"n°[ \t]+ss|sécurité[ \t]+sociale|documento|cédula|carte[ \t]+d'identité|"
        r"ausweis(?:nummer)?"
    ),
}
_KEYWORD_RES = [
    (entity, re.compile(rf"(?i)\b(?:{kw})(?:(?<=#)|(?!\w))\.?{_GLUE}{_CODE}(?![\w-])"))
    for entity, kw in _KEYWORDS.items()
]
_PHONEISH = re.compile(r"[+(]?\d[\d \-().]{6,}\d")
# a plate written in lower case after a vehicle keyword ("plaque p-hu 8654", "reg ab12 cde")
_LOWER_PLATE_RE = re.compile(
    rf"(?i)\b(?:{_KEYWORDS['VEHICLE_ID']})(?!\w)\.?{_GLUE}"
    r"(?P<code>(?-i:[a-z]{1,3}(?:[- ][a-z]{1,3})?[- ]?\d{1,4}(?:[- ]?[a-z]{1,3})?))(?![\w-])"
)


class ContextIdRecognizer(_LocalRecognizer):
    """A code (letters/digits with at least one digit) right after an identifier keyword."""

    ENTITIES = tuple(_KEYWORDS)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = []
        if not any(c.isdigit() for c in text):
            return out
        for entity, rx in _KEYWORD_RES:
            for m in rx.finditer(text):
                s, e = m.span("code")
                code = m.group("code")
                # a second keyword is not part of the code ("vehicle reg AU 30455")
                lead = re.match(r"[^\W\d_]+[ \t]+", code)
                if lead and lead.group().strip().islower() and len(code) > lead.end():
                    s += lead.end()
                    code = code[lead.end() :]
                if sum(c.isalnum() for c in code) < 4 or not any(c.isdigit() for c in code):
                    continue
                if " " in code and entity not in ("VEHICLE_ID", "ID", "HEALTH_PLAN_ID"):
                    # letter-only groups belong to plates and national ids ("2658 MAW",
                    # "NV 17 88 01 C"); elsewhere the code ends before the first one
                    parts = code.split()
                    keep = [parts[0]]
                    for part in parts[1:]:
                        if not any(c.isdigit() for c in part):
                            break
                        keep.append(part)
                    if len(keep) == 1 and (
                        not any(c.isdigit() for c in parts[0]) or len(parts[0]) < 4
                    ):
                        continue
                    e = s + len(" ".join(keep))
                # a fax keyword reads the whole number, separators included
                if entity == "FAX_NUMBER":
                    pm = _PHONEISH.match(text, s)
                    if pm:
                        e = max(e, pm.end())
                out.append(_result(entity, s, e, 0.85, self))
        for m in _LOWER_PLATE_RE.finditer(text):
            out.append(_result("VEHICLE_ID", m.start("code"), m.end("code"), 0.85, self))
        return out


# -------------------------------------------------------------------- structured shapes

_VIN = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])")
_VIN_VALUES = {
    **{str(i): i for i in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}  # fmt: skip
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_ok(v: str) -> bool:
    """ISO 3779 / North American check digit (position 9)."""
    v = v.upper()
    if len(v) != 17 or any(c not in _VIN_VALUES for c in v):
        return False
    total = sum(_VIN_VALUES[c] * w for c, w in zip(v, _VIN_WEIGHTS, strict=True))
    check = total % 11
    return v[8] == ("X" if check == 10 else str(check))


_MBI_A = "AC-HJKMNP-RT-Y"
_MBI = re.compile(
    rf"(?<![A-Za-z0-9])[1-9][{_MBI_A}][{_MBI_A}0-9]\d-?[{_MBI_A}][{_MBI_A}0-9]\d-?"
    rf"[{_MBI_A}]{{2}}\d{{2}}(?![A-Za-z0-9])"
)
# a Medicare HICN: an SSN and a beneficiary identification code ("123-45-6789A", "...6789B1")
_HICN = re.compile(r"(?<![\w-])\d{3}-?\d{2}-?\d{4}[A-Z]\d?(?![\w-])")
_UDI = re.compile(r"\(01\)\d{14}(?:\((?:10|11|17|21|240)\)[A-Za-z0-9\-]{1,20})*")
_HIBCC = re.compile(
    r"(?<![\w+])\+(?:[A-Z]\d{3}[A-Z0-9]{4,18}(?:/[A-Z0-9$+]{2,40})?"
    r"|[A-Z][A-Z0-9]{3}[A-Z0-9]{2,19}/[A-Z0-9$+]{2,40})(?![\w$+])"
)


class StructuredIdRecognizer(_LocalRecognizer):
    """Identifiers whose shape alone gives them away: VINs with a valid check digit (others
    17-character VIN-shaped codes score lower), Medicare Beneficiary Identifiers, GS1 and
    HIBCC unique device identifiers."""

    ENTITIES = ("VEHICLE_ID", "HEALTH_PLAN_ID", "DEVICE_ID")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = []
        for m in _VIN.finditer(text):
            v = m.group()
            if sum(c.isdigit() for c in v) >= 3 and sum(c.isalpha() for c in v) >= 3:
                out.append(_result("VEHICLE_ID", m.start(), m.end(), 0.9 if vin_ok(v) else 0.6,
                                   self))  # fmt: skip
        for m in _MBI.finditer(text):
            out.append(_result("HEALTH_PLAN_ID", m.start(), m.end(), 0.85, self))
        for m in _HICN.finditer(text):
            out.append(_result("HEALTH_PLAN_ID", m.start(), m.end(), 0.7, self))
        for rx in (_UDI, _HIBCC):
            for m in rx.finditer(text):
                out.append(_result("DEVICE_ID", m.start(), m.end(), 0.85, self))
        return out


# ------------------------------------------------------------------------------ ZIP codes

_STATES = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
    r"NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI"
)
_STATES_NOT_WORDS = "|".join(
    st for st in _STATES.split("|") if st not in ("MD", "PA", "ME", "OR", "IN", "DE", "OK", "HI")
)
_ZIP_RE = re.compile(
    r"(?:(?i:\b(?:zip(?:[ \t]*code)?(?:[ \t]*\+[ \t]*4)?|zipcode|postal[ \t]+code|post[ \t]*code|"
    r"postcode))[ \t]*(?:is[ \t]+)?[:#]?[ \t]*|\b(?:"
    + _STATES
    + r")\.?[ \t]+|\b(?:"
    + _STATE_NAMES
    + r"),?[ \t]+)(?P<zip>\d{5}(?:-\d{4})?)(?![\d-])"
)
# postcodes of other countries after their own keyword: "PLZ 10115", "CP 28013", "CEP
# 01310-100", "code postal 75008", "postnummer 114 55", "PIN 560001", "〒100-0001", "kod
# pocztowy 00-950", "CAP 00184", "postcode 1012 AB"
_POSTCODE_SHAPES = (
    r"\d{5}-\d{3}|\d{4}-\d{3}|\d{3}-\d{4}|\d{2}-\d{3}|\d{3}[ \t]\d{2}"
    r"|\d{4}[ \t]?[A-Z]{2}(?![A-Za-z])|[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}"
    r"|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|[A-Z]\d[\dW][ \t]?[A-Z0-9]{4}"
    r"|(?:[A-Z]{1,2}-)?\d{4,6}"
)
_POSTCODE_RE = re.compile(
    r"(?:(?i:\b(?:zip(?:[ \t]*code)?|postal[ \t]+code|post[ \t]*code|postcode|code[ \t]+postal|"
    r"c[oó]digo[ \t]+postal|cod\.?[ \t]+postale|postleitzahl|postnummer|postinumero|"
    r"kod[ \t]+pocztowy|pin[ \t]*code|pincode|irányítószám|posta[ \t]+kodu|eircode)\b)"
    r"[ \t]*(?:is[ \t]+)?[:#]?[ \t]*|(?<![\w.])(?:PLZ|CP|C\.P\.|CEP|CAP|C\.A\.P\.|PIN|PSČ|"
    r"P\.O\.[ \t]+code)[ \t]*:?[ \t]*|〒[ \t]*)"
    rf"(?P<zip>{_POSTCODE_SHAPES})(?![\w-])"
)
# UK and Canadian postcodes are distinctive enough to stand alone ("SW1A 1AA", "K1A 0B6")
_UK_CA_POSTCODE = re.compile(
    r"(?<![\w-])(?:(?:GIR[ \t]0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?[ \t]\d[ABD-HJLNP-UW-Z]{2})"
    r"|[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t]\d[ABCEGHJ-NPRSTV-Z]\d)(?![\w-])"
)


class ZipRecognizer(_LocalRecognizer):
    """Postcodes (entity ``ZIP``): US ZIP codes after a ZIP/postal-code keyword or a state
    (name or abbreviation), other countries' postcodes after their national keyword (PLZ,
    CP, CEP, CAP, code postal, postnummer, PIN, 〒, ...), UK and Canadian postcodes alone."""

    ENTITIES = ("ZIP",)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = [
            _result("ZIP", m.start("zip"), m.end("zip"), 0.8, self) for m in _ZIP_RE.finditer(text)
        ]
        seen = {(r.start, r.end) for r in out}
        for rx, score in ((_POSTCODE_RE, 0.75), (_UK_CA_POSTCODE, 0.6)):
            for m in rx.finditer(text):
                s, e = m.span("zip") if rx is _POSTCODE_RE else m.span()
                if (s, e) not in seen:
                    seen.add((s, e))
                    out.append(_result("ZIP", s, e, score, self))
        return out


# ------------------------------------------------------------------ cities and counties

_PLACE_WORD = rf"[{_UP}][{_LO}{_UP}'’]*(?:-[{_UP}{_LO}][{_LO}'’]*)*\.?"
_PLACE = (
    rf"{_PLACE_WORD}(?:[ \t]+(?:(?:de|da|do|del|la|le|les|ter|upon|am|an|im|sur|en|y|vorm|vor|"
    r"bei|ob|unter|sul|sous|lès)"
    rf"[ \t]+)?{_PLACE_WORD}){{0,2}}"
)
_PLACE_RES = (
    # "Springfield, IL", "Lake Stacyton, Virginia": the city before a US state
    re.compile(rf"(?P<place>{_PLACE}),[ \t]+(?:(?-i:{_STATES_NOT_WORDS})|{_STATE_NAMES})\b"),
    # "born in Żary", "resident of Port Kristin", "moved to Huis ter Heide"
    re.compile(
        r"(?i:\b(?:born|lives|living|resident|resides|residing|moved|relocated|native|"
        r"hometown|hospital|clinic|home|grew[ \t]+up|raised|town|city|village|municipality|"
        r"commune|gemeente|parish|county|borough|suburb|district)"
        r"(?:[ \t]+(?:in|of|to|from|at|near))?[ \t]*:?)[ \t]+"
        rf"(?P<place>{_PLACE})"
    ),
    # "the Karlstad clinic", "at the North Carriebury office"
    re.compile(
        rf"\bthe[ \t]+(?P<place>{_PLACE})[ \t]+(?i:clinic|hospital|office|branch|store|site|"
        r"campus|surgery|practice|health[ \t]+cent(?:er|re)|medical[ \t]+cent(?:er|re)|ward|"
        r"nursing[ \t]+home|care[ \t]+home|pharmacy)\b"
    ),
    # "Cook County", "County Kerry", "Orleans Parish"
    re.compile(
        rf"(?P<place>{_PLACE}[ \t]+(?:County|Parish|Borough|Township)|County[ \t]+{_PLACE_WORD})"
    ),
    # "transferred from Wörgl", "returned from Eger", "visiting from Port Kristin"
    re.compile(
        r"(?i:\b(?:transferred|transfer|returned|returning|visiting|arrived|came|flew|drove|"
        r"travel(?:l?ed)?|trip|referred|evacuated|emigrated|immigrated|commutes?)"
        r"(?:[ \t]+(?:in|back|here|over))?[ \t]+(?:from|to|in)(?:[ \t]+the)?)[ \t]+"
        rf"(?P<place>{_PLACE})"
    ),
    # "moved from Albury to Wodonga": both ends of a from-to pair of places
    re.compile(rf"\bfrom[ \t]+(?P<place>{_PLACE})[ \t]+to[ \t]+{_PLACE_WORD}"),
    re.compile(
        rf"\bfrom[ \t]+{_PLACE_WORD}(?:[ \t]+{_PLACE_WORD}){{0,2}}[ \t]+to[ \t]+(?P<place>{_PLACE})"
    ),
    # "born 3 May 1950 in Tübingen", "born on 1950-05-03 in Sligo"
    re.compile(rf"\b(?i:born)\b(?:[^.\n]|(?<=\d)\.(?=\d)){{0,30}}?\bin[ \t]+(?P<place>{_PLACE})"),
    # "met in Wolfsburg on 3/4/21": a place before a dated "on"
    re.compile(rf"\bin[ \t]+(?P<place>{_PLACE})[ \t]+on[ \t]+(?:the[ \t]+)?\d"),
    # administrative units named before the place: "Landkreis Kusel", "comté de Gers",
    # "condado de Orange", "city of Lakewood", "provincia di Rimini"
    re.compile(
        r"(?i:\b(?:landkreis|kreis|bezirk|gemeinde|stadt|comté[ \t]+de|commune[ \t]+de|"
        r"département[ \t]+de|condado[ \t]+de|municipio[ \t]+de|município[ \t]+de|"
        r"provincia[ \t]+di|comune[ \t]+di|gemeente|powiat|okres|kommune|county[ \t]+of|"
        r"city[ \t]+of|town[ \t]+of|village[ \t]+of|township[ \t]+of|borough[ \t]+of|"
        r"district[ \t]+of|parish[ \t]+of))[ \t]+"
        rf"(?P<place>{_PLACE})"
    ),
    # "Michaelborough General Hospital", "Wörgl Community Hospital": the place a facility
    # is named after
    re.compile(
        rf"(?P<place>{_PLACE})[ \t]+(?:General|Community|Memorial|Regional|District|County|"
        r"Municipal|University|City|Cottage|Royal|Central)[ \t]+(?:Hospital|Medical[ \t]+"
        r"Cent(?:er|re)|Clinic|Infirmary|Health[ \t]+(?:Cent(?:er|re)|System))\b"
    ),
)
_NOT_PLACE = frozenset(
    """the a an this that his her their our my patient pt dr mr mrs ms home hospital clinic
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december today yesterday tomorrow er icu
    emergency room bed ward unit the same other english spanish french""".split()
)


class PlaceRecognizer(_LocalRecognizer):
    """Cities, towns and counties (entity ``LOCATION``) the NER model misses: a place before a
    US state ("Lake Stacyton, VA"), after a residence word ("born in Żary", "resident of
    Port Kristin"), before "clinic"/"hospital" ("the Karlstad clinic"), and counties.
    States and countries are not smaller than a state and are left to the NER model."""

    ENTITIES = ("LOCATION",)

    def __init__(self) -> None:
        super().__init__()
        self._medical = medical_terms()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = []
        for rx in _PLACE_RES:
            for m in rx.finditer(text):
                s, e = m.span("place")
                words = [w.strip(".").lower() for w in text[s:e].split()]
                if (
                    not words
                    or words[0] in _NOT_PLACE
                    or all(w in self._medical or w in _NOT_PLACE for w in words)
                ):
                    continue
                if re.fullmatch(_STATE_NAMES, text[s:e]):
                    continue
                out.append(_result("LOCATION", s, e, 0.6, self))
        return out


# ------------------------------------------------------------------- dates without a year

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAYN = r"(?:[12]\d|3[01]|0?[1-9])"
_DATE_CONTEXT = (
    r"(?i:dob|d\.o\.b\.?|born|birthday|b-?day|died|death|deceased|expired|passed[ \t]+away|"
    r"admitted|admission|discharged?|seen|visit(?:ed)?|on|since|from|until|till|to|dated?|"
    r"surgery|procedure|op|appt|appointment|follow-?up|f/u|returned|presented|last[ \t]+seen|"
    r"scheduled|due|delivered|onset|injury|accident|vaccinated|started|stopped|by|before|after|"
    r"in|at|moved|arrived|left|called|phoned|operated|tested|x-?ray|scan|mri|ct)"
)
_PARTIAL_DATE_RES = (
    # "DOB 7/16", "seen on 3-14": month/day with a date word before it
    re.compile(
        rf"\b{_DATE_CONTEXT}[ \t]*:?[ \t]*(?P<d>(?:0?[1-9]|1[0-2])[/\-]{_DAYN})(?![/\-.]?\d)"
    ),
    # "Feb 4", "February 4th" (no year after it)
    re.compile(rf"\b(?P<d>{_MONTH}[ \t]+{_DAYN}(?:st|nd|rd|th)?)\b(?!,?[ \t]*(?:\d|'\d))"),
    # "4 Feb", "4th of February" (no year after it)
    re.compile(rf"\b(?P<d>{_DAYN}(?:st|nd|rd|th)?(?:[ \t]+of)?[ \t]+{_MONTH})(?![\w,]*[ \t]*\d)"),
)


class PartialDateRecognizer(_LocalRecognizer):
    """Dates without a year: a day and a month are still a date element Safe Harbor removes."""

    ENTITIES = ("DATE_TIME",)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = []
        for rx in _PARTIAL_DATE_RES:
            for m in rx.finditer(text):
                s, e = m.span("d")
                if (
                    rx is _PARTIAL_DATE_RES[1]
                    and text[s:e].startswith("May")
                    and not (
                        re.search(r"(?i)(?:on|since|from|until|dob|born|died)[ \t]*$", text[:s])
                    )
                ):
                    continue  # "May 3 patients ..." - the verb, not the month
                out.append(_result("DATE_TIME", s, e, 0.65, self))
        return out


# ---------------------------------------------------------------------- ages over 89

_UNITS_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_OLD_WORDS = (
    rf"(?i:ninety(?:[- \t]{_UNITS_WORD})?|(?:a|one)[- \t]hundred(?:(?:[- \t]and)?[- \t]"
    rf"(?:(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
    rf"|(?:twenty|thirty|forty)(?:[- \t]{_UNITS_WORD})?|{_UNITS_WORD}))?)"
)
_OLD = rf"(?P<age>9\d|1[0-4]\d|{_OLD_WORDS})"
_OLD_NUM = r"(?P<age>9\d|1[0-4]\d)"
# what follows an age and belongs to it: "-year-old", " y.o.", "yo", " years of age", "yom",
# and the same in other languages ("Jahre", "-jährige", "ans", "años", "anni", "jaar", "år")
_AGE_UNIT = (
    r"(?i:[ \t]*-?[ \t]*(?:years?[ \t-]+of[ \t-]+age|yrs?[ \t-]+of[ \t-]+age|"
    r"(?:years?|yrs?|yr\.|y)[ \t-]*old|years?|yrs?\.?|year-old|yr-old|y[ \t]*/[ \t]*o|"
    r"y\.[ \t]?o\.?(?:[ \t]?[mf]\.?)?|y-o|yo[mf]?|y(?=[ \t]*[,;)/]|[ \t]+[MF]\b|$)|"
    r"jahre?(?:[ \t]+alt)?|-?j[äa]hrige?[rn]?|ans|a[ñn]os|anni|jaar|[åa]r|anos|lat|-?letni[a]?|"
    r"лет|года|ετών|yaşında|éves|vuotias|-?årig|"
    r"th[ \t]+birthday|st[ \t]+birthday|nd[ \t]+birthday|rd[ \t]+birthday)"
    r"(?![^\W\d_]))"
)
_AGE_KEYWORD = (
    r"(?i:\b(?:aged?|age[ \t]+is|age[ \t]+at[ \t]+[a-z]+|age[ \t]+of|(?:at[ \t]+)?the[ \t]+age"
    r"[ \t]+of|age[ \t]*\((?:years?|yrs?|y)\)|ages?|alter|edad|[âa]ge|et[àa]|leeftijd|[åa]lder|"
    r"alder|idade|wiek|возраст|ikä|yaş|âgée?[ \t]+de|im[ \t]+alter[ \t]+von|de[ \t]+edad)"
    r"(?![^\W\d_]))[ \t]*[:|=\-]?[ \t]*"
)
_AGE_SUBJECT = (
    r"(?i:\b(?:pt|patient|she|he|who|mother|father|mom|mum|dad|grandmother|grandfather|"
    r"grandma|grandpa|husband|wife|spouse|resident|decedent|widow|widower)[ \t]+"
    r"(?:is|was|turned|turns|will[ \t]+be|would[ \t]+have[ \t]+been|has[ \t]+turned|"
    r"just[ \t]+turned|is[ \t]+now|now)(?:[ \t]+now)?[ \t]+)"
)
# not an age: a number with a unit or a decimal part ("is 96%", "was 94 kg", "is 98.6")
_NOT_AGE_AFTER = (
    r"(?![ \t]*(?:%|percent|mg|mcg|kg|lbs?|bpm|mm|cm|ml|units?|°|/|[.,]\d|\d|x\b|"
    r"(?i:on[ \t]+(?:ra|room)|f\b|c\b)))"
)
_TEMP_BEFORE = re.compile(r"(?i)(?:\bt|temp|tmax|temperature|°)[ \t:=]*$")
_OLD_AGE_RES = (
    # "94-year-old", "94 y.o.", "ninety-three years old", "94 Jahre", "100th birthday"
    re.compile(rf"\b{_OLD}{_AGE_UNIT}"),
    # "aged 94", "Age: 94", "Age (years): 94", "Edad: 99", "Âge : 91", "at the age of 96"
    re.compile(rf"{_AGE_KEYWORD}{_OLD}(?:{_AGE_UNIT})?(?![\w.,]\d)"),
    # "94M", "94 F", "94/M", "94yoF" (not a temperature "T 99 F")
    re.compile(
        rf"(?<![.\d])\b{_OLD_NUM}"
        r"(?:[ \t]*(?i:yo|y\.o\.?|y))?[ \t]*/?[ \t]*(?:[MF])(?![\w])"
    ),
    # "M/94", "F, 94", "(105, M)", "(93 y, F)"
    re.compile(rf"\b[MF][ \t]*[/,][ \t]*{_OLD_NUM}\b(?![.,]\d)"),
    re.compile(
        rf"\({_OLD_NUM}(?:[ \t]*(?i:y|yrs?|y\.o\.|yo))?[ \t]*[,/;][ \t]*(?i:[mf]|male|female|"
        r"man|woman)\b"
    ),
    # "Pt is 96.", "mother is 93", "she turned 100 last week"
    re.compile(rf"{_AGE_SUBJECT}{_OLD}{_NOT_AGE_AFTER}(?:{_AGE_UNIT})?"),
)


class OldAgeRecognizer(_LocalRecognizer):
    """Ages over 89 (entity ``AGE``): Safe Harbor folds them into one "90 or older" class.
    The span is the age with its unit ("94-year-old", "94 yo", "94 Jahre"), so a transform
    replaces the age and keeps the unit; younger ages are not identifiers under Safe Harbor
    and are left alone."""

    ENTITIES = ("AGE",)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out = []
        for rx in _OLD_AGE_RES:
            for m in rx.finditer(text):
                s, e = m.start("age"), m.end()
                if rx is _OLD_AGE_RES[2] and _TEMP_BEFORE.search(text, max(0, s - 12), s):
                    continue
                while e > s and text[e - 1] in " \t-,;/(":
                    e -= 1
                if text[s:e].count("(") != text[s:e].count(")"):
                    e = m.end("age")
                out.append(_result("AGE", s, e, 0.85, self))
        return out


# ------------------------------------------------------------------------ names by script

# Most frequent family names (Chinese mainland and Taiwan rankings, simplified and traditional
# forms; Japanese; Korean) - hand-written from public frequency rankings.
_CN_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤張劉陳楊黃趙吳許鄭謝蕭馮鄧葉蘇呂盧鍾譚陸賈韋鄒錢嚴龔湯歐陽柯洪游詹賴翁"
)
_JP_SURNAMES = frozenset(
    """佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邊 山本 中村 小林 加藤 吉田 山田 佐々木
    山口 松本 井上 木村 林 斎藤 斉藤 清水 山崎 森 池田 橋本 阿部 石川
    山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本
    福田 太田 西村 藤井 金子 岡本 藤原 中野 三浦 原田 中川 松田 竹内 小野
    田村 中山 和田 石田 森田 上田 原 内田 柴田 酒井 工藤 横山 宮崎 宮本
    内藤 高木 安藤 谷口 大野 丸山 今井 高田 藤本 武田 村田 上野 杉山 増田
    小山 大塚 千葉 久保 松井 小島 岩崎 桜井 野口 松尾 野村 木下 菊地 佐野
    大西 杉本 新井 浜田 菅原 市川 水野 小松 島田 古川 小西 西田""".split()
)
_KR_SURNAMES = set(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나엄채원천방공"
    "현함변염여추도소석선설마길연위표명기반라왕금옥육인맹제모탁국어은편용"
)
_AR_GIVEN = frozenset(
    """محمد أحمد احمد علي حسن حسين محمود مصطفى خالد عمر عمرو يوسف
    إبراهيم ابراهيم عبدالله عبد الله عبدالرحمن سعيد سعد طارق كريم ياسر وليد
    هشام سامي سمير ماجد فيصل فهد ناصر سلطان زياد رامي نبيل جمال
    عادل عماد أيمن ايمن بلال حمزة أنس انس مريم فاطمة عائشة خديجة
    زينب سارة ساره نور هدى ليلى سلمى رنا دينا منى هند أمل
    امل ريم لينا ياسمين آمنة امنة حنان سعاد نادية رقية""".split()
)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\u3005\uf900-\ufaff"
_HANGUL = "\uac00-\ud7a3"
_ARABIC = "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
_HAN_RUN = re.compile(rf"[{_HAN}]+")
_HANGUL_RUN = re.compile(rf"[{_HANGUL}]+")
_AR_WORD = rf"[{_ARABIC}]+"
_AR_RUN = re.compile(rf"{_AR_WORD}(?:[ \t]+{_AR_WORD}){{0,3}}")
_CJK_TITLE_AFTER = re.compile(
    r"(?:先生|女士|小姐|医生|醫生|医师|醫師|大夫|护士|護士|教授|老师|老師|同志|患者|さん|様|氏|君|"
    r"씨|님|선생님|환자|의사)"
)
_CJK_LABEL_BEFORE = re.compile(
    r"(?:患者姓名|患者|病人|姓名|名前|氏名|家属|家屬|联系人|聯繫人|医生|主治医师|签名|簽名|이름|성명|환자|"
    r"보호자)[:：\s]*$"
)
_AR_CONTEXT = re.compile(
    r"(?:السيد|السيدة|المريض|المريضة|الدكتور|الدكتورة|د\.|اسم المريض|اسم المريضة|الاسم|الأستاذ|"
    r"الاستاذ|الطفل|الطفلة)[ \t:]*$"
)
# letters of scripts other than Latin and CJK: Greek, Cyrillic, Armenian, Hebrew, Arabic,
# Devanagari, Bengali, Thai, Georgian, Ethiopic
_OTHER_SCRIPT = (
    "\u0370-\u03ff\u0400-\u04ff\u0500-\u052f\u0530-\u058f\u0590-\u05ff"
    + _ARABIC
    + "\u0900-\u097f\u0980-\u09ff\u0e00-\u0e7f\u10a0-\u10ff\u1200-\u137f"
)
_OTHER_WORD = rf"[{_OTHER_SCRIPT}][{_OTHER_SCRIPT}'’\-.]*"
_OTHER_RUN = re.compile(rf"{_OTHER_WORD}(?:[ \t]+{_OTHER_WORD}){{0,3}}")
_AR_STOP = frozenset("في من إلى الى على عن مع و أو او ثم قد لا لم لن هو هي كان كانت".split())


def lowercase_name(s: str) -> bool:
    """True for a lower-case "given surname" pair: a census or world given name and a census
    surname or a word with diacritics, neither an English stop word, not both medical words
    ("john smith", "heidi jørgensen" yes; "frank hematuria" no)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = s.split()
    if len(words) != 2:
        return False
    x, y = words
    med = medical_terms()
    from privtrain.deid._names import known_given
    from privtrain.deid._recognizers import _NOT_NAMES
    from privtrain.deid._vocab import world_given_names

    return (
        (x in given_names() or known_given(x, world_given_names()))
        and (y in surnames() or (not y.isascii() and y not in med))
        and y not in _NOT_NAMES
        and len(y) > 2
        and x not in STOP_WORDS
        and y not in STOP_WORDS
        and not (x in med and y in med)
    )


def _letters(text: str, lo_hi: str) -> int:
    return len(re.findall(f"[{lo_hi}]", text))


class ScriptNameRecognizer(_LocalRecognizer):
    """Names the English NER model cannot see: CJK and Arabic script, lower-case names, and a
    name alone on a line that opens an address block or closes a signature."""

    ENTITIES = ("PERSON",)

    def __init__(self) -> None:
        super().__init__()
        self._given = given_names()
        self._surnames = surnames()
        self._medical = medical_terms()

    # ---------------------------------------------------------------------------- CJK
    def _cjk(self, text: str, out: list[RecognizerResult]) -> None:
        han_total = _letters(text, _HAN)
        latin_total = len(re.findall(r"[A-Za-z]", text))
        for m in _HAN_RUN.finditer(text):
            run, s = m.group(), m.start()
            isolated = len(run) <= 4 and latin_total > 2 * han_total
            starts = run[0] in _CN_SURNAMES or any(run.startswith(j) for j in _JP_SURNAMES)
            # "英 柳": given name and surname written as two one-character runs
            pair = len(run) == 1 and re.match(rf"[ \t][{_HAN}]{{1,2}}(?![{_HAN}])", text[m.end() :])
            if isolated and (starts or len(run) >= 2 or pair):
                e = m.end()
                # "山田 太郎": a second short run after one space
                nxt = re.match(rf"[ \t]([{_HAN}]{{1,3}})(?![{_HAN}])", text[e:])
                if nxt:
                    e += nxt.end()
                out.append(_result("PERSON", s, e, 0.7 if starts else 0.55, self))
                continue
            # inside Han text: surname + 1-2 characters next to a title or after a label
            for i, ch in enumerate(run):
                jp = next((j for j in _JP_SURNAMES if run.startswith(j, i) and len(j) > 1), None)
                if ch not in _CN_SURNAMES and jp is None:
                    continue
                base = len(jp) if jp else 1
                for n in (2, 1):
                    a, b = s + i, s + i + base + n
                    if b > m.end() + 0:
                        continue
                    after = _CJK_TITLE_AFTER.match(text, b)
                    before = _CJK_LABEL_BEFORE.search(text, max(0, a - 8), a)
                    if after or before:
                        out.append(_result("PERSON", a, b, 0.7, self))
                        break
        hangul_total = _letters(text, _HANGUL)
        for m in _HANGUL_RUN.finditer(text):
            run, s = m.group(), m.start()
            if not 2 <= len(run) <= 4 or run[0] not in _KR_SURNAMES:
                continue
            isolated = latin_total > 2 * hangul_total
            after = _CJK_TITLE_AFTER.match(text, m.end()) or re.match(
                r"[ \t]*(?:씨|님|선생님|환자)", text[m.end() :]
            )
            before = _CJK_LABEL_BEFORE.search(text, max(0, s - 8), s)
            if isolated or after or before:
                out.append(_result("PERSON", s, m.end(), 0.65, self))

    # ------------------------------------------------------ other scripts, Arabic text
    def _other_scripts(self, text: str, out: list[RecognizerResult]) -> None:
        other = _letters(text, _OTHER_SCRIPT)
        if not other:
            return
        latin_total = len(re.findall(r"[A-Za-z]", text))
        if latin_total > 2 * other or latin_total >= 24:
            # Greek, Cyrillic, Hebrew, Arabic... words inside a Latin-script note: names (or
            # places) nearly always
            for m in _OTHER_RUN.finditer(text):
                e = m.end()
                while e > m.start() and text[e - 1] in ".-'’":
                    e -= 1
                out.append(_result("PERSON", m.start(), e, 0.6, self))
            return
        if _letters(text, _ARABIC):
            self._arabic(text, out)

    def _arabic(self, text: str, out: list[RecognizerResult]) -> None:
        words = list(re.finditer(_AR_WORD, text))
        i = 0
        while i < len(words):
            w = words[i]
            ctx = _AR_CONTEXT.search(text, max(0, w.start() - 20), w.start())
            if w.group() in _AR_GIVEN or ctx:
                j = i
                # the given name + up to two more words (father's / family name)
                while (
                    j + 1 < len(words)
                    and j - i < 2
                    and words[j + 1].group() not in _AR_STOP
                    and re.fullmatch(r"[ \t]+", text[words[j].end() : words[j + 1].start()])
                ):
                    j += 1
                out.append(_result("PERSON", w.start(), words[j].end(), 0.65, self))
                i = j + 1
            else:
                i += 1

    # ------------------------------------------------------------------ lower-case names
    def _lowercase(self, text: str, out: list[RecognizerResult]) -> None:
        toks = list(re.finditer(rf"[{_LO}][{_LO}'\-]+", text))
        for a, b in zip(toks, toks[1:], strict=False):
            if not re.fullmatch(r"[ \t]+", text[a.end() : b.start()]):
                continue
            if a.start() > 0 and text[a.start() - 1].isalnum():
                continue
            if lowercase_name(f"{a.group()} {b.group()}"):
                out.append(_result("PERSON", a.start(), b.end(), 0.55, self))

    # ------------------------------------------------------- names alone on their line
    def _name_lines(self, text: str, out: list[RecognizerResult]) -> None:
        from privtrain.deid._recognizers import _CAPS_NAME, _LAST_FIRST, _NAME

        # a name, "Last, First" or capitals, with optional credentials ("Neel Gill PA-C")
        line_name = (
            rf"(?P<name>{_LAST_FIRST}|{_CAPS_NAME}|{_NAME})(?:,?[ \t]+(?:MD|DO|RN|NP|PA-C|PA|"
            r"PharmD|MBBS|FRCP|PhD|DDS|DMD|DPM|OD|LPN|CNM|MSW|LCSW))?"
        )
        lines = text.split("\n")
        pos = 0
        starts = []
        for ln in lines:
            starts.append(pos)
            pos += len(ln) + 1
        for k, ln in enumerate(lines):
            m = re.fullmatch(rf"[ \t]*{line_name}[ \t]*,?[ \t]*", ln)
            if not m:
                # "Name Surname, <street> <number>, ..." (a one-line address block)
                m = re.match(rf"[ \t]*(?P<name>{_NAME})[ \t]*,[ \t]*(?=[^\n]*\d)", ln)
                if m and 2 <= len(m.group("name").split()) <= 4:
                    s = starts[k] + m.start("name")
                    out.append(_result("PERSON", s, s + len(m.group("name")), 0.6, self))
                continue
            words = m.group("name").split()
            if not 2 <= len(words) <= 4:
                continue
            if any(w.lower().strip(".") in self._medical for w in words if len(w) > 2) and not all(
                w.lower() in self._given or w.lower() in self._surnames for w in words
            ):
                continue
            # the next two lines (a department line may sit between name and street)
            nxt = " ".join([x for x in lines[k + 1 :] if x.strip()][:2])
            prev = next((x for x in reversed(lines[:k]) if x.strip()), "")
            opens_block = any(c.isdigit() for c in nxt) or "@" in nxt
            closes = prev.rstrip().endswith(",") or re.search(
                r"(?i)(?:\b(?:regards|sincerely|thanks|cheers|best|signed)|--)\W*$", prev
            )
            if opens_block or closes:
                s = starts[k] + m.start("name")
                out.append(_result("PERSON", s, s + len(m.group("name")), 0.65, self))

    # --------------------------------------------------- "(Name Surname)" after a name
    def _parenthesised(self, text: str, out: list[RecognizerResult]) -> None:
        from spacy.lang.en.stop_words import STOP_WORDS

        from privtrain.deid._recognizers import _NAME_TOKEN

        rx = rf"\((?P<name>{_NAME_TOKEN}(?:[ \t]+{_NAME_TOKEN}){{1,3}})\)"
        for m in re.finditer(rx, text):
            words = [w.lower() for w in m.group("name").split()]
            if any(w in STOP_WORDS for w in words) or all(w in self._medical for w in words):
                continue
            out.append(_result("PERSON", m.start("name"), m.end("name"), 0.55, self))

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:  # noqa: D102
        out: list[RecognizerResult] = []
        if re.search(f"[{_HAN}{_HANGUL}]", text):
            self._cjk(text, out)
        self._other_scripts(text, out)
        self._lowercase(text, out)
        if "\n" in text or "," in text:
            self._name_lines(text, out)
        if "(" in text:
            self._parenthesised(text, out)
        return out


# -------------------------------------------------------------- the per-value check

#: the same pattern runs vectorised (pyarrow, RE2) over whole columns in ingest
PREFILTER = (
    r"[@:/+]|\d[\d .()\-]{5,}\d|[A-Za-z0-9]{9,}|[A-Za-z0-9]{2,}-[A-Za-z0-9]{2,}-[A-Za-z0-9]{2,}"
)
_PREFILTER = re.compile(PREFILTER)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SSN = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]", re.IGNORECASE)
_CARD = re.compile(r"\d(?:[ -]?\d){11,18}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}")
_PHONE_CHARS = re.compile(r"\+?[\d\s().\-/]+(?:\s*(?:x|ext\.?)\s*\d{1,6})?", re.IGNORECASE)
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?")
_DATEISH = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[T ][\d:.]+Z?)?")


def _iban_ok(s: str) -> bool:
    s = s.replace(" ", "").upper()
    try:
        return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1
    except ValueError:
        return False


def value_entity(value: str, region: str = "US") -> str | None:
    """The identifier entity a whole cell value is, when its shape says so without context
    (e-mail, URL, IP, SSN, NINO, card, IBAN, phone with separators or country code, VIN, MBI,
    UDI); None otherwise. Cheap: a prefilter rejects most values with one regex search."""
    s = value.strip()
    if len(s) < 7 or not _PREFILTER.search(s):
        return None
    if _SSN.fullmatch(s):
        return "US_SSN"
    if _NUMBER.fullmatch(s) or _DATEISH.fullmatch(s):
        return None
    if "@" in s and _EMAIL.fullmatch(s):
        return "EMAIL_ADDRESS"
    if _URL.fullmatch(s):
        return "URL"
    if ":" in s or s.count(".") == 3:
        try:
            ipaddress.ip_address(s)
            return "IP_ADDRESS"
        except ValueError:
            pass
    if _SSN.fullmatch(s):
        return "US_SSN"
    if _NINO.fullmatch(s):
        return "UK_NINO"
    if _CARD.fullmatch(s):
        d = re.sub(r"\D", "", s)
        if _card_prefix_ok(d) and _luhn_ok(d):
            return "CREDIT_CARD"
    u = s.upper()
    if _IBAN.fullmatch(u) and _iban_ok(u):
        return "IBAN_CODE"
    if len(s) == 17 and _VIN.fullmatch(u) and vin_ok(u):
        return "VEHICLE_ID"
    if _MBI.fullmatch(u):
        return "HEALTH_PLAN_ID"
    if _UDI.fullmatch(s) or _HIBCC.fullmatch(s):
        return "DEVICE_ID"
    digits = sum(c.isdigit() for c in s)
    if 7 <= digits <= 15 and _PHONE_CHARS.fullmatch(s):
        try:
            num = phonenumbers.parse(s, None if s.startswith("+") else region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_possible_number(num):
            return "PHONE_NUMBER"
    return None
