"""Tuning data for the weak de-identification classes: names of many locales in the shapes
the NER model misses, certificate and licence numbers, vehicle plates of several countries,
medical record numbers, phones next to a full stop - each next to medical words that must
survive. A tuning set: recognizers may be tuned on it.

    .venv/bin/python benchmarks/deid_tune2/gen.py [--n 800] [--seed 11] [--out FILE]
    .venv/bin/python benchmarks/deid_eval.py --gold benchmarks/deid_tune2/tune2.jsonl

Names come from Faker locales (the recognizers never read Faker's lists); ids and plates are
drawn from shapes written here. Output: the gold JSON Lines format of ``deid_eval.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import string
from pathlib import Path

from faker import Faker

LOCALES = [
    "hu_HU",
    "da_DK",
    "pl_PL",
    "vi_VN",
    "nl_NL",
    "es_ES",
    "fr_FR",
    "de_DE",
    "it_IT",
    "pt_BR",
    "sv_SE",
    "cs_CZ",
    "tr_TR",
    "fi_FI",
    "ro_RO",
    "en_IN",
    "en_GB",
    "en_US",
]
MEDICAL = [
    "Coumadin",
    "Keppra",
    "metformin",
    "Raynaud's phenomenon",
    "Kawasaki disease",
    "Epstein-Barr virus",
    "Parkinson's disease",
    "Hashimoto thyroiditis",
    "Lasix",
    "Crohn's disease",
    "Bell's palsy",
    "atrial fibrillation",
    "Ventolin",
    "Addison's disease",
    "Guillain-Barre syndrome",
    "Foley catheter",
    "Holter monitor",
    "Sjogren's syndrome",
]
FILLER = [
    "Follow up in two weeks.",
    "Vitals stable overnight.",
    "Afebrile, eating well.",
    "Plan discussed at bedside.",
    "No acute distress.",
    "Labs pending.",
]


class Rec:
    def __init__(self) -> None:
        self.text = ""
        self.spans: list[list] = []

    def add(self, s: str, label: str | None = None) -> None:
        if label:
            self.spans.append([len(self.text), len(self.text) + len(s), label])
        self.text += s


def _d(r: random.Random, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def _L(r: random.Random, n: int) -> str:
    return "".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


def plate(r: random.Random) -> str:
    return r.choice(
        [
            lambda: f"{_L(r, 2)}{_d(r, 2)} {_L(r, 3)}",  # UK
            lambda: f"{_d(r, 1)}{_L(r, 3)}{_d(r, 3)}",  # US (CA)
            lambda: f"{_L(r, 3)}-{_d(r, 4)}",  # US
            lambda: f"{_L(r, 2)}-{_d(r, 3)}-{_L(r, 2)}",  # FR
            lambda: f"{_L(r, 1)}-{_L(r, 2)} {_d(r, 4)}",  # DE
            lambda: f"{_L(r, 2)}{_d(r, 3)}{_L(r, 2)}",  # IT
            lambda: f"{_d(r, 4)} {_L(r, 3)}",  # ES
            lambda: f"{_d(r, 2)}-{_L(r, 3)}-{_d(r, 1)}",  # NL
            lambda: f"{_L(r, 3)} {_d(r, 3)}",  # SE
            lambda: f"{_L(r, 3)}{_d(r, 1)}{_L(r, 1)}{_d(r, 2)}",  # BR
        ]
    )()


def cert(r: random.Random) -> str:
    return r.choice(
        [
            lambda: f"{_L(r, 2)}{_d(r, 7)}",
            lambda: f"{_d(r, 2)}-{_d(r, 5)}",
            lambda: f"{_L(r, 1)}{_d(r, 6)}",
            lambda: f"{_d(r, 8)}",
            lambda: f"{_L(r, 3)}-{_d(r, 4)}-{_L(r, 1)}",
            lambda: f"{_d(r, 4)}/{_d(r, 4)}",
        ]
    )()


def mrn(r: random.Random) -> str:
    return r.choice(
        [
            lambda: f"{_d(r, 8)}",
            lambda: f"{_d(r, 2)}-{_d(r, 2)}-{_d(r, 3)}",
            lambda: f"{_L(r, 1)}{_d(r, 7)}",
            lambda: f"00{_d(r, 6)}",
            lambda: f"{_L(r, 2)}-{_d(r, 6)}",
            lambda: f"{_d(r, 3)} {_d(r, 3)} {_d(r, 3)}",
        ]
    )()


CERT_CUES = [
    "State license #",
    "medical licence no. ",
    "Board certification ",
    "Cert. no. ",
    "licensed (lic. ",
    "certificate ",
    "Licence number: ",
    "DEA reg. ",
    "CLIA ID ",
    "Approbation Nr. ",
    "n° RPPS ",
    "cédula profesional ",
    "licenza n. ",
    "Reg. no. ",
]
PLATE_CUES = [
    "plate ",
    "reg ",
    "Kennzeichen ",
    "plaque ",
    "targa ",
    "matrícula ",
    "kenteken ",
    "licence plate ",
    "car registration ",
    "vehicle tag ",
    "registreringsnummer ",
]
MRN_CUES = [
    "MRN ",
    "MRN: ",
    "MR# ",
    "Med Rec No. ",
    "Hosp # ",
    "Chart: ",
    "(MRN ",
    "Pt ID ",
    "Medical record number ",
    "Fallnummer ",
    "NHC ",
    "unit no. ",
]
NAME_FRAMES = [
    ("Seen by Dr. ", "."),
    ("Patient ", " seen today."),
    ("Signed: ", "."),
    ("", " called back."),
    ("Reviewed with ", " at bedside."),
    ("Daughter ", " visited."),
    ("Attending: ", "."),
    ("Letter to Ms. ", " sent."),
    ("Spoke with Herr ", "."),
    ("Sra. ", " llegó."),
]


def name(fk: Faker, r: random.Random) -> str:
    shape = r.random()
    first, last = fk.first_name(), fk.last_name()
    if shape < 0.15:
        return f"{last}, {first}"
    if shape < 0.25:
        return f"{first} {last}".upper()
    if shape < 0.32:
        return f"{first} {last}".lower()
    return f"{first} {last}"


def record(r: random.Random, fakers: dict[str, Faker]) -> Rec:
    rec = Rec()
    fk = fakers[r.choice(LOCALES)]
    kind = r.choice(["name", "name", "name", "cert", "plate", "mrn", "sig", "addrblock"])
    if kind == "name":
        pre, post = r.choice(NAME_FRAMES)
        rec.add(pre)
        rec.add(name(fk, r), "PERSON")
        rec.add(post + " ")
    elif kind == "cert":
        rec.add(r.choice(CERT_CUES))
        rec.add(cert(r), "CERTIFICATE_NUMBER")
        rec.add(r.choice([")", ".", " on file.", ", verified."]) + " ")
    elif kind == "plate":
        rec.add(r.choice(["Arrived by car, ", "Parking permit: ", "Visitor car ", "Ambulance "]))
        rec.add(r.choice(PLATE_CUES))
        p = plate(r)
        rec.add(p.lower() if r.random() < 0.15 else p, "VEHICLE_ID")
        rec.add(". ")
    elif kind == "mrn":
        rec.add(r.choice(MRN_CUES))
        rec.add(mrn(r), "MRN")
        rec.add(r.choice([")", ".", ", admitted.", " - transferred."]) + " ")
    elif kind == "sig":
        rec.add(r.choice(["Regards,\n", "Thanks,\n", "--\n", "Electronically signed:\n"]))
        rec.add(f"{fk.first_name()} {fk.last_name()}", "PERSON")
        rec.add("\n")
    else:
        rec.add(f"{fk.first_name()} {fk.last_name()}", "PERSON")
        rec.add("\n")
        street = fk.street_address().replace("\n", " ")
        rec.add(street, "ADDRESS")
        rec.add("\n")
    med = r.choice(MEDICAL)
    rec.add(r.choice(["Hx of ", "Started ", "Known ", "Dx: "]))
    rec.add(med, "MEDICAL")
    rec.add(". " + r.choice(FILLER))
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("tune2.jsonl"))
    args = ap.parse_args(argv)
    r = random.Random(args.seed)
    fakers = {}
    for i, loc in enumerate(LOCALES):
        fakers[loc] = Faker(loc)
        fakers[loc].seed_instance(args.seed + i)
    with args.out.open("w", encoding="utf-8") as f:
        for _ in range(args.n):
            rec = record(r, fakers)
            f.write(json.dumps({"text": rec.text, "spans": rec.spans}, ensure_ascii=False) + "\n")
    print(f"{args.out}: {args.n} records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
