"""Item 9: the audit tail (events after the last signed checkpoint) is authenticated.

Before, an attacker could edit, delete or inject an event after the last checkpoint, re-hash
the chain, and `audit verify` passed; the next checkpoint then signed the forgery. Now every
event carries an HMAC under the keyring's audit MAC key, the newest (seq, hash) is in a sealed
head, and a checkpoint is signed only over events whose chain and MACs verify.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from _integrity_util import make_workspace
from sqlalchemy import text

from privtrain import datasets
from privtrain.access.auditlog import event_mac
from privtrain.errors import IntegrityError
from privtrain.workspace import Workspace

EVERY = 64


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Workspace:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_database_url")
    w = make_workspace(tmp_path, url)
    for i in range(5):  # a tail of 6 events, no checkpoint yet (one every 64)
        w.record("dataset.read", f"dataset:d{i}@v1", details={"i": i})
    yield w
    w.catalog.close()


def _rows(ws: Workspace) -> list[dict[str, Any]]:
    with ws.catalog.engine.connect() as c:
        return [
            dict(r)
            for r in c.execute(text("SELECT * FROM audit_events ORDER BY seq")).mappings().all()
        ]


def _rehash_from(ws: Workspace, start: int) -> None:
    """What an attacker without the key does after an edit: recompute every hash from
    ``start`` on so that the chain is self-consistent again."""
    rows = _rows(ws)
    prev = rows[start - 2]["hash"] if start > 1 else "0" * 64
    with ws.catalog.engine.begin() as c:
        for r in rows[start - 1 :]:
            body = {
                "seq": int(r["seq"]),
                "ts": r["ts"],
                "actor": r["actor"],
                "action": r["action"],
                "resource": r["resource"],
                "decision": r["decision"],
                "details": json.loads(r["details_json"]),
            }
            canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            h = hashlib.sha256(bytes.fromhex(prev) + canon.encode()).hexdigest()
            c.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": h, "s": r["seq"]},
            )
            prev = h
        # A thorough attacker also moves the sealed head to the new hash (without its key).
        c.execute(
            text("UPDATE integrity_heads SET acc = :h WHERE kind = 'audit' AND name = 'head'"),
            {"h": prev},
        )


def test_every_event_carries_a_mac(ws: Workspace) -> None:
    key = ws.keys.mac_key("audit")
    rows = _rows(ws)
    assert len(rows) == 6
    assert all(r["mac"] == event_mac(key, r["hash"]) for r in rows)
    rep = ws.audit.verify()
    assert rep.ok and rep.unsigned_tail == 6


def test_edited_and_rehashed_tail_event_is_caught(ws: Workspace) -> None:
    with ws.catalog.engine.begin() as c:
        c.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    _rehash_from(ws, 3)
    rep = ws.audit.verify()
    assert not rep.ok and rep.first_bad_seq == 3 and rep.kind == "mac", rep
    # ... and the next checkpoint refuses to sign over the forgery.
    assert ws.audit.checkpoint() is None
    with pytest.raises(IntegrityError, match="event 3"):
        rep.raise_for_problem()


def test_injected_tail_event_is_caught(ws: Workspace) -> None:
    last = _rows(ws)[-1]
    with ws.catalog.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO audit_events (seq, ts, actor, action, resource, decision, "
                "details_json, prev_hash, hash) VALUES (:s, :ts, 'mallory', 'dataset.read', "
                "'dataset:x@v1', 'allow', '{}', :p, :h)"
            ),
            {"s": last["seq"] + 1, "ts": last["ts"], "p": last["hash"], "h": "0" * 64},
        )
    _rehash_from(ws, int(last["seq"]) + 1)
    rep = ws.audit.verify()
    assert not rep.ok and rep.first_bad_seq == last["seq"] + 1 and rep.kind == "mac"
    assert ws.audit.checkpoint() is None


def test_deleted_tail_event_is_caught(ws: Workspace) -> None:
    with ws.catalog.engine.begin() as c:
        c.execute(text("DELETE FROM audit_events WHERE seq = 4"))
        c.execute(text("UPDATE audit_events SET seq = seq - 1 WHERE seq > 4"))
    _rehash_from(ws, 4)
    rep = ws.audit.verify()
    assert not rep.ok and rep.first_bad_seq == 4, rep


def test_truncated_tail_is_caught_and_never_laundered(ws: Workspace) -> None:
    """Deleting the newest events: the sealed head still names the old head; an append
    refuses to extend the truncated chain (it would otherwise make it look whole again)."""
    with ws.catalog.engine.begin() as c:
        c.execute(text("DELETE FROM audit_events WHERE seq >= 5"))
    rep = ws.audit.verify()
    assert not rep.ok and rep.kind == "head", rep
    with pytest.raises(IntegrityError, match="sealed head"):
        ws.record("dataset.read", "dataset:y@v1")
    src = ws.settings.home.parent / "x.csv"
    src.write_text("a\n1\n")
    with pytest.raises(IntegrityError):  # nothing that must be audited happens either
        datasets.import_file(ws, src, "x")
    assert datasets.list_datasets(ws) == []


def test_checkpoint_signs_a_verified_tail(ws: Workspace) -> None:
    cp = ws.audit.checkpoint()
    assert cp is not None and cp["seq"] == 6
    assert ws.audit.verify().ok


def test_append_stays_cheap(ws: Workspace) -> None:
    """The MAC and the sealed head add two statements to an append (read and update the head;
    the access layer's budget is 5 ms p99 for decision + durable append). Counted, not timed:
    timings on a shared CI box say little (benchmarks/integrity_overhead.py has the ratio)."""
    from sqlalchemy import event

    stmts: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        stmts.append(statement.split()[0].upper())

    event.listen(ws.catalog.engine, "before_cursor_execute", count)
    try:
        ws.record("dataset.read", "dataset:p@v1", details={"i": 1})
    finally:
        event.remove(ws.catalog.engine, "before_cursor_execute", count)
    writes = [s for s in stmts if s in ("INSERT", "UPDATE")]
    assert len(stmts) <= 8, stmts
    assert writes.count("INSERT") == 1 and writes.count("UPDATE") <= 2, stmts
