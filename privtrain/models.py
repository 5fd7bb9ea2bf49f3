"""Model artifacts: encrypted model blobs with signed model cards, and their verification.

``store`` encrypts the serialized model into the catalog and signs its card (DSSE over an
in-toto statement, Ed25519 key ``model`` from the keyring). ``verify`` decrypts the model,
recomputes its SHA-256 and checks the card's signature, subject digest and catalog facts: an
edited card or edited model bytes fail with IntegrityError.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from privtrain import modelcard
from privtrain.catalog import DataKey, Model
from privtrain.crypto import WrappedKey
from privtrain.errors import IntegrityError, KeyAccessError, NotFoundError
from privtrain.workspace import Workspace


@dataclass(frozen=True)
class ModelInfo:
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

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["ref"] = self.ref
        return d


def _info(m: Model) -> ModelInfo:
    return ModelInfo(
        id=m.id,
        name=m.name,
        version=m.version,
        status=m.status,
        epsilon=m.epsilon,
        delta=m.delta,
        accountant=m.accountant,
        content_sha256=m.content_sha256,
        datasets=m.datasets_json or [],
        created_at=m.created_at.isoformat() if m.created_at else "",
        created_by=m.created_by,
    )


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
    model_id = uuid.uuid4().hex
    with ws.catalog.session() as s:
        version = (s.scalar(select(func.max(Model.version)).where(Model.name == name)) or 0) + 1
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
                    kek_id=sealed.wrapped_key.kek_id,
                    wrapped=sealed.wrapped_key.ciphertext,
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
            info = _info(row)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            dst.unlink()
        raise
    return info


def get(ws: Workspace, ref: str) -> Model:
    name, _, v = ref.rpartition("@v") if "@v" in ref else (ref, "", "")
    with ws.catalog.session() as s:
        if v:
            if not v.isdigit():
                raise NotFoundError(f"invalid model reference {ref!r}: expected NAME or NAME@vN")
            q = select(Model).where(Model.name == name, Model.version == int(v))
        else:
            q = select(Model).where((Model.name == ref) | (Model.id == ref))
        row = s.scalars(q.order_by(Model.version.desc())).first()
        if row is None:
            raise NotFoundError(f"no model {ref!r} in the catalog (see `privtrain models ls`)")
        s.expunge(row)
        return row


def list_models(ws: Workspace) -> list[ModelInfo]:
    with ws.catalog.session() as s:
        return [_info(m) for m in s.scalars(select(Model).order_by(Model.name, Model.version))]


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


def verify(ws: Workspace, ref: str) -> dict[str, Any]:
    """Verify card signature, subject digest against the decrypted model bytes, and the
    catalog's copy of the privacy facts. Returns the verified statement."""
    row = get(ws, ref)
    what = f"model {row.name}@v{row.version}"
    stmt = modelcard.verify(row.card_json, ws.keys.signing_key("model").public_key(), what=what)
    digest = hashlib.sha256(_model_bytes(ws, row)).hexdigest()
    if modelcard.subject_digest(stmt) != digest:
        raise IntegrityError(f"{what}: model bytes do not match the signed card's sha256")
    if row.content_sha256 != digest:
        raise IntegrityError(f"{what}: catalog sha256 does not match the model bytes")
    if stmt["subject"][0].get("name") != f"model:{row.name}@v{row.version}":
        raise IntegrityError(f"{what}: the signed card names another model")
    pred = stmt["predicate"]
    eps = pred.get("privacy", {}).get("epsilon")
    if row.epsilon is not None and (eps is None or abs(float(eps) - row.epsilon) > 1e-9):
        raise IntegrityError(f"{what}: catalog ε differs from the signed card")
    ws.record(
        "model.verify",
        f"model:{row.name}@v{row.version}",
        decision="info",
        details={"model_id": row.id, "ok": True},
    )
    return stmt


def verified_card(ws: Workspace, ref: str) -> dict[str, Any]:
    """The predicate of a verified card (the only place ε may be read from for decisions)."""
    return verify(ws, ref)["predicate"]


def export(ws: Workspace, ref: str, out: Path) -> ModelInfo:
    """Verify, then write the model bytes to ``out`` (temp + fsync + rename)."""
    from privtrain._io import atomic_write_bytes

    row = get(ws, ref)
    stmt = verify(ws, ref)
    if stmt["predicate"].get("privacy", {}).get("non_private"):
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
    atomic_write_bytes(Path(out), _model_bytes(ws, row))
    ws.record("model.export", f"model:{row.name}@v{row.version}", details={"model_id": row.id})
    return _info(row)
