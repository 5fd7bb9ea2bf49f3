"""Property: any edit to an authenticated catalog row is caught, never a changed answer.

Hypothesis draws edits an attacker with write access to ``catalog.db`` (but no passphrase)
can make -- change any column of any row of a sealed table to a random or a borrowed value,
delete a row, strip or copy a MAC, duplicate a row under a new key -- and then every read
privtrain answers from those rows is made: dataset and model listings and lookups, model
facts, budgets and the ledger's history. Each must either raise IntegrityError (exit 5) or
return exactly what it returned before the edit (e.g. a value set to itself).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _integrity_util import cheap_compose, make_workspace, populate
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from privtrain import datasets, models
from privtrain.errors import IntegrityError
from privtrain.ledger import Ledger
from privtrain.workspace import Workspace

TABLES = ("datasets", "models", "budgets", "runs", "run_datasets", "integrity_heads")
N_CASES = int(os.environ.get("PRIVTRAIN_PROPERTY_CASES", "1000"))


def _datasets(ws: Workspace) -> dict[str, Any]:
    return {
        "datasets": [d.to_dict() for d in datasets.list_datasets(ws)],
        "adult": datasets.show(ws, "adult").to_dict(),
    }


def _models(ws: Workspace) -> dict[str, Any]:
    return {
        "models": [m.to_dict() for m in models.list_models(ws)],
        "m1": models.show(ws, "m1").to_dict(),
    }


def _ledger(ws: Workspace) -> dict[str, Any]:
    led = Ledger(ws.catalog, identity="t")
    return {
        "budgets": [b.to_dict() for b in led.budgets()],
        "history": led.history("adult"),
    }


# The reads whose answers come from each table (heads feed all of them).
READS = {
    "datasets": (_datasets,),
    "models": (_models,),
    "budgets": (_ledger,),
    "runs": (_ledger,),
    "run_datasets": (_ledger,),
    "integrity_heads": (_datasets, _models, _ledger),
}


def answers(ws: Workspace, reads: tuple[Any, ...] = (_datasets, _models, _ledger)) -> dict:
    out: dict[str, Any] = {}
    for read in reads:
        out.update(read(ws))
    return out


class World:
    def __init__(self, tmp: Path) -> None:
        self.ws = make_workspace(tmp)
        populate(self.ws, tmp)
        self.db = self.ws.settings.home / "catalog.db"
        self.pristine = sqlite3.connect(":memory:")
        with sqlite3.connect(self.db) as live:
            live.backup(self.pristine)
        live.close()
        self.baseline = answers(self.ws)
        c = self.pristine
        self.columns = {
            t: [(r[1], r[2].upper(), r[5]) for r in c.execute(f"PRAGMA table_info({t})")]
            for t in TABLES
        }
        self.rowids = {
            t: [r[0] for r in c.execute(f"SELECT rowid FROM {t} ORDER BY rowid")] for t in TABLES
        }
        # Values seen anywhere in the catalog, per column name (borrowed values are the
        # interesting ones: another row's status, id, version, MAC...).
        self.seen: dict[str, list[Any]] = {}
        for t in TABLES:
            names = [n for n, _t, _pk in self.columns[t]]
            for row in c.execute(f"SELECT {', '.join(names)} FROM {t}"):
                for n, v in zip(names, row, strict=True):
                    self.seen.setdefault(n, []).append(v)

    def restore(self) -> None:
        with sqlite3.connect(self.db) as live:
            self.pristine.backup(live)
        live.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("privtrain.ledger.compose", cheap_compose)
        w = World(tmp_path_factory.mktemp("prop"))
        yield w
        w.ws.catalog.close()


def _value(data: st.DataObject, world: World, column: str, sqltype: str) -> Any:
    borrowed = world.seen.get(column) or [None]
    if "INT" in sqltype:
        fresh = st.integers(min_value=-3, max_value=1 << 40)
    elif any(k in sqltype for k in ("DOUBLE", "FLOAT", "REAL", "NUMERIC")):
        fresh = st.floats(allow_nan=False, allow_infinity=False, width=64)
    elif "DATETIME" in sqltype or "TIMESTAMP" in sqltype:
        fresh = st.datetimes(timezones=st.just(UTC)).map(
            lambda d: d.replace(tzinfo=None).isoformat(sep=" ")
        )
    elif "JSON" in sqltype:
        fresh = st.recursive(
            st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
            max_leaves=6,
        ).map(lambda v: __import__("json").dumps(v))
    else:
        fresh = st.text(max_size=12) | st.text("0123456789abcdef", min_size=64, max_size=64)
    return data.draw(st.sampled_from(borrowed) | fresh | st.none())


def _mutate(data: st.DataObject, world: World, conn: sqlite3.Connection) -> tuple[str, str]:
    table = data.draw(st.sampled_from(TABLES), label="table")
    rowids = world.rowids[table]
    rowid = data.draw(st.sampled_from(rowids), label="row")
    cols = world.columns[table]
    op = data.draw(st.sampled_from(["update", "update", "delete", "strip", "copy", "dup"]))
    if op == "update":
        name, sqltype, _pk = data.draw(st.sampled_from(cols), label="column")
        value = _value(data, world, name, sqltype)
        conn.execute(f"UPDATE {table} SET {name} = ? WHERE rowid = ?", (value, rowid))
        return table, f"{table}[{rowid}].{name} = {value!r}"
    if op == "delete":
        conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
        return table, f"delete {table}[{rowid}]"
    if op == "strip":
        conn.execute(f"UPDATE {table} SET row_mac = NULL WHERE rowid = ?", (rowid,))
        return table, f"strip {table}[{rowid}]"
    if op == "copy":
        other = data.draw(st.sampled_from(rowids), label="other")
        conn.execute(
            f"UPDATE {table} SET row_mac = (SELECT row_mac FROM {table} WHERE rowid = ?) "
            "WHERE rowid = ?",
            (other, rowid),
        )
        return table, f"copy mac {table}[{other}] -> [{rowid}]"
    # dup: the same row under a fresh primary key (and unique columns), MAC and all
    names = [n for n, _t, _pk in cols]
    pk = [n for n, _t, is_pk in cols if is_pk]
    row = dict(zip(names, conn.execute(
        f"SELECT {', '.join(names)} FROM {table} WHERE rowid = ?", (rowid,)
    ).fetchone(), strict=True))  # fmt: skip
    key = data.draw(st.sampled_from(pk), label="pk")
    row[key] = f"{row[key]}x"
    for unique in ("file_id",):
        if unique in row:
            row[unique] = f"{row[unique]}x"
    if "version" in row and table in ("datasets", "models"):
        row["version"] = int(row["version"]) + data.draw(st.sampled_from([0, 1, 2]))
    conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [row[n] for n in names],
    )
    return table, f"dup {table}[{rowid}] with {key} changed"


@settings(
    max_examples=N_CASES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_edit_is_caught_or_changes_nothing(world: World, data: st.DataObject) -> None:
    conn = sqlite3.connect(world.db)
    try:
        try:
            with conn:
                table, what = _mutate(data, world, conn)
        except sqlite3.Error:  # the database itself refused the edit (constraint)
            assume(False)
    finally:
        conn.close()
    try:
        try:
            got = answers(world.ws, READS[table])
        except IntegrityError:
            return
        want = {k: v for k, v in world.baseline.items() if k in got}
        assert got == want, f"{what}: a changed answer instead of exit 5"
    finally:
        world.restore()


def test_restore_brings_back_the_baseline(world: World) -> None:
    assert answers(world.ws) == world.baseline
    assert world.baseline["budgets"][0]["epsilon_spent"] > 0
    assert datetime.now(UTC)  # the world is reusable after the property run
