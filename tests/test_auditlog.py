"""Audit log: hash chain, signed checkpoints, tamper location, concurrent appenders.

Every test runs on SQLite and on a real PostgreSQL server (the ``catalog`` fixture).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import func, select, text

from privtrain.access import AuditLog
from privtrain.access.auditlog import GENESIS_HASH, canonical_json
from privtrain.catalog import AuditCheckpoint, AuditEvent, Catalog, Principal
from privtrain.errors import ConfigError, InputError, IntegrityError, NotFoundError

REPO = Path(__file__).resolve().parents[1]
EVERY = 4


@pytest.fixture()
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture()
def audit(catalog: Catalog, key: Ed25519PrivateKey) -> AuditLog:
    return AuditLog(catalog, key, checkpoint_every=EVERY)


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(
            actor=f"user{i % 3}",
            action="dataset.read" if i % 2 else "dataset.import",
            resource=f"dataset:d{i}@v1",
            decision="allow" if i % 5 else "deny",
            details={"i": i, "rows": 10 * i, "note": "ünïcode ✓"},
        )


def _sql(cat: Catalog, sql: str, **params: Any) -> None:
    with cat.engine.begin() as conn:
        conn.execute(text(sql), params)


def _rows(cat: Catalog) -> dict[int, dict[str, Any]]:
    with cat.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events ORDER BY seq")).mappings().all()
    return {int(r["seq"]): dict(r) for r in rows}


def _my_hash(prev: str, row: dict[str, Any]) -> str:
    """Independent implementation of the contract: SHA-256(prev || canonical event)."""
    event = {
        "seq": int(row["seq"]),
        "ts": row["ts"],
        "actor": row["actor"],
        "action": row["action"],
        "resource": row["resource"],
        "decision": row["decision"],
        "details": json.loads(row["details_json"]),
    }
    canon = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(prev) + canon.encode("utf-8")).hexdigest()


def _rehash_from(cat: Catalog, start: int) -> None:
    """What a careful attacker does after an edit: recompute every hash from ``start`` on."""
    rows = _rows(cat)
    prev = rows[start - 1]["hash"] if start > 1 else GENESIS_HASH
    with cat.engine.begin() as conn:
        for seq in sorted(s for s in rows if s >= start):
            h = _my_hash(prev, rows[seq])
            conn.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": h, "s": seq},
            )
            prev = h


def _check(report: Any, seq: int | None, kind: str) -> None:
    assert not report.ok, report
    assert (report.first_bad_seq, report.kind) == (seq, kind), report
    assert report.problem
    with pytest.raises(IntegrityError, match="does not verify"):
        report.raise_for_problem()


# ---------------------------------------------------------------- the happy path


def test_chain_follows_the_contract(audit: AuditLog, key: Ed25519PrivateKey) -> None:
    _fill(audit, 10)
    rows = _rows(audit.catalog)
    assert sorted(rows) == list(range(1, 11))
    prev = GENESIS_HASH
    for seq in range(1, 11):
        assert rows[seq]["prev_hash"] == prev
        assert rows[seq]["hash"] == _my_hash(prev, rows[seq])
        assert rows[seq]["details_json"] == canonical_json(json.loads(rows[seq]["details_json"]))
        prev = rows[seq]["hash"]

    with audit.catalog.session() as s:
        cps = s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
    assert [(c.first_seq, c.seq) for c in cps] == [(1, 4), (5, 8)]
    pub = key.public_key()
    for c in cps:
        payload = json.loads(c.payload_json)
        assert payload == {
            "first_seq": c.first_seq,
            "seq": c.seq,
            "head_hash": rows[c.seq]["hash"],
            "event_hashes": [rows[i]["hash"] for i in range(c.first_seq, c.seq + 1)],
        }
        assert c.payload_json == canonical_json(payload)
        pub.verify(bytes.fromhex(c.signature), c.payload_json.encode())
        assert c.public_key == pub.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    report = audit.verify(pub)
    assert report.ok, report
    assert (report.events, report.checkpoints, report.head_seq) == (10, 2, 10)
    assert report.head_hash == rows[10]["hash"] and report.unsigned_tail == 2
    assert AuditLog(audit.catalog, None, checkpoint_every=EVERY).verify(pub).ok


def test_events_listing_and_filters(audit: AuditLog) -> None:
    _fill(audit, 6)
    evs = audit.events()
    assert [e["seq"] for e in evs] == [1, 2, 3, 4, 5, 6]
    assert evs[1]["details"] == {"i": 1, "rows": 10, "note": "ünïcode ✓"}
    assert set(evs[0]) == {
        "seq", "ts", "actor", "action", "resource", "decision", "details", "prev_hash", "hash"
    }  # fmt: skip
    assert evs[0]["ts"].endswith("+00:00")
    assert [e["seq"] for e in audit.events(limit=2, since_seq=3)] == [4, 5]
    assert [e["seq"] for e in audit.events(action="dataset.read")] == [2, 4, 6]
    assert [e["seq"] for e in audit.events(resource="dataset:d3@v1")] == [4]
    assert [e["seq"] for e in audit.events(actor="user0")] == [1, 4]
    assert audit.head() == (6, evs[-1]["hash"])


def test_empty_log_verifies(audit: AuditLog) -> None:
    report = audit.verify()
    assert report.ok and report.events == 0 and report.head_hash == GENESIS_HASH
    assert audit.head() == (0, GENESIS_HASH)


def test_append_inside_the_callers_transaction(audit: AuditLog) -> None:
    cat = audit.catalog
    with pytest.raises(RuntimeError), cat.write_transaction() as s:
        s.add(Principal(name="eve"))
        audit.append(actor="admin", action="principal.add", resource="principal:eve", session=s)
        raise RuntimeError("the caller's change fails")
    with cat.session() as s:
        assert s.execute(select(func.count()).select_from(Principal)).scalar() == 0
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar() == 0
    with cat.session() as s:
        s.add(Principal(name="eve"))
        ev = audit.append(
            actor="admin", action="principal.add", resource="principal:eve", session=s
        )
    assert ev["seq"] == 1
    assert [e["resource"] for e in audit.events()] == ["principal:eve"]
    assert audit.verify().ok


def test_details_must_not_hold_secrets(audit: AuditLog) -> None:
    bad_details: list[dict[str, Any]] = [
        {"data_key": "00" * 32},
        {"nested": {"Passphrase": "hunter2"}},
        {"blob": b"\x00\x01"},
        {"keys": [{"wrapped_key": "abc"}]},
        {"pem": "-----BEGIN PRIVATE KEY-----\nMC4CAQ..."},
        {"x": float("nan")},
        {"x": object()},
    ]
    for details in bad_details:
        with pytest.raises(InputError):
            audit.append(actor="a", action="b", resource="c", details=details)
    with pytest.raises(InputError, match="decision"):
        audit.append(actor="a", action="b", resource="c", decision="maybe")
    with pytest.raises(InputError, match="actor"):
        audit.append(actor="", action="b", resource="c")
    assert audit.events() == []
    audit.append(actor="a", action="b", resource="c", details={"kek_id": "k1", "file_id": "ab"})
    assert audit.verify().ok


def test_invalid_checkpoint_every(catalog: Catalog) -> None:
    with pytest.raises(ConfigError):
        AuditLog(catalog, None, checkpoint_every=0)
    with pytest.raises(ConfigError):
        AuditLog(catalog, None).checkpoint()


# ---------------------------------------------------------------- tamper location


def test_deleted_event_is_located(audit: AuditLog, key: Ed25519PrivateKey) -> None:
    _fill(audit, 10)
    _sql(audit.catalog, "DELETE FROM audit_events WHERE seq = 6")
    _check(audit.verify(key.public_key()), 6, "gap")


def test_deleted_and_renumbered_event_is_located(audit: AuditLog) -> None:
    _fill(audit, 10)
    _sql(audit.catalog, "DELETE FROM audit_events WHERE seq = 3")
    for seq in range(4, 11):
        _sql(audit.catalog, "UPDATE audit_events SET seq = :n WHERE seq = :o", n=seq - 1, o=seq)
    report = audit.verify()
    assert not report.ok and report.first_bad_seq == 3 and report.kind in ("prev_hash", "hash")


def test_deleted_newest_covered_event_is_located(audit: AuditLog) -> None:
    _fill(audit, 8)  # checkpoint 5..8 covers the newest event
    _sql(audit.catalog, "DELETE FROM audit_events WHERE seq = 8")
    _check(audit.verify(), 8, "missing")


def test_edited_event_is_located(audit: AuditLog) -> None:
    _fill(audit, 10)
    _sql(
        audit.catalog,
        "UPDATE audit_events SET details_json = :d WHERE seq = 7",
        d=canonical_json({"i": 6, "rows": 0, "note": "ünïcode ✓"}),
    )
    _check(audit.verify(), 7, "hash")
    _sql(audit.catalog, "UPDATE audit_events SET details_json = '{' WHERE seq = 7")
    _check(audit.verify(), 7, "hash")


def test_edited_decision_is_located(audit: AuditLog) -> None:
    _fill(audit, 10)
    _sql(audit.catalog, "UPDATE audit_events SET decision = 'allow' WHERE seq = 1")
    _check(audit.verify(), 1, "hash")


def test_swapped_contents_are_located(audit: AuditLog) -> None:
    _fill(audit, 10)
    rows = _rows(audit.catalog)
    cols = ("ts", "actor", "action", "resource", "decision", "details_json")
    for a, b in ((3, 7), (7, 3)):
        sets = ", ".join(f"{c} = :{c}" for c in cols)
        _sql(
            audit.catalog,
            f"UPDATE audit_events SET {sets} WHERE seq = :s",
            s=a,
            **{c: rows[b][c] for c in cols},
        )
    _check(audit.verify(), 3, "hash")


def test_swapped_whole_rows_are_located(audit: AuditLog) -> None:
    _fill(audit, 10)
    rows = _rows(audit.catalog)
    _sql(audit.catalog, "DELETE FROM audit_events WHERE seq IN (4, 9)")
    cols = [c for c in rows[4] if c != "seq"]
    for a, b in ((4, 9), (9, 4)):
        _sql(
            audit.catalog,
            f"INSERT INTO audit_events (seq, {', '.join(cols)}) "
            f"VALUES (:seq, {', '.join(':' + c for c in cols)})",
            seq=a,
            **{c: rows[b][c] for c in cols},
        )
    _check(audit.verify(), 4, "prev_hash")


def test_edit_with_rehashed_chain_is_located_by_checkpoint(audit: AuditLog) -> None:
    _fill(audit, 12)
    _sql(audit.catalog, "UPDATE audit_events SET decision = 'allow' WHERE seq = 6")
    _rehash_from(audit.catalog, 6)
    # The chain alone is consistent again ...
    rows = _rows(audit.catalog)
    prev = GENESIS_HASH
    for seq in sorted(rows):
        assert rows[seq]["hash"] == _my_hash(prev, rows[seq])
        prev = rows[seq]["hash"]
    # ... but the signed checkpoint names the first rewritten event.
    _check(audit.verify(), 6, "checkpoint_mismatch")


def test_edit_with_rehash_in_the_first_window(audit: AuditLog) -> None:
    _fill(audit, 12)
    _sql(audit.catalog, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    _rehash_from(audit.catalog, 2)
    _check(audit.verify(), 2, "checkpoint_mismatch")


def test_forged_checkpoint_is_detected(audit: AuditLog) -> None:
    _fill(audit, 8)
    with audit.catalog.session() as s:
        cp = s.get(AuditCheckpoint, 8)
        assert cp is not None
        body = json.loads(cp.payload_json)
    body["event_hashes"][1] = "ee" * 32
    _sql(
        audit.catalog,
        "UPDATE audit_checkpoints SET payload_json = :p WHERE seq = 8",
        p=canonical_json(body),
    )
    report = audit.verify()
    _check(report, None, "checkpoint_signature")
    assert report.checkpoint_seq == 8


def test_edited_checkpoint_columns_are_detected(audit: AuditLog) -> None:
    _fill(audit, 8)
    _sql(audit.catalog, "UPDATE audit_checkpoints SET head_hash = :h WHERE seq = 4", h="aa" * 32)
    report = audit.verify()
    _check(report, None, "checkpoint_payload")
    assert report.checkpoint_seq == 4


def test_checkpoint_signed_by_another_key(audit: AuditLog, key: Ed25519PrivateKey) -> None:
    _fill(audit, 8)
    # An attacker edits, re-hashes and re-signs every checkpoint with a key of their own.
    _sql(audit.catalog, "UPDATE audit_events SET resource = 'dataset:other' WHERE seq = 3")
    _rehash_from(audit.catalog, 3)
    _sql(audit.catalog, "DELETE FROM audit_checkpoints")
    forger = AuditLog(audit.catalog, Ed25519PrivateKey.generate(), checkpoint_every=EVERY)
    forger.checkpoint()
    report = AuditLog(audit.catalog, None, checkpoint_every=EVERY).verify(key.public_key())
    _check(report, None, "checkpoint_key")
    assert report.checkpoint_seq == 8


def test_removed_checkpoints_are_detected(audit: AuditLog) -> None:
    _fill(audit, 12)
    _sql(audit.catalog, "DELETE FROM audit_checkpoints WHERE seq = 4")
    report = audit.verify()
    _check(report, None, "checkpoint_window")
    assert report.checkpoint_seq == 8

    _sql(audit.catalog, "DELETE FROM audit_checkpoints")
    _check(audit.verify(), None, "unsigned_tail")


def test_no_checkpoint_is_signed_over_a_broken_chain(audit: AuditLog) -> None:
    _fill(audit, 2)
    _sql(audit.catalog, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    _fill(audit, 4)  # a checkpoint falls due at seq 4: refused
    with audit.catalog.session() as s:
        assert s.execute(select(func.count()).select_from(AuditCheckpoint)).scalar() == 0
    _check(audit.verify(), 2, "hash")


# ---------------------------------------------------------------- external witness


def test_export_checkpoint_and_witness(
    audit: AuditLog, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    _fill(audit, 10)
    (tmp_path / "witness").mkdir()
    out = tmp_path / "witness" / "checkpoint.json"
    cp = audit.export_checkpoint(out)
    assert cp["seq"] == 10  # pending events 9..10 were checkpointed for the export
    on_disk = json.loads(out.read_text())
    assert on_disk == cp and [p.name for p in out.parent.iterdir()] == ["checkpoint.json"]
    key.public_key().verify(bytes.fromhex(on_disk["signature"]), on_disk["payload"].encode())
    assert audit.verify(witness=out).ok

    # Truncate the newest events together with the checkpoint covering them: internally
    # consistent again, but the witness still names the first missing event.
    _sql(audit.catalog, "DELETE FROM audit_checkpoints WHERE seq = 10")
    _sql(audit.catalog, "DELETE FROM audit_events WHERE seq >= 9")
    assert audit.verify().ok
    _check(audit.verify(witness=out), 9, "missing")

    forged = dict(on_disk, signature="00" * 64)
    _check(audit.verify(witness=forged), None, "checkpoint_signature")


def test_export_without_any_checkpoint(catalog: Catalog, tmp_path: Path) -> None:
    log = AuditLog(catalog, None, checkpoint_every=EVERY)
    log.append(actor="a", action="b", resource="c")
    with pytest.raises(NotFoundError):
        log.export_checkpoint(tmp_path / "w.json")
    assert not (tmp_path / "w.json").exists()
    assert log.latest_checkpoint() is None


def test_unsigned_appends_are_covered_by_the_next_signed_one(
    catalog: Catalog, key: Ed25519PrivateKey
) -> None:
    _fill(AuditLog(catalog, None, checkpoint_every=EVERY), 6)
    signed = AuditLog(catalog, key, checkpoint_every=EVERY)
    signed.append(actor="a", action="b", resource="c")
    cp = signed.latest_checkpoint()
    assert cp is not None and (cp["first_seq"], cp["seq"]) == (1, 7)
    assert signed.verify().ok


# ---------------------------------------------------------------- concurrent appenders

_APPEND_WORKER = r"""
import json, os, sys, time
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from privtrain.access import AuditLog
from privtrain.catalog import Catalog
url, who, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["PT_TEST_AUDIT_KEY"]))
log = AuditLog(Catalog(url), key, checkpoint_every=int(os.environ["PT_TEST_EVERY"]))
while not go.exists():
    time.sleep(0.002)
for i in range(n):
    log.append(actor=who, action="test.append", resource=f"r:{who}:{i}", details={"i": i})
print(json.dumps({"ok": n}))
"""


def test_two_processes_append_at_once(
    catalog: Catalog, catalog_url: str, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    n = 30
    go = tmp_path / "go"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PT_TEST_AUDIT_KEY"] = key.private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    ).hex()
    env["PT_TEST_EVERY"] = "7"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPEND_WORKER, catalog_url, who, str(n), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for who in ("p1", "p2")
    ]
    time.sleep(0.5)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs

    log = AuditLog(catalog, key, checkpoint_every=7)
    report = log.verify(key.public_key())
    assert report.ok, report
    assert report.events == 2 * n and report.head_seq == 2 * n
    assert report.checkpoints == (2 * n) // 7
    evs = log.events()
    assert [e["seq"] for e in evs] == list(range(1, 2 * n + 1))
    for who in ("p1", "p2"):  # each process's events are all there, in its own order
        mine = [e["details"]["i"] for e in evs if e["actor"] == who]
        assert mine == list(range(n))
    interleaved = sum(1 for a, b in zip(evs, evs[1:], strict=False) if a["actor"] != b["actor"])
    assert interleaved >= 1


def test_public_key_type_is_accepted(audit: AuditLog, key: Ed25519PrivateKey) -> None:
    _fill(audit, 4)
    pub = Ed25519PublicKey.from_public_bytes(
        key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    assert audit.verify(pub).ok
    other = Ed25519PrivateKey.generate().public_key()
    _check(audit.verify(other), None, "checkpoint_key")
