"""Model artifacts: encrypted model blobs with signed model cards, and their verification.

``store`` encrypts the serialized model into the catalog and signs its card (DSSE over an
in-toto statement, Ed25519 key ``model`` from the keyring). ``verify`` decrypts the model,
recomputes its SHA-256 and checks the card's signature, subject digest and catalog facts: an
edited card or edited model bytes fail with IntegrityError.

Every fact privtrain shows about a model (ε, δ, accountant, datasets, whether it is private)
comes from its *verified* card: :func:`get` checks the card's signature and that the catalog
columns agree with it (any disagreement, a NULL or malformed card: IntegrityError, exit 5),
and :class:`ModelInfo` is built from the signed predicate, never from the catalog columns.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from privtrain import modelcard
from privtrain.catalog import DataKey, IntegrityHead, Model
from privtrain.catalog._integrity import model_versions, verify_group, verify_root
from privtrain.crypto import WrappedKey
from privtrain.datasets import audited_failure, check_name, parse_ref
from privtrain.errors import IntegrityError, KeyAccessError, NotFoundError
from privtrain.workspace import Workspace


@dataclass(frozen=True)
class ModelInfo:
    """A model as its verified card describes it (plus catalog bookkeeping: id, status,
    creation time and identity)."""

    id: str
    name: str
    version: int
    status: str
    epsilon: float | None
    delta: float | None
    accountant: str | None
    content_sha256: str
    datasets: list[dict[str, Any]]
    created_at: str
    created_by: str
    non_private: bool = False

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["ref"] = self.ref
        return d


def _info(m: Model) -> ModelInfo:
    """ModelInfo of a row returned by :func:`get` / :func:`store` (facts from its verified
    card). IntegrityError for a row whose card was not verified."""
    stmt = getattr(m, "verified_statement", None)
    if stmt is None:
        raise IntegrityError(f"model {m.name}@v{m.version}: its card was not verified")
    pred = stmt["predicate"]
    priv = pred.get("privacy") or {}
    eps = priv.get("epsilon")
    return ModelInfo(
        id=m.id,
        name=m.name,
        version=m.version,
        status=m.status,
        epsilon=None if eps is None else float(eps),
        delta=priv.get("delta"),
        accountant=priv.get("accountant"),
        content_sha256=modelcard.subject_digest(stmt),
        datasets=list(pred.get("datasets") or []),
        created_at=m.created_at.isoformat() if m.created_at else "",
        created_by=m.created_by,
        non_private=bool(priv.get("non_private")) or eps is None,
    )


def _same_float(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return False
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    return abs(fa - fb) <= 1e-9 * max(1.0, abs(fa), abs(fb))


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _verify_card(ws: Workspace, row: Model) -> dict[str, Any]:
    """Verify the card's signature and that every catalog column agrees with it; attach the
    verified statement to ``row`` and return it. IntegrityError otherwise (exit 5)."""
    what = f"model {row.name}@v{row.version}"
    if not isinstance(row.card_json, dict):
        raise IntegrityError(f"{what}: model card is missing or malformed (card_json)")
    stmt = modelcard.verify(row.card_json, ws.keys.signing_key("model").public_key(), what=what)
    try:
        subject = stmt["subject"][0]
        pred = stmt["predicate"]
        priv = pred["privacy"]
        if not isinstance(pred, dict) or not isinstance(priv, dict):
            raise TypeError("predicate")
    except (KeyError, IndexError, TypeError):
        raise IntegrityError(f"{what}: signed card lacks subject or privacy facts") from None
    if subject.get("name") != f"model:{row.name}@v{row.version}":
        raise IntegrityError(f"{what}: the signed card names another model")
    if modelcard.subject_digest(stmt) != row.content_sha256:
        raise IntegrityError(f"{what}: catalog sha256 differs from the signed card")
    eps = priv.get("epsilon")
    checks = {
        "epsilon": _same_float(row.epsilon, eps),
        "delta": _same_float(row.delta, priv.get("delta")),
        "accountant": row.accountant == priv.get("accountant"),
        "datasets": _canon(row.datasets_json) == _canon(pred.get("datasets")),
    }
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise IntegrityError(f"{what}: catalog {', '.join(bad)} differ from the signed card")
    row.verified_statement = stmt  # type: ignore[attr-defined]
    return stmt


def model_context(model_id: str, name: str, version: int) -> dict[str, str | int]:
    return {"kind": "model", "id": model_id, "name": name, "version": version}


def store(
    ws: Workspace,
    name: str,
    model_bytes: bytes,
    *,
    predicate: dict[str, Any],
    datasets: list[dict[str, Any]],
    train_config: dict[str, Any],
    epsilon: float | None,
    delta: float | None,
    accountant: str | None,
    session_hook: Any = None,
) -> ModelInfo:
    """Encrypt ``model_bytes`` into the catalog with a signed card. ``session_hook(session,
    model_id)`` runs inside the registering transaction (the ledger commits there)."""
    check_name(name, "model")
    with ws.key_use():
        model_id = uuid.uuid4().hex
        with ws.catalog.session() as s:
            version = len(model_versions(s, name)) + 1
        digest = hashlib.sha256(model_bytes).hexdigest()
        stmt = modelcard.statement(f"model:{name}@v{version}", digest, predicate)
        envelope = modelcard.sign(stmt, ws.keys.signing_key("model"))
        rel = f"blobs/{model_id}.ptb"
        dst = ws.blob_path(rel)
        try:
            with ws.cipher.writer(dst, model_context(model_id, name, version)) as w:
                w.write(model_bytes)
            sealed = w.sealed
            now = datetime.now(UTC)
            with ws.write() as s:
                wrapped = ws.current_wrap(dst, sealed.wrapped_key)
                row = Model(
                    id=model_id,
                    name=name,
                    version=version,
                    status="active",
                    datasets_json=datasets,
                    train_config_json=train_config,
                    card_json=envelope,
                    epsilon=None if epsilon is None or epsilon == float("inf") else float(epsilon),
                    delta=delta,
                    accountant=accountant,
                    content_sha256=digest,
                    blob_path=rel,
                    file_id=sealed.file_id.hex(),
                    created_at=now,
                    created_by=ws.settings.identity,
                )
                s.add(row)
                s.add(
                    DataKey(
                        file_id=sealed.file_id.hex(),
                        kek_id=wrapped.kek_id,
                        wrapped=wrapped.ciphertext,
                        created_at=now,
                    )
                )
                s.flush()
                if session_hook is not None:
                    session_hook(s, model_id)
                ws.record(
                    "model.register",
                    f"model:{name}@v{version}",
                    details={"model_id": model_id, "sha256": digest, "epsilon": row.epsilon},
                    session=s,
                )
                row.verified_statement = stmt  # type: ignore[attr-defined]
                info = _info(row)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                dst.unlink()
            raise
        return info


def get(ws: Workspace, ref: str) -> Model:
    """Resolve ``NAME``, ``NAME@vN`` or a model id (every version checked against its sealed
    head) and verify its card (see :func:`_verify_card`); the row carries the verified
    statement for :func:`_info`."""
    name, version = parse_ref(ref, "model")
    with ws.catalog.session() as s:
        rows = model_versions(s, name)
        if not rows and version is None:
            by_id = s.get(Model, ref)
            if by_id is not None:
                rows = [r for r in model_versions(s, by_id.name) if r.id == ref]
        if version is not None:
            rows = [r for r in rows if r.version == version]
        if not rows:
            raise NotFoundError(f"no model {ref!r} in the catalog (see `privtrain models ls`)")
        row = rows[-1]
        s.expunge(row)
    _verify_card(ws, row)
    return row


def list_models(ws: Workspace) -> list[ModelInfo]:
    """Every model version, facts from its verified card (IntegrityError on any mismatch)."""
    with ws.catalog.session() as s:
        rows = list(s.scalars(select(Model).order_by(Model.name, Model.version)))
        by_name: dict[str, list[Model]] = {}
        for r in rows:
            by_name.setdefault(r.name, []).append(r)
        heads = s.scalars(select(IntegrityHead.name).where(IntegrityHead.kind == "models"))
        for name in sorted(set(by_name) | set(heads)):
            verify_group(s, "models", name, by_name.get(name, []))
        verify_root(s, "models")
    for r in rows:
        _verify_card(ws, r)
    return [_info(r) for r in rows]


def _model_bytes(ws: Workspace, row: Model) -> bytes:
    with ws.catalog.session() as s:
        k = s.get(DataKey, row.file_id)
        if k is None:
            raise KeyAccessError(f"model {row.name}@v{row.version}: its data key is destroyed")
        key = WrappedKey(kek_id=k.kek_id, ciphertext=bytes(k.wrapped))
    return ws.cipher.decrypt_bytes(
        ws.blob_path(row.blob_path),
        key,
        expected_context=model_context(row.id, row.name, row.version),
    )


def _verified_bytes(ws: Workspace, ref: str) -> tuple[Model, dict[str, Any], bytes]:
    row = get(ws, ref)
    stmt = row.verified_statement  # type: ignore[attr-defined]
    data = _model_bytes(ws, row)
    if modelcard.subject_digest(stmt) != hashlib.sha256(data).hexdigest():
        raise IntegrityError(
            f"model {row.name}@v{row.version}: model bytes do not match the signed card's sha256"
        )
    return row, stmt, data


def verify_and_read(ws: Workspace, ref: str) -> tuple[Model, dict[str, Any], bytes]:
    """:func:`verify`, also returning the row and the verified model bytes (one decryption)."""
    with audited_failure(ws, "model.verify", f"model:{ref}"):
        row, stmt, data = _verified_bytes(ws, ref)
    ws.record(
        "model.verify",
        f"model:{row.name}@v{row.version}",
        decision="info",
        details={"model_id": row.id, "ok": True},
    )
    return row, stmt, data


def verify(ws: Workspace, ref: str) -> dict[str, Any]:
    """Verify card signature, subject digest against the decrypted model bytes, and the
    catalog's copy of the privacy facts. Returns the verified statement. Failures are
    audited (``model.verify``, decision ``deny``)."""
    return verify_and_read(ws, ref)[1]


def show(ws: Workspace, ref: str) -> ModelInfo:
    """Facts of one model version, from its verified card."""
    return _info(get(ws, ref))


def read_verified(ws: Workspace, ref: str) -> tuple[ModelInfo, bytes]:
    """The model's bytes, decrypted once and checked against its signed card (signature,
    subject digest). Failures are audited like :func:`verify`. Not an authorization: callers
    that serve the bytes (the access service, the empirical audit) decide first."""
    with audited_failure(ws, "model.verify", f"model:{ref}"):
        row, _, data = _verified_bytes(ws, ref)
    return _info(row), data


def verified_card(ws: Workspace, ref: str) -> dict[str, Any]:
    """The predicate of a verified card (the only place ε may be read from for decisions)."""
    return verify(ws, ref)["predicate"]


def export(ws: Workspace, ref: str, out: Path) -> ModelInfo:
    """Verify, then write the model bytes to ``out`` (temp + fsync + rename)."""
    from privtrain._io import atomic_write_bytes

    row = get(ws, ref)
    from privtrain.access import authorize  # the one authorizer (deny by default, audited)

    authorize(ws, None, "model.export", f"model:{row.name}@v{row.version}")
    _, stmt, data = verify_and_read(ws, ref)
    priv = stmt["predicate"].get("privacy", {})
    if priv.get("non_private") or priv.get("epsilon") is None:
        ws.record(
            "model.export",
            f"model:{row.name}@v{row.version}",
            decision="deny",
            details={"reason": "non-private model"},
        )
        from privtrain.errors import AccessDenied

        raise AccessDenied(
            f"model {row.name}@v{row.version} was trained without differential privacy and "
            "cannot be exported"
        )
    atomic_write_bytes(Path(out), data)
    ws.record("model.export", f"model:{row.name}@v{row.version}", details={"model_id": row.id})
    return _info(row)
