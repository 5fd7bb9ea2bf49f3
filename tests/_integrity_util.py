"""Helpers shared by the integrity tests: a sealed workspace with datasets, a budget, runs and a
model, built through the library (no training: runs and the model are registered the way the
ledger and the trainer register them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from privtrain import datasets, models
from privtrain.config import Settings
from privtrain.ledger import DatasetRef, Ledger
from privtrain.workspace import Workspace

PASS = "integrity tests passphrase"


def cheap_compose(history: Any, delta: float, accountant: str = "prv") -> float:
    """A stand-in accountant for integrity tests (what is composed does not matter here; the
    real accountants are tested in test_dp_accounting / test_ledger)."""
    return float(sum(float(s) * float(q) * int(n) for s, q, n in history)) / 100.0


def make_workspace(tmp_path: Path, catalog_url: str | None = None) -> Workspace:
    os.environ["PRIVTRAIN_KDF_PROFILE"] = "fast"
    s = Settings(home=tmp_path / "home", identity="tester", catalog_url=catalog_url)
    return Workspace.init(s, PASS)


def populate(ws: Workspace, tmp_path: Path) -> dict[str, Any]:
    """Two versions of dataset ``adult``, one of ``notes``; a budget on ``adult``; a committed
    run (with a model) and a released run; model ``m1`` v1 and v2."""
    src = tmp_path / "a.csv"
    src.write_text("age,income\n31,1\n45,0\n")
    a1 = datasets.import_file(ws, src, "adult")
    a2 = datasets.import_file(ws, src, "adult")
    datasets.import_file(ws, src, "notes")
    led = Ledger(ws.catalog, identity="tester", audit=ws.audit)
    led.set_budget("adult", 5.0, 1e-5)
    ref = DatasetRef("adult", a2.id, 2)
    out: dict[str, Any] = {"a1": a1, "a2": a2, "ledger": led}
    for version in (1, 2):
        r = led.reserve([ref], [(1.0, 0.01, 100)], delta=1e-5)
        pred = {
            "privacy": {
                "epsilon": 1.0,
                "delta": 1e-5,
                "accountant": "prv",
                "non_private": False,
            },
            "datasets": [{"name": "adult", "version": 2, "id": a2.id}],
        }

        def hook(s: Any, model_id: str, run_id: str = r.run_id) -> None:
            led.commit(run_id, [(1.0, 0.01, 100)], model_id=model_id, session=s)

        out[f"m{version}"] = models.store(
            ws,
            "m1",
            b"model-weights-%d" % version,
            predicate=pred,
            datasets=pred["datasets"],
            train_config={"epochs": 1},
            epsilon=1.0,
            delta=1e-5,
            accountant="prv",
            session_hook=hook,
        )
        out[f"run{version}"] = r.run_id
    r3 = led.reserve([ref], [(2.0, 0.01, 50)], delta=1e-5)
    led.release(r3.run_id, "test")
    out["run3"] = r3.run_id
    return out


def raw_engine(ws: Workspace) -> Engine:
    """A connection to the catalog that bypasses privtrain (the attacker's)."""
    return create_engine(ws.catalog.url)


def sql(ws: Workspace, statement: str, **params: Any) -> None:
    eng = raw_engine(ws)
    try:
        with eng.begin() as c:
            c.execute(text(statement), params)
    finally:
        eng.dispose()
