"""Dataset lifecycle through the real CLI: import, export, rotate, shred, kill -9, concurrency."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PASS = "correct horse battery staple"
CANARY = b"PLAINTEXT-CANARY-7f3a"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PRIVTRAIN_HOME=str(home),
        PRIVTRAIN_PASSPHRASE=PASS,
        PRIVTRAIN_KDF_PROFILE="fast",
        PRIVTRAIN_IDENTITY="tester",
        TMPDIR=str(home.parent / "tmp"),
    )
    return env


def cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "privtrain", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"privtrain {' '.join(args)} -> {p.returncode}\n{p.stderr}")
    return p


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    (tmp_path / "tmp").mkdir()
    h = tmp_path / "home"
    cli(h, "init")
    return h


def _canary_file(path: Path, mib: int) -> Path:
    rnd = random.Random(1)
    with open(path, "wb") as f:
        for _ in range(mib * 16):
            block = bytearray(rnd.randbytes(64 * 1024))
            block[100 : 100 + len(CANARY)] = CANARY
            f.write(block)
    return path


def _files_with(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file() and needle in p.read_bytes():
            hits.append(p)
    return hits


def _ls(home: Path) -> list[dict]:
    return json.loads(cli(home, "datasets", "ls", "--json").stdout)


def test_import_export_rotate_shred(home: Path, tmp_path: Path) -> None:
    src = _canary_file(tmp_path / "data.bin", 3)
    info = json.loads(cli(home, "datasets", "import", str(src), "--name", "d1", "--json").stdout)
    assert info["ref"] == "d1@v1" and info["sensitivity"] == "raw"
    assert _files_with(home, CANARY) == []

    out = tmp_path / "out.bin"
    cli(home, "datasets", "export", "d1", "--out", str(out))
    assert out.read_bytes() == src.read_bytes()

    rot = json.loads(cli(home, "keys", "rotate", "--json").stdout)
    assert rot["rewrapped"] == 1 and rot["new_kek_id"] != rot["old_kek_id"]
    out.unlink()
    cli(home, "datasets", "export", "d1@v1", "--out", str(out))
    assert out.read_bytes() == src.read_bytes()

    blob_before = {p.name: p.read_bytes() for p in (home / "blobs").iterdir()}
    assert blob_before, "blob missing"
    shredded = json.loads(cli(home, "datasets", "shred", "d1", "--yes", "--json").stdout)
    assert shredded["status"] == "shredded"
    out.unlink()
    p = cli(home, "datasets", "export", "d1", "--out", str(out), check=False)
    assert p.returncode == 6, p.stderr
    assert "shredded" in p.stderr and not out.exists()

    # Even with a saved copy of the blob, nothing decrypts it: the data key is gone.
    from privtrain.catalog import Catalog, DataKey

    cat = Catalog(f"sqlite:///{home / 'catalog.db'}")
    with cat.session() as s:
        assert s.query(DataKey).count() == 0

    v = cli(home, "audit", "verify", "--json")
    actions = [
        e["action"] for e in json.loads(cli(home, "audit", "show", "--json", "-n", "0").stdout)
    ]
    assert json.loads(v.stdout)["ok"] is True
    for a in ("home.init", "dataset.import", "dataset.export", "keys.rotate", "dataset.shred"):
        assert a in actions


def test_no_key_or_passphrase_in_clear(home: Path, tmp_path: Path) -> None:
    src = _canary_file(tmp_path / "data.bin", 1)
    cli(home, "datasets", "import", str(src), "--name", "d")
    cli(home, "keys", "rotate")
    from privtrain.crypto import LocalKeyring

    os.environ["PRIVTRAIN_KDF_PROFILE"] = "fast"
    kr = LocalKeyring.open(home / "keyring.enc", PASS)
    secrets = [PASS.encode()] + list(kr._secret_material_for_tests())
    assert len(secrets) >= 3
    for secret in secrets:
        assert _files_with(home, secret) == [], "secret material found in clear"
        assert _files_with(home, secret.hex().encode()) == []


def test_kill_9_import_never_half_registered(home: Path, tmp_path: Path) -> None:
    src = _canary_file(tmp_path / "big.bin", 48)
    rng = random.Random(7)
    env = _env(home)
    for i in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "privtrain", "datasets", "import", str(src), "--name", "big"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        listed = _ls(home)
        for d in listed:
            out = tmp_path / f"check{i}.bin"
            cli(home, "datasets", "export", d["ref"], "--out", str(out))
            assert out.read_bytes() == src.read_bytes(), f"listed {d['ref']} is not complete"
            out.unlink()
        assert _files_with(home, CANARY) == []
        assert _files_with(tmp_path / "tmp", CANARY) == []
    before = len(_ls(home))
    cli(home, "datasets", "import", str(src), "--name", "big")
    assert len(_ls(home)) == before + 1
    cli(home, "audit", "verify")


def test_two_processes_import_at_once(home: Path, tmp_path: Path) -> None:
    srcs = [_canary_file(tmp_path / f"c{i}.bin", 4) for i in range(2)]
    env = _env(home)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "privtrain", "datasets", "import", str(s), "--name", "same"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in srcs
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes in ([0, 0], [0, 9]), results
    for rc, err in results:
        if rc == 9:
            assert "busy" in err.lower() or "concurrently" in err.lower()
    listed = _ls(home)
    assert len(listed) == codes.count(0)
    assert sorted(d["version"] for d in listed) == list(range(1, len(listed) + 1))
    cli(home, "audit", "verify")


def test_audit_verify_cli_names_the_broken_event(home: Path, tmp_path: Path) -> None:
    import sqlite3

    src = _canary_file(tmp_path / "d.bin", 1)
    cli(home, "datasets", "import", str(src), "--name", "a")
    cli(home, "datasets", "export", "a", "--out", str(tmp_path / "o.bin"))
    witness = tmp_path / "witness.json"
    cp = json.loads(cli(home, "audit", "export-checkpoint", "--out", str(witness), "--json").stdout)
    n = len(json.loads(cli(home, "audit", "show", "--json").stdout))
    assert cp["seq"] == n >= 3 and witness.exists()
    cli(home, "audit", "verify", "--witness", str(witness))

    db = sqlite3.connect(home / "catalog.db")
    with db:  # delete the newest event: the witness and the sealed audit head both tell
        db.execute("DELETE FROM audit_events WHERE seq = ?", (n,))
        db.execute("DELETE FROM audit_checkpoints")
    p = cli(home, "audit", "verify", "--witness", str(witness), check=False)
    assert p.returncode == 5, p.stderr
    p = cli(home, "audit", "verify", check=False)
    assert p.returncode == 5 and "sealed audit head" in p.stderr, p.stderr
    with db:  # edit an event in place
        db.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    p = cli(home, "audit", "verify", check=False)
    assert p.returncode == 5 and "event 2" in p.stderr, p.stderr
    db.close()
