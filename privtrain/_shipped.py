"""Where the shipped policy files live: ``policies/`` next to the packages in a source checkout
(or an editable install), ``<prefix>/share/privtrain/policies`` in an installed wheel."""

from __future__ import annotations

import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "policies"


def policies_dir() -> Path:
    if _SOURCE.is_dir():
        return _SOURCE
    for prefix in (sys.prefix, sys.base_prefix):
        d = Path(prefix) / "share" / "privtrain" / "policies"
        if d.is_dir():
            return d
    return _SOURCE  # the error that follows names this path
