"""Synthetic patients: UCI Adult rows joined with fake identities (deterministic).

    python examples/data/make_patients.py --rows 2000 --out patients.csv \
        [--identifiers patients.ids.json] [--seed 0] [--adult PATH]

Each row keeps the Adult columns and gains: ``name``, ``email``, ``phone`` (US, UK, German,
French, Indian, Australian, Canadian and Brazilian formats), ``ssn``, ``address`` (one line),
``date_of_birth`` (consistent with ``age`` on the census reference date 1994-07-01) and
``note``: a clinical-style note that mentions the patient (in one of several written forms),
a relative by name, the patient's phone number and a visit date.

``generate(rows, seed)`` returns ``(DataFrame, identifiers)``, where ``identifiers`` maps
``names``, ``emails``, ``phones``, ``ssns``, ``addresses``, ``relatives`` and
``name_mentions`` (the exact forms written into notes) to lists of strings - the values a
leak scan looks for. Faker is pinned (40.63.0) so a seed always gives the same table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd
from faker import Faker

DEFAULT_ADULT = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "adult" / "adult.data.csv"
)
REFERENCE_DATE = dt.date(1994, 7, 1)

NAME_LOCALES = (["en_US"] * 6) + ["en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "en_IN"]
PHONE_LOCALES = (["en_US"] * 4) + ["en_GB", "de_DE", "fr_FR", "en_IN", "en_AU", "en_CA", "pt_BR"]
RELATIONS = ["wife", "husband", "daughter", "son", "sister", "brother", "mother", "father"]
COMPLAINTS = ["intermittent chest tightness", "worsening knee pain", "a productive cough",
              "poor sleep", "episodes of dizziness", "heartburn after meals", "a skin rash",
              "low back pain"]  # fmt: skip
CONDITIONS = ["hypertension", "type 2 diabetes", "asthma", "hyperlipidaemia", "hypothyroidism",
              "chronic kidney disease stage 2", "depression"]  # fmt: skip
NOTES = [
    "{name} ({age} y/o {sexw}) attended clinic on {visit}. Reports {complaint}. "
    "{Relation} {relative} accompanied the patient; callback number {phone}.",
    "Telephone encounter {visit}: spoke with {NAME} at {phone} about recent results. "
    "{Poss} {relation}, {relative}, will collect the prescription.",
    "{last_first} seen {visit} for follow-up of {condition}. Emergency contact: {relative} "
    "({relation}). Best number {phone}.",
    "{title} {last} presented on {visit} with {complaint}; {relation} {relative} present. "
    "Plan discussed, will call {phone} with results.",
    "Home visit {visit}. {name} lives with {poss} {relation} {relative}. BP 132/84, "
    "HR 72. Contact {phone} if symptoms worsen.",
]


def _ascii(s: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", s) if c.isascii() and (c.isalnum() or c in ".-")
    )


def _read_adult(path: Path, rows: int) -> pd.DataFrame:
    df = pd.read_csv(path, skipinitialspace=True)
    df.columns = [c.strip() for c in df.columns]
    if rows > len(df):
        df = pd.concat([df] * (rows // len(df) + 1), ignore_index=True)
    return df.head(rows).reset_index(drop=True)


def generate(
    rows: int = 2000, seed: int = 0, adult_path: Path | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The patients table and the identifier values it contains."""
    rng = random.Random(seed)
    fakers: dict[str, Faker] = {}

    def fk(locale: str) -> Faker:
        if locale not in fakers:
            f = Faker(locale)
            f.seed_instance(seed * 7919 + len(fakers))
            fakers[locale] = f
        return fakers[locale]

    adult = _read_adult(Path(adult_path or DEFAULT_ADULT), rows)
    ids: dict[str, list[str]] = {
        k: []
        for k in ("names", "emails", "phones", "ssns", "addresses", "relatives", "name_mentions")
    }
    out = {k: [] for k in ("name", "email", "phone", "ssn", "address", "date_of_birth", "note")}
    us = fk("en_US")
    for i in range(rows):
        f = fk(rng.choice(NAME_LOCALES))
        female = str(adult.at[i, "sex"]).strip().lower() == "female"
        first = f.first_name_female() if female else f.first_name_male()
        last = f.last_name()
        name = f"{first} {last}"
        email = (
            f"{_ascii(first).lower()}.{_ascii(last).lower()}{rng.randrange(1, 99)}"
            f"@{us.free_email_domain()}"
        )
        phone = fk(rng.choice(PHONE_LOCALES)).phone_number()
        ssn = us.ssn()
        address = ", ".join(
            p.strip() for p in fk(rng.choice(["en_US"] * 4 + ["en_GB"])).address().splitlines()
        )
        age = int(adult.at[i, "age"])
        latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
        dob = latest - dt.timedelta(days=rng.randrange(0, 365))
        rf = fk(rng.choice(NAME_LOCALES))
        relation = rng.choice(RELATIONS)
        rel_last = last if rng.random() < 0.5 else rf.last_name()
        relative = f"{rf.first_name()} {rel_last}"
        visit = REFERENCE_DATE + dt.timedelta(days=rng.randrange(0, 900))
        visit_s = rng.choice(
            [visit.isoformat(), f"{visit.month}/{visit.day}/{visit.year}",
             f"{visit.strftime('%B')} {visit.day}, {visit.year}"]
        )  # fmt: skip
        template = rng.choice(NOTES)
        mention = {
            "{name}": name,
            "{NAME}": name.upper(),
            "{last_first}": f"{last}, {first}",
            "{last}": last,
        }
        used = [v for k, v in mention.items() if k in template]
        note = template.format(
            name=name,
            NAME=name.upper(),
            last_first=f"{last}, {first}",
            last=last,
            title="Ms." if female else "Mr.",
            age=age,
            sexw="female" if female else "male",
            visit=visit_s,
            complaint=rng.choice(COMPLAINTS),
            condition=rng.choice(CONDITIONS),
            relation=relation,
            Relation=f"{'Her' if female else 'His'} {relation}",
            poss="her" if female else "his",
            Poss="Her" if female else "His",
            relative=relative,
            phone=phone,
        )
        for k, v in (
            ("name", name),
            ("email", email),
            ("phone", phone),
            ("ssn", ssn),
            ("address", address),
            ("date_of_birth", dob.isoformat()),
            ("note", note),
        ):
            out[k].append(v)
        ids["names"].append(name)
        ids["emails"].append(email)
        ids["phones"].append(phone)
        ids["ssns"].append(ssn)
        ids["addresses"].append(address)
        ids["relatives"].append(relative)
        ids["name_mentions"].extend(used)
    df = pd.concat([pd.DataFrame(out).iloc[:, :6], adult, pd.DataFrame({"note": out["note"]})],
                   axis=1)  # fmt: skip
    return df, ids


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Synthetic patients (Adult + fake identities).")
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="CSV file to write")
    ap.add_argument("--adult", type=Path, default=DEFAULT_ADULT, help="adult.data.csv")
    ap.add_argument("--identifiers", type=Path, help="also write the identifier values (JSON)")
    args = ap.parse_args(argv)
    if not args.adult.is_file():
        ap.error(f"Adult data not found at {args.adult} (use --adult PATH)")
    df, ids = generate(args.rows, args.seed, args.adult)
    _atomic_write(args.out, lambda f: df.to_csv(f, index=False))
    if args.identifiers:
        _atomic_write(args.identifiers, lambda f: json.dump(ids, f, indent=1))
    print(f"wrote {len(df)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
