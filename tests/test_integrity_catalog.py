"""An attacker who can write the catalog but lacks the passphrase is caught (issue items 10, 11).

Each test edits the catalog behind privtrain's back (plain SQL, as with `sqlite3 catalog.db`)
and shows that the next read ends in IntegrityError (exit 5) instead of a changed answer.
On SQLite and on a real PostgreSQL server.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from _integrity_util import PASS, cheap_compose, make_workspace, populate, sql

from privtrain import datasets, models
from privtrain.config import Settings
from privtrain.errors import IntegrityError, NotFoundError
from privtrain.ledger import Ledger
from privtrain.workspace import Workspace

BOTH = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)


@pytest.fixture()
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One populated SQLite home, copied for each test (populating costs seconds)."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("privtrain.ledger.compose", cheap_compose)
        ws = make_workspace(root)
        out = populate(ws, root)
    ws.catalog.close()
    out["home"] = ws.settings.home
    return out


@pytest.fixture()
def env(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> dict[str, Any]:
    monkeypatch.setattr("privtrain.ledger.compose", cheap_compose)
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        shutil.copytree(template["home"], tmp_path / "home")
        ws = Workspace.open(Settings(home=tmp_path / "home", identity="tester"), PASS)
        out = dict(template)
    else:
        ws = make_workspace(tmp_path, request.getfixturevalue("pg_database_url"))
        out = populate(ws, tmp_path)
    out["ws"] = ws
    yield out
    ws.catalog.close()


def _ledger(env: dict[str, Any]) -> Ledger:
    return Ledger(env["ws"].catalog, identity="t", audit=env["ws"].audit)


@BOTH
def test_untampered_catalog_reads_back(env: dict[str, Any]) -> None:
    ws = env["ws"]
    st = _ledger(env).status("adult")
    assert st.committed_runs == 2 and st.reserved_runs == 0
    assert st.epsilon_spent == pytest.approx(0.02)
    assert [d.ref for d in datasets.list_datasets(ws)] == ["adult@v1", "adult@v2", "notes@v1"]
    assert datasets.get(ws, "adult").version == 2
    assert [m.ref for m in models.list_models(ws)] == ["m1@v1", "m1@v2"]
    assert ws.audit.verify().ok


@BOTH
def test_releasing_a_committed_run_is_caught(env: dict[str, Any]) -> None:
    sql(env["ws"], "UPDATE runs SET status = 'released' WHERE id = :i", i=env["run1"])
    with pytest.raises(IntegrityError, match=f"runs row {env['run1']}"):
        _ledger(env).status("adult")


@BOTH
def test_raising_a_budget_is_caught(env: dict[str, Any]) -> None:
    sql(env["ws"], "UPDATE budgets SET epsilon_total = 100")
    with pytest.raises(IntegrityError, match="budgets row adult"):
        _ledger(env).status("adult")
    with pytest.raises(IntegrityError):
        _ledger(env).budgets()


@BOTH
def test_deleting_a_committed_run_is_caught(env: dict[str, Any]) -> None:
    """Whole-row deletion: no MAC to check, but the sealed ledger head counts the rows."""
    sql(env["ws"], "DELETE FROM run_datasets WHERE run_id = :i", i=env["run1"])
    sql(env["ws"], "DELETE FROM runs WHERE id = :i", i=env["run1"])
    with pytest.raises(IntegrityError, match="ledger 'adult'"):
        _ledger(env).status("adult")
    with pytest.raises(IntegrityError):  # and no new reservation on top of the refund
        _ledger(env).reserve([datasets_ref(env)], [(1.0, 0.01, 10)], delta=1e-5)


def datasets_ref(env: dict[str, Any]) -> Any:
    from privtrain.ledger import DatasetRef

    return DatasetRef("adult", env["a2"].id, 2)


def test_unlinking_a_run_is_caught(env: dict[str, Any]) -> None:
    sql(env["ws"], "DELETE FROM run_datasets WHERE run_id = :i", i=env["run2"])
    with pytest.raises(IntegrityError):
        _ledger(env).status("adult")


def test_copying_a_mac_to_another_row_is_caught(env: dict[str, Any]) -> None:
    """The MAC binds table and primary key: a released run's MAC on a committed run fails."""
    ws = env["ws"]
    sql(
        ws,
        "UPDATE runs SET status = 'released', "
        "row_mac = (SELECT row_mac FROM runs WHERE id = :src) WHERE id = :dst",
        src=env["run3"],
        dst=env["run1"],
    )
    with pytest.raises(IntegrityError, match="runs row"):
        _ledger(env).status("adult")


def test_restoring_an_older_sealed_copy_of_a_run_is_caught(env: dict[str, Any]) -> None:
    """Replay: the committed run put back as it was while only reserved (a valid old MAC)."""
    ws = env["ws"]
    from privtrain.catalog import Run

    led = _ledger(env)
    res = led.reserve([datasets_ref(env)], [(1.0, 0.01, 10)], delta=1e-5)
    with ws.catalog.session() as s:
        old = {c: getattr(s.get(Run, res.run_id), c) for c in ("status", "row_mac")}
    led.commit(res.run_id, [(1.0, 0.01, 10)])
    sql(
        ws,
        "UPDATE runs SET status = :st, row_mac = :m, epsilon_actual = NULL WHERE id = :i",
        st=old["status"],
        m=old["row_mac"],
        i=res.run_id,
    )
    with pytest.raises(IntegrityError):
        led.status("adult")


@BOTH
def test_deleting_the_newest_dataset_version_is_caught(env: dict[str, Any]) -> None:
    ws = env["ws"]
    sql(ws, "DELETE FROM datasets WHERE id = :i", i=env["a2"].id)
    for read in (
        lambda: datasets.get(ws, "adult"),
        lambda: datasets.show(ws, "adult@v1"),
        lambda: datasets.list_datasets(ws),
        lambda: datasets.read_bytes(ws, "adult"),
    ):
        with pytest.raises(IntegrityError, match="dataset"):
            read()


def test_deleting_a_whole_dataset_name_with_its_head_is_caught(env: dict[str, Any]) -> None:
    ws = env["ws"]
    sql(ws, "DELETE FROM datasets WHERE name = 'notes'")
    sql(ws, "DELETE FROM integrity_heads WHERE kind = 'datasets' AND name = 'notes'")
    with pytest.raises(IntegrityError, match="root"):
        datasets.list_datasets(ws)


def test_inserting_an_unsealed_dataset_row_is_caught(env: dict[str, Any]) -> None:
    ws = env["ws"]
    sql(
        ws,
        "INSERT INTO datasets (id, name, version, site, sensitivity, status, schema_json, "
        "blob_path, file_id, ciphertext_sha256, plaintext_bytes, source_name, created_at, "
        "created_by) SELECT :nid, name, 3, site, sensitivity, status, schema_json, blob_path, "
        ":fid, ciphertext_sha256, plaintext_bytes, source_name, created_at, created_by "
        "FROM datasets WHERE id = :i",
        nid="e" * 32,
        fid="f" * 64,
        i=env["a2"].id,
    )
    with pytest.raises(IntegrityError, match="no MAC"):
        datasets.get(ws, "adult")


def test_deleting_the_newest_model_version_is_caught(env: dict[str, Any]) -> None:
    ws = env["ws"]
    sql(ws, "DELETE FROM models WHERE id = :i", i=env["m2"].id)
    with pytest.raises(IntegrityError):
        models.get(ws, "m1")
    with pytest.raises(IntegrityError):
        models.list_models(ws)


@BOTH
def test_model_facts_come_from_the_verified_card(env: dict[str, Any]) -> None:
    """Item 11: ε set to NULL made a DP model look non-private; any disagreement is exit 5."""
    ws = env["ws"]
    sql(ws, "UPDATE models SET epsilon = NULL WHERE id = :i", i=env["m1"].id)
    for read in (
        lambda: models.list_models(ws),
        lambda: models.get(ws, "m1@v1"),
        lambda: models.verify(ws, "m1@v1"),
        lambda: models.export(ws, "m1@v1", ws.settings.home.parent / "m.pt"),
    ):
        with pytest.raises(IntegrityError):
            read()
    assert not (ws.settings.home.parent / "m.pt").exists()


@pytest.mark.parametrize(
    ("column", "value"),
    [("epsilon", None), ("epsilon", 7.0), ("delta", 0.5), ("accountant", "rdp")],
)
def test_card_check_catches_a_catalog_column_that_disagrees(
    env: dict[str, Any], column: str, value: Any
) -> None:
    """Even a row whose MAC were valid must agree with its signed card (defence in depth)."""
    ws = env["ws"]
    row = models.get(ws, "m1@v2")
    setattr(row, column, value)
    with pytest.raises(IntegrityError, match=column):
        models._verify_card(ws, row)  # noqa: SLF001


@pytest.mark.parametrize("card", [None, "garbage", {"payload": 1}, {"payloadType": 3}])
def test_null_or_malformed_card_is_an_integrity_error(env: dict[str, Any], card: Any) -> None:
    ws = env["ws"]
    row = models.get(ws, "m1@v2")
    row.card_json = card
    with pytest.raises(IntegrityError, match="card"):
        models._verify_card(ws, row)  # noqa: SLF001


def test_model_info_shows_card_facts(env: dict[str, Any]) -> None:
    info = models.list_models(env["ws"])[0]
    assert info.epsilon == 1.0 and info.delta == 1e-5 and info.accountant == "prv"
    assert info.non_private is False and info.datasets[0]["name"] == "adult"


def test_unknown_dataset_is_still_not_found(env: dict[str, Any]) -> None:
    with pytest.raises(NotFoundError):
        datasets.get(env["ws"], "nope")
    with pytest.raises(NotFoundError):
        models.get(env["ws"], "nope")


def _concurrent_worker(home: str, url: str | None, dataset_id: str, n: int, q: Any) -> None:
    import os

    os.environ["PRIVTRAIN_KDF_PROFILE"] = "fast"
    from _integrity_util import PASS

    from privtrain.config import Settings
    from privtrain.ledger import DatasetRef
    from privtrain.workspace import Workspace

    try:
        ws = Workspace.open(Settings(home=Path(home), identity="w", catalog_url=url), PASS)
        import privtrain.ledger as lm

        lm.compose = cheap_compose
        led = Ledger(ws.catalog, identity="w", audit=ws.audit)
        for _ in range(n):
            r = led.reserve([DatasetRef("adult", dataset_id, 2)], [(1.0, 0.01, 10)], delta=1e-5)
            led.status("adult")
            led.commit(r.run_id, [(1.0, 0.01, 10)])
        src = Path(home).parent / f"c{os.getpid()}.csv"
        src.write_text("a\n1\n")
        for _ in range(n):
            for attempt in range(20):
                try:
                    datasets.import_file(ws, src, "shared")
                    break
                except Exception as e:  # a concurrent import took the version: retry
                    if "retry" not in str(e) or attempt == 19:
                        raise
        q.put("ok")
    except BaseException as e:
        q.put(f"{type(e).__name__}: {e}")


@BOTH
def test_concurrent_writers_never_see_false_alarms(env: dict[str, Any]) -> None:
    """Sealed heads under concurrent reservations, commits and imports (several processes):
    no IntegrityError from a half-seen writer, no lost head update, no deadlock."""
    import multiprocessing as mp

    ws = env["ws"]
    url = None if ws.catalog.dialect_name == "sqlite" else str(ws.catalog.url)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [
        ctx.Process(
            target=_concurrent_worker,
            args=(str(ws.settings.home), url, env["a2"].id, 3, q),
        )
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    results = [q.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
    assert results == ["ok"] * 3, results
    st = _ledger(env).status("adult")
    assert st.committed_runs == 2 + 9
    assert [d.version for d in datasets.list_datasets(ws) if d.name == "shared"] == list(
        range(1, 10)
    )
    assert ws.audit.verify().ok
