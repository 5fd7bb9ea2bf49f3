"""Catalog: schema via migrations, both backends, transactions, error mapping, concurrency."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from privtrain.catalog import (
    Budget,
    Catalog,
    DataKey,
    Dataset,
    Model,
    Principal,
    Run,
    RunDataset,
    new_id,
)
from privtrain.catalog._models import Base
from privtrain.errors import BusyError, ConfigError

REPO = Path(__file__).resolve().parents[1]


def _dataset(name: str = "adult", version: int = 1, **kw: object) -> Dataset:
    fields: dict[str, object] = dict(
        name=name,
        version=version,
        sensitivity="deidentified",
        schema_json={"columns": [{"name": "age", "type": "int64"}]},
        blob_path=f"blobs/{new_id()}.ptblob",
        file_id=os.urandom(32).hex(),
        ciphertext_sha256="ab" * 32,
        plaintext_bytes=123,
        source_name="adult.csv",
        created_by="tester",
    )
    fields.update(kw)
    return Dataset(**fields)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---------------------------------------------------------------- schema & migrations


def test_fresh_catalog_is_at_head(catalog: Catalog) -> None:
    assert catalog.current_revision() == Catalog.head_revision() == "0006"
    catalog.check_revision()
    catalog.upgrade()  # idempotent
    assert catalog.current_revision() == "0006"


def test_migrated_schema_matches_models(catalog: Catalog) -> None:
    with catalog.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, Base.metadata)
    assert diffs == []


def test_uninitialized_catalog_says_what_to_do(sqlite_url: str) -> None:
    cat = Catalog(sqlite_url)
    assert cat.current_revision() is None
    with pytest.raises(ConfigError, match="privtrain init"):
        cat.check_revision()
    with pytest.raises(ConfigError, match="no schema"), cat.session() as s:
        s.execute(select(Dataset)).all()


def test_safe_url_hides_the_password() -> None:
    cat = Catalog("postgresql://u:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in cat.safe_url and "s3cret" not in repr(cat)
    assert cat.url.drivername == "postgresql+psycopg"


def test_bad_urls_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Catalog(f"sqlite:///{tmp_path / 'missing' / 'catalog.db'}")
    with pytest.raises(ConfigError, match="unsupported"):
        Catalog("mysql://localhost/x")
    with pytest.raises(ConfigError, match="invalid catalog URL"):
        Catalog("::not a url::")
    with pytest.raises(ConfigError, match="cannot use catalog"):  # nothing listens there
        Catalog("postgresql+psycopg://postgres@127.0.0.1:1/x").current_revision()


def _fresh_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("pg_database_url"))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_upgrade_in_place_from_initial_revision(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    url = _fresh_url(request, backend, tmp_path)
    cat = Catalog(url)
    cat.upgrade("0001")
    assert cat.current_revision() == "0001"
    with pytest.raises(ConfigError, match="revision 0001"):
        cat.check_revision()
    with cat.session() as s:  # rows as revision 0001 wrote them (today's ORM has more columns)
        s.execute(
            text(
                "INSERT INTO datasets (id, name, version, site, sensitivity, status, schema_json, "
                "blob_path, file_id, ciphertext_sha256, plaintext_bytes, source_name, "
                "created_at, created_by) VALUES (:id, 'old', 1, 'local', 'deidentified', "
                "'active', '{}', 'blobs/x.ptb', :fid, :sha, 123, 'adult.csv', "
                "CURRENT_TIMESTAMP, 'tester')"
            ),
            {"id": "d" * 32, "fid": "f" * 64, "sha": "ab" * 32},
        )
        s.execute(
            text(
                "INSERT INTO budgets (dataset_name, epsilon_total, delta, updated_at, updated_by) "
                "VALUES ('old', 3.0, 0.00001, CURRENT_TIMESTAMP, 't')"
            )
        )
        s.execute(
            text(
                "INSERT INTO audit_events (seq, ts, actor, action, resource, decision, "
                "details_json, prev_hash, hash) VALUES (1, 't', 'a', 'x', 'r', 'info', '{}', "
                ":z, :h)"
            ),
            {"z": "0" * 64, "h": "1" * 64},
        )
    before = {i["name"] for i in inspect(cat.engine).get_indexes("audit_events")}
    assert "ix_audit_events_resource" not in before
    cat.close()

    cat = Catalog(url)  # a newer privtrain opens the old home
    cat.upgrade()
    assert cat.current_revision() == "0006"
    after = {i["name"] for i in inspect(cat.engine).get_indexes("audit_events")}
    assert {"ix_audit_events_resource", "ix_audit_events_action"} <= after
    with cat.session() as s:
        d = s.get(Dataset, "d" * 32)
        assert d is not None and d.ref == "old@v1"
        assert s.get(Budget, "old").epsilon_total == 3.0  # type: ignore[union-attr]
        assert s.execute(text("SELECT count(*) FROM audit_events")).scalar() == 1
    cat.close()


_UPGRADE_WORKER = r"""
import sys, time
from pathlib import Path
from privtrain.catalog import Catalog
url, go = sys.argv[1], Path(sys.argv[2])
cat = Catalog(url)
while not go.exists():
    time.sleep(0.005)
cat.upgrade()
print(cat.current_revision())
"""


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_processes_upgrade_at_once(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    url = _fresh_url(request, backend, tmp_path)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE_WORKER, url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=REPO,
        )
        for _ in range(2)
    ]
    time.sleep(0.3)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o.strip() for o, _ in outs] == ["0006", "0006"]


# ---------------------------------------------------------------- rows & types


def test_all_tables_round_trip(catalog: Catalog) -> None:
    now = datetime.now(UTC)
    wrapped = os.urandom(60)
    with catalog.session() as s:
        d = _dataset(deid_report_json=None)
        s.add(d)
        s.add(DataKey(file_id=d.file_id, kek_id="kek-1", wrapped=wrapped))
        s.add(Budget(dataset_name="adult", epsilon_total=0.1 + 0.2, delta=1e-5, updated_by="t"))
        run = Run(
            kind="train",
            history_json=[[1.1, 0.01, 1000]],
            delta=1e-5,
            epsilon_planned=0.7,
            owner_pid=os.getpid(),
            owner_host="h",
        )
        s.add(run)
        s.flush()
        s.add(RunDataset(run_id=run.id, dataset_id=d.id, dataset_name="adult", dataset_version=1))
        s.add(
            Model(
                name="m",
                version=1,
                datasets_json=["adult@v1"],
                train_config_json={"epochs": 1},
                card_json={"payloadType": "x", "payload": "", "signatures": []},
                epsilon=0.7,
                delta=1e-5,
                accountant="prv",
                content_sha256="cd" * 32,
                blob_path="blobs/m.ptblob",
                file_id=os.urandom(32).hex(),
                created_by="t",
            )
        )
        s.add(Principal(name="alice", roles_json=["analyst"], attributes_json={"site": "a"}))
        ids = (d.id, run.id)

    with catalog.session() as s:
        d2 = s.get(Dataset, ids[0])
        assert d2 is not None
        assert (d2.status, d2.site, d2.deid_report_json) == ("active", "local", None)
        assert d2.schema_json == {"columns": [{"name": "age", "type": "int64"}]}
        assert d2.created_at.tzinfo is not None and d2.created_at.utcoffset() == timedelta(0)
        assert abs(d2.created_at - now) < timedelta(minutes=5)
        key = s.get(DataKey, d2.file_id)
        assert key is not None and key.wrapped == wrapped and key.rotated_at is None
        assert s.get(Budget, "adult").epsilon_total == 0.1 + 0.2  # type: ignore[union-attr]
        r = s.get(Run, ids[1])
        assert r is not None
        assert (r.status, r.accountant, r.neighbouring) == ("reserved", "prv", "add_remove")
        assert r.history_json == [[1.1, 0.01, 1000]] and r.meta_json == {}
        rd = s.execute(select(RunDataset).where(RunDataset.run_id == r.id)).scalar_one()
        assert rd.dataset_id == d2.id
        m = s.execute(select(Model)).scalar_one()
        assert m.ref == "m@v1" and m.card_json["payloadType"] == "x"
        p = s.execute(select(Principal).where(Principal.name == "alice")).scalar_one()
        assert p.roles_json == ["analyst"]


def test_session_rolls_back_on_error(catalog: Catalog) -> None:
    with pytest.raises(RuntimeError), catalog.session() as s:
        s.add(Principal(name="bob"))
        s.flush()
        raise RuntimeError("boom")
    with catalog.write_transaction() as s:
        s.add(Principal(name="carol"))
    with pytest.raises(RuntimeError), catalog.write_transaction() as s:
        s.add(Principal(name="dave"))
        s.flush()
        raise RuntimeError("boom")
    with catalog.session() as s:
        assert s.execute(select(Principal.name)).scalars().all() == ["carol"]


def test_constraints_are_enforced(catalog: Catalog) -> None:
    # Constraint violations reach the caller as sqlalchemy IntegrityError (it maps them).
    with catalog.session() as s:
        s.add(_dataset("dup", 1))
    with pytest.raises(SAIntegrityError), catalog.session() as s:
        s.add(_dataset("dup", 1))
    with pytest.raises(SAIntegrityError), catalog.write_transaction() as s:  # foreign key
        s.add(RunDataset(run_id="nope", dataset_id="x", dataset_name="dup", dataset_version=1))
    with pytest.raises(SAIntegrityError), catalog.session() as s:  # check constraint
        s.add(_dataset("dup", 2, sensitivity="secret"))
    with catalog.session() as s:
        assert s.execute(select(func.count()).select_from(Dataset)).scalar() == 1


def test_sqlite_connection_settings(sqlite_catalog: Catalog) -> None:
    with sqlite_catalog.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_sqlite_write_transaction_takes_the_lock_up_front(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    a = Catalog(url)
    a.upgrade()
    b = Catalog(url, busy_timeout_s=0.2)
    with a.write_transaction():  # BEGIN IMMEDIATE: holds the write lock, wrote nothing yet
        t0 = time.monotonic()
        with pytest.raises(BusyError, match=r"catalog is busy \(database is locked\); retry"):
            with b.write_transaction():
                pass
        assert time.monotonic() - t0 >= 0.15  # waited for the busy timeout
        with pytest.raises(BusyError), b.session() as s:  # plain sessions too
            s.add(Principal(name="x"))
        with b.session() as s:  # readers are not blocked (WAL)
            assert s.execute(select(func.count()).select_from(Principal)).scalar() == 0
    with b.write_transaction() as s:
        s.add(Principal(name="y"))
    a.close()
    b.close()


@pytest.mark.postgres
def test_postgres_lock_timeout_is_busy(pg_database_url: str) -> None:
    a = Catalog(pg_database_url)
    a.upgrade()
    b = Catalog(pg_database_url, busy_timeout_s=0.3)
    with a.session() as s:
        s.add(Budget(dataset_name="adult", epsilon_total=1.0, delta=1e-5, updated_by="t"))
    with a.write_transaction() as s:
        s.execute(select(Budget).where(Budget.dataset_name == "adult").with_for_update()).one()
        with pytest.raises(BusyError, match="lock not available"), b.write_transaction() as s2:
            s2.execute(select(Budget).with_for_update()).all()
    with b.write_transaction() as s2:  # free again
        s2.execute(select(Budget).with_for_update()).one()
    a.close()
    b.close()


@pytest.mark.postgres
def test_postgres_serialization_failure_is_busy(pg_database_url: str) -> None:
    a = Catalog(pg_database_url)
    a.upgrade()
    b = Catalog(pg_database_url)
    with a.session() as s:
        s.add(Budget(dataset_name="adult", epsilon_total=1.0, delta=1e-5, updated_by="t"))
    with pytest.raises(BusyError, match="serialization failure"), a.session() as s:
        s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        mine = s.get(Budget, "adult")
        assert mine is not None
        with b.session() as s2:  # another writer commits after our snapshot
            theirs = s2.get(Budget, "adult")
            assert theirs is not None
            theirs.epsilon_total = 2.0
        mine.epsilon_total = 3.0
        s.flush()
    with b.session() as s2:
        assert s2.get(Budget, "adult").epsilon_total == 2.0  # type: ignore[union-attr]
    a.close()
    b.close()


# ---------------------------------------------------------------- two OS processes

_WRITE_WORKER = r"""
import json, os, sys, time
from pathlib import Path
from sqlalchemy import func, select
from privtrain.catalog import Catalog, Dataset
from privtrain.errors import BusyError
url, mode, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
cat = Catalog(url)
while not go.exists():
    time.sleep(0.002)
ok = busy = 0
for i in range(n):
    try:
        tx = cat.write_transaction() if mode == "write" else cat.session()
        with tx as s:
            last = s.execute(select(func.max(Dataset.version)).where(Dataset.name == "same"))
            v = (last.scalar() or 0) + 1
            s.add(Dataset(name="same", version=v, sensitivity="raw", schema_json={},
                          blob_path="b", file_id=os.urandom(32).hex(), ciphertext_sha256="0",
                          plaintext_bytes=1, source_name="s", created_by=str(os.getpid())))
        ok += 1
    except BusyError:
        busy += 1
print(json.dumps({"ok": ok, "busy": busy}))
"""


@pytest.mark.parametrize("mode", ["write", "session"])
def test_two_processes_write_one_sqlite_catalog(sqlite_catalog: Catalog, mode: str) -> None:
    url = sqlite_catalog.url.render_as_string(hide_password=False)
    db = sqlite_catalog.url.database
    go = Path(str(db) + ".go")
    n = 25
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITE_WORKER, url, mode, str(n), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=REPO,
        )
        for _ in range(2)
    ]
    time.sleep(0.5)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    results = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    ok = sum(r["ok"] for r in results)
    assert all(r["ok"] + r["busy"] == n for r in results)
    if mode == "write":
        # BEGIN IMMEDIATE: the second writer waits instead of failing.
        assert ok == 2 * n, results
    assert ok >= 1

    with sqlite_catalog.session() as s:
        versions = s.execute(select(Dataset.version).order_by(Dataset.version)).scalars().all()
        writers = set(s.execute(select(Dataset.created_by)).scalars())
    assert versions == list(range(1, ok + 1))  # no lost update, no duplicate, no gap
    if mode == "write":
        assert len(writers) == 2
    sqlite_catalog.close()
    con = sqlite3.connect(str(db))
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
