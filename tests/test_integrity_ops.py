"""Issue items 12-14: rotation, leftovers and permissions, bad input, audited failed reads.

The CLI runs in-process (``privtrain.cli.main``) so the exit code and the one-line error are
checked as a user sees them.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _integrity_util import PASS, make_workspace
from sqlalchemy import select, text

from privtrain import datasets
from privtrain.catalog import DataKey
from privtrain.cli import main
from privtrain.config import Settings
from privtrain.crypto import LocalKeyring
from privtrain.errors import ConfigError, InputError, IntegrityError, KeyAccessError
from privtrain.workspace import Workspace


def run_cli(
    capsys: pytest.CaptureFixture[str], *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    old_umask = os.umask(0o022)
    os.umask(old_umask)
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    finally:
        os.umask(old_umask)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("PRIVTRAIN_HOME", str(h))
    monkeypatch.setenv("PRIVTRAIN_PASSPHRASE", PASS)
    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
    monkeypatch.setenv("PRIVTRAIN_IDENTITY", "tester")
    return h


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    w = make_workspace(tmp_path)
    yield w
    w.catalog.close()


def _src(tmp_path: Path, name: str = "a.csv", data: bytes = b"age,income\n31,1\n") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# ------------------------------------------------------------------------ 12: rotation


def test_rotation_waits_for_an_import_in_flight(ws: Workspace, tmp_path: Path) -> None:
    """(a) Before, the importer wrapped its data key with the KEK that a concurrent rotation
    then destroyed: the dataset was lost (export: exit 6)."""
    started, release = threading.Event(), threading.Event()
    result: dict[str, Any] = {}

    def produce(sink: Any) -> tuple[None, None]:
        sink.write(b"age,income\n31,1\n")
        started.set()
        release.wait(10)
        return None, None

    def importer() -> None:
        result["info"] = datasets.store_stream(
            ws, "inflight", produce, sensitivity="raw", source_name="x.csv"
        )

    t_imp = threading.Thread(target=importer)
    t_imp.start()
    assert started.wait(10)
    t_rot = threading.Thread(target=lambda: result.setdefault("rot", ws.rotate_keys()))
    t_rot.start()
    time.sleep(0.5)
    assert t_rot.is_alive(), "rotation must wait for the import that wrapped under the old KEK"
    release.set()
    t_imp.join(20)
    t_rot.join(20)
    assert result["rot"]["retired"] == ["kek-0001"]
    _, data = datasets.read_bytes(ws, "inflight")
    assert data == b"age,income\n31,1\n"
    with ws.catalog.session() as s:
        assert set(s.scalars(select(DataKey.kek_id))) == {"kek-0002"}


def test_failed_rotation_is_all_or_nothing_and_audited(ws: Workspace, tmp_path: Path) -> None:
    """(b) Before, a rotation failing half-way left two live KEKs and no audit event."""
    good = datasets.import_file(ws, _src(tmp_path), "good")
    bad = datasets.import_file(ws, _src(tmp_path, "b.csv"), "bad")
    blob = ws.blob_path(datasets.get(ws, bad.ref).blob_path)
    header = bytearray(blob.read_bytes())
    header[40] ^= 1  # the blob's header no longer matches its data key: rewrap fails
    blob.write_bytes(bytes(header))
    with pytest.raises((IntegrityError, KeyAccessError)):
        ws.rotate_keys()
    ring = LocalKeyring.open(ws.settings.keyring_path, PASS)
    assert ring.live_kek_ids() == ["kek-0001"] and ring.active_kek_id() == "kek-0001"
    with ws.catalog.session() as s:
        assert set(s.scalars(select(DataKey.kek_id))) == {"kek-0001"}
    ev = [e for e in ws.audit.events() if e["action"] == "keys.rotate"]
    assert ev and ev[-1]["decision"] == "deny" and ev[-1]["details"]["ok"] is False
    assert datasets.read_bytes(ws, good.ref)[1] == b"age,income\n31,1\n"
    assert ws.audit.verify().ok


def test_interrupted_rotation_leaves_no_second_live_kek(ws: Workspace, tmp_path: Path) -> None:
    """A rotation killed after its catalog commit left the old KEK live; the next rotation
    destroys every KEK that nothing uses (old catalog backups do not stay readable)."""
    datasets.import_file(ws, _src(tmp_path), "d")
    ws.keys.rotate()  # killed here: kek-0002 active, kek-0001 still wraps the data key
    res = ws.rotate_keys()
    assert sorted(res["retired"]) == ["kek-0001", "kek-0002"]
    assert ws.keys.live_kek_ids() == ["kek-0003"]
    assert datasets.read_bytes(ws, "d")[1] == b"age,income\n31,1\n"


def test_rotation_rewraps_training_checkpoints(ws: Workspace) -> None:
    import base64

    d = ws.settings.tmp_dir / "runs" / ("r" * 32)
    d.mkdir(parents=True)
    with ws.cipher.writer(d / "ckpt-1.ptb", {"kind": "checkpoint", "id": "r" * 32}) as w:
        w.write(b"weights")
    wk = w.sealed.wrapped_key
    (d / "ckpt-1.key").write_text(
        json.dumps({"kek_id": wk.kek_id, "wrapped": base64.b64encode(wk.ciphertext).decode()})
    )
    assert ws.rotate_keys()["checkpoints_rewrapped"] == 1
    meta = json.loads((d / "ckpt-1.key").read_text())
    from privtrain.crypto import WrappedKey

    key = WrappedKey(meta["kek_id"], base64.b64decode(meta["wrapped"]))
    assert ws.cipher.decrypt_bytes(d / "ckpt-1.ptb", key) == b"weights"


# ------------------------------------------------------------------------ 13: leftovers


def _age(p: Path, seconds: float = 3600) -> None:
    t = time.time() - seconds
    os.utime(p, (t, t))


def test_sweep_removes_ptb_tmp_and_survives_tmp_directories(ws: Workspace) -> None:
    blobs, tmp = ws.settings.blob_dir, ws.settings.tmp_dir
    leftovers = [blobs / ".x.ptb.abc123.ptb-tmp", tmp / ".k.json.xyz.tmp"]
    for p in leftovers:
        p.write_bytes(b"ciphertext")
        _age(p)
    fresh = blobs / ".y.ptb.def456.ptb-tmp"  # a writer still at work: left alone
    fresh.write_bytes(b"x")
    d = tmp / "weird.tmp"  # a directory named *.tmp made every command fail
    d.mkdir()
    _age(d)
    removed = ws.sweep_stale_temp_files()
    assert sorted(removed) == sorted(leftovers)
    assert fresh.exists() and d.is_dir()
    Workspace.open(ws.settings, PASS).catalog.close()  # opening sweeps, and does not fail


def test_export_never_names_partial_plaintext(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed `datasets export` left `.OUT.XXXX.ptb-tmp` plaintext next to --out. Now the
    plaintext has no name until it is complete and verified (O_TMPFILE), so a kill at any
    point leaves nothing: checked while the export is half-way."""
    from privtrain.crypto import _stream

    big = _src(tmp_path, "big.bin", os.urandom(3 << 20))
    datasets.import_file(ws, big, "big")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    seen: list[list[str]] = []
    real = _stream._make_sink

    def spy(*a: Any, **k: Any) -> Any:
        sink = real(*a, **k)
        submit = sink.submit

        def submit_and_look(buf: Any, n: int) -> None:
            seen.append(sorted(os.listdir(out_dir)))
            submit(buf, n)

        sink.submit = submit_and_look
        return sink

    monkeypatch.setattr(_stream, "_make_sink", spy)
    datasets.export(ws, "big", out_dir / "o.bin")
    assert seen and all(listing == [] for listing in seen), seen[:3]
    assert (out_dir / "o.bin").read_bytes() == big.read_bytes()
    assert stat.S_IMODE((out_dir / "o.bin").stat().st_mode) == 0o600


def test_home_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        ws = make_workspace(tmp_path)
        ws.record("x", "y")
        datasets.import_file(ws, _src(tmp_path), "d")
    finally:
        os.umask(old)
    home = ws.settings.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for p in [home / "catalog.db", home / "keyring.enc", *home.glob("catalog.db-*")]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    for p in ws.settings.blob_dir.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    # A home made by an older privtrain (catalog.db 0644) is tightened on open.
    os.chmod(home / "catalog.db", 0o644)
    os.chmod(home, 0o755)
    Workspace.open(ws.settings, PASS).catalog.close()
    assert stat.S_IMODE((home / "catalog.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


# ------------------------------------------------------------------------ 14: bad input


@pytest.mark.parametrize("ref", ["x@v99999999999999999999", "x@v²", "x@v0", "x@v", "x@v-1"])
def test_bad_version_references(home: Path, capsys: pytest.CaptureFixture[str], ref: str) -> None:
    assert run_cli(capsys, "init")[0] == 0
    for group in ("datasets", "models"):
        code, _out, err = run_cli(capsys, group, "show", ref)
        assert code == 3, err
        assert err.startswith("error:") and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err


def test_non_utf8_passphrase_is_one_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init")[0] == 0
    bad = os.fsdecode(b"correct horse \xff\xfe battery")
    code, _out, err = run_cli(capsys, "datasets", "ls", env={"PRIVTRAIN_PASSPHRASE": bad})
    assert code == 3 and "UTF-8" in err and len(err.strip().splitlines()) == 1, err


def test_null_card_is_exit_5(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from _integrity_util import cheap_compose, populate

    monkeypatch.setattr("privtrain.ledger.compose", cheap_compose)

    s = Settings(home=home, identity="t")
    ws = Workspace.init(s, PASS)
    populate(ws, tmp_path)
    ws.catalog.close()
    from sqlalchemy import create_engine

    eng = create_engine(f"sqlite:///{home / 'catalog.db'}")
    with eng.begin() as c:
        c.execute(text("UPDATE models SET card_json = NULL WHERE version = 2"))
    eng.dispose()
    for args in (("models", "ls"), ("models", "show", "m1"), ("models", "verify", "m1@v2")):
        code, _out, err = run_cli(capsys, *args)
        assert code == 5 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_short_passphrase_is_refused(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_cli(capsys, "init", env={"PRIVTRAIN_PASSPHRASE": "short pass"})
    assert code == 3 and "at least 12" in err, err
    assert not (home / "keyring.enc").exists()


def test_keys_passphrase_changes_it(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init")[0] == 0
    new = "a brand new passphrase"
    code, _o, err = run_cli(capsys, "keys", "passphrase", env={"PRIVTRAIN_NEW_PASSPHRASE": "x"})
    assert code == 3 and "at least 12" in err
    code, _o, err = run_cli(capsys, "keys", "passphrase", env={"PRIVTRAIN_NEW_PASSPHRASE": new})
    assert code == 0, err
    assert run_cli(capsys, "datasets", "ls")[0] == 6  # the old one no longer opens it
    code, out, err = run_cli(capsys, "audit", "show", "--json", env={"PRIVTRAIN_PASSPHRASE": new})
    assert code == 0 and any(e["action"] == "keys.passphrase" for e in json.loads(out)), err


def test_model_names_are_validated_like_dataset_names(ws: Workspace) -> None:
    from privtrain import models

    for bad in ("has space", "semi;colon", "", "x" * 129, "dots/../up", "ünï"):
        with pytest.raises(InputError, match="model name"):
            models.store(
                ws, bad, b"w", predicate={}, datasets=[], train_config={}, epsilon=None,
                delta=None, accountant=None,
            )  # fmt: skip


def test_failed_reads_are_audited(ws: Workspace, tmp_path: Path) -> None:
    info = datasets.import_file(ws, _src(tmp_path), "d")
    blob = ws.blob_path(datasets.get(ws, "d").blob_path)
    data = bytearray(blob.read_bytes())
    data[-5] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        datasets.read_bytes(ws, "d")
    with pytest.raises(IntegrityError):
        datasets.export(ws, "d", tmp_path / "o.bin")
    assert not (tmp_path / "o.bin").exists()
    denied = [e for e in ws.audit.events() if e["decision"] == "deny"]
    assert {e["action"] for e in denied} >= {"dataset.read", "dataset.export"}
    assert all(e["details"]["reason"] == "integrity" for e in denied)
    assert all(e["resource"] == f"dataset:{info.ref}" for e in denied)


# ------------------------------------------------------------------------ older catalogs


def test_old_catalog_must_be_sealed_once(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    datasets.import_file(ws, _src(tmp_path), "d")
    ws.catalog.close()
    from sqlalchemy import create_engine

    eng = create_engine(ws.catalog.url)
    with eng.begin() as c:  # what a catalog from before migration 0003 looks like
        for t in ("datasets", "budgets", "runs", "run_datasets", "models"):
            c.execute(text(f"UPDATE {t} SET row_mac = NULL"))
        c.execute(text("UPDATE audit_events SET mac = NULL"))
        c.execute(text("DELETE FROM integrity_heads"))
    eng.dispose()
    # An attacker stripping every MAC of a sealed home: the keyring remembers it was sealed.
    with pytest.raises(IntegrityError, match="keyring says"):
        Workspace.open(ws.settings, PASS)
    with pytest.raises(IntegrityError, match="keyring says"):
        Workspace.open(ws.settings, PASS, sealing=True).seal_catalog()
    # A genuinely old home: its keyring predates the flag.
    ws.keys._mutate(lambda doc: doc.pop("flags", None))  # noqa: SLF001
    with pytest.raises(ConfigError, match="seal-catalog"):
        Workspace.open(ws.settings, PASS)
    old = Workspace.open(ws.settings, PASS, sealing=True)
    res = old.seal_catalog()
    assert res["rows"]["datasets"] == 1 and res["audit_events"] >= 2
    again = Workspace.open(ws.settings, PASS)
    assert datasets.get(again, "d").version == 1 and again.audit.verify().ok
    with pytest.raises(Exception, match="already sealed"):
        again.seal_catalog()


def test_cli_tampered_ledger_is_exit_5(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`UPDATE runs SET status='released'` used to refund the budget silently."""
    from _integrity_util import cheap_compose, populate
    from sqlalchemy import create_engine

    monkeypatch.setattr("privtrain.ledger.compose", cheap_compose)
    ws = Workspace.init(Settings(home=home, identity="t"), PASS)
    populate(ws, tmp_path)
    ws.catalog.close()
    code, out, err = run_cli(capsys, "budget", "show", "adult", "--json")
    assert code == 0 and json.loads(out)["committed_runs"] == 2, err
    eng = create_engine(f"sqlite:///{home / 'catalog.db'}")
    with eng.begin() as c:
        c.execute(text("UPDATE runs SET status = 'released'"))
    eng.dispose()
    for args in (("budget", "show", "adult"), ("budget", "history", "adult"), ("budget", "show")):
        code, _out, err = run_cli(capsys, *args)
        assert code == 5 and err.startswith("error:") and "runs row" in err, (args, err)
