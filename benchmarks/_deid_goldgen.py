"""Labeled free-text records for the de-identification evaluation (gold character spans).

Deliberately independent of ``privtrain.deid``: no import from it, no shared patterns or
word lists. Identifiers come from Faker (several locales) and are placed into varied
templates (clinical notes, support tickets, HR, billing, IT logs, forms); the generator
records each identifier's exact character span and label while it builds the text.

Labels: PERSON, EMAIL, PHONE, US_SSN, UK_NINO, DATE, ADDRESS, LOCATION, CREDIT_CARD, IP.
A PERSON written with a title ("Dr. Jane Roe") is labeled without the title; a person named
only by the surname after a title ("Mrs. Roe") is labeled on the surname.
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


def _main() -> None:
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--hard":  # python _deid_goldgen.py --hard F
        write_hard_jsonl(sys.argv[2])
        return
    for r in generate(12, seed=1):  # a peek at the data
        print(repr(r.text))
        print("   ", [(r.text[s:e], lab) for s, e, lab in r.spans])


if __name__ == "__main__":
    _main()
