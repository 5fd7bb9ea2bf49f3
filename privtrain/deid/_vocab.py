"""Shipped word lists (``privtrain/deid/data/``, built by ``_vocab_build``), loaded once.

- :func:`medical_terms`: ICD-10-CM description words + drug names and brands (lower-cased);
- :func:`surnames` / :func:`given_names`: 1990 US Census lists (lower-cased);
- :func:`world_given_names`: given names of 195 countries (WIPO WGND 2.0, filtered).
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data"


def _load(name: str) -> frozenset[str]:
    with gzip.open(_DATA / name, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


@functools.cache
def medical_terms() -> frozenset[str]:
    """Lower-cased medical words: diseases, eponyms, anatomy, drug names and brands."""
    return _load("medical_terms.txt.gz")


@functools.cache
def surnames() -> frozenset[str]:
    return _load("surnames.txt.gz")


@functools.cache
def given_names() -> frozenset[str]:
    return _load("given_names.txt.gz")


@functools.cache
def world_given_names() -> frozenset[str]:
    """Given names of many countries and scripts' Latin spellings ("csanád", "søren")."""
    return _load("world_given_names.txt.gz")
