"""Tamper-evident audit log: a hash chain in the catalog plus Ed25519-signed checkpoints.

Chain
    Event ``i`` stores ``hash_i = SHA-256(hash_{i-1} || canonical_event_i)`` (raw 32-byte
    digest of the previous event, ``hash_0`` = 32 zero bytes) where ``canonical_event_i`` is
    the canonical JSON (sorted keys, compact separators, UTF-8) of
    ``{seq, ts, actor, action, resource, decision, details}``. ``seq`` is gapless: the appender
    assigns ``last seq + 1`` while holding the log's lock (SQLite: the write lock of
    ``BEGIN IMMEDIATE``; PostgreSQL: ``LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE``),
    so concurrent appenders -- threads or processes -- never fork the chain.

Event MACs
    Every event also stores ``mac = HMAC-SHA256(audit MAC key, "privtrain/audit-event/v1" ||
    hash_i)`` (raw 32-byte hash), the key being the keyring's ``audit`` MAC key. Rewriting an
    event -- and re-hashing the chain after it -- needs that key, so the events after the last
    signed checkpoint (the "tail") are authenticated too. With a sealed catalog the newest
    ``(seq, hash)`` is also kept in the sealed head ``integrity_heads(audit, head)``, so
    deleting the newest events is caught as well; an append refuses to extend a chain whose
    tail does not match that head. A checkpoint is only signed over events whose chain and
    MACs verify.

Checkpoints
    Every ``checkpoint_every`` events the appender signs (Ed25519) the canonical JSON
    ``{first_seq, seq, head_hash, event_hashes}`` -- ``event_hashes`` lists every hash in the
    window -- and stores it in ``audit_checkpoints``. A chain that was edited and then fully
    re-hashed is self-consistent, but no longer matches the signed lists, and
    :meth:`AuditLog.verify` names the first event whose hash differs. Export the latest
    checkpoint (:meth:`AuditLog.export_checkpoint`) to an external witness to also detect
    truncation of the newest events and rewriting of the whole database.

What goes into ``details``
    ``details`` is stored in clear and is part of the hash. It must never carry key material
    (raw bytes, passphrases, data or wrapped keys, tokens are refused with ``InputError``), and
    the caller is responsible for not putting PII or original record values in it: log
    ids, names, counts and decisions, never contents.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from privtrain._io import atomic_write_bytes
from privtrain.catalog import AuditCheckpoint, AuditEvent, Catalog, IntegrityHead
from privtrain.errors import ConfigError, InputError, IntegrityError, NotFoundError

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
DECISIONS = ("allow", "deny", "info")
CHECKPOINT_FORMAT = "privtrain-audit-checkpoint/1"
MAC_LABEL = b"privtrain/audit-event/v1"
HEAD_KEY = ("audit", "head")

_MAX_LEN = {"actor": 255, "action": 255, "resource": 1024}
# Field names that hold secrets; refused anywhere inside ``details`` (case-insensitive).
_SECRET_FIELDS = frozenset(
    {
        "passphrase",
        "password",
        "secret",
        "secret_key",
        "private_key",
        "privkey",
        "data_key",
        "wrapped_key",
        "wrapped",
        "kek",
        "dek",
        "hmac_key",
        "signing_key",
        "key_material",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "bearer",
    }
)


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, compact separators, no NaN/Infinity, non-ASCII kept."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """``SHA-256(prev || canonical_event)`` as hex; ``event`` has the seven hashed fields."""
    body = {k: event[k] for k in ("seq", "ts", "actor", "action", "resource", "decision")}
    body["details"] = event["details"]
    return hashlib.sha256(
        bytes.fromhex(prev_hash) + canonical_json(body).encode("utf-8")
    ).hexdigest()


def event_mac(key: bytes, event_hash_hex: str) -> str:
    """``HMAC-SHA256(key, MAC_LABEL || hash)`` as hex (``hash``: the event's raw digest)."""
    return hmac.new(key, MAC_LABEL + bytes.fromhex(event_hash_hex), hashlib.sha256).hexdigest()


def _b(value: Any) -> bytes:
    return str(value).encode("utf-8", "surrogatepass")


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _check_no_secrets(value: Any, path: str) -> None:
    if isinstance(value, bytes | bytearray | memoryview):
        raise InputError(
            f"audit details field {path!r} is raw bytes; audit details must never hold key "
            "material (log ids, not keys)"
        )
    if isinstance(value, str):
        if "PRIVATE KEY-----" in value:
            raise InputError(f"audit details field {path!r} holds a private key; refused")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            name = str(k)
            if name.lower() in _SECRET_FIELDS:
                raise InputError(
                    f"audit details field {path}.{name!r} looks like a secret; audit details "
                    "must never hold key material"
                )
            _check_no_secrets(v, f"{path}.{name}")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_no_secrets(v, f"{path}[{i}]")


def _normalize_details(details: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
    if details is None:
        details = {}
    if not isinstance(details, Mapping):
        raise InputError("audit details must be a JSON object (dict)")
    _check_no_secrets(details, "details")
    try:
        dumped = canonical_json(details)
    except (TypeError, ValueError) as e:
        raise InputError(f"audit details are not canonical-JSON serializable: {e}") from e
    normalized = json.loads(dumped)  # tuples -> lists, int keys -> str keys, ...
    return normalized, canonical_json(normalized)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditVerifyReport:
    """Result of :meth:`AuditLog.verify`.

    ``first_bad_seq`` is the first event that is missing, edited, out of place or differs from
    a signed checkpoint (None when no event is implicated, e.g. a forged checkpoint, whose
    seq is then in ``checkpoint_seq``). ``kind`` is one of ``gap``, ``prev_hash``, ``hash``,
    ``missing``, ``checkpoint_mismatch``, ``checkpoint_signature``, ``checkpoint_key``,
    ``checkpoint_payload``, ``checkpoint_window``, ``unsigned_tail``, ``witness_format``,
    ``mac`` (an event's MAC is missing or wrong), ``head`` (the newest events differ from the
    sealed head: deleted or rewritten).
    """

    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    kind: str | None = None
    checkpoint_seq: int | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    unsigned_tail: int = 0
    public_key: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def raise_for_problem(self) -> None:
        """Raise :class:`~privtrain.errors.IntegrityError` when the log did not verify."""
        if self.ok:
            return
        where = (
            f"event {self.first_bad_seq}"
            if self.first_bad_seq is not None
            else f"checkpoint {self.checkpoint_seq}"
        )
        raise IntegrityError(f"audit log does not verify at {where}: {self.problem}")


@dataclass
class _Problem:
    seq: int | None
    kind: str
    message: str
    checkpoint_seq: int | None = None
    order: int = 0  # tie-break: chain problems (0) before checkpoint findings (1)

    def key(self) -> tuple[int, int, int]:
        big = 1 << 62
        seq = self.seq if self.seq is not None else big
        cp = self.checkpoint_seq if self.checkpoint_seq is not None else big
        return (seq, self.order, cp)


class AuditLog:
    """The hash-chained, checkpoint-signed audit log stored in the catalog.

    ``signer`` (from ``KeyProvider.signing_key("audit")``) signs checkpoints; without it,
    events are still chained but no checkpoint is written (the next append that has a signer
    covers all pending events). ``mac_key`` (``KeyProvider.mac_key("audit")``) authenticates
    every event as it is appended; with it, :meth:`verify` requires every event's MAC. Use
    the same ``checkpoint_every`` for writing and verifying.

    Appending is the API for every component that records a decision::

        audit.append(actor=..., action="dataset.read", resource="dataset:NAME@v1",
                     decision="allow" | "deny" | "info", details={...}, session=None)

    ``session`` joins the caller's write transaction (append last: the log stays locked until
    that transaction ends); without it the event commits on its own.
    """

    def __init__(
        self,
        catalog: Catalog,
        signer: Ed25519PrivateKey | None = None,
        checkpoint_every: int = 64,
        mac_key: bytes | None = None,
    ) -> None:
        if int(checkpoint_every) < 1:
            raise ConfigError("audit checkpoint_every must be >= 1")
        if mac_key is not None and len(mac_key) != 32:
            raise ConfigError("the audit MAC key must be 32 bytes")
        self.catalog = catalog
        self._signer = signer
        self._mac_key = bytes(mac_key) if mac_key is not None else None
        self.checkpoint_every = int(checkpoint_every)

    def _sealed_head(self) -> bool:
        return getattr(self.catalog, "sealer", None) is not None

    # ------------------------------------------------------------------ writing
    def _lock(self, s: Session) -> None:
        """Serialize appenders for the rest of the caller's transaction."""
        if self.catalog.dialect_name == "postgresql":
            s.execute(text("LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE"))
        else:
            # A write statement takes SQLite's write lock now (waiting up to busy_timeout), so
            # the head read below cannot go stale. A no-op under BEGIN IMMEDIATE.
            s.execute(text("UPDATE audit_events SET seq = seq WHERE 0 = 1"))

    def append(
        self,
        *,
        actor: str,
        action: str,
        resource: str,
        decision: str = "info",
        details: Mapping[str, Any] | None = None,
        session: Session | None = None,
    ) -> dict[str, Any]:
        """Append one event; returns it as a dict (see :meth:`events`).

        With ``session`` the event is written inside the caller's transaction (atomic with
        the caller's change; the log stays locked until that transaction ends -- append
        last). Without it, the event is written in its own write transaction.
        """
        for name, value in (("actor", actor), ("action", action), ("resource", resource)):
            if not isinstance(value, str) or not value:
                raise InputError(f"audit {name} must be a non-empty string")
            if len(value) > _MAX_LEN[name]:
                raise InputError(f"audit {name} is longer than {_MAX_LEN[name]} characters")
        if decision not in DECISIONS:
            raise InputError(f"audit decision must be one of {', '.join(DECISIONS)}")
        normalized, details_json = _normalize_details(details)
        if session is not None:
            return self._append(
                session, actor, action, resource, decision, normalized, details_json
            )
        with self.catalog.write_transaction() as s:
            return self._append(s, actor, action, resource, decision, normalized, details_json)

    def _append(
        self,
        s: Session,
        actor: str,
        action: str,
        resource: str,
        decision: str,
        details: dict[str, Any],
        details_json: str,
    ) -> dict[str, Any]:
        s.flush()  # the caller's rows (and their sealed heads) first: one lock order for all
        self._lock(s)
        head = s.execute(
            select(AuditEvent.seq, AuditEvent.hash, AuditEvent.mac)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
        seq = int(head.seq) + 1 if head else 1
        prev = head.hash if head else GENESIS_HASH
        sealed_head = None
        if self._sealed_head():
            sealed_head = s.get(
                IntegrityHead, HEAD_KEY, with_for_update=True, populate_existing=True
            )
            if sealed_head is not None and (
                int(sealed_head.count) != seq - 1 or sealed_head.acc != prev
            ):
                raise IntegrityError(
                    f"audit log: the newest stored event ({seq - 1}) is not the sealed head "
                    f"({sealed_head.count}): events were deleted or rewritten; nothing is "
                    "appended (run `privtrain audit verify`)"
                )
            if sealed_head is None and head is not None and head.mac is not None:
                raise IntegrityError(
                    "audit log: the sealed audit head is missing (deleted?); nothing is "
                    "appended (run `privtrain audit verify`)"
                )
        event = {
            "seq": seq,
            "ts": _now_iso(),
            "actor": actor,
            "action": action,
            "resource": resource,
            "decision": decision,
            "details": details,
        }
        h = event_hash(prev, event)
        s.add(
            AuditEvent(
                seq=seq,
                ts=event["ts"],
                actor=actor,
                action=action,
                resource=resource,
                decision=decision,
                details_json=details_json,
                prev_hash=prev,
                hash=h,
                mac=event_mac(self._mac_key, h) if self._mac_key is not None else None,
            )
        )
        if self._sealed_head():
            if sealed_head is None:
                s.add(IntegrityHead(kind=HEAD_KEY[0], name=HEAD_KEY[1], count=seq, acc=h))
            else:
                sealed_head.count, sealed_head.acc = seq, h
        s.flush()
        if self._signer is not None:
            last_cp = self._last_checkpoint(s)
            if seq - (last_cp[0] if last_cp else 0) >= self.checkpoint_every:
                self._write_checkpoint(s, last_cp, seq)
        return {**event, "prev_hash": prev, "hash": h}

    @staticmethod
    def _last_checkpoint(s: Session) -> tuple[int, str] | None:
        row = s.execute(
            select(AuditCheckpoint.seq, AuditCheckpoint.head_hash)
            .order_by(AuditCheckpoint.seq.desc())
            .limit(1)
        ).first()
        return (int(row.seq), row.head_hash) if row else None

    def _write_checkpoint(
        self, s: Session, last_cp: tuple[int, str] | None, seq: int
    ) -> dict[str, Any] | None:
        assert self._signer is not None
        first_seq = (last_cp[0] if last_cp else 0) + 1
        prev = last_cp[1] if last_cp else GENESIS_HASH
        rows = s.execute(
            select(AuditEvent)
            .where(AuditEvent.seq >= first_seq, AuditEvent.seq <= seq)
            .order_by(AuditEvent.seq)
        ).scalars()
        hashes: list[str] = []
        expected = first_seq
        for ev in rows:
            # Never sign over a chain that is already broken: that would launder tampering.
            ok = ev.seq == expected and ev.prev_hash == prev
            if ok:
                try:
                    ok = event_hash(prev, _row_event(ev)) == ev.hash
                except ValueError:
                    ok = False
            if ok and self._mac_key is not None:
                ok = ev.mac is not None and hmac.compare_digest(
                    _b(ev.mac), event_mac(self._mac_key, ev.hash).encode()
                )
            if not ok:
                log.error(
                    "audit chain or event MAC does not verify at seq %d; checkpoint %d not "
                    "signed (run `privtrain audit verify`)",
                    expected,
                    seq,
                )
                return None
            hashes.append(ev.hash)
            prev = ev.hash
            expected += 1
        if expected != seq + 1:
            log.error("audit events missing before seq %d; checkpoint not signed", seq)
            return None
        payload = canonical_json(
            {"first_seq": first_seq, "seq": seq, "head_hash": prev, "event_hashes": hashes}
        )
        cp = AuditCheckpoint(
            seq=seq,
            first_seq=first_seq,
            head_hash=prev,
            payload_json=payload,
            signature=self._signer.sign(payload.encode("utf-8")).hex(),
            public_key=_public_hex(self._signer.public_key()),
            created_at=datetime.now(UTC),
        )
        s.add(cp)
        s.flush()
        return _checkpoint_dict(cp)

    def checkpoint(self, session: Session | None = None) -> dict[str, Any] | None:
        """Sign a checkpoint over the events not yet covered (None: nothing pending)."""
        if self._signer is None:
            raise ConfigError("no audit signing key: cannot write an audit checkpoint")

        def run(s: Session) -> dict[str, Any] | None:
            self._lock(s)
            head = s.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
            head_seq = head.scalar() or 0
            last_cp = self._last_checkpoint(s)
            if head_seq <= (last_cp[0] if last_cp else 0):
                return None
            return self._write_checkpoint(s, last_cp, int(head_seq))

        if session is not None:
            return run(session)
        with self.catalog.write_transaction() as s:
            return run(s)

    # ------------------------------------------------------------------ reading
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest event; ``(0, GENESIS_HASH)`` when empty."""
        with self.catalog.session() as s:
            row = s.execute(
                select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
            ).first()
        return (int(row.seq), row.hash) if row else (0, GENESIS_HASH)

    def events(
        self,
        limit: int | None = None,
        since_seq: int | None = None,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events in seq order: those after ``since_seq``, at most ``limit`` of them.

        Each is ``{seq, ts, actor, action, resource, decision, details, prev_hash, hash}``.
        """
        q = select(AuditEvent).order_by(AuditEvent.seq)
        if since_seq is not None:
            q = q.where(AuditEvent.seq > since_seq)
        if actor is not None:
            q = q.where(AuditEvent.actor == actor)
        if action is not None:
            q = q.where(AuditEvent.action == action)
        if resource is not None:
            q = q.where(AuditEvent.resource == resource)
        if limit is not None:
            q = q.limit(max(int(limit), 0))
        with self.catalog.session() as s:
            out = []
            for ev in s.execute(q).scalars():
                try:
                    details = json.loads(ev.details_json)
                except ValueError:
                    details = {"_unparseable_details": True}
                out.append(
                    {
                        "seq": ev.seq,
                        "ts": ev.ts,
                        "actor": ev.actor,
                        "action": ev.action,
                        "resource": ev.resource,
                        "decision": ev.decision,
                        "details": details,
                        "prev_hash": ev.prev_hash,
                        "hash": ev.hash,
                    }
                )
        return out

    def latest_checkpoint(self) -> dict[str, Any] | None:
        """The newest stored checkpoint as an exportable dict, or None."""
        with self.catalog.session() as s:
            cp = s.execute(
                select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
            ).scalar_one_or_none()
            return _checkpoint_dict(cp) if cp is not None else None

    def export_checkpoint(self, path: Path | str) -> dict[str, Any]:
        """Write the latest signed checkpoint as JSON to ``path`` (atomic) for a witness.

        With a signer, events not yet covered are checkpointed first, so the export vouches
        for the current head. ``NotFoundError`` when there is no checkpoint at all.
        """
        if self._signer is not None:
            self.checkpoint()
        cp = self.latest_checkpoint()
        if cp is None:
            raise NotFoundError(
                "no audit checkpoint yet (no events, or no signing key given); nothing to export"
            )
        _atomic_write(Path(path), (json.dumps(cp, indent=2, sort_keys=True) + "\n").encode())
        return cp

    # ------------------------------------------------------------------ verifying
    def verify(
        self,
        public_key: Ed25519PublicKey | None = None,
        *,
        witness: Path | str | Mapping[str, Any] | None = None,
    ) -> AuditVerifyReport:
        """Walk the chain and every checkpoint; report the first problem found.

        ``public_key``: the expected checkpoint key (default: this log's signer's key; without
        either, the key of the first checkpoint, which only proves internal consistency).
        ``witness``: an exported checkpoint (path or dict) kept outside the catalog; it must
        verify and match the chain (catches truncation and whole-database rewrites).
        """
        if public_key is not None:
            expected_key: str | None = _public_hex(public_key)
        elif self._signer is not None:
            expected_key = _public_hex(self._signer.public_key())
        else:
            expected_key = None
        key_given = expected_key is not None

        problems: list[_Problem] = []
        computed: dict[int, str] = {}
        n_events = 0
        head_seq, head_hash = 0, GENESIS_HASH
        with self.catalog.session() as s:
            # Checkpoints first: every checkpoint read refers to events already committed.
            cps = list(s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars())
            rows = s.execute(
                select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
            )
            prev = GENESIS_HASH
            expected = 1
            chain_broken = False
            for ev in rows.scalars():
                try:
                    h = event_hash(prev, _row_event(ev))
                except ValueError:
                    h = "!"  # undecodable details: can never match
                if not chain_broken:
                    found: _Problem | None = None
                    if ev.seq != expected:
                        found = _Problem(
                            expected,
                            "gap",
                            f"event {expected} is missing (the next stored event is {ev.seq})",
                        )
                    elif ev.prev_hash != prev:
                        found = _Problem(
                            ev.seq,
                            "prev_hash",
                            f"event {ev.seq}: prev_hash does not match the hash of event "
                            f"{ev.seq - 1} (an event before it was removed or reordered)",
                        )
                    elif h != ev.hash:
                        found = _Problem(
                            ev.seq,
                            "hash",
                            f"event {ev.seq}: stored hash does not match its content (edited)",
                        )
                    elif self._mac_key is not None and (
                        ev.mac is None
                        or not hmac.compare_digest(_b(ev.mac), event_mac(self._mac_key, h).encode())
                    ):
                        found = _Problem(
                            ev.seq,
                            "mac",
                            f"event {ev.seq}: MAC "
                            + ("missing" if ev.mac is None else "does not verify")
                            + " (edited or inserted without the audit key)",
                        )
                    if found is not None:
                        problems.append(found)
                        chain_broken = True
                computed[ev.seq] = h
                prev = h
                expected = ev.seq + 1
                n_events += 1
                head_seq, head_hash = ev.seq, ev.hash
            s.expunge_all()
            if self._sealed_head():
                head_mac_ok = True
                try:
                    sealed = s.get(IntegrityHead, HEAD_KEY)
                    sealed_pair = (int(sealed.count), sealed.acc) if sealed is not None else None
                except IntegrityError:
                    head_mac_ok, sealed_pair = False, None
                if not head_mac_ok:
                    problems.append(
                        _Problem(None, "head", "the sealed audit head was edited", order=1)
                    )
                elif sealed_pair is not None and sealed_pair != (head_seq, head_hash):
                    problems.append(
                        _Problem(
                            min(head_seq, sealed_pair[0]) + 1,
                            "head",
                            f"the newest event is {head_seq} but the sealed audit head says "
                            f"{sealed_pair[0]}: the newest events were deleted or rewritten",
                            order=1,
                        )
                    )
                elif sealed_pair is None and n_events and self._mac_key is not None:
                    problems.append(
                        _Problem(
                            None,
                            "head",
                            "the sealed audit head is missing (deleted?)",
                            order=1,
                        )
                    )

        trusted = 0
        reference_key = expected_key
        last_cp_seq = 0
        for cp in cps:
            ok, reference_key = self._check_checkpoint(
                _checkpoint_dict(cp), computed, reference_key, problems, "checkpoint"
            )
            if cp.first_seq != last_cp_seq + 1:
                problems.append(
                    _Problem(
                        None,
                        "checkpoint_window",
                        f"checkpoint {cp.seq} starts at event {cp.first_seq} but the previous "
                        f"one ends at {last_cp_seq} (a checkpoint was removed)",
                        checkpoint_seq=cp.seq,
                        order=1,
                    )
                )
            last_cp_seq = max(last_cp_seq, cp.seq)
            trusted += int(ok)

        if witness is not None:
            wdict = _load_witness(witness, problems)
            if wdict is not None:
                self._check_checkpoint(wdict, computed, reference_key, problems, "witness")

        unsigned_tail = max(head_seq - last_cp_seq, 0)
        if (key_given or cps) and unsigned_tail >= self.checkpoint_every:
            problems.append(
                _Problem(
                    None,
                    "unsigned_tail",
                    f"{unsigned_tail} events after seq {last_cp_seq} are not covered by a "
                    f"signed checkpoint (expected one every {self.checkpoint_every}; "
                    "checkpoints removed?)",
                    order=1,
                )
            )

        problems.sort(key=_Problem.key)
        first = problems[0] if problems else None
        return AuditVerifyReport(
            ok=first is None,
            events=n_events,
            checkpoints=trusted,
            first_bad_seq=first.seq if first else None,
            problem=first.message if first else None,
            kind=first.kind if first else None,
            checkpoint_seq=first.checkpoint_seq if first else None,
            head_seq=head_seq,
            head_hash=head_hash,
            unsigned_tail=unsigned_tail,
            public_key=reference_key,
            problems=[asdict(p) for p in problems[:50]],
        )

    @staticmethod
    def _check_checkpoint(
        cp: Mapping[str, Any],
        computed: Mapping[int, str],
        reference_key: str | None,
        problems: list[_Problem],
        label: str,
    ) -> tuple[bool, str | None]:
        """Check one checkpoint dict; append problems; returns (trusted, reference key)."""
        cp_seq = cp.get("seq")
        prefix = "checkpoint" if label == "checkpoint" else "witness checkpoint"

        def bad(kind: str, message: str, seq: int | None = None, order: int = 1) -> None:
            problems.append(
                _Problem(seq, kind, f"{prefix} {cp_seq}: {message}", cp_seq, order=order)
            )

        pub = str(cp.get("public_key", ""))
        if reference_key is None:
            reference_key = pub
        if pub != reference_key:
            bad("checkpoint_key", f"signed by key {pub[:16]}..., expected {reference_key[:16]}...")
            return False, reference_key
        payload = cp.get("payload")
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)).verify(
                bytes.fromhex(str(cp.get("signature", ""))), str(payload).encode("utf-8")
            )
        except (InvalidSignature, ValueError):
            bad("checkpoint_signature", "signature does not verify (forged or edited)")
            return False, reference_key
        try:
            body = json.loads(str(payload))
            first_seq, seq = int(body["first_seq"]), int(body["seq"])
            head_hash, hashes = str(body["head_hash"]), list(body["event_hashes"])
        except (ValueError, KeyError, TypeError):
            bad("checkpoint_payload", "signed payload is malformed")
            return False, reference_key
        if (
            seq != cp_seq
            or first_seq != cp.get("first_seq")
            or head_hash != cp.get("head_hash")
            or len(hashes) != seq - first_seq + 1
            or not hashes
            or hashes[-1] != head_hash
        ):
            bad("checkpoint_payload", "stored fields do not match the signed payload")
            return False, reference_key
        for i, signed in enumerate(hashes):
            seq_i = first_seq + i
            actual = computed.get(seq_i)
            if actual is None:
                bad("missing", f"covers event {seq_i}, which is missing", seq=seq_i, order=2)
                break
            if actual != signed:
                bad(
                    "checkpoint_mismatch",
                    f"event {seq_i} differs from the hash signed for it (edited, and the "
                    "chain re-hashed after it?)",
                    seq=seq_i,
                    order=2,
                )
                break
        return True, reference_key


def _row_event(ev: AuditEvent) -> dict[str, Any]:
    """The hashed fields of a stored event (raises ValueError on undecodable details)."""
    return {
        "seq": int(ev.seq),
        "ts": ev.ts,
        "actor": ev.actor,
        "action": ev.action,
        "resource": ev.resource,
        "decision": ev.decision,
        "details": json.loads(ev.details_json),
    }


def _checkpoint_dict(cp: AuditCheckpoint) -> dict[str, Any]:
    created = cp.created_at.isoformat() if cp.created_at is not None else None
    return {
        "format": CHECKPOINT_FORMAT,
        "seq": int(cp.seq),
        "first_seq": int(cp.first_seq),
        "head_hash": cp.head_hash,
        "payload": cp.payload_json,
        "signature": cp.signature,
        "public_key": cp.public_key,
        "created_at": created,
    }


def _load_witness(
    witness: Path | str | Mapping[str, Any], problems: list[_Problem]
) -> dict[str, Any] | None:
    if isinstance(witness, Mapping):
        return dict(witness)
    p = Path(witness)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise NotFoundError(f"witness checkpoint {p} does not exist") from e
    except (OSError, ValueError) as e:
        raise InputError(f"witness checkpoint {p} is not readable JSON: {e}") from e
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        problems.append(
            _Problem(
                None, "witness_format", f"witness {p} is not a {CHECKPOINT_FORMAT} file", order=1
            )
        )
        return None
    return data


def _atomic_write(path: Path, data: bytes) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise NotFoundError(f"directory {directory} does not exist")
    atomic_write_bytes(path, data, mkdir=False)
