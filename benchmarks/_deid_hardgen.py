# ruff: noqa: E501  (format strings of the generated identifiers read best on one line)
"""A second, independent hard-case tuning set for the de-identification evaluation.

Written without reading the recognizer code and sharing nothing with ``privtrain.deid`` or
``_deid_goldgen.py``. It aims at the classes that scored worst out of sample: ages over 89 in
many phrasings and languages, certificate / professional licence numbers (DEA, NPI, board,
state licence), device serials and UDIs (GS1 and HIBCC), whole addresses in national forms
(units, PO boxes, c/o, rural routes) with city and postcode, cities and counties, vehicle
plates of many countries and VINs, names from many Faker locales, MRNs in many shapes.
Medical distractors (eponyms, drugs, vitals, lab values, ICD-10/CPT codes, doses, percent
values that look like ages) are labelled MEDICAL so over-redaction is measured too.

The templates of each class are split in two: even-numbered templates make the *tune* half,
odd-numbered ones the *held-out* half (different phrasings, not only different values), and
the halves use different seeds. Both halves are written at once, before any tuning; the files
frozen in ``benchmarks/deid_hard/`` are the reference (a rerun differs in a handful of values:
a few Faker providers do not follow the instance seed):

    python benchmarks/_deid_hardgen.py OUTDIR          # OUTDIR/tune.jsonl, OUTDIR/heldout.jsonl
    python benchmarks/deid_eval.py --gold OUTDIR/tune.jsonl

Labels: PERSON, ADDRESS (street line with number and unit, PO box, c/o line), LOCATION (city,
town, county), ZIP, AGE (every AGE span states an age over 89), DATE, PHONE, MRN,
CERTIFICATE_NUMBER, LICENSE_NUMBER (driving licence), DEVICE_ID, VEHICLE_ID, HEALTH_PLAN_ID,
ACCOUNT_NUMBER, MEDICAL (must survive). Titles ("Dr.") and keywords ("MRN:", "aged") are
left out of spans; an age span is the number with its unit ("94-year-old", "94 yo", "94 Jahre").
"""

from __future__ import annotations

import json
import random
import string
import sys
from collections.abc import Callable
from pathlib import Path

from faker import Faker

NAME_LOCALES = [
    "en_US", "en_GB", "en_IE", "de_DE", "de_AT", "fr_FR", "es_ES", "es_MX", "it_IT", "pt_BR",
    "pt_PT", "nl_NL", "pl_PL", "cs_CZ", "sv_SE", "da_DK", "no_NO", "fi_FI", "hu_HU", "ro_RO",
    "tr_TR", "ru_RU", "el_GR", "zh_CN", "ja_JP", "ko_KR", "ar_SA", "he_IL", "hi_IN", "vi_VN",
    "id_ID", "en_IN", "yo_NG", "ga_IE", "uk_UA", "fa_IR",
]  # fmt: skip
LATIN_NAME_LOCALES = NAME_LOCALES[:21] + ["vi_VN", "id_ID", "en_IN", "yo_NG", "ga_IE"]
ADDR_LOCALES = [
    "en_US", "en_GB", "en_CA", "en_AU", "en_NZ", "en_IE", "de_DE", "de_AT", "de_CH", "fr_FR",
    "fr_CH", "fr_CA", "es_ES", "es_MX", "it_IT", "pt_PT", "pt_BR", "nl_NL", "nl_BE", "pl_PL",
    "cs_CZ", "sv_SE", "da_DK", "no_NO", "fi_FI", "hu_HU", "ro_RO", "id_ID",
]  # fmt: skip
CJK_OR_NO_SPACE = {"zh_CN", "ja_JP", "ko_KR"}

EPONYMS = [
    "Parkinson's disease", "Addison's disease", "Cushing syndrome", "Hodgkin lymphoma",
    "Crohn's disease", "Graves' disease", "Hashimoto thyroiditis", "Bell's palsy",
    "Alzheimer's dementia", "Down syndrome", "Guillain-Barré syndrome", "Sjögren syndrome",
    "Barrett's esophagus", "Wilson disease", "Paget's disease", "Ménière's disease",
    "Huntington's chorea", "Kaposi sarcoma", "Ewing sarcoma", "Wilms tumor", "Babinski sign",
    "Murphy's sign", "McBurney's point", "Glasgow Coma Scale", "Apgar score", "Foley catheter",
    "Swan-Ganz catheter", "Whipple procedure", "Nissen fundoplication", "Roux-en-Y bypass",
    "Holter monitor", "Lachman test", "Trendelenburg position", "Charcot foot",
    "Dupuytren contracture", "Tietze syndrome", "Horner syndrome", "Stevens-Johnson syndrome",
    "Brugada pattern", "Wolff-Parkinson-White", "Mallory-Weiss tear", "Osgood-Schlatter",
    "Legionnaires' disease", "Lyme disease", "Tourette syndrome", "Marfan syndrome",
    "Raynaud phenomenon", "Bowen disease", "Colles fracture", "Baker's cyst",
]  # fmt: skip
DRUGS = [
    "Lasix 40 mg", "Eliquis 5 mg", "Xarelto", "Lipitor", "Keppra 500 mg", "Zofran", "Dilaudid",
    "Norco", "Tylenol 650 mg", "Augmentin", "Zosyn", "vancomycin", "heparin drip", "warfarin",
    "Lantus 20 units", "Humalog", "Synthroid 88 mcg", "Plavix", "Brilinta", "Entresto",
    "Jardiance", "Ozempic", "Humira", "Keytruda", "Seroquel", "Ativan 1 mg", "Haldol",
    "Coreg 6.25 mg", "Norvasc 10 mg", "Flomax", "Prednisone 40 mg", "Solu-Medrol",
    "Levaquin", "Cipro", "Bactrim DS", "Xanax", "Ambien", "Aricept", "Namenda", "Sinemet",
]  # fmt: skip
VITALS = [
    "BP 150/90", "BP 132/78 mmHg", "HR 94", "pulse 101", "SpO2 96%", "O2 sat 93% on RA",
    "Temp 38.2 C", "T 98.6 F", "RR 18", "K 4.1", "Na 138", "HbA1c 7.2%", "INR 2.5",
    "creatinine 1.4 mg/dL", "WBC 12.3", "Hgb 9.1", "EF 35%", "GCS 15", "BMI 31.2",
    "glucose 95 mg/dL", "troponin 0.04", "BNP 920", "TSH 4.6", "LDL 102", "platelets 190",
    "eGFR 44", "weight 94 kg", "height 170 cm", "pain 7/10", "QTc 460 ms", "PSA 6.1",
]  # fmt: skip
CODES = [
    "ICD-10 I10", "ICD-10 E11.9", "J44.1", "N18.3", "ICD-10 F03.90", "CPT 99214", "CPT 93000",
    "I48.91", "Z95.0", "R41.82", "DRG 291", "NYHA class III", "stage 3b CKD", "G3P2",
    "ASA class II", "CHA2DS2-VASc 5", "MMSE 19/30", "Braden 14", "ECOG 2",
]  # fmt: skip
FILLERS = [
    "No acute distress.", "Lungs clear bilaterally.", "Plan discussed with the family.",
    "Follow up in two weeks.", "Tolerating diet.", "Denies chest pain.", "Afebrile overnight.",
    "Continue current regimen.", "Ambulating with a walker.", "Wound is clean and dry.",
]  # fmt: skip

US_STATES = ["CA", "NY", "TX", "IL", "OH", "WA", "MA", "FL", "PA", "GA", "MI", "NC", "AZ", "MN"]


class B:
    """Builds one text while recording each identifier's character span."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[list] = []
        self.n = 0

    def t(self, s: str) -> B:
        self.parts.append(s)
        self.n += len(s)
        return self

    def e(self, s: str, label: str) -> B:
        self.spans.append([self.n, self.n + len(s), label])
        return self.t(s)

    def record(self) -> dict:
        return {"text": "".join(self.parts), "spans": self.spans}


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self._fk: dict[str, Faker] = {}
        Faker.seed(seed)

    def fk(self, loc: str) -> Faker:
        if loc not in self._fk:
            f = Faker(loc)
            f.seed_instance(self.r.randrange(1 << 30))
            self._fk[loc] = f
        return self._fk[loc]

    # ---------------------------------------------------------------- value helpers
    def c(self, xs):
        return self.r.choice(xs)

    def d(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def up(self, n: int, alphabet: str = string.ascii_uppercase) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def name(self, loc: str | None = None, latin: bool = False) -> str:
        loc = loc or self.c(LATIN_NAME_LOCALES if latin else NAME_LOCALES)
        f = self.fk(loc)
        first, last = f.first_name(), f.last_name()
        if loc in CJK_OR_NO_SPACE:
            return last + ("" if loc != "ko_KR" else "") + first
        if loc == "hu_HU":
            return f"{last} {first}"
        k = self.r.random()
        if k < 0.08:
            return f"{first[0]}. {last}"
        if k < 0.14:
            return f"{first} {f.first_name()[0]}. {last}"
        if k < 0.18 and loc in ("en_US", "en_GB", "en_IE"):
            return f"{first} {self.c(['O’', 'Mc', 'Mac', 'De', 'Van ', 'St. '])}{last}"
        if k < 0.22:
            return f"{first} {last}-{f.last_name()}"
        if k < 0.26:
            return f"{last}, {first}"
        return f"{first} {last}"

    def surname(self) -> str:
        return self.fk(self.c(LATIN_NAME_LOCALES)).last_name()

    def age(self) -> int:
        return self.c([90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 107])

    def age_word(self, a: int) -> str:
        ones = "zero one two three four five six seven eight nine".split()
        if a < 100:
            return "ninety" + ("" if a == 90 else self.c(["-", " "]) + ones[a - 90])
        rest = a - 100
        return "one hundred" + ("" if rest == 0 else self.c([" and ", " "]) + ones[rest])

    def city(self, loc: str | None = None) -> str:
        return self.fk(loc or self.c(ADDR_LOCALES)).city()

    def street(self, loc: str) -> str:
        f = self.fk(loc)
        s = f.street_address()
        if self.r.random() < 0.45:
            unit = self.unit(loc)
            sep = self.c([", ", " ", ", "])
            s = f"{s}{sep}{unit}" if self.r.random() < 0.8 else f"{unit}, {s}"
        return s

    def unit(self, loc: str) -> str:
        n = self.r.randrange(1, 40)
        if loc.startswith("de"):
            return self.c([f"Wohnung {n}", f"{n}. OG", f"Whg. {n}", f"Hinterhaus, {n}. Stock"])
        if loc.startswith("fr"):
            return self.c([f"Appt {n}", f"Bât. {self.up(1)}", f"{n}e étage", f"Esc. {self.up(1)}"])
        if loc.startswith("es") or loc.startswith("pt"):
            return self.c(
                [f"Piso {n}º {self.up(1)}", f"Apto. {n}0{self.d(1)}", f"{n}º Izq.", f"Dpto {n}"]
            )
        if loc.startswith("it"):
            return self.c([f"Scala {self.up(1)}", f"Int. {n}", f"Piano {n}"])
        if loc.startswith("nl"):
            return self.c([f"bus {n}", f"{n}-hoog", f"app. {n}"])
        return self.c([
            f"Apt {n}{self.up(1)}", f"Apt. {n}0{self.d(1)}", f"Suite {self.d(3)}", f"Unit {n}",
            f"Flat {n}", f"#{self.d(3)}", f"Floor {n}", f"Bldg {self.up(1)}", f"Ste {self.d(3)}",
            f"Room {self.d(3)}", f"{n}th Floor", f"Lot {n}", f"Trailer {n}",
        ])  # fmt: skip

    def po_box(self, loc: str) -> str:
        n = self.d(self.r.randrange(2, 6))
        if loc.startswith("de"):
            return self.c([f"Postfach {n}", f"Postfach {n[:2]} {n[2:] or '12'}"])
        if loc.startswith("fr"):
            return self.c([f"BP {n}", f"B.P. {n}", f"CS {n}", f"Boîte postale {n}"])
        if loc.startswith("es") or loc.startswith("pt"):
            return self.c([f"Apartado {n}", f"Apdo. {n}", f"Caixa Postal {n}", f"Casilla {n}"])
        if loc.startswith("it"):
            return f"Casella Postale {n}"
        return self.c([
            f"P.O. Box {n}", f"PO Box {n}", f"P O Box {n}", f"Post Office Box {n}",
            f"POB {n}", f"Rural Route {self.d(1)}, Box {n}", f"RR {self.d(1)} Box {n}",
            f"HC {self.d(2)} Box {n}", f"PSC {self.d(4)}, Box {n}", f"Private Bag {n}",
            f"Locked Bag {n}", f"GPO Box {n}", "General Delivery",
        ])  # fmt: skip

    def postcode(self, loc: str) -> str:
        pc = self.fk(loc).postcode()
        if loc == "en_US" and self.r.random() < 0.3:
            pc = f"{pc[:5]}-{self.d(4)}"
        return pc

    def phone(self) -> str:
        return self.fk(
            self.c(["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES"])
        ).phone_number()

    def date(self) -> str:
        f = self.fk("en_US")
        dte = f.date_between("-30y", "today")
        return self.c(
            [
                dte.strftime("%m/%d/%Y"),
                dte.strftime("%d.%m.%Y"),
                dte.strftime("%B %d, %Y"),
                dte.strftime("%Y-%m-%d"),
                dte.strftime("%d %b %Y"),
            ]
        )

    def med(self, b: B) -> None:
        """A medical distractor sentence (labelled MEDICAL)."""
        k = self.r.randrange(6)
        if k == 0:
            b.t("History of ").e(self.c(EPONYMS), "MEDICAL").t(". ")
        elif k == 1:
            b.t("Started ").e(self.c(DRUGS), "MEDICAL").t(" daily; continue ").e(
                self.c(DRUGS), "MEDICAL"
            ).t(". ")
        elif k == 2:
            b.t("Vitals: ").e(self.c(VITALS), "MEDICAL").t(", ").e(self.c(VITALS), "MEDICAL").t(
                ". "
            )
        elif k == 3:
            b.t("Dx: ").e(self.c(CODES), "MEDICAL").t(" (").e(self.c(EPONYMS), "MEDICAL").t("). ")
        elif k == 4:
            b.t(self.c(["Labs notable for ", "Repeat ", "Today "])).e(self.c(VITALS), "MEDICAL").t(
                "; "
            ).e(self.c(CODES), "MEDICAL").t(". ")
        else:
            b.t(self.c(FILLERS) + " ")

    # ---------------------------------------------------------------- AGE (over 89)
    def age_templates(self) -> list[Callable[[B], None]]:
        r = self

        def t0(b):  # 94-year-old
            a = r.age()
            b.t(r.c(["", "Pt is a ", "This is a ", "A "]) + "").e(f"{a}-year-old", "AGE").t(
                r.c([" woman", " male", " F", " gentleman", " resident"]) + " with "
            )
            b.e(r.c(EPONYMS), "MEDICAL").t(". ")

        def t1(b):  # aged 94
            a = r.age()
            b.t(f"Patient {r.c(['aged', 'age', 'Age:', 'AGE -', 'age is'])} ").e(f"{a}", "AGE").t(
                r.c([", lives alone.", "; admitted for falls.", ". "]) + " "
            )

        def t2(b):  # 94 yo / y.o. / yo / y/o
            a = r.age()
            b.e(
                f"{a}{r.c([' yo', ' y.o.', 'yo', ' y/o', 'y/o', ' yo.', ' YO', ' yr old', '-yr-old', ' yrs old', ' y.o'])}",
                "AGE",
            )
            b.t(r.c([" F", " M", " female", " man", " w/"]) + " presenting with ").e(
                r.c(EPONYMS), "MEDICAL"
            ).t(". ")

        def t3(b):  # 94 years of age
            a = r.age()
            b.t(r.c(["She is ", "He is ", "The patient is ", "Now "])).e(
                f"{a} {r.c(['years of age', 'years old', 'yrs of age', 'years'])}", "AGE"
            ).t(r.c([" and ambulatory.", ", DNR/DNI.", " and lives with family."]) + " ")

        def t4(b):  # words
            a = r.age()
            w = r.age_word(a)
            form = r.c(
                [f"{w}-year-old", f"{w} years old", f"{w} year old", f"{w.capitalize()}-year-old"]
            )
            b.t(r.c(["A ", "Pleasant ", "", "Frail "])).e(form, "AGE").t(" admitted from home. ")

        def t5(b):  # shorthand 94M / 94 F / M/94
            a = r.age()
            form = r.c(
                [
                    f"{a}M",
                    f"{a}F",
                    f"{a} F",
                    f"{a} M",
                    f"{a}yo M",
                    f"{a}yoF",
                    f"{a}yom",
                    f"{a} yof",
                    f"{a}/M",
                    f"{a}/F",
                ]
            )
            b.t(r.c(["ED triage: ", "CC: ", "", "Consult: "])).e(form, "AGE").t(
                r.c([" w/ ", " c/o ", ", hx "])
            ).e(r.c(EPONYMS), "MEDICAL").t(". ")

        def t6(b):  # Pt is 96.
            a = r.age()
            b.t(r.c(["Pt is ", "Patient is ", "She turned ", "He will be ", "Mother is "])).e(
                str(a), "AGE"
            ).t(r.c([". ", " next week. ", " this year. "]))
            r.med(b)

        def t7(b):  # other languages
            a = r.age()
            form = r.c(
                [
                    f"{a} Jahre alt",
                    f"{a} Jahre",
                    f"{a}-jährige",
                    f"{a} ans",
                    f"{a} años",
                    f"{a} anni",
                    f"{a} jaar",
                    f"{a} år",
                    f"{a} anos",
                    f"{a} lat",
                    f"{a}-letni",
                ]
            )
            b.t(
                r.c(
                    [
                        "Patientin, ",
                        "Patient ",
                        "Paciente de ",
                        "Patiente âgée de ",
                        "Paziente di ",
                        "Pasiënt, ",
                        "",
                    ]
                )
            ).e(form, "AGE").t(r.c([", ", "; "])).e(r.c(DRUGS), "MEDICAL").t(". ")

        def t8(b):  # table / form
            a = r.age()
            b.t(
                r.c(
                    [
                        "Age | ",
                        "Age (years): ",
                        "AGE\t",
                        "Age at admission: ",
                        "Alter: ",
                        "Edad: ",
                        "Âge : ",
                    ]
                )
            ).e(str(a), "AGE").t(r.c([" | Sex | F", "\tSex\tM", " ; sex: male", "\n"]) + " ")

        def t9(b):  # a 101 year old / at 94
            a = r.age()
            k = r.r.randrange(4)
            if k == 0:
                b.t("Celebrating ").e(f"{a}th birthday", "AGE").t(" today. ")
            elif k == 1:
                b.t("Widowed at 70, now ").e(str(a), "AGE").t(". ")
            elif k == 2:
                b.t("a ").e(f"{a} year old", "AGE").t(" with ").e(r.c(EPONYMS), "MEDICAL").t(". ")
            else:
                b.t("Age ").e(f"{a}y", "AGE").t(", ").e(r.c(VITALS), "MEDICAL").t(". ")

        def t10(b):  # parenthesised and with name
            a = r.age()
            b.t("Seen: ").e(r.name(latin=True), "PERSON").t(" (").e(
                f"{a}{r.c(['', 'y', ' yrs', ' y.o.'])}", "AGE"
            ).t(r.c([")", ", F)", ", M)"]) + ". ")

        def t11(b):  # "aged 94 years", "at age 96"
            a = r.age()
            b.t(r.c(["Died at age ", "Diagnosed at age ", "at the age of ", "aged "])).e(
                f"{a}{r.c(['', ' years', ' yrs'])}", "AGE"
            ).t(". ")
            r.med(b)

        return [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11]

    # ---------------------------------------------------------------- CERTIFICATE_NUMBER
    def dea(self) -> str:
        return self.c("ABFGMPRX") + self.up(1) + self.d(7)

    def npi(self) -> str:
        return self.c("12") + self.d(9)

    def cert_templates(self) -> list[Callable[[B], None]]:
        r = self

        def lic(st):
            return r.c(
                [
                    f"{st}{r.d(6)}",
                    f"{r.up(1)}{r.d(5)}",
                    f"{r.d(2)}-{r.d(6)}",
                    f"MD{r.d(6)}",
                    f"{st}-{r.up(2)}-{r.d(5)}",
                    f"{r.d(4)}-{r.d(3)}{r.up(1)}",
                    f"RN{r.d(7)}",
                    f"{r.up(2)}.{r.d(7)}",
                    f"{r.d(9)}",
                ]
            )

        def t0(b):
            b.t(r.c(["DEA ", "DEA#: ", "DEA No. ", "DEA number ", "DEA Reg. # "])).e(
                r.dea(), "CERTIFICATE_NUMBER"
            ).t(". ")

        def t1(b):
            b.e(r.name(latin=True), "PERSON").t(", MD  NPI ").e(r.npi(), "CERTIFICATE_NUMBER").t(
                r.c(["\n", ". ", " | "])
            )

        def t2(b):
            st = r.c(US_STATES)
            b.t(
                f"{st} {r.c(['Lic. #', 'License No.', 'medical license', 'Lic#', 'lic no', 'State License #:'])} "
            ).e(lic(st), "CERTIFICATE_NUMBER").t(". ")

        def t3(b):
            b.t(
                r.c(
                    [
                        "Board certification no. ",
                        "ABIM cert # ",
                        "Cert. No. ",
                        "cert no ",
                        "Certificate number: ",
                        "Board Cert ID ",
                    ]
                )
            ).e(
                r.c(
                    [
                        f"{r.d(6)}",
                        f"ABIM-{r.d(6)}",
                        f"C{r.d(7)}",
                        f"{r.d(3)}-{r.d(3)}-{r.d(3)}",
                        f"BC{r.d(5)}{r.up(1)}",
                    ]
                ),
                "CERTIFICATE_NUMBER",
            ).t(". ")

        def t4(b):
            b.t(
                r.c(
                    [
                        "Death certificate no. ",
                        "Birth certificate # ",
                        "Death cert. ",
                        "Certificate of death number ",
                        "Marriage certificate no. ",
                    ]
                )
            ).e(
                r.c(
                    [
                        f"{r.d(4)}-{r.d(6)}",
                        f"{r.d(3)}-{r.d(2)}-{r.d(6)}",
                        f"{r.up(1)}{r.d(8)}",
                        f"{r.d(10)}",
                    ]
                ),
                "CERTIFICATE_NUMBER",
            ).t(" on file. ")

        def t5(b):
            b.t("Prescriber: ").e(r.name(latin=True), "PERSON").t(
                r.c([", DEA: ", " (DEA ", " - DEA "])
            ).e(r.dea(), "CERTIFICATE_NUMBER").t(r.c([", NPI: ", "; NPI ", " NPI# "])).e(
                r.npi(), "CERTIFICATE_NUMBER"
            ).t(r.c([")", "", "."]) + " ")

        def t6(b):
            b.t(
                r.c(
                    [
                        "Nursing license ",
                        "RN license # ",
                        "Pharmacist lic. ",
                        "PA-C license no. ",
                        "Professional licence number ",
                        "Registration no. (GMC) ",
                        "GMC No. ",
                        "NMC PIN ",
                        "AHPRA reg. ",
                    ]
                )
            ).e(
                r.c(
                    [
                        f"RN{r.d(6)}",
                        f"{r.d(7)}",
                        f"{r.d(2)}{r.up(1)}{r.d(4)}{r.up(1)}",
                        f"MED{r.d(10)}",
                        f"RPh-{r.d(5)}",
                        f"{r.d(8)}",
                    ]
                ),
                "CERTIFICATE_NUMBER",
            ).t(". ")

        def t7(b):
            b.t(
                r.c(
                    [
                        "Approbationsurkunde Nr. ",
                        "N° RPPS ",
                        "numéro ADELI ",
                        "Nº colegiado ",
                        "n. iscrizione albo ",
                        "BIG-nummer ",
                        "LANR ",
                    ]
                )
            ).e(
                r.c([f"{r.d(11)}", f"{r.d(9)}", f"{r.d(2)}/{r.d(5)}", f"{r.d(6)}"]),
                "CERTIFICATE_NUMBER",
            ).t(". ")

        def t8(b):
            b.t(
                r.c(
                    [
                        "CLIA # ",
                        "CLIA ID ",
                        "CAP accreditation # ",
                        "Medicare provider # ",
                        "UPIN ",
                        "Tax ID (EIN) ",
                    ]
                )
            ).e(
                r.c(
                    [f"{r.d(2)}D{r.d(7)}", f"{r.d(7)}", f"{r.up(1)}{r.d(5)}", f"{r.d(2)}-{r.d(7)}"]
                ),
                "CERTIFICATE_NUMBER",
            ).t(". ")

        def t9(b):
            b.t(r.c(["Signed electronically by ", "Attending: "])).e(
                r.name(latin=True), "PERSON"
            ).t(r.c([", DO, lic. ", " MD #", ", NP, license ", ", RN lic# "])).e(
                lic(r.c(US_STATES)), "CERTIFICATE_NUMBER"
            ).t("\n")

        return [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9]

    # ---------------------------------------------------------------- DEVICE_ID
    def gs1(self) -> str:
        parts = [f"(01){self.d(14)}"]
        if self.r.random() < 0.8:
            parts.append(f"(17){self.d(6)}")
        if self.r.random() < 0.6:
            parts.append(f"(10){self.up(2)}{self.d(4)}")
        parts.append(f"(21){self.up(self.r.randrange(0, 3))}{self.d(self.r.randrange(5, 10))}")
        if self.r.random() < 0.3:
            parts.insert(1, f"(11){self.d(6)}")
        return "".join(parts)

    def hibcc(self) -> str:
        lic = self.up(1) + self.up(3, string.ascii_uppercase + string.digits)
        prod = self.up(self.r.randrange(4, 10), string.ascii_uppercase + string.digits)
        return self.c(
            [
                f"+{lic}{prod}{self.d(1)}/$$3{self.d(6)}{self.up(3)}{self.d(3)}{self.up(1)}",
                f"+{lic}{prod}{self.d(1)}/$+{self.d(7)}{self.up(1)}",
                f"+{lic}{prod}0/${self.up(2)}{self.d(5)}{self.up(1)}",
            ]
        )

    def serial(self) -> str:
        return self.c(
            [
                f"{self.up(3)}{self.d(6)}{self.up(1)}",
                f"{self.d(3)}{self.up(2)}{self.d(5)}",
                f"{self.up(2)}{self.d(8)}",
                f"{self.up(1)}{self.d(3)}-{self.d(5)}",
                f"{self.d(10)}",
                f"{self.up(4)}-{self.d(4)}-{self.up(2)}{self.d(2)}",
                f"{self.d(4)}{self.up(1)}{self.d(4)}",
                f"{self.up(3)}{self.d(5)}",
            ]
        )

    def device_templates(self) -> list[Callable[[B], None]]:
        r = self

        def t0(b):
            b.t(r.c(["SN: ", "SN ", "S/N ", "S/N: ", "s/n "])).e(r.serial(), "DEVICE_ID").t(
                r.c([" (pacemaker).", ", interrogated today.", ". "]) + " "
            )

        def t1(b):
            b.t(r.c(["UDI: ", "UDI ", "Implant UDI ", "Device identifier: "])).e(
                r.gs1(), "DEVICE_ID"
            ).t(". ")

        def t2(b):
            b.t(r.c(["HIBC label ", "UDI (HIBCC) ", "Barcode: ", "Implant label "])).e(
                r.hibcc(), "DEVICE_ID"
            ).t(". ")

        def t3(b):
            b.t(
                r.c(
                    [
                        "Medtronic Azure XT DR pacemaker, serial number ",
                        "Boston Scientific ICD, serial no. ",
                        "Abbott Assurity PM, Serial # ",
                        "Biotronik Edora 8, serial ",
                        "St. Jude lead serial no. ",
                    ]
                )
            ).e(r.serial(), "DEVICE_ID").t(", implanted ").e(r.date(), "DATE").t(". ")

        def t4(b):
            b.t(
                r.c(
                    [
                        "Insulin pump (Tandem t:slim X2) SN ",
                        "Omnipod PDM serial ",
                        "Dexcom G6 transmitter ID ",
                        "Libre sensor serial ",
                        "CPAP ResMed AirSense 10, S/N ",
                    ]
                )
            ).e(
                r.c([r.serial(), f"{r.d(1)}{r.up(2)}{r.d(1)}{r.up(2)}", f"{r.d(11)}"]), "DEVICE_ID"
            ).t(". ")

        def t5(b):
            b.t(
                r.c(
                    [
                        "Hearing aid serial no. ",
                        "Cochlear implant SN ",
                        "LVAD HeartMate 3 serial ",
                        "Wheelchair serial # ",
                        "Glucometer SN: ",
                    ]
                )
            ).e(r.serial(), "DEVICE_ID").t(r.c([" noted.", " - replace battery.", "."]) + " ")

        def t6(b):
            b.t(r.c(["IMEI ", "IMEI: ", "Tablet IMEI "])).e(
                r.c(
                    [
                        f"{r.d(15)}",
                        f"{r.d(2)}-{r.d(6)}-{r.d(6)}-{r.d(1)}",
                        f"{r.d(2)} {r.d(6)} {r.d(6)} {r.d(1)}",
                    ]
                ),
                "DEVICE_ID",
            ).t(". ")

        def t7(b):
            mac = ":".join(r.up(2, "0123456789ABCDEF") for _ in range(6))
            if r.r.random() < 0.5:
                mac = mac.replace(":", "-").lower()
            b.t(r.c(["Telemetry box MAC ", "monitor MAC address ", "Bedside device MAC "])).e(
                mac, "DEVICE_ID"
            ).t(". ")

        def t8(b):
            b.t(
                r.c(
                    [
                        "Serial No.: ",
                        "Serial number ",
                        "Ser. No. ",
                        "Device ID ",
                        "Asset tag ",
                        "Seriennummer ",
                        "N° de série ",
                        "Número de serie ",
                    ]
                )
            ).e(r.serial(), "DEVICE_ID").t(
                r.c([" (infusion pump).", " of the ventilator.", "."]) + " "
            )

        def t9(b):
            b.t(
                f"Implant record: {r.c(['Zimmer', 'Stryker', 'DePuy'])} {r.c(['knee', 'hip'])} component, "
            )
            b.t(r.c(["serial ", "SN#", "S/N: "])).e(r.serial(), "DEVICE_ID").t(", ").e(
                r.c(["(01)", "UDI-DI "]) + r.d(14), "DEVICE_ID"
            ).t(". ")

        return [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9]

    # ---------------------------------------------------------------- VEHICLE_ID
    def plate(self) -> tuple[str, str]:
        u, d = self.up, self.d
        clean = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return self.c([
            ("US", f"{d(1)}{u(3)}{d(3)}"), ("US", f"{u(3)}-{d(4)}"), ("US", f"{u(3)} {d(4)}"),
            ("US", f"{u(2)}{d(1)}-{u(1)}{d(3)}"),
            ("UK", f"{u(2, clean)}{d(2)} {u(3, clean)}"), ("UK", f"{u(2, clean)}{d(2)}{u(3, clean)}"),
            ("DE", f"{u(self.r.randrange(1, 4))}-{u(2)} {d(self.r.randrange(1, 5))}"),
            ("DE", f"{u(2)} {u(2)} {d(3)}"), ("FR", f"{u(2)}-{d(3)}-{u(2)}"),
            ("IT", f"{u(2)} {d(3)}{u(2)}"), ("ES", f"{d(4)} {u(3, 'BCDFGHJKLMNPRSTVWXYZ')}"),
            ("NL", f"{d(2)}-{u(3)}-{d(1)}"), ("NL", f"{u(2)}-{d(3)}-{u(1)}"),
            ("PL", f"{u(2)} {d(5)}"), ("PL", f"{u(3)} {d(2)}{u(2)}"), ("SE", f"{u(3)} {d(2)}{u(1)}"),
            ("SE", f"{u(3)} {d(3)}"), ("CH", f"{self.c(['ZH', 'BE', 'GE', 'VD'])} {d(6)}"),
            ("AU", f"{d(1)}{u(3)}-{d(3)}"), ("CA", f"{u(4)} {d(3)}"), ("CA", f"{u(3)}-{d(3)}"),
            ("IN", f"{self.c(['MH', 'DL', 'KA', 'TN'])} {d(2)} {u(2)} {d(4)}"),
            ("BR", f"{u(3)}{d(1)}{u(1)}{d(2)}"), ("BR", f"{u(3)}-{d(4)}"),
            ("AT", f"W-{d(5)}{u(1)}"), ("DK", f"{u(2)} {d(2)} {d(3)}"),
        ])  # fmt: skip

    def vin(self) -> str:
        al = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        return self.c(["1", "2", "3", "5", "J", "K", "W", "V", "Z", "S"]) + self.up(16, al)

    def vehicle_templates(self) -> list[Callable[[B], None]]:
        r = self

        def t0(b):
            b.t(r.c(["License plate ", "plate # ", "Plate: ", "tag number ", "lic. plate "])).e(
                r.plate()[1], "VEHICLE_ID"
            ).t(r.c([" (the patient's car).", ", parked in lot B.", "."]) + " ")

        def t1(b):
            b.t(r.c(["VIN ", "VIN: ", "VIN#", "Vehicle identification number ", "chassis no. "])).e(
                r.vin(), "VEHICLE_ID"
            ).t(". ")

        def t2(b):
            _c, p = r.plate()
            b.t(
                r.c(
                    [
                        "MVC: driver of a sedan, registration ",
                        "Brought in by car reg. ",
                        "Car registration: ",
                        "Kennzeichen ",
                        "immatriculation ",
                        "matrícula ",
                        "targa ",
                        "kenteken ",
                        "registreringsnummer ",
                    ]
                )
            ).e(p, "VEHICLE_ID").t(". ")

        def t3(b):
            b.t("Police report lists vehicle ").e(r.plate()[1], "VEHICLE_ID").t(
                r.c([" and VIN ", ", VIN "])
            ).e(r.vin(), "VEHICLE_ID").t(". ")

        def t4(b):
            b.t(
                r.c(
                    [
                        "Patient's wheelchair van, plate ",
                        "Ambulance transfer; family car plate ",
                        "Valet ticket for plate ",
                    ]
                )
            ).e(r.plate()[1], "VEHICLE_ID").t(r.c([" - ", "; "])).e(
                r.c(["white Toyota", "grey VW Golf", "blue Ford F-150"]), "KEEP"
            ).t(". ")

        def t5(b):
            b.t(
                r.c(
                    [
                        "Motorcycle reg. no. ",
                        "Trailer plate ",
                        "Fahrzeug-Ident.-Nr. ",
                        "Numéro VIN ",
                    ]
                )
            ).e(r.c([r.vin(), r.plate()[1]]), "VEHICLE_ID").t(". ")

        return [t0, t1, t2, t3, t4, t5]

    # ---------------------------------------------------------------- MRN
    def mrn_value(self) -> str:
        d, u = self.d, self.up
        return self.c([
            d(7), d(8), "00" + d(6), f"{d(3)}-{d(2)}-{d(2)}", f"{d(2)}-{d(2)}-{d(2)}",
            f"{u(1)}{d(7)}", f"{u(2)}{d(6)}", f"{d(4)}-{d(4)}", f"{u(3)}-{d(6)}",
            f"{d(3)} {d(3)} {d(3)}", f"H{d(6)}", f"E{d(9)}", f"{d(6)}{u(1)}", f"{d(10)}",
        ])  # fmt: skip

    def mrn_templates(self) -> list[Callable[[B], None]]:
        r = self

        def t0(b):
            b.t(r.c(["MRN: ", "MRN ", "MRN#", "MRN #: ", "mrn "])).e(r.mrn_value(), "MRN").t(
                r.c([". ", "\n", " | "])
            )

        def t1(b):
            b.e(r.name(), "PERSON").t(r.c([" (MRN ", " [MR# ", ", MR No. "])).e(
                r.mrn_value(), "MRN"
            ).t(r.c([")", "]", ""]) + " admitted. ")

        def t2(b):
            b.t(
                r.c(
                    [
                        "Medical record number ",
                        "Medical Record No.: ",
                        "Med Rec # ",
                        "Hospital number ",
                        "Hosp. No. ",
                        "Chart # ",
                        "Unit No. ",
                        "Patient ID: ",
                        "PID ",
                        "EMPI ",
                    ]
                )
            ).e(r.mrn_value(), "MRN").t(". ")

        def t3(b):
            b.t(
                r.c(
                    [
                        "KH-Nr. ",
                        "Fallnummer ",
                        "Patienten-ID ",
                        "N° de dossier ",
                        "IPP ",
                        "NHC ",
                        "Nº historia clínica ",
                        "cartella clinica n. ",
                        "Prontuário ",
                    ]
                )
            ).e(r.mrn_value(), "MRN").t(". ")

        def t4(b):
            b.t(
                r.c(["Encounter # ", "Visit ID ", "FIN ", "CSN ", "Accession # ", "Specimen ID "])
            ).e(r.mrn_value(), "MRN").t(r.c(["; ", ". "])).e(r.c(VITALS), "MEDICAL").t(". ")

        def t5(b):
            b.t("Please merge duplicate charts ").e(r.mrn_value(), "MRN").t(" and ").e(
                r.mrn_value(), "MRN"
            ).t(r.c([" (same patient).", "."]) + " ")

        def t6(b):
            b.t(r.c(["Record: ", "Pt #", "Patient number ", "Case no. ", "Reg. no. "])).e(
                r.mrn_value(), "MRN"
            ).t(", ").e(r.c(CODES), "MEDICAL").t(". ")

        def t7(b):
            b.t(r.c(["NAME: ", "Patient: "])).e(r.name(), "PERSON").t(
                r.c(["   MRN: ", "\tMR#: ", "  ID: "])
            ).e(r.mrn_value(), "MRN").t(r.c(["   DOB: ", "\tDOB: "])).e(r.date(), "DATE").t("\n")

        return [t0, t1, t2, t3, t4, t5, t6, t7]

    # ---------------------------------------------------------------- ADDRESS / LOCATION / ZIP
    def address_block(self, b: B, loc: str, sep: str = ", ") -> None:
        """street (+unit) [, city] [postcode] -- each with its own label."""
        f = self.fk(loc)
        street = self.street(loc)
        city = f.city()
        pc = self.postcode(loc)
        if loc == "en_US" or loc == "en_AU":
            b.e(street, "ADDRESS").t(sep).e(city, "LOCATION").t(
                ", "
                + (self.c(US_STATES) if loc == "en_US" else self.c(["NSW", "VIC", "QLD"]))
                + " "
            ).e(pc, "ZIP")
        elif loc == "en_CA" or loc == "fr_CA":
            b.e(street, "ADDRESS").t(sep).e(city, "LOCATION").t(
                " " + self.c(["ON", "QC", "BC"]) + "  "
            ).e(pc, "ZIP")
        elif loc in ("en_GB", "en_IE", "en_NZ"):
            b.e(street, "ADDRESS").t(sep).e(city, "LOCATION").t(sep).e(pc, "ZIP")
        elif loc in ("pt_BR",):
            b.e(street, "ADDRESS").t(" - ").e(city, "LOCATION").t(" - ").t(
                self.c(["SP", "RJ", "MG"])
            ).t(", CEP ").e(pc, "ZIP")
        else:
            b.e(street, "ADDRESS").t(sep).e(pc, "ZIP").t(" ").e(city, "LOCATION")

    def address_templates(self) -> list[Callable[[B], None]]:
        r = self

        def t0(b):
            loc = r.c(ADDR_LOCALES)
            b.t(r.c(["Address: ", "Home address: ", "Lives at ", "Resides at ", "Addr: "]))
            r.address_block(b, loc)
            b.t(". ")

        def t1(b):  # block on lines
            loc = r.c(ADDR_LOCALES)
            b.e(r.name(loc if loc in NAME_LOCALES else None), "PERSON").t("\n")
            r.address_block(b, loc, sep="\n")
            b.t("\n")

        def t2(b):  # c/o
            loc = r.c(["en_US", "en_GB", "en_CA", "en_AU", "de_DE", "fr_FR"])
            b.t("Send statements ").e(r.c(["c/o ", "C/O ", "care of "]) + r.name(loc), "ADDRESS").t(
                ", "
            )
            r.address_block(b, loc)
            b.t(". ")

        def t3(b):  # PO box
            loc = r.c(ADDR_LOCALES)
            b.t(r.c(["Mailing address: ", "Mail to ", "Correspondence: "])).e(
                r.po_box(loc), "ADDRESS"
            ).t(", ")
            f = r.fk(loc)
            if loc.startswith("en"):
                b.e(f.city(), "LOCATION").t(" ").e(r.postcode(loc), "ZIP")
            else:
                b.e(r.postcode(loc), "ZIP").t(" ").e(f.city(), "LOCATION")
            b.t(". ")

        def t4(b):  # moved / transferred
            loc = r.c(ADDR_LOCALES)
            b.t(
                r.c(
                    [
                        "Discharged to daughter's home at ",
                        "Moved to ",
                        "New address ",
                        "Will stay at ",
                    ]
                )
            )
            r.address_block(b, loc)
            b.t(r.c([" for rehab.", " after discharge.", "."]) + " ")
            r.med(b)

        def t5(b):  # street only, inline
            loc = r.c(ADDR_LOCALES)
            b.t(
                r.c(["Found down outside ", "Fell at home (", "EMS picked up at ", "Home visit: "])
            ).e(r.street(loc), "ADDRESS").t(r.c([".", ")", " - no one home."]) + " ")

        def t6(b):  # city / county only
            loc = r.c(ADDR_LOCALES)
            f = r.fk(loc)
            k = r.r.randrange(5)
            if k == 0:
                b.t(r.c(["Lives in ", "Born in ", "From ", "Grew up in "])).e(
                    f.city(), "LOCATION"
                ).t(r.c([" with her son.", ", retired farmer.", "."]) + " ")
            elif k == 1:
                b.t("Transferred from ").e(f.city(), "LOCATION").t(
                    r.c([" General Hospital", " Community Hospital", " clinic"]) + ". "
                )
            elif k == 2:
                b.t("Resident of ").e(f"{r.surname()} County", "LOCATION").t(". ")
            elif k == 3:
                b.t("Travel: returned from ").e(f.city(), "LOCATION").t(" last week; ").e(
                    r.c(EPONYMS), "MEDICAL"
                ).t(" ruled out. ")
            else:
                b.t(r.c(["Landkreis ", "Kreis ", "comté de ", "condado de ", "Gemeinde "])).e(
                    f.city(), "LOCATION"
                ).t(". ")

        def t7(b):  # ZIP alone
            loc = r.c(ADDR_LOCALES)
            b.t(
                r.c(
                    [
                        "ZIP ",
                        "Zip code: ",
                        "Postcode ",
                        "PLZ ",
                        "code postal ",
                        "C.P. ",
                        "postal code ",
                    ]
                )
            ).e(r.postcode(loc), "ZIP").t(". ")

        def t8(b):  # table row
            loc = r.c(ADDR_LOCALES)
            f = r.fk(loc)
            b.t("street | city | zip\n").e(r.street(loc), "ADDRESS").t(" | ").e(
                f.city(), "LOCATION"
            ).t(" | ").e(r.postcode(loc), "ZIP").t("\n")

        def t9(b):  # facility with city / neighbour
            loc = r.c(["en_US", "en_GB", "en_CA", "en_AU"])
            b.t(r.c(["Neighbor at ", "Emergency contact lives at ", "Employer: warehouse at "]))
            r.address_block(b, loc)
            b.t(r.c([", phone ", ", tel. "])).e(r.phone(), "PHONE").t(". ")

        return [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9]

    # ---------------------------------------------------------------- PERSON
    def person_templates(self) -> list[Callable[[B], None]]:
        r = self

        def t0(b):
            b.t(
                r.c(
                    [
                        "Dr. ",
                        "Mr. ",
                        "Mrs. ",
                        "Ms. ",
                        "Prof. ",
                        "Herr ",
                        "Frau ",
                        "Mme ",
                        "Sr. ",
                        "Sra. ",
                    ]
                )
            ).e(r.name(latin=True), "PERSON").t(
                r.c([" called re: ", " consulted for ", " reviewed "])
            ).e(r.c(EPONYMS), "MEDICAL").t(". ")

        def t1(b):
            b.t("Signed: ").e(r.name(), "PERSON").t(
                r.c([", MD", ", RN", ", PharmD", ", DO", " MD PhD", ""]) + "\n"
            )

        def t2(b):
            b.t(r.c(["Pt ", "Patient ", "pt. ", "Resident "])).e(r.name(), "PERSON").t(
                r.c([" refused ", " tolerated ", " was started on "])
            ).e(r.c(DRUGS), "MEDICAL").t(". ")

        def t3(b):
            b.t(r.c(["Spoke with ", "Called ", "Message left for ", "cc: "])).e(
                r.name(), "PERSON"
            ).t(r.c([" (daughter)", " (son, HCP)", ", wife,", " (POA)"]) + " about goals of care. ")

        def t4(b):  # lower case
            n = r.name(latin=True).lower()
            b.t(r.c(["seen w/ ", "per ", "d/w ", "family: "])).e(n, "PERSON").t(
                r.c([" today.", " at bedside.", "."]) + " "
            )

        def t5(b):
            b.t("Name: ").e(r.name(), "PERSON").t(r.c(["\n", "; ", " | "])).t("Dx: ").e(
                r.c(EPONYMS), "MEDICAL"
            ).t(". ")

        def t6(b):  # names that are common words with medical word around
            first = r.c(
                [
                    "Grace",
                    "Hope",
                    "Joy",
                    "Faith",
                    "Will",
                    "Frank",
                    "Rose",
                    "Dawn",
                    "Bill",
                    "Mark",
                    "Sunny",
                    "Iris",
                    "Ivy",
                ]
            )
            last = r.c(
                [
                    "Baker",
                    "Hill",
                    "Wood",
                    "Brown",
                    "White",
                    "Green",
                    "Young",
                    "King",
                    "Little",
                    "Walker",
                ]
            )
            b.t(r.c(["Daughter ", "Caregiver ", "RN "])).e(f"{first} {last}", "PERSON").t(
                " reports "
            ).e(r.c(["frank hematuria", "mild swelling", "rose-colored urine"]), "MEDICAL").t(". ")

        def t7(b):
            b.t("Referred by ").e(r.name(), "PERSON").t(" to ").e(r.name(latin=True), "PERSON").t(
                r.c([" for ", " re "])
            ).e(r.c(EPONYMS), "MEDICAL").t(". ")

        return [t0, t1, t2, t3, t4, t5, t6, t7]

    # ---------------------------------------------------------------- misc ids
    def misc_templates(self) -> list[Callable[[B], None]]:
        r = self

        def t0(b):
            b.t(r.c(["Driver's license ", "DL# ", "Driving licence no. ", "Führerschein-Nr. "])).e(
                r.c(
                    [
                        f"{r.up(1)}{r.d(7)}",
                        f"{r.up(1)}{r.d(3)}-{r.d(4)}-{r.d(4)}",
                        f"{r.up(5)}{r.d(6)}{r.up(2)}{r.d(1)}{r.up(2)}",
                        f"{r.d(9)}",
                    ]
                ),
                "LICENSE_NUMBER",
            ).t(". ")

        def t1(b):
            b.t(
                r.c(
                    ["Member ID ", "Medicare MBI ", "Policy # ", "Subscriber ID: ", "Insurance ID "]
                )
            ).e(
                r.c(
                    [
                        f"{r.d(1)}{r.up(1)}{r.up(1, 'ACDEFGHJKMNPQRTUVWXY')}{r.d(1)}-{r.up(2)}{r.d(1)}-{r.up(2)}{r.d(2)}",
                        f"{r.up(3)}{r.d(9)}",
                        f"W{r.d(9)}",
                        f"{r.d(3)}-{r.d(3)}-{r.d(3)}-{r.up(1)}",
                    ]
                ),
                "HEALTH_PLAN_ID",
            ).t(". ")

        def t2(b):
            b.t(r.c(["Account # ", "Acct no. ", "Billing account: ", "Guarantor acct "])).e(
                r.c([f"{r.d(10)}", f"{r.d(4)}-{r.d(6)}", f"A{r.d(8)}"]), "ACCOUNT_NUMBER"
            ).t(". ")

        def t3(b):
            b.t(r.c(["Seen on ", "Admitted ", "DOB "])).e(r.date(), "DATE").t(
                r.c([" by ", " with "])
            ).e(r.name(latin=True), "PERSON").t(". ")

        return [t0, t1, t2, t3]

    # ---------------------------------------------------------------- records
    def families(self) -> list[tuple[str, list, int]]:
        return [
            ("AGE", self.age_templates(), 6),
            ("CERT", self.cert_templates(), 5),
            ("DEVICE", self.device_templates(), 5),
            ("VEHICLE", self.vehicle_templates(), 4),
            ("MRN", self.mrn_templates(), 4),
            ("ADDRESS", self.address_templates(), 6),
            ("PERSON", self.person_templates(), 4),
            ("MISC", self.misc_templates(), 1),
        ]

    def generate(self, n: int, half: int) -> list[dict]:
        fams = self.families()
        weights = [w for _n, _t, w in fams]
        out = []
        for _ in range(n):
            b = B()
            if self.r.random() < 0.5:
                self.med(b)
            for _k in range(self.r.choice([1, 1, 2])):
                _name, temps, _w = self.r.choices(fams, weights)[0]
                mine = [t for i, t in enumerate(temps) if i % 2 == half]
                self.r.choice(mine)(b)
            if self.r.random() < 0.4:
                self.med(b)
            rec = b.record()
            rec["text"] = rec["text"].rstrip()
            rec["spans"] = [s for s in rec["spans"] if s[1] <= len(rec["text"])]
            out.append(rec)
        return out


def write(path: Path, recs: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for rec in recs:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    write(out / "tune.jsonl", Gen(101).generate(1000, 0))
    write(out / "heldout.jsonl", Gen(202).generate(1000, 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
