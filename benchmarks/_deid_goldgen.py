# ruff: noqa: E501  (format strings of the generated identifiers read best on one line)
"""Labeled free-text records for the de-identification evaluation (gold character spans).

Deliberately independent of ``privtrain.deid``: no import from it, no shared patterns or
word lists. Identifiers come from Faker (several locales) and are placed into varied
templates (clinical notes, support tickets, HR, billing, IT logs, forms); the generator
records each identifier's exact character span and label while it builds the text.

Labels: PERSON, EMAIL, PHONE, US_SSN, UK_NINO, DATE, ADDRESS, LOCATION, CREDIT_CARD, IP.
A PERSON written with a title ("Dr. Jane Roe") is labeled without the title; a person named
only by the surname after a title ("Mrs. Roe") is labeled on the surname.

Tuning sets written as gold JSON Lines for ``deid_eval.py --gold``:

    python benchmarks/_deid_goldgen.py --hard F.jsonl    # 600 hard cases, seed 23
    python benchmarks/_deid_goldgen.py --broad F.jsonl   # 1,500 broad cases, seed 41
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass, field

from faker import Faker

NAME_LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL", "en_IN"]
NAME_WEIGHTS = [30, 12, 10, 10, 8, 8, 8, 7, 7]
PHONE_LOCALES = [
    "en_US", "en_GB", "de_DE", "fr_FR", "en_IN", "pt_BR", "en_AU", "en_CA", "ja_JP", "es_ES",
    "it_IT", "nl_NL",
]  # fmt: skip
ADDRESS_LOCALES = ["en_US", "en_GB", "en_CA", "en_AU", "de_DE", "fr_FR"]
ADDRESS_WEIGHTS = [50, 15, 10, 10, 8, 7]

MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
RELATIONS = ["daughter", "son", "wife", "husband", "sister", "brother", "mother", "father",
             "partner", "niece", "neighbour", "friend"]  # fmt: skip
COMPLAINTS = ["chest pain", "shortness of breath", "a persistent cough", "lower back pain",
              "dizziness", "abdominal pain", "a rash on both forearms", "fatigue",
              "knee swelling", "headaches"]  # fmt: skip
MEDS = ["metformin 500 mg", "lisinopril 10 mg", "atorvastatin 20 mg", "amoxicillin 875 mg",
        "ibuprofen 400 mg", "omeprazole 20 mg", "sertraline 50 mg"]  # fmt: skip
PRODUCTS = ["router", "laptop", "subscription", "coffee machine", "annual plan", "headset"]


@dataclass
class Record:
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[tuple[int, int, str]] = []
        self.pos = 0

    def lit(self, s: str) -> None:
        self.parts.append(s)
        self.pos += len(s)

    def ent(self, s: str, label: str) -> None:
        self.spans.append((self.pos, self.pos + len(s), label))
        self.lit(s)

    def record(self) -> Record:
        return Record("".join(self.parts), self.spans)


class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        self.seed = seed

    def fk(self, locale: str) -> Faker:
        if locale not in self.fakers:
            f = Faker(locale)
            f.seed_instance(self.seed * 1000 + len(self.fakers))
            self.fakers[locale] = f
        return self.fakers[locale]

    # -- identifier values
    def names(self) -> tuple[str, str, str]:
        loc = self.rng.choices(NAME_LOCALES, NAME_WEIGHTS)[0]
        f = self.fk(loc)
        return f.first_name(), f.last_name(), f.first_name()

    def person(self, style: str | None = None) -> tuple[str, str]:
        """(written form, last name)"""
        first, last, middle = self.names()
        style = (
            style
            or self.rng.choices(["plain", "middle", "lf", "caps", "caps_lf"], [65, 10, 12, 8, 5])[0]
        )
        if style == "plain":
            return f"{first} {last}", last
        if style == "middle":
            return f"{first} {middle[0]}. {last}", last
        if style == "lf":
            return f"{last}, {first}", last
        if style == "caps":
            return f"{first} {last}".upper(), last
        return f"{last}, {first}".upper(), last

    def email(self) -> str:
        f = self.fk(self.rng.choice(["en_US", "en_GB", "de_DE", "fr_FR"]))
        return self.rng.choice([f.email, f.free_email, f.company_email])()

    def phone(self) -> str:
        return self.fk(self.rng.choice(PHONE_LOCALES)).phone_number()

    def ssn(self, style: str | None = None) -> str:
        s = self.fk("en_US").ssn()
        style = style or self.rng.choices(["dash", "plain", "space"], [75, 15, 10])[0]
        if style == "plain":
            return s.replace("-", "")
        if style == "space":
            return s.replace("-", " ")
        return s

    def nino(self) -> str:
        first = self.rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        second = self.rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if first + second in {"BG", "GB", "NK", "KN", "NT", "TN", "ZZ"}:
            first, second = "A", "B"
        digits = "".join(self.rng.choice("0123456789") for _ in range(6))
        suffix = self.rng.choice("ABCD")
        if self.rng.random() < 0.5:
            return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
        return f"{first}{second}{digits}{suffix}"

    def date(self) -> str:
        d = dt.date(1940, 1, 1) + dt.timedelta(days=self.rng.randrange(0, 31000))
        form = self.rng.choice(range(8))
        month = MONTHS[d.month - 1]
        return [
            f"{d.month:02d}/{d.day:02d}/{d.year}",
            d.isoformat(),
            f"{month} {d.day}, {d.year}",
            f"{d.day} {month} {d.year}",
            f"{month[:3]} {d.day}, {d.year}",
            f"{d.day:02d}.{d.month:02d}.{d.year}",
            f"{d.month}/{d.day}/{d.year % 100:02d}",
            f"{d.day}-{month[:3]}-{d.year}",
        ][form]

    def month_year(self) -> str:
        return f"{self.rng.choice(MONTHS)} {self.rng.randrange(1990, 2025)}"

    def address(self) -> str:
        loc = self.rng.choices(ADDRESS_LOCALES, ADDRESS_WEIGHTS)[0]
        f = self.fk(loc)
        if loc == "en_US" and self.rng.random() < 0.2:
            return f.street_address()
        return re.sub(r"\s*\n\s*", ", ", f.address()).strip()

    def city(self) -> str:
        return self.fk(self.rng.choice(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES"])).city()

    def card(self) -> str:
        n = self.fk("en_US").credit_card_number()
        style = self.rng.choice(["plain", "space", "dash"])
        if style == "plain" or len(n) != 16:
            return n
        groups = [n[i : i + 4] for i in range(0, 16, 4)]
        return (" " if style == "space" else "-").join(groups)

    def ip(self) -> str:
        f = self.fk("en_US")
        return f.ipv6() if self.rng.random() < 0.2 else f.ipv4()


# A template is a list of tokens: literals, "{SLOT}" identifiers and "[filler]" fillers.
TEMPLATES = [
    "{PERSON} is a [age]-year-old [sex] seen on {DATE} for [complaint]. Contact number {PHONE}.",
    "Pt {PERSON_CAPS}, DOB {DATE}. Presented with [complaint]; [med] started. "
    "Her [relation] {PERSON} ({PHONE}) was updated by phone.",
    "Discharge summary for {PERSON_LF}. Admitted {DATE}, discharged {DATE}. "
    "Home address: {ADDRESS}.",
    "Called {PERSON} at {PHONE} regarding lab results from {DATE}. Left a voicemail.",
    "Referral from Dr. {LAST} at the {CITY} clinic. The patient's [relation], {PERSON}, can be "
    "reached at {EMAIL}.",
    "SSN {SSN} verified for {PERSON} prior to billing.",
    "Customer {PERSON} ({EMAIL}) says the card {CC} was charged twice on {DATE}.",
    "Login from {IP} for user {EMAIL} at [time] UTC; account owner {PERSON}.",
    "Shipping to {ADDRESS}. Recipient: {PERSON}, tel. {PHONE}.",
    "Hi {FIRST}, thanks for your message. We changed your billing address to {ADDRESS}. "
    "Kind regards, {PERSON}",
    "Employee {PERSON} (NI number {NINO}) starts on {DATE} at the {CITY} office.",
    "Firewall blocked traffic from {IP} to {IP} ([n] packets dropped).",
    "{PERSON_CAPS} SSN {SSN} DOB {DATE} PHONE {PHONE}",
    "Name: {PERSON_LF}\nAddress: {ADDRESS}\nPhone: {PHONE}\nEmail: {EMAIL}",
    "Please refund the [product] to card {CC}, which belongs to {PERSON}.",
    "Met with {PERSON} and {PERSON} in {CITY} on {DATE} to review the contract.",
    "{PERSON} moved from {CITY} to {CITY} in {MONTH_YEAR}.",
    "Emergency contact: {PERSON}, [relation], {PHONE}.",
    "The applicant, {PERSON}, social security number {SSN_PLAIN}, lives at {ADDRESS}.",
    "Server {IP} reported disk errors; the on-call engineer {PERSON} was paged at {PHONE}.",
    "Invoice #[n] was sent to {EMAIL} on {DATE}; payment by card {CC}.",
    "Mrs. {LAST} called about her appointment on {DATE}. She now lives at {ADDRESS}.",
    "Vaccination record: {PERSON}, born {DATE} in {CITY}.",
    "{PERSON} (NINO {NINO}) has claimed the allowance since {DATE}.",
    "Patient reports that her [relation] {PERSON} visits weekly. No fever. BP [bp], HR [hr].",
    "Follow-up in [weeks] weeks. Continue [med] daily. Next appointment {DATE} with Dr. {PERSON}.",
    "Fax received from {PHONE} about {PERSON_LF} on {DATE}.",
    "Background check for {PERSON}: SSN {SSN}, previous address {ADDRESS}.",
    "Please update my records: new mobile {PHONE}, new e-mail {EMAIL}. Thanks, {FIRST}",
    "Ticket [n]: {PERSON} cannot reach the VPN from {IP}. Escalated to {PERSON}.",
    "The order was placed by {PERSON} in {CITY} and paid with {CC} on {DATE}.",
    "Mr. {LAST} was reviewed in clinic today. [weeks] weeks of [complaint]; started [med].",
    "Payroll: {PERSON_LF}, NI {NINO}, bank transfer on {DATE}.",
    "{EMAIL} requested a password reset from {IP} on {DATE}.",
    "Spoke with {PERSON_CAPS} ({PHONE}); her [relation] {PERSON} will bring the documents "
    "to {ADDRESS}.",
    "Card {CC} was declined at the {CITY} store; the cardholder {PERSON} was notified at {EMAIL}.",
    "Tenant {PERSON} at {ADDRESS} reported a leak on {DATE}. Call back on {PHONE}.",
    "Appointment confirmed for {PERSON} on {DATE}. Reminder text sent to {PHONE}.",
    "Witness statement by {PERSON}, of {ADDRESS}, dated {DATE}.",
    "{PERSON} wrote from {EMAIL}: the [product] stopped working after [weeks] weeks.",
]
# Records without identifiers (decoys for precision): durations, doses, vitals, counts.
DECOYS = [
    "No acute distress. Lungs clear. Plan: repeat CBC in [weeks] weeks.",
    "BP [bp], HR [hr], temperature 37.2 C. Continue [med] for [weeks] weeks.",
    "The [product] was returned after [weeks] weeks; ticket [n] closed.",
    "[n] packets dropped in the last 24 hours; no action needed.",
    "Patient is a [age]-year-old [sex] with [complaint] for 3 days. Denies fever.",
    "Batch [n] processed in 12.5 seconds with 0 errors.",
]

_TOKEN = re.compile(r"\{[A-Z_]+\}|\[[a-z]+\]")


def _fill(g: Gen, name: str) -> str:
    rng = g.rng
    return {
        "age": lambda: str(rng.randrange(18, 95)),
        "sex": lambda: rng.choice(["male", "female"]),
        "complaint": lambda: rng.choice(COMPLAINTS),
        "med": lambda: rng.choice(MEDS),
        "relation": lambda: rng.choice(RELATIONS),
        "time": lambda: f"{rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d}",
        "n": lambda: str(rng.randrange(100, 99999)),
        "bp": lambda: f"{rng.randrange(100, 160)}/{rng.randrange(60, 100)}",
        "hr": lambda: str(rng.randrange(50, 110)),
        "weeks": lambda: str(rng.randrange(2, 12)),
        "product": lambda: rng.choice(PRODUCTS),
    }[name]()


def _slot(g: Gen, b: _Builder, slot: str) -> None:
    if slot == "PERSON":
        b.ent(g.person()[0], "PERSON")
    elif slot == "PERSON_LF":
        b.ent(g.person(g.rng.choice(["lf", "lf", "caps_lf"]))[0], "PERSON")
    elif slot == "PERSON_CAPS":
        b.ent(g.person(g.rng.choice(["caps", "caps", "caps_lf"]))[0], "PERSON")
    elif slot == "FIRST":
        b.ent(g.names()[0], "PERSON")
    elif slot == "LAST":
        b.ent(g.names()[1], "PERSON")
    elif slot == "EMAIL":
        b.ent(g.email(), "EMAIL")
    elif slot == "PHONE":
        b.ent(g.phone(), "PHONE")
    elif slot == "SSN":
        b.ent(g.ssn(), "US_SSN")
    elif slot == "SSN_PLAIN":
        b.ent(g.ssn("plain"), "US_SSN")
    elif slot == "NINO":
        b.ent(g.nino(), "UK_NINO")
    elif slot == "DATE":
        b.ent(g.date(), "DATE")
    elif slot == "MONTH_YEAR":
        b.ent(g.month_year(), "DATE")
    elif slot == "ADDRESS":
        b.ent(g.address(), "ADDRESS")
    elif slot == "CITY":
        b.ent(g.city(), "LOCATION")
    elif slot == "CC":
        b.ent(g.card(), "CREDIT_CARD")
    elif slot == "IP":
        b.ent(g.ip(), "IP")
    else:  # pragma: no cover - template typo
        raise KeyError(slot)


def generate(n: int = 1200, seed: int = 7, decoy_share: float = 0.08) -> list[Record]:
    """``n`` records; about ``decoy_share`` of them hold no identifier at all."""
    g = Gen(seed)
    out: list[Record] = []
    for _ in range(n):
        template = g.rng.choice(DECOYS) if g.rng.random() < decoy_share else g.rng.choice(TEMPLATES)
        b = _Builder()
        pos = 0
        for m in _TOKEN.finditer(template):
            b.lit(template[pos : m.start()])
            tok = m.group(0)
            if tok.startswith("{"):
                _slot(g, b, tok[1:-1])
            else:
                b.lit(_fill(g, tok[1:-1]))
            pos = m.end()
        b.lit(template[pos:])
        out.append(b.record())
    return out


# ----------------------------------------------------------------------------- hard cases
# A second, harder set for tuning (``hard_cases``): names, phones and addresses from many
# Faker locales in national formats, lower-case and non-Latin-script names, every HIPAA Safe
# Harbor identifier class, and medical terms that must survive (labelled MEDICAL).

HARD_LOCALES = [
    "hu_HU", "da_DK", "sv_SE", "no_NO", "fi_FI", "pl_PL", "cs_CZ", "tr_TR", "pt_PT", "nl_BE",
    "de_AT", "de_CH", "ro_RO", "en_NZ", "en_IE", "es_MX", "es_AR", "id_ID", "vi_VN", "fr_FR",
    "it_IT", "de_DE", "en_GB", "en_US", "pt_BR",
]  # fmt: skip
SCRIPT_LOCALES = ["zh_CN", "ja_JP", "ko_KR", "ar_AA", "fa_IR", "el_GR", "uk_UA", "he_IL"]
EPONYMS = [
    "Epstein-Barr virus", "Raynaud's phenomenon", "Kawasaki disease", "Crohn's disease",
    "Parkinson's disease", "Hodgkin lymphoma", "Addison's disease", "Cushing's syndrome",
    "Graves' disease", "Hashimoto's thyroiditis", "Bell's palsy", "Guillain-Barré syndrome",
    "Sjögren's syndrome", "Alzheimer's disease", "Marfan syndrome", "Wilson's disease",
    "Paget's disease", "Tourette syndrome", "Huntington's disease", "Kaposi sarcoma",
]  # fmt: skip
DRUGS = [
    "Coumadin", "Ventolin", "Lipitor", "Zoloft", "Xanax", "Lasix", "Glucophage", "Synthroid",
    "Plavix", "Eliquis", "Humira", "Keytruda", "Ozempic", "Januvia", "Nexium", "Prozac",
    "Advil", "Tylenol", "Augmentin", "Zithromax", "warfarin", "metoprolol",
]  # fmt: skip
HARD_TEMPLATES = [
    "{NAME} was seen today for (EPONYM). Started (DRUG). Callback {NPHONE}.",
    "Discharge letter\n\n{NAME}\n{NADDRESS}\n\nDear colleague, your patient has (EPONYM).",
    "Seen with her daughter {NAME}. (BP). Continue (DRUG) and recheck in 2 weeks.",
    "patient {LOWER} reports (FRANK) since {PDATE}. Tel {NPHONE}.",
    "Pt {SCRIPT} ({NAME}) arrived by ambulance, plate {PLATE}. (EPONYM) suspected.",
    "Family member {SCRIPT} will call from {NPHONE}. Known (EPONYM).",
    "DOB {PDATE}. {OLDAGE} y/o widow, lives at {NADDRESS}. (BP).",
    "Died {PDATE} at home, aged {OLDAGE}. MRN {MRN}. Cause: (EPONYM).",
    "Medicare MBI {MBI}; member ID {MEMBER}. Account {ACCOUNT} billed.",
    "Pacemaker serial {SERIAL}, UDI {UDI}. Device checked, (BP).",
    "Driver's license {LICENSE}; vehicle VIN {VIN}.",
    "Fingerprint ID {BIO} enrolled at the front desk by {NAME}.",
    "SSN {SSN_BARE} on file. Fax results to {FAX}.",
    "Portal: {URL} (login from {IP}), e-mail {EMAIL}.",
    "ZIP {ZIP}. Moved to {NADDRESS} in {PDATE}.",
    "Regards,\n{NAME}\n{NPHONE}",
    "Referred by Dr. {NAME} for (EPONYM); takes (DRUG) and (DRUG).",
    "Wife {NAME} phoned ({NPHONE}). (FRANK) resolved on (DRUG).",
    "Certificate number {CERT} issued to {LOWER}.",
    "{NAME}, {NADDRESS}, {NPHONE}",
]


def _hard_slot(g: Gen, b: _Builder, slot: str, keep: list) -> None:
    rng = g.rng
    loc = rng.choice(HARD_LOCALES)
    f = g.fk(loc)
    if slot == "NAME":
        b.ent(f"{f.first_name()} {f.last_name()}", "PERSON")
    elif slot == "LOWER":
        b.ent(f"{g.fk('en_US').first_name()} {g.fk('en_US').last_name()}".lower(), "PERSON")
    elif slot == "SCRIPT":
        b.ent(g.fk(rng.choice(SCRIPT_LOCALES)).name(), "PERSON")
    elif slot == "NPHONE":
        p = f.phone_number()
        if rng.random() < 0.4:
            p = re.sub(r"^\+\d{1,3}\s*(?:\(0\)\s*)?", "", p)  # national form, no country code
        b.ent(p, "PHONE")
    elif slot == "NADDRESS":
        sep = rng.choice([", ", "\n"])
        b.ent(re.sub(r"\s*\n\s*", sep, f.address()).strip(), "ADDRESS")
    elif slot == "PDATE":
        month = rng.choice(MONTHS)
        day = rng.randrange(1, 29)
        b.ent(rng.choice([f"{rng.randrange(1, 13)}/{day}", f"{month[:3]} {day}",
                          f"{day} {month}", f"{month} {day}th"]), "DATE")  # fmt: skip
    elif slot == "OLDAGE":
        b.ent(str(rng.randrange(90, 106)), "AGE")
    elif slot == "ZIP":
        b.ent(f"{rng.randrange(1000, 99999):05d}", "ZIP")
    elif slot == "MRN":
        b.ent(f"{rng.randrange(0, 10**8):08d}", "MEDICAL_RECORD_NUMBER")
    elif slot == "MBI":
        a = "ACDEFGHJKMNPQRTUVWXY"
        c = rng.choice
        b.ent(f"{rng.randrange(1, 10)}{c(a)}{c(a)}{rng.randrange(10)}-{c(a)}{c(a)}"
              f"{rng.randrange(10)}-{c(a)}{c(a)}{rng.randrange(10)}{rng.randrange(10)}",
              "HEALTH_PLAN_ID")  # fmt: skip
    elif slot == "MEMBER":
        b.ent(f"{rng.choice('ABCDXYZ')}{rng.randrange(10**8, 10**9)}", "HEALTH_PLAN_ID")
    elif slot == "ACCOUNT":
        b.ent(str(rng.randrange(10**9, 10**11)), "ACCOUNT_NUMBER")
    elif slot in ("LICENSE", "CERT"):
        b.ent(f"{rng.choice('ABCDEFGHJ')}{rng.randrange(10**6, 10**8)}", "LICENSE_NUMBER")
    elif slot == "PLATE":
        b.ent(g.fk(rng.choice(["en_US", "en_GB", "de_DE", "fr_FR"])).license_plate(), "VEHICLE_ID")
    elif slot == "VIN":
        b.ent(g.fk("en_US").vin(), "VEHICLE_ID")
    elif slot == "SERIAL":
        b.ent(f"{rng.choice(['PM', 'SN', 'X'])}{rng.randrange(10**5, 10**8)}", "DEVICE_ID")
    elif slot == "UDI":
        b.ent(f"(01){rng.randrange(10**13, 10**14)}(17){rng.randrange(250101, 301231)}"
              f"(10)A{rng.randrange(100, 999)}", "DEVICE_ID")  # fmt: skip
    elif slot == "BIO":
        b.ent(f"FP-{rng.randrange(16**8, 16**9):x}", "BIOMETRIC_ID")
    elif slot == "SSN_BARE":
        b.ent(g.fk("en_US").ssn().replace("-", ""), "US_SSN")
    elif slot == "FAX":
        b.ent(g.fk("en_US").phone_number(), "PHONE")
    elif slot == "URL":
        b.ent(f"https://portal.{g.fk('en_US').domain_name()}/u/{rng.randrange(1000, 9999)}", "URL")
    elif slot == "IP":
        b.ent(g.fk("en_US").ipv4(), "IP")
    elif slot == "EMAIL":
        b.ent(g.fk(loc).email(), "EMAIL")
    else:  # pragma: no cover - template typo
        raise KeyError(slot)


def _hard_keep(g: Gen, b: _Builder, name: str, keep: list) -> None:
    rng = g.rng
    text = {
        "EPONYM": lambda: rng.choice(EPONYMS),
        "DRUG": lambda: rng.choice(DRUGS),
        "BP": lambda: f"BP {rng.randrange(110, 190)}/{rng.randrange(60, 110)}",
        "FRANK": lambda: "Frank hematuria" if b.pos == 0 else "frank hematuria",
    }[name]()
    keep.append((b.pos, b.pos + len(text), "MEDICAL"))
    b.lit(text)


_HARD_TOKEN = re.compile(r"\{[A-Z_]+\}|\([A-Z]+\)")


def hard_cases(n: int = 600, seed: int = 23) -> list[tuple[Record, list]]:
    """(record, must-keep spans) pairs from :data:`HARD_TEMPLATES`."""
    g = Gen(seed)
    out = []
    for _ in range(n):
        template = g.rng.choice(HARD_TEMPLATES)
        b = _Builder()
        keep: list = []
        pos = 0
        for m in _HARD_TOKEN.finditer(template):
            b.lit(template[pos : m.start()])
            tok = m.group(0)
            if tok.startswith("{"):
                _hard_slot(g, b, tok[1:-1], keep)
            else:
                _hard_keep(g, b, tok[1:-1], keep)
            pos = m.end()
        b.lit(template[pos:])
        out.append((b.record(), keep))
    return out


def write_hard_jsonl(path: str, n: int = 600, seed: int = 23) -> None:
    import json

    with open(path, "w", encoding="utf-8") as f:
        for rec, keep in hard_cases(n, seed):
            spans = [list(s) for s in rec.spans] + [list(k) for k in keep]
            f.write(json.dumps({"text": rec.text, "spans": spans}, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------- broad cases
# A third tuning set (``broad_cases``, seed 41): many phrasings per Safe Harbor class in
# national formats - address blocks with units and postcodes (inline and multi-line),
# postcodes alone after their national keyword, certificate/licence numbers, plates of several
# countries and VINs, device serials/UDIs/IMEIs, MRNs, plan ids, national ids of several
# countries, dates in locale forms, ages written many ways (every age is labelled AGE, as an
# annotator would; Safe Harbor itself only needs ages over 89 removed), names in many locales
# (signature and address blocks, credentials, particles, lower case, other scripts), and
# medical terms that must survive. Values are random or from Faker; the phrasings were written
# from public descriptions of the formats.

BROAD_NAME_LOCALES = [
    "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL", "pl_PL", "sv_SE",
    "da_DK", "no_NO", "fi_FI", "hu_HU", "cs_CZ", "tr_TR", "ro_RO", "en_IE", "en_IN", "es_MX",
    "pt_PT", "de_AT", "fr_CH", "en_AU", "en_NZ", "id_ID", "vi_VN", "hr_HR", "sk_SK", "lt_LT",
]  # fmt: skip
BROAD_SCRIPT_LOCALES = ["zh_CN", "zh_TW", "ja_JP", "ko_KR", "ar_AA", "ar_SA", "fa_IR", "el_GR",
                        "ru_RU", "uk_UA", "he_IL", "hi_IN", "th_TH", "bg_BG"]  # fmt: skip
US_STATES = [
    ("Alabama", "AL"), ("Arizona", "AZ"), ("California", "CA"), ("Colorado", "CO"),
    ("Florida", "FL"), ("Georgia", "GA"), ("Illinois", "IL"), ("Indiana", "IN"), ("Iowa", "IA"),
    ("Kentucky", "KY"), ("Maryland", "MD"), ("Massachusetts", "MA"), ("Michigan", "MI"),
    ("Minnesota", "MN"), ("Missouri", "MO"), ("New Jersey", "NJ"), ("New York", "NY"),
    ("North Carolina", "NC"), ("Ohio", "OH"), ("Oregon", "OR"), ("Pennsylvania", "PA"),
    ("Tennessee", "TN"), ("Texas", "TX"), ("Virginia", "VA"), ("Washington", "WA"),
    ("Wisconsin", "WI"),
]  # fmt: skip
STREET_SUFFIX = ["Street", "St", "St.", "Avenue", "Ave", "Ave.", "Road", "Rd", "Drive", "Dr.",
                 "Lane", "Ln", "Boulevard", "Blvd", "Court", "Ct", "Place", "Pl", "Way",
                 "Terrace", "Circle", "Parkway", "Highway", "Trail"]  # fmt: skip
UNITS = ["Apt {n}", "Apt. {n}", "Apartment {n}", "Suite {n}", "Ste {n}", "Ste. {n}", "Unit {n}",
         "#{n}", "# {n}", "Flat {n}", "Fl {n}", "Room {n}", "Bldg {n}", "Floor {n}"]  # fmt: skip
BROAD_MEDICAL = [
    "Epstein-Barr virus", "Raynaud's phenomenon", "Kawasaki disease", "Crohn's disease",
    "Parkinson's disease", "Hodgkin lymphoma", "Addison's disease", "Cushing's syndrome",
    "Graves' disease", "Hashimoto's thyroiditis", "Bell's palsy", "Guillain-Barré syndrome",
    "Sjögren's syndrome", "Alzheimer's disease", "Marfan syndrome", "Wilson's disease",
    "Paget's disease", "Tourette syndrome", "Huntington's disease", "Kaposi sarcoma",
    "Down syndrome", "Barrett's esophagus", "Meniere's disease", "Lyme disease",
    "Wernicke encephalopathy", "Brown-Séquard syndrome", "Horner syndrome", "Baker's cyst",
    "Dupuytren's contracture", "Osgood-Schlatter disease", "Ewing sarcoma", "Wilms tumor",
    "Tietze syndrome", "Reye syndrome", "Lou Gehrig's disease", "Still's disease",
    "Coumadin", "Ventolin", "Lipitor", "Zoloft", "Xanax", "Lasix", "Glucophage", "Synthroid",
    "Plavix", "Eliquis", "Humira", "Keytruda", "Ozempic", "Januvia", "Nexium", "Prozac",
    "Advil", "Tylenol", "Augmentin", "Zithromax", "warfarin", "metoprolol", "apixaban",
    "Keppra", "Depakote", "Seroquel", "Lantus", "Xarelto", "Flomax", "Norvasc", "Crestor",
    "gabapentin", "levothyroxine", "prednisone", "furosemide", "amlodipine", "insulin glargine",
    "Frank hematuria", "Babinski sign", "Murphy's sign", "Homans' sign", "Kernig's sign",
    "Glasgow Coma Scale 15", "Apgar 9", "HbA1c 7.2%", "INR 2.5", "creatinine 1.3 mg/dL",
    "potassium 4.1 mmol/L", "SpO2 96%", "temperature 38.4 C", "HR 88", "RR 18",
]  # fmt: skip
FR_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre"]  # fmt: skip
DE_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
             "September", "Oktober", "November", "Dezember"]  # fmt: skip
ES_MONTHS = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre"]  # fmt: skip
IT_MONTHS = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
             "settembre", "ottobre", "novembre", "dicembre"]  # fmt: skip
PT_MONTHS = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
             "setembro", "outubro", "novembro", "dezembro"]  # fmt: skip
NL_MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december"]  # fmt: skip
_UNITS_WORDS = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TENS_WORDS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
               "ninety"]  # fmt: skip
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen"]  # fmt: skip


def _age_words(n: int) -> str:
    if n >= 100:
        rest = n - 100
        return "one hundred" + (f" and {_age_words(rest)}" if rest else "")
    if n < 10:
        return _UNITS_WORDS[n]
    if n < 20:
        return _TEENS[n - 10]
    t, u = divmod(n, 10)
    return _TENS_WORDS[t] + (f"-{_UNITS_WORDS[u]}" if u else "")


_ALNUM = "ABCDEFGHJKLMNPRSTUVWXYZ"


class _Broad:
    """Slot writers for :func:`broad_cases`: each writes literal context and labelled spans."""

    def __init__(self, g: Gen, b: _Builder, keep: list) -> None:
        self.g, self.b, self.keep = g, b, keep
        self.rng = g.rng

    # helpers
    def d(self, k: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(k))

    def a(self, k: int) -> str:
        return "".join(self.rng.choice(_ALNUM) for _ in range(k))

    def pick(self, *xs):
        return self.rng.choice(xs)

    def ctx(self, phrases: list[str], value: str, label: str) -> None:
        """One of ``phrases`` ("MRN: ") then the value."""
        self.b.lit(self.rng.choice(phrases))
        self.b.ent(value, label)

    def fk(self, loc: str) -> Faker:
        return self.g.fk(loc)

    # ------------------------------------------------------------------ names
    def name_value(self) -> str:
        r = self.rng
        f = self.fk(r.choice(BROAD_NAME_LOCALES))
        first, last = f.first_name(), f.last_name()
        style = r.choices(["plain", "middle", "initial", "lf", "caps", "hyph", "particle",
                           "three"], [40, 8, 8, 10, 6, 8, 8, 12])[0]  # fmt: skip
        if style == "middle":
            return f"{first} {f.first_name()[0]}. {last}"
        if style == "initial":
            return f"{first[0]}. {last}"
        if style == "lf":
            return f"{last}, {first}"
        if style == "caps":
            return f"{first} {last}".upper()
        if style == "hyph":
            return f"{first} {last}-{f.last_name()}"
        if style == "particle":
            return f"{first} {r.choice(['van der', 'van', 'de', 'von', 'da', 'di', 'del', 'dos', 'de la', 'O’', 'Mac'])}{'' if r.random() < 0.1 else ' '}{last}".replace(
                "O’ ", "O’"
            ).replace("Mac ", "Mac")  # noqa: E501
        if style == "three":
            return f"{first} {f.first_name()} {last}"
        return f"{first} {last}"

    def NAME(self) -> None:
        self.b.ent(self.name_value(), "PERSON")

    def TNAME(self) -> None:  # a name after a title, in several languages
        r = self.rng
        f = self.fk(r.choice(BROAD_NAME_LOCALES))
        title = r.choice(["Dr. ", "Dr ", "Mr. ", "Mrs. ", "Ms ", "Prof. ", "Herr ", "Frau ",
                          "Sr. ", "Sra. ", "Mme ", "M. ", "Dott. ", "Dra. ", "Nurse ",
                          "Prof. Dr. "])  # fmt: skip
        self.b.lit(title)
        self.b.ent(r.choice([f"{f.first_name()} {f.last_name()}", f.last_name()]), "PERSON")

    def CNAME(self) -> None:  # a clinician with credentials after the name
        f = self.fk(self.rng.choice(BROAD_NAME_LOCALES))
        self.b.ent(f"{f.first_name()} {f.last_name()}", "PERSON")
        self.b.lit(self.pick(", MD", " MD", ", RN", ", NP", ", PharmD", ", DO", " PA-C",
                             ", FRCP", ", MBBS"))  # fmt: skip

    def LNAME(self) -> None:  # lower case
        f = self.fk(self.rng.choice(["en_US", "en_GB", "de_DE", "es_ES", "it_IT", "fr_FR"]))
        self.b.ent(f"{f.first_name()} {f.last_name()}".lower(), "PERSON")

    def SNAME(self) -> None:  # another script
        f = self.fk(self.rng.choice(BROAD_SCRIPT_LOCALES))
        self.b.ent(f"{f.first_name()} {f.last_name()}" if self.rng.random() < 0.5
                   else f.name(), "PERSON")  # fmt: skip

    def FIRST(self) -> None:
        self.b.ent(self.fk(self.rng.choice(BROAD_NAME_LOCALES)).first_name(), "PERSON")

    # -------------------------------------------------------------- addresses
    def _street_us(self) -> str:
        r = self.rng
        f = self.fk(r.choice(["en_US", "en_US", "en_CA", "en_AU"]))
        name = r.choice([f.last_name(), f.first_name(), f.city().split()[-1],
                         f"{r.randrange(1, 99)}{'th' if r.random() < .7 else 'st'}",
                         r.choice(["Main", "Oak", "Maple", "Cedar", "Park", "Elm", "Pine",
                                   "Washington", "Lake", "Hill", "Church", "Mill"])])  # fmt: skip
        pre = r.choice(["", "", "", "N ", "S ", "E ", "W ", "North ", "Old "])
        return f"{r.randrange(1, 19999)} {pre}{name} {r.choice(STREET_SUFFIX)}"

    def _unit(self) -> str:
        n = self.pick(str(self.rng.randrange(1, 999)), f"{self.rng.randrange(1, 40)}"
                      f"{self.rng.choice('ABCDEF')}", self.rng.choice("ABCDEF"))  # fmt: skip
        return self.rng.choice(UNITS).format(n=n)

    def address_value(self) -> str:
        r = self.rng
        kind = r.choices(["us", "us_unit", "us_multi", "uk", "ca", "au", "de", "fr", "es",
                          "it", "nl", "pt", "br", "pl", "se", "ie", "in", "pobox", "faker"],
                         [12, 12, 6, 8, 5, 5, 6, 5, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 10])[0]  # fmt: skip
        sep = r.choice([", ", ", ", "\n"])
        if kind in ("us", "us_unit", "us_multi"):
            st, ab = r.choice(US_STATES)
            city = self.fk("en_US").city()
            zc = self.d(5) + (f"-{self.d(4)}" if r.random() < 0.2 else "")
            street = self._street_us()
            if kind == "us_unit":
                u = self._unit()
                street = f"{street}, {u}" if r.random() < 0.6 else f"{street} {u}"
                if r.random() < 0.2:
                    street = f"{u}, {self._street_us()}"
            state = ab if r.random() < 0.8 else st
            tail = r.choice([f"{city}, {state} {zc}", f"{city} {state} {zc}",
                             f"{city}, {state}"])  # fmt: skip
            if kind == "us_multi":
                return (
                    f"{street}\n{self._unit()}\n{city}, {state} {zc}"
                    if r.random() < 0.5
                    else f"{street}\n{city}, {state} {zc}"
                )
            return f"{street}{sep}{tail}"
        if kind == "uk":
            f = self.fk("en_GB")
            pc = f.postcode()
            street = f"{r.randrange(1, 300)} {f.street_name()}"
            if r.random() < 0.4:
                street = f"{r.choice(['Flat', 'Flat', 'Apartment', 'Unit'])} {r.randrange(1, 40)}, {street}"
            return (
                f"{street}{sep}{f.city()}{sep}{pc}"
                if r.random() < 0.5
                else f"{street}, {f.city()} {pc}"
            )
        if kind == "ca":
            f = self.fk(r.choice(["en_CA", "fr_CA"]))
            prov = r.choice(["ON", "QC", "BC", "AB", "MB", "NS"])
            return f"{self._street_us()}{sep}{f.city()}, {prov} {f.postcode()}"
        if kind == "au":
            f = self.fk("en_AU")
            st = r.choice(["NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT"])
            u = f"Unit {r.randrange(1, 40)}, " if r.random() < 0.4 else ""
            return f"{u}{self._street_us()}{sep}{f.city()} {st} {r.randrange(2000, 7999)}"
        if kind == "de":
            f = self.fk(r.choice(["de_DE", "de_AT", "de_CH"]))
            s = f.street_address()
            if r.random() < 0.3:
                s = s.replace("straße", "str.").replace("Straße", "Str.")
            return f"{s}{sep}{f.postcode()} {f.city()}"
        if kind == "fr":
            f = self.fk("fr_FR")
            s = f"{r.randrange(1, 200)}{r.choice(['', ' bis', ','])} {r.choice(['rue', 'avenue', 'boulevard', 'place', 'chemin', 'allée', 'impasse'])} {r.choice(['de la ', 'du ', 'des ', 'de ', ''])}{f.last_name()}"  # noqa: E501
            return f"{s}{sep}{f.postcode()} {f.city()}"
        if kind == "es":
            f = self.fk(r.choice(["es_ES", "es_MX"]))
            s = f"{r.choice(['Calle', 'C/', 'Avenida', 'Avda.', 'Paseo', 'Plaza'])} {f.last_name()} {r.randrange(1, 200)}"  # noqa: E501
            if r.random() < 0.5:
                s += f", {r.randrange(1, 9)}º {r.choice('ABCD')}"
            return f"{s}{sep}{self.d(5)} {f.city()}"
        if kind == "it":
            f = self.fk("it_IT")
            s = f"{r.choice(['Via', 'Viale', 'Piazza', 'Corso', 'Vicolo'])} {f.last_name()}{r.choice([' ', ', '])}{r.randrange(1, 200)}"  # noqa: E501
            return f"{s}{sep}{self.d(5)} {f.city()}{r.choice(['', ' (MI)', ' RM', ' (TO)'])}"
        if kind == "nl":
            f = self.fk(r.choice(["nl_NL", "nl_BE"]))
            pc = (
                f"{r.randrange(1000, 9999)} {self.a(2)}"
                if r.random() < 0.7
                else str(r.randrange(1000, 9999))
            )
            return f"{f.street_name()} {r.randrange(1, 300)}{sep}{pc} {f.city()}"
        if kind == "pt":
            f = self.fk("pt_PT")
            return f"{f.street_name()}, {r.randrange(1, 300)}{sep}{f.postcode()} {f.city()}"
        if kind == "br":
            f = self.fk("pt_BR")
            return (f"{r.choice(['Rua', 'Avenida', 'Av.', 'Travessa'])} {f.last_name()}, "
                    f"{r.randrange(1, 3000)}{r.choice(['', ', apto 32', ' - apto 101'])}"
                    f"{sep}{f.city()} - {r.choice(['SP', 'RJ', 'MG', 'RS'])}, "
                    f"{self.d(5)}-{self.d(3)}")  # fmt: skip
        if kind == "pl":
            f = self.fk("pl_PL")
            return f"{f.street_address()}{sep}{f.postcode()} {f.city()}"
        if kind == "se":
            f = self.fk(r.choice(["sv_SE", "da_DK", "no_NO", "fi_FI"]))
            return (
                f"{f.street_address()}{sep}{self.d(3)} {self.d(2)} {f.city()}"
                if r.random() < 0.4
                else f"{f.street_address()}{sep}{f.postcode()} {f.city()}"
            )
        if kind == "ie":
            f = self.fk("en_IE")
            return f"{r.randrange(1, 200)} {f.last_name()} {r.choice(['Road', 'Street', 'Avenue', 'Park'])}{sep}{f.city()}{sep}{f.postcode()}"  # noqa: E501
        if kind == "in":
            f = self.fk("en_IN")
            return (f"{r.choice(['Flat', 'House No.', 'Plot'])} {r.randrange(1, 500)}"
                    f"{r.choice(['', 'B', '/2'])}, {f.street_name()}{sep}{f.city()} - "
                    f"{r.randrange(110000, 855000)}")  # fmt: skip
        if kind == "pobox":
            f = self.fk("en_US")
            st, ab = r.choice(US_STATES)
            return f"{r.choice(['PO Box', 'P.O. Box', 'P. O. Box'])} {r.randrange(1, 9999)}{sep}{f.city()}, {ab} {self.d(5)}"  # noqa: E501
        loc = r.choice(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_AU",
                        "en_CA", "pt_BR", "pl_PL", "cs_CZ", "da_DK", "es_MX"])  # fmt: skip
        return re.sub(r"\s*\n\s*", sep, self.fk(loc).address()).strip()

    def ADDRESS(self) -> None:
        self.b.ent(self.address_value(), "ADDRESS")

    def STREET(self) -> None:  # a street line alone
        r = self.rng
        v = self._street_us()
        if r.random() < 0.4:
            v = f"{v}, {self._unit()}" if r.random() < 0.5 else f"{v} {self._unit()}"
        self.b.ent(v, "ADDRESS")

    def CITY(self) -> None:
        loc = self.rng.choice(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL",
                               "pl_PL", "sv_SE", "pt_BR", "en_AU", "en_CA"])  # fmt: skip
        self.b.ent(self.fk(loc).city(), "LOCATION")

    def CITY_STATE(self) -> None:  # "Springfield, IL": the city is the identifier
        st, ab = self.rng.choice(US_STATES)
        self.b.ent(self.fk("en_US").city(), "LOCATION")
        self.b.lit(f", {ab if self.rng.random() < 0.7 else st}")

    def COUNTY(self) -> None:
        f = self.fk(self.rng.choice(["en_US", "en_GB"]))
        self.b.ent(f"{f.last_name()} County" if self.rng.random() < 0.8
                   else f"County {f.last_name()}", "LOCATION")  # fmt: skip

    def ZIP(self) -> None:
        r = self.rng
        kind = r.choice(["us", "us4", "uk", "ca", "de", "es", "fr", "br", "nl", "pl", "pt",
                         "in", "jp", "se", "it"])  # fmt: skip
        if kind in ("us", "us4"):
            v = self.d(5) + (f"-{self.d(4)}" if kind == "us4" else "")
            ph = [
                "ZIP ",
                "zip ",
                "ZIP code ",
                "zip code: ",
                "Zip: ",
                "ZIP+4 " if kind == "us4" else "ZIP ",
                "zipcode ",
                "postal code ",
                "from the ",
                "lives in the ",
            ]
            phrase = r.choice(ph)
            self.b.lit(phrase)
            self.b.ent(v, "ZIP")
            if phrase.endswith("the "):
                self.b.lit(" area")
            return
        v, ph = {
            "uk": (
                self.fk("en_GB").postcode(),
                ["postcode ", "Postcode: ", "post code ", "postcode is "],
            ),
            "ca": (self.fk("en_CA").postcode(), ["postal code ", "Postal Code: ", "code postal "]),
            "de": (self.d(5), ["PLZ ", "PLZ: ", "Postleitzahl "]),
            "es": (self.d(5), ["CP ", "C.P. ", "código postal "]),
            "fr": (self.d(5), ["code postal ", "CP "]),
            "br": (f"{self.d(5)}-{self.d(3)}", ["CEP ", "CEP: "]),
            "nl": (f"{r.randrange(1000, 9999)} {self.a(2)}", ["postcode ", "Postcode: "]),
            "pl": (f"{self.d(2)}-{self.d(3)}", ["kod pocztowy ", "postal code "]),
            "pt": (f"{self.d(4)}-{self.d(3)}", ["código postal ", "postal code "]),
            "in": (str(r.randrange(110000, 855000)), ["PIN ", "PIN code ", "pincode "]),
            "jp": (f"{self.d(3)}-{self.d(4)}", ["〒", "postal code "]),
            "se": (f"{self.d(3)} {self.d(2)}", ["postnummer ", "postal code "]),
            "it": (self.d(5), ["CAP ", "C.A.P. "]),
        }[kind]
        self.ctx(ph, v, "ZIP")

    # ------------------------------------------------------------- dates, ages
    def date_value(self, year: bool = True) -> str:
        r = self.rng
        d = dt.date(1935, 1, 1) + dt.timedelta(days=r.randrange(0, 33000))
        m = MONTHS[d.month - 1]
        y = d.year
        forms = [
            f"{d.month}/{d.day}/{y}", f"{d.month:02d}/{d.day:02d}/{y % 100:02d}",
            f"{d.day:02d}/{d.month:02d}/{y}", f"{d.day}.{d.month}.{y}", f"{d.day:02d}.{d.month:02d}.{y % 100:02d}",
            d.isoformat(), f"{y}/{d.month:02d}/{d.day:02d}", f"{y}.{d.month:02d}.{d.day:02d}",
            f"{m} {d.day}, {y}", f"{m[:3]}. {d.day}, {y}", f"{m} {d.day}th, {y}" if d.day > 3 else f"{m} {d.day}, {y}",
            f"{d.day} {m} {y}", f"{d.day} {m[:3]} {y}", f"{d.day}-{m[:3]}-{y % 100:02d}",
            f"{d.day:02d}{m[:3].upper()}{y}", f"{y}{d.month:02d}{d.day:02d}",
            f"{d.day}. {DE_MONTHS[d.month - 1]} {y}", f"{d.day} {FR_MONTHS[d.month - 1]} {y}",
            f"{d.day} de {ES_MONTHS[d.month - 1]} de {y}", f"{d.day} {IT_MONTHS[d.month - 1]} {y}",
            f"{d.day} de {PT_MONTHS[d.month - 1]} de {y}", f"{d.day} {NL_MONTHS[d.month - 1]} {y}",
            f"{y}年{d.month}月{d.day}日", f"{d.isoformat()}T{r.randrange(24):02d}:{r.randrange(60):02d}",
            f"{m} {y}", f"{m[:3]} {y}", f"{d.month}/{y}", f"{d.day} {m}", f"{m[:3]} {d.day}",
            f"{d.month}/{d.day}", f"{d.day}th of {m}" if d.day > 3 else f"{d.day} {m}",
            f"{['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'][r.randrange(5)]}, {m} {d.day}, {y}",
            f"{d.day:02d}-{d.month:02d}-{y}", f"{d.month}-{d.day}-{y}",
        ]  # fmt: skip
        if not year:
            forms = forms[-9:-2]
        return r.choice(forms)

    def DATE(self) -> None:
        self.b.ent(self.date_value(), "DATE")

    def AGE(self) -> None:
        r = self.rng
        n = r.choice([r.randrange(1, 90), r.randrange(1, 90), r.randrange(90, 110)])
        words = _age_words(n)
        form = r.randrange(14)
        pre, val, post = [
            ("", str(n), "-year-old"),
            ("", str(n), " year old"),
            ("", str(n), " y/o"),
            ("", str(n), "yo"),
            ("", str(n), " y.o."),
            ("aged ", str(n), ""),
            ("age ", str(n), ""),
            ("Age: ", str(n), ""),
            ("", str(n), " years of age"),
            ("", str(n), "-yr-old"),
            ("", str(n), " yrs old"),
            ("", words, "-year-old"),
            ("", words.capitalize(), " years old"),
            ("", str(n), r.choice(["M", "F", " M", " F"])),
        ][form]
        self.b.lit(pre)
        self.b.ent(val, "AGE")
        self.b.lit(post)

    # ------------------------------------------------------ numbers after keywords
    def MRN(self) -> None:
        r = self.rng
        v = r.choice([self.d(7), self.d(8), f"{self.d(2)}-{self.d(2)}-{self.d(2)}",
                      f"{self.d(3)} {self.d(3)} {self.d(4)}", f"MR{self.d(6)}",
                      f"{self.a(1)}{self.d(7)}", f"{self.d(3)}-{self.d(4)}-{self.d(1)}",
                      f"{self.d(2)} {self.d(3)} {self.d(3)}", f"H{self.d(6)}", self.d(10)])  # fmt: skip
        self.ctx(["MRN ", "MRN: ", "MRN#", "MR# ", "MR no. ", "Medical record number ",
                  "medical record # ", "Med Rec No: ", "chart # ", "Chart no. ", "hospital no. ",
                  "Hospital number: ", "Unit No. ", "unit number ", "Patient ID: ", "PID ",
                  "NHS No. ", "NHS number ", "CHI ", "URN ", "UR number ", "record no. ",
                  "EMR # ", "Encounter # ", "CSN ", "FIN ", "visit number ", "pt # ",
                  "patient no. ", "hosp. no "], v, "MRN")  # fmt: skip

    def PLAN(self) -> None:
        r = self.rng
        al = "ACDEFGHJKMNPQRTUVWXY"
        mbi = (f"{r.randrange(1, 10)}{r.choice(al)}{r.choice(al + '0123456789')}{self.d(1)}"
               f"{r.choice(al)}{r.choice(al + '0123456789')}{self.d(1)}{r.choice(al)}"
               f"{r.choice(al)}{self.d(2)}")  # fmt: skip
        v = r.choice([mbi, f"{mbi[:4]}-{mbi[4:7]}-{mbi[7:]}", f"{self.a(3)}{self.d(9)}",
                      f"W{self.d(9)}", f"{self.d(3)}-{self.d(3)}-{self.d(3)}", f"{self.d(8)}{self.a(1)}",
                      f"{self.d(3)}-{self.d(2)}-{self.d(4)}A", f"{self.a(1)}{self.d(9)}",
                      f"{self.d(1)} {self.d(2)} {self.d(2)} {self.d(2)} {self.d(3)} {self.d(3)} {self.d(2)}",
                      f"ZGP{self.d(8)}", f"{self.d(4)} {self.d(4)} {self.d(4)}"])  # fmt: skip
        self.ctx(["member ID ", "Member ID: ", "member # ", "subscriber ID ", "Subscriber #: ",
                  "policy number ", "Policy #", "policy no. ", "group no. ", "Group #: ",
                  "Medicaid ID ", "Medicare # ", "Medicare number ", "MBI ", "HICN ",
                  "insurance ID ", "Insurance no. ", "health plan ID ", "plan ID: ",
                  "BCBS ID ", "Aetna member ", "beneficiary no. ", "insurance card # ",
                  "EHIC ", "carte Vitale ", "Versichertennummer ", "health card no. ",
                  "Medicaid # "], v, "HEALTH_PLAN_ID")  # fmt: skip

    def ACCOUNT(self) -> None:
        v = self.rng.choice(
            [
                self.d(10),
                self.d(12),
                f"{self.d(4)}-{self.d(4)}-{self.d(2)}",
                f"ACCT-{self.d(7)}",
                f"{self.d(3)} {self.d(3)} {self.d(4)}",
            ]
        )
        self.ctx(
            [
                "account ",
                "Account #: ",
                "acct # ",
                "account no. ",
                "billing account ",
                "Acct: ",
                "bank account ",
                "A/C ",
                "account number ",
            ],
            v,
            "ACCOUNT_NUMBER",
        )

    def CERT(self) -> None:
        r = self.rng
        v = r.choice([f"{r.randrange(1990, 2026)}-{self.d(6)}", f"{self.a(1)}{self.d(7)}",
                      self.d(8), f"{self.d(3)}-{self.d(2)}-{self.d(6)}", f"{self.a(2)}-{self.d(6)}",
                      f"{r.randrange(1990, 2026)}/{self.d(5)}", f"{self.d(3)} {self.d(3)} {self.d(3)}",
                      f"CERT-{self.d(6)}", f"No. {self.d(7)}"])  # fmt: skip
        if v.startswith("No. "):
            self.b.lit(r.choice(["Death certificate ", "Birth certificate ", "certificate "]))
            self.b.lit("No. ")
            self.b.ent(v[4:], "CERTIFICATE_NUMBER")
            return
        self.ctx(["death certificate no. ", "Death certificate #", "birth certificate number ",
                  "Birth Certificate No: ", "certificate # ", "Certificate number: ",
                  "cert. no. ", "cert # ", "Cert ID ", "marriage certificate ",
                  "certificate of naturalization no. ", "board certification # ",
                  "ABIM certification no. ", "BLS certification card ", "CPR cert # ",
                  "certification number ", "Certificate ID: ", "stillbirth certificate "],
                 v, "CERTIFICATE_NUMBER")  # fmt: skip

    def LICENSE(self) -> None:
        r = self.rng
        kind = r.choice(["dl", "med", "dea", "npi", "pass", "nurse"])
        if kind == "dl":
            v = r.choice([f"{self.a(1)}{self.d(7)}", f"{self.a(1)}{self.d(3)}-{self.d(3)}-{self.d(2)}-{self.d(3)}-{self.d(1)}",
                          self.d(9), f"{self.a(1)}{self.d(12)}", f"{self.a(5)}{self.d(6)}{self.a(2)}{self.d(1)}{self.a(2)}",
                          f"{self.d(3)} {self.d(3)} {self.d(3)}"])  # fmt: skip
            ph = [
                "driver's license ",
                "Driver’s licence no. ",
                "DL# ",
                "DL ",
                "driving licence ",
                "drivers license number ",
                "license # ",
                "Führerschein Nr. ",
            ]
        elif kind == "med":
            v = r.choice([f"{r.choice(['MD', 'G', 'A', 'C'])}{self.d(5)}", f"{self.d(7)}",
                          f"{self.a(2)}-{self.d(6)}"])  # fmt: skip
            ph = [
                "medical license ",
                "State license # ",
                "license no. ",
                "GMC number ",
                "licence number ",
                "RN license ",
                "nursing license # ",
                "lic. # ",
            ]
        elif kind == "dea":
            v = f"{self.a(2)}{self.d(7)}"
            ph = ["DEA ", "DEA# ", "DEA number ", "DEA no. "]
        elif kind == "npi":
            v = self.d(10)
            ph = ["NPI ", "NPI: ", "NPI # ", "NPI number "]
        elif kind == "pass":
            v = r.choice([self.d(9), f"{self.a(2)}{self.d(7)}", f"{self.a(1)}{self.d(8)}"])
            ph = ["passport ", "passport no. ", "Passport #: ", "passport number "]
        else:
            v = f"{self.a(2)}{self.d(6)}"
            ph = ["registration no. ", "NMC PIN ", "registration number ", "permit # "]
        self.ctx(ph, v, "LICENSE_NUMBER")

    def PLATE(self) -> None:
        r = self.rng
        kind = r.choice(["faker", "us", "uk", "de", "fr", "it", "es", "nl", "br", "pl", "se"])
        v = {
            "faker": lambda: self.fk(r.choice(["en_US", "en_GB", "de_DE", "fr_FR", "it_IT",
                                                "nl_NL", "pt_BR", "pl_PL", "es_ES", "sv_SE",
                                                "da_DK", "de_AT"])).license_plate(),
            "us": lambda: r.choice([f"{r.randrange(1, 9)}{self.a(3)}{self.d(3)}",
                                    f"{self.a(3)}-{self.d(4)}", f"{self.a(3)} {self.d(3)}",
                                    f"{self.d(3)} {self.a(3)}"]),
            "uk": lambda: f"{self.a(2)}{self.d(2)} {self.a(3)}",
            "de": lambda: f"{r.choice(['B', 'M', 'HH', 'K', 'F', 'S', 'DO'])}-{self.a(2)} {r.randrange(1, 9999)}"
            if r.random() < .5 else f"{r.choice(['B', 'M', 'HH'])} {self.a(2)} {r.randrange(1, 9999)}",
            "fr": lambda: f"{self.a(2)}-{self.d(3)}-{self.a(2)}",
            "it": lambda: f"{self.a(2)} {self.d(3)}{self.a(2)}",
            "es": lambda: f"{self.d(4)} {self.a(3)}",
            "nl": lambda: f"{self.d(2)}-{self.a(3)}-{self.d(1)}",
            "br": lambda: f"{self.a(3)}{self.d(1)}{self.a(1)}{self.d(2)}",
            "pl": lambda: f"{self.a(2)} {self.d(5)}",
            "se": lambda: f"{self.a(3)} {self.d(3)}",
        }[kind]()  # fmt: skip
        if r.random() < 0.25:
            self.ctx(
                ["VIN ", "VIN: ", "vehicle identification number ", "chassis no. ", "VIN#"],
                self.fk("en_US").vin(),
                "VEHICLE_ID",
            )
            return
        self.ctx(["plate ", "license plate ", "licence plate ", "plate number ", "plate no. ",
                  "reg ", "registration ", "car reg ", "number plate ", "tag ", "tag # ",
                  "Kennzeichen ", "matrícula ", "targa ", "immatriculation ", "vehicle "],
                 v, "VEHICLE_ID")  # fmt: skip

    def DEVICE(self) -> None:
        r = self.rng
        kind = r.choice(["serial", "udi", "udi_plain", "imei", "mac", "pump"])
        if kind == "udi":
            self.ctx(
                ["UDI ", "UDI: ", "device UDI "],
                f"(01){self.d(14)}(17){self.d(6)}(10){self.a(1)}{self.d(4)}"
                + (f"(21){self.d(6)}" if r.random() < 0.5 else ""),
                "DEVICE_ID",
            )
        elif kind == "udi_plain":
            self.ctx(["UDI ", "UDI-DI ", "GUDID "], f"{self.d(14)}", "DEVICE_ID")
        elif kind == "imei":
            v = r.choice(
                [
                    self.d(15),
                    f"{self.d(2)}-{self.d(6)}-{self.d(6)}-{self.d(1)}",
                    f"{self.d(2)} {self.d(6)} {self.d(6)} {self.d(1)}",
                ]
            )
            self.ctx(["IMEI ", "IMEI: ", "phone IMEI "], v, "DEVICE_ID")
        elif kind == "mac":
            v = ":".join(f"{r.randrange(256):02X}" for _ in range(6))
            self.ctx(["MAC ", "MAC address ", "device MAC "], v, "DEVICE_ID")
        else:
            v = r.choice([f"{self.a(2)}{self.d(6)}", f"SN-{self.d(4)}-{self.a(2)}",
                          f"{self.a(3)}{self.d(6)}{self.a(1)}", f"{self.d(4)}-{self.d(4)}-{self.d(4)}",
                          f"{self.d(8)}", f"{self.a(1)}{self.d(3)} {self.d(4)}"])  # fmt: skip
            self.ctx(["serial number ", "Serial #: ", "S/N ", "SN: ", "serial no. ",
                      "pacemaker serial ", "pump serial # ", "insulin pump SN ", "device ID ",
                      "transmitter ID ", "ICD serial ", "hearing aid serial no. ",
                      "implant lot # ", "catheter lot ", "CGM sensor ", "monitor S/N "],
                     v, "DEVICE_ID")  # fmt: skip

    def BIO(self) -> None:
        r = self.rng
        v = r.choice([f"FP-{self.d(8)}", f"{r.randrange(16**10, 16**11):x}", f"BIO-{self.a(2)}{self.d(6)}",
                      f"VP{self.d(7)}", f"{self.d(4)}-{self.d(4)}"])  # fmt: skip
        self.ctx(["fingerprint ID ", "fingerprint template ", "voiceprint ", "voice print ID ",
                  "iris scan ID ", "retinal scan # ", "biometric ID ", "palm print ",
                  "face template "], v, "BIOMETRIC_ID")  # fmt: skip

    def NATID(self) -> None:
        r = self.rng
        kind = r.choice(["sin", "nir", "dni", "nie", "cf", "bsn", "pnr", "cpr", "hetu", "pesel",
                         "aadhaar", "pan", "cpf", "curp", "pps", "tfn", "steuer", "be", "ssn",
                         "nino"])  # fmt: skip
        v, ph = {
            "sin": lambda: (f"{self.d(3)} {self.d(3)} {self.d(3)}", ["SIN ", "social insurance number "]),
            "nir": lambda: (f"{r.choice('12')} {self.d(2)} {self.d(2)} {self.d(2)} {self.d(3)} {self.d(3)} {self.d(2)}",
                            ["NIR ", "numéro de sécurité sociale ", "n° SS "]),
            "dni": lambda: (f"{self.d(8)}{r.choice(_ALNUM)}", ["DNI ", "DNI: ", "NIF "]),
            "nie": lambda: (f"{r.choice('XYZ')}{self.d(7)}{r.choice(_ALNUM)}", ["NIE ", "NIE: "]),
            "cf": lambda: (f"{self.a(6)}{self.d(2)}{self.a(1)}{self.d(2)}{self.a(1)}{self.d(3)}{self.a(1)}",
                           ["codice fiscale ", "CF ", "C.F. "]),
            "bsn": lambda: (self.d(9), ["BSN ", "BSN: ", "burgerservicenummer "]),
            "pnr": lambda: (f"{self.d(6)}-{self.d(4)}", ["personnummer ", "personal number "]),
            "cpr": lambda: (f"{self.d(6)}-{self.d(4)}", ["CPR ", "CPR-nr. "]),
            "hetu": lambda: (f"{self.d(6)}-{self.d(3)}{r.choice(_ALNUM)}", ["HETU ", "henkilötunnus "]),
            "pesel": lambda: (self.d(11), ["PESEL ", "PESEL: "]),
            "aadhaar": lambda: (f"{self.d(4)} {self.d(4)} {self.d(4)}", ["Aadhaar ", "Aadhaar no. "]),
            "pan": lambda: (f"{self.a(5)}{self.d(4)}{self.a(1)}", ["PAN ", "PAN card "]),
            "cpf": lambda: (f"{self.d(3)}.{self.d(3)}.{self.d(3)}-{self.d(2)}", ["CPF ", "CPF: "]),
            "curp": lambda: (f"{self.a(4)}{self.d(6)}{self.a(6)}{self.d(2)}", ["CURP ", "CURP: "]),
            "pps": lambda: (f"{self.d(7)}{self.a(1)}", ["PPS ", "PPS number ", "PPSN "]),
            "tfn": lambda: (f"{self.d(3)} {self.d(3)} {self.d(3)}", ["TFN ", "tax file number "]),
            "steuer": lambda: (f"{self.d(2)} {self.d(3)} {self.d(3)} {self.d(3)}",
                               ["Steuer-ID ", "Steueridentifikationsnummer ", "tax ID "]),
            "be": lambda: (f"{self.d(2)}.{self.d(2)}.{self.d(2)}-{self.d(3)}.{self.d(2)}",
                           ["rijksregisternummer ", "national number "]),
            "ssn": lambda: (self.fk("en_US").ssn(), ["SSN ", "social security no. ", "SS# "]),
            "nino": lambda: (f"{self.a(2)} {self.d(2)} {self.d(2)} {self.d(2)} {r.choice('ABCD')}",
                             ["NI number ", "NINO "]),
        }[kind]()  # fmt: skip
        ph = ph + ["national ID ", "ID card no. ", "identity card ", "national identity number "]
        self.ctx(ph, v, "NATIONAL_ID")

    def PHONE(self) -> None:
        loc = self.rng.choice(PHONE_LOCALES + ["pl_PL", "sv_SE", "da_DK", "hu_HU", "cs_CZ"])
        self.b.ent(self.fk(loc).phone_number(), "PHONE")

    def EMAIL(self) -> None:
        self.b.ent(self.g.email(), "EMAIL")

    def URL(self) -> None:
        f = self.fk("en_US")
        self.b.ent(
            self.pick(
                f"https://{f.domain_name()}/patients/{self.d(5)}",
                f"www.{f.domain_name()}/~{f.user_name()}",
                f.url(),
            ),
            "URL",
        )

    def IP(self) -> None:
        self.b.ent(self.g.ip(), "IP")

    def CC(self) -> None:
        self.b.ent(self.g.card(), "CREDIT_CARD")

    def SSN(self) -> None:
        self.b.ent(self.g.ssn(), "US_SSN")

    # -------------------------------------------------------------- must keep
    def keep_med(self) -> None:
        text = self.rng.choice(BROAD_MEDICAL)
        self.keep.append((self.b.pos, self.b.pos + len(text), "MEDICAL"))
        self.b.lit(text)


BROAD_TEMPLATES = [
    "{NAME} was seen in clinic for (MED). {AGE}. Contact {PHONE}.",
    "{TNAME} reviewed the patient on {DATE}; started (MED).",
    "Discharge summary\nPatient: {NAME}\nMRN: {MRN}\nDOB: {DATE}\nAddress: {ADDRESS}\n"
    "Diagnosis: (MED)",
    "{NAME}\n{ADDRESS}\n\nDear {TNAME},\nThank you for referring this patient with (MED).",
    "Please send the records to {ADDRESS}. Attn: {NAME}.",
    "Lives at {STREET} with her husband {NAME}; {ZIP}.",
    "Mailing address: {ADDRESS}",
    "Transferred from a hospital in {CITY} on {DATE}. {AGE}, (MED).",
    "Resident of {CITY_STATE} since {DATE}. Known (MED) on (MED).",
    "Born in {CITY} on {DATE}; moved to {COUNTY} in {DATE}.",
    "{ZIP}. Home phone {PHONE}.",
    "Form field {ZIP}, state on file.",
    "{MRN}. {AGE} with (MED); plan to continue (MED).",
    "Registration: {MRN}, {PLAN}.",
    "Billing: {ACCOUNT}; {PLAN}; card {CC}.",
    "{CERT} signed by {CNAME} on {DATE}.",
    "Cause of death (MED). {CERT}.",
    "Prescriber {CNAME}, {LICENSE}, {LICENSE}.",
    "{LICENSE} verified at intake for {NAME}.",
    "Patient arrived by car ({PLATE}); parked in bay 4.",
    "Accident report: {PLATE}, driver {NAME}, {DATE}.",
    "{DEVICE} implanted {DATE}; interrogation normal, (MED).",
    "Device check: {DEVICE}. {DEVICE}.",
    "{BIO} enrolled for {NAME} at the front desk.",
    "ID verified: {NATID}.",
    "{NAME} ({NATID}) consented to the study on {DATE}.",
    "Seen with her daughter {LNAME}. (MED) stable. {AGE}.",
    "Interpreter present for {SNAME}. Family member {SNAME} called from {PHONE}.",
    "Best regards,\n{NAME}\n{ADDRESS}\n{PHONE}",
    "Thanks,\n{FIRST}",
    "{CNAME}\nDepartment of Cardiology\n{ADDRESS}\nTel. {PHONE}",
    "Signed electronically by {CNAME} on {DATE}.",
    "Portal {URL} accessed from {IP}; messages to {EMAIL}.",
    "{AGE} presenting with (MED). Hx of (MED). BP 142/88, (MED).",
    "Vitals: (MED), (MED). Labs: (MED), (MED).",
    "Pt {LNAME}, {AGE}, DOB {DATE}, {MRN}, seen by {TNAME}.",
    "Next of kin: {NAME}, {ADDRESS}, {PHONE}.",
    "Next appointment {DATE} with {TNAME} at the {CITY} clinic.",
    "Social: lives alone at {ADDRESS}; {AGE}; SSN {SSN}.",
    "{NAME}, {ADDRESS}",
    "Died on {DATE} aged {AGE}. {CERT}.",
    "Referral to {TNAME} ({EMAIL}) for (MED); (MED) discontinued.",
    "Insurance: {PLAN}. Employer {NAME}, {ADDRESS}.",
    "Sample collected {DATE} from {NAME}, {ZIP}.",
    "Vehicle {PLATE} registered to {NAME} of {CITY_STATE}.",
    "{NAME} and {NAME} visited on {DATE}.",
]


_BROAD_TOKEN = re.compile(r"\{[A-Z_]+\}|\(MED\)")


def broad_cases(n: int = 1500, seed: int = 41) -> list[tuple[Record, list]]:
    """(record, must-keep spans) pairs from :data:`BROAD_TEMPLATES`."""
    g = Gen(seed)
    out = []
    for _ in range(n):
        template = g.rng.choice(BROAD_TEMPLATES)
        b = _Builder()
        keep: list = []
        w = _Broad(g, b, keep)
        pos = 0
        for m in _BROAD_TOKEN.finditer(template):
            b.lit(template[pos : m.start()])
            tok = m.group(0)
            if tok == "(MED)":
                w.keep_med()
            else:
                getattr(w, tok[1:-1])()
            pos = m.end()
        b.lit(template[pos:])
        out.append((b.record(), keep))
    return out


def _write_jsonl(path: str, cases: list[tuple[Record, list]]) -> None:
    import json

    with open(path, "w", encoding="utf-8") as f:
        for rec, keep in cases:
            spans = [list(s) for s in rec.spans] + [list(k) for k in keep]
            f.write(json.dumps({"text": rec.text, "spans": spans}, ensure_ascii=False) + "\n")


def _main() -> None:
    import os
    import sys

    if os.environ.get("PYTHONHASHSEED") != "0":
        # some Faker providers iterate over sets: fix string hashing so that a seed always
        # writes the same file
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    if len(sys.argv) == 3 and sys.argv[1] == "--hard":  # python _deid_goldgen.py --hard F
        write_hard_jsonl(sys.argv[2])
        return
    if len(sys.argv) in (3, 5) and sys.argv[1] == "--broad":  # --broad F [--seed S]
        seed = int(sys.argv[4]) if len(sys.argv) == 5 and sys.argv[3] == "--seed" else 41
        _write_jsonl(sys.argv[2], broad_cases(seed=seed))
        return
    for r in generate(12, seed=1):  # a peek at the data
        print(repr(r.text))
        print("   ", [(r.text[s:e], lab) for s, e, lab in r.spans])


if __name__ == "__main__":
    _main()
