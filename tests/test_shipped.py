"""The shipped policy files are found in a source checkout and in an installed wheel."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from privtrain import _shipped


def test_source_checkout_uses_the_repository_policies() -> None:
    d = _shipped.policies_dir()
    assert d == Path(__file__).resolve().parents[1] / "policies"
    assert {"access.cedar", "access.cedarschema", "site.yaml", "deid.yaml"} <= {
        p.name for p in d.iterdir()
    }


def test_installed_wheel_uses_the_data_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an installed wheel has no policies/ next to its packages: the files live under
    # <prefix>/share/privtrain/policies ([tool.setuptools.data-files] in pyproject.toml)
    monkeypatch.setattr(_shipped, "_SOURCE", tmp_path / "site-packages" / "policies")
    shipped = tmp_path / "prefix" / "share" / "privtrain" / "policies"
    shipped.mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert _shipped.policies_dir() == shipped
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"share/privtrain/policies" = ["policies/*"]' in text
