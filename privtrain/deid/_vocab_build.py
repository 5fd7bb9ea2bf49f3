"""Build the shipped word lists in ``privtrain/deid/data/`` (a maintainer step, not run time).

    .venv/bin/pip install -e '.[vocab]'  # simple-icd-10-cm, drug-named-entity-recognition, names
    .venv/bin/python -m privtrain.deid._vocab_build

Sources (all public, none downloaded at run time; the lists are regenerated from the
installed packages, so their provenance is reproducible):

- ``medical_terms.txt.gz``: every word of the ICD-10-CM tabular list descriptions (CMS/NCHS,
  public domain; packaged by ``simple-icd-10-cm``, MIT) and every drug name and brand-name
  variant of ``drug-named-entity-recognition`` (MIT; DrugBank open data CC0, MeSH public
  domain, NHS and Wikipedia drug lists), lower-cased, one per line;
- ``surnames.txt.gz`` / ``given_names.txt.gz``: the 1990 US Census surname and first-name
  frequency lists (public domain; packaged by ``names``, MIT), lower-cased.
"""

from __future__ import annotations

import bz2
import gzip
import importlib.resources as resources
import pickle  # noqa: S403 - the installed package's own data file
import re
import xml.etree.ElementTree as ET
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def _icd_words() -> set[str]:
    data = resources.files("simple_icd_10_cm") / "data"
    xml = next(p for p in data.iterdir() if p.name.startswith("icd10c-tabular"))
    words: set[str] = set()
    for el in ET.parse(str(xml)).iter():
        if el.tag in ("desc", "note", "inclusionTerm") and el.text:
            for w in _WORD.findall(el.text):
                w = w.lower().removesuffix("'s").removesuffix("’s")
                words.add(w)
                words.update(p for p in re.split(r"[-’']", w) if len(p) > 2)
    return {w for w in words if len(w) > 2}


def _drug_names() -> set[str]:
    path = resources.files("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(str(path), "rb") as f:
        d = pickle.load(f)  # noqa: S301
    out = set()
    for variant in d["drug_variant_to_canonical"]:
        v = variant.strip().lower()
        if 3 < len(v) <= 40 and " " not in v and not any(c.isdigit() for c in v):
            out.add(v)
    return out


def _census(name: str) -> set[str]:
    spec = resources.files("names")
    out = set()
    for line in (spec / name).read_text().splitlines():
        if line.strip():
            out.add(line.split()[0].lower())
    return out


def _write(name: str, words: set[str]) -> None:
    DATA.mkdir(exist_ok=True)
    body = "\n".join(sorted(words)) + "\n"
    with gzip.GzipFile(DATA / name, "wb", mtime=0) as f:
        f.write(body.encode())
    print(f"{name}: {len(words)} entries")


def main() -> None:
    _write("medical_terms.txt.gz", _icd_words() | _drug_names())
    _write("surnames.txt.gz", _census("dist.all.last"))
    _write("given_names.txt.gz", _census("dist.male.first") | _census("dist.female.first"))


if __name__ == "__main__":
    main()
