"""Dataset lifecycle: import (encrypt + register), list, show, export (decrypt), shred.

A dataset is registered only after its blob is completely written, fsynced and renamed into
place, in one catalog transaction together with its wrapped data key and its audit event: the
catalog never lists a half-written dataset. Shredding destroys the wrapped data key; the blob is
unreadable from then on, whatever copies of it exist.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from privtrain.catalog import DataKey, Dataset, IntegrityHead
from privtrain.catalog._integrity import dataset_versions, verify_group, verify_root
from privtrain.crypto import SealedBlob, WrappedKey
from privtrain.errors import (
    BusyError,
    InputError,
    IntegrityError,
    KeyAccessError,
    NotFoundError,
)
from privtrain.workspace import Workspace

SENSITIVITIES = ("raw", "deidentified")
# Versions are positive 32-bit integers, written in ASCII digits.
_VERSION = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    name: str
    version: int
    site: str
    sensitivity: str
    status: str
    plaintext_bytes: int
    ciphertext_sha256: str
    file_id: str
    source_name: str | None
    created_at: str
    created_by: str
    schema: dict[str, Any] | None
    has_deid_report: bool

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["ref"] = self.ref
        return d


def _info(row: Dataset) -> DatasetInfo:
    return DatasetInfo(
        id=row.id,
        name=row.name,
        version=row.version,
        site=row.site,
        sensitivity=row.sensitivity,
        status=row.status,
        plaintext_bytes=row.plaintext_bytes,
        ciphertext_sha256=row.ciphertext_sha256,
        file_id=row.file_id,
        source_name=row.source_name,
        created_at=row.created_at.isoformat() if row.created_at else "",
        created_by=row.created_by,
        schema=row.schema_json,
        has_deid_report=row.deid_report_json is not None,
    )


def dataset_context(dataset_id: str, name: str, version: int) -> dict[str, str | int]:
    return {"kind": "dataset", "id": dataset_id, "name": name, "version": version}


def check_name(name: str, what: str = "dataset") -> None:
    """InputError unless ``name`` is a valid dataset (or model) name: 1-128 ASCII letters,
    digits, '-', '_' or '.'."""
    if (
        not isinstance(name, str)
        or not name
        or len(name) > 128
        or not all((c.isascii() and c.isalnum()) or c in "-_." for c in name)
    ):
        raise InputError(
            f"invalid {what} name {name!r}: use 1-128 ASCII letters, digits, '-', '_' or '.'"
        )


def parse_ref(ref: str, what: str = "dataset") -> tuple[str, int | None]:
    """``NAME`` -> (NAME, None); ``NAME@vN`` -> (NAME, N); InputError for anything else that
    contains ``@v`` (a version must be 1-9 ASCII digits, at least 1)."""
    if not isinstance(ref, str) or not ref:
        raise InputError(f"empty {what} reference: expected NAME or NAME@vN")
    if "@v" in ref:
        name, _, v = ref.rpartition("@v")
        if not _VERSION.fullmatch(v) or int(v) < 1 or not name:
            raise InputError(
                f"invalid {what} reference {ref!r}: expected NAME or NAME@vN "
                "(N a version number from 1 to 999999999)"
            )
        return name, int(v)
    return ref, None


def _next_version(ws: Workspace, name: str) -> int:
    with ws.catalog.session() as s:
        return len(dataset_versions(s, name)) + 1


@contextmanager
def _staged_blob(ws: Workspace, name: str) -> Iterator[tuple[str, int, Path, dict[str, Any]]]:
    dataset_id = uuid.uuid4().hex
    rel = f"blobs/{dataset_id}.ptb"
    dst = ws.blob_path(rel)
    # A key rotation waits until this blob's data key is registered (and vice versa).
    with ws.key_use():
        version = _next_version(ws, name)
        try:
            yield dataset_id, version, dst, dataset_context(dataset_id, name, version)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                dst.unlink()
            raise


def _register(
    ws: Workspace,
    *,
    dataset_id: str,
    name: str,
    version: int,
    dst: Path,
    sealed: SealedBlob,
    sensitivity: str,
    site: str,
    schema: dict[str, Any] | None,
    deid_report: dict[str, Any] | None,
    source_name: str | None,
    action: str,
    extra_details: dict[str, Any] | None = None,
) -> DatasetInfo:
    row = Dataset(
        id=dataset_id,
        name=name,
        version=version,
        site=site,
        sensitivity=sensitivity,
        status="active",
        schema_json=schema,
        deid_report_json=deid_report,
        blob_path=str(dst.relative_to(ws.settings.home)),
        file_id=sealed.file_id.hex(),
        ciphertext_sha256=sealed.ciphertext_sha256,
        plaintext_bytes=sealed.plaintext_bytes,
        source_name=source_name,
        created_at=datetime.now(UTC),
        created_by=ws.settings.identity,
    )
    try:
        with ws.write() as s:
            # Under the KEK active now (a rotation since the blob was sealed re-wraps it here).
            wrapped = ws.current_wrap(dst, sealed.wrapped_key)
            key = DataKey(
                file_id=sealed.file_id.hex(),
                kek_id=wrapped.kek_id,
                wrapped=wrapped.ciphertext,
                created_at=datetime.now(UTC),
            )
            s.add(row)
            s.add(key)
            s.flush()
            ws.record(
                action,
                f"dataset:{name}@v{version}",
                details={
                    "dataset_id": dataset_id,
                    "sensitivity": sensitivity,
                    "bytes": sealed.plaintext_bytes,
                    "ciphertext_sha256": sealed.ciphertext_sha256,
                    **(extra_details or {}),
                },
                session=s,
            )
            info = _info(row)
    except SAIntegrityError as e:
        raise BusyError(
            f"dataset {name!r} version {version} was registered concurrently by another "
            "process; retry the import"
        ) from e
    return info


def import_file(
    ws: Workspace,
    path: Path,
    name: str,
    *,
    sensitivity: str = "raw",
    site: str = "local",
) -> DatasetInfo:
    """Store ``path`` encrypted and register it as a dataset (new version if ``name`` exists)."""
    check_name(name)
    if sensitivity not in SENSITIVITIES:
        raise InputError(f"sensitivity must be one of {SENSITIVITIES}, not {sensitivity!r}")
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"input file not found: {path}")
    with _staged_blob(ws, name) as (dataset_id, version, dst, context):
        sealed = ws.cipher.encrypt_file(path, dst, context)
        return _register(
            ws,
            dataset_id=dataset_id,
            name=name,
            version=version,
            dst=dst,
            sealed=sealed,
            sensitivity=sensitivity,
            site=site,
            schema=None,
            deid_report=None,
            source_name=path.name,
            action="dataset.import",
        )


def store_stream(
    ws: Workspace,
    name: str,
    produce: Callable[[BinaryIO], tuple[dict[str, Any] | None, dict[str, Any] | None]],
    *,
    sensitivity: str,
    source_name: str | None,
    site: str = "local",
    action: str = "dataset.ingest",
    audit_details: Callable[[], dict[str, Any]] | None = None,
) -> DatasetInfo:
    """Register a dataset whose plaintext is produced by ``produce(sink)`` straight into the
    encrypting writer (nothing in clear on disk). ``produce`` returns ``(schema, report)``.
    ``audit_details()``, called after ``produce``, adds details (never values from the data)
    to the registration's audit event, in the same transaction.
    If ``produce`` raises, nothing is registered and no blob is left."""
    check_name(name)
    with _staged_blob(ws, name) as (dataset_id, version, dst, context):
        with ws.cipher.writer(dst, context) as w:
            schema, report = produce(w)
        sealed = w.sealed
        return _register(
            ws,
            dataset_id=dataset_id,
            name=name,
            version=version,
            dst=dst,
            sealed=sealed,
            sensitivity=sensitivity,
            site=site,
            schema=schema,
            deid_report=report,
            source_name=source_name,
            action=action,
            extra_details=audit_details() if audit_details is not None else None,
        )


def _parse_ref(ref: str) -> tuple[str, int | None]:
    return parse_ref(ref)


def get(ws: Workspace, ref: str, *, include_shredded: bool = True) -> Dataset:
    """Resolve ``NAME``, ``NAME@vN`` or a dataset id to a catalog row (latest version).

    Every version of the name is loaded and checked against its sealed head, so a deleted
    newest version is an IntegrityError, never a silent roll-back to the one before."""
    name, version = parse_ref(ref)
    with ws.catalog.session() as s:
        rows = dataset_versions(s, name)
        if not rows and version is None:
            by_id = s.get(Dataset, ref)
            if by_id is not None:
                rows = [r for r in dataset_versions(s, by_id.name) if r.id == ref]
        if version is not None:
            rows = [r for r in rows if r.version == version]
        if not include_shredded:
            rows = [r for r in rows if r.status == "active"]
        if not rows:
            raise NotFoundError(f"no dataset {ref!r} in the catalog (see `privtrain datasets ls`)")
        row = rows[-1]
        s.expunge(row)
        return row


def show(ws: Workspace, ref: str) -> DatasetInfo:
    return _info(get(ws, ref))


def deid_report(ws: Workspace, ref: str) -> dict[str, Any]:
    row = get(ws, ref)
    if row.deid_report_json is None:
        raise NotFoundError(f"dataset {row.name}@v{row.version} has no de-identification report")
    return row.deid_report_json


def list_datasets(ws: Workspace, *, all_versions: bool = True) -> list[DatasetInfo]:
    with ws.catalog.session() as s:
        rows = s.scalars(select(Dataset).order_by(Dataset.name, Dataset.version)).all()
        by_name: dict[str, list[Dataset]] = {}
        for r in rows:
            by_name.setdefault(r.name, []).append(r)
        heads = s.scalars(select(IntegrityHead.name).where(IntegrityHead.kind == "datasets"))
        for name in sorted(set(by_name) | set(heads)):
            verify_group(s, "datasets", name, by_name.get(name, []))
        verify_root(s, "datasets")
        infos = [_info(r) for r in rows]
    if not all_versions:
        latest: dict[str, DatasetInfo] = {}
        for i in infos:
            latest[i.name] = i
        infos = list(latest.values())
    return infos


def _key_for(ws: Workspace, row: Dataset) -> WrappedKey:
    with ws.catalog.session() as s:
        key = s.get(DataKey, row.file_id)
        if key is None:
            return None  # type: ignore[return-value]
        return WrappedKey(kek_id=key.kek_id, ciphertext=bytes(key.wrapped))


class _Shredded(KeyAccessError):
    """Reading a shredded dataset (audited with reason ``shredded``)."""


def _readable(ws: Workspace, row: Dataset, action: str) -> WrappedKey:
    key = _key_for(ws, row) if row.status == "active" else None
    if key is None:
        raise _Shredded(
            f"dataset {row.name}@v{row.version} was shredded: its data key is destroyed and "
            "the blob can never be decrypted"
        )
    return key


def stream_plaintext(ws: Workspace, row: Dataset, *, action: str) -> Iterator[memoryview]:
    """The verified plaintext of dataset ``row`` as chunks (:meth:`BlobCipher.decrypt_iter`).
    Not an authorization: the caller (the access service) decided first. A shredded dataset
    raises KeyAccessError here, before any byte is produced."""
    key = _readable(ws, row, action)
    ctx = dataset_context(row.id, row.name, row.version)
    return ws.cipher.decrypt_iter(ws.blob_path(row.blob_path), key, ctx)


@contextmanager
def audited_failure(ws: Workspace, action: str, resource: str) -> Iterator[None]:
    """Record a read that failed on authentication or key access as a ``deny`` event (the
    error goes on to the caller). For every read path of datasets and models."""
    try:
        yield
    except (IntegrityError, KeyAccessError) as e:
        reason = "shredded" if isinstance(e, _Shredded) else e.kind
        with contextlib.suppress(Exception):  # never mask the original error
            ws.record(
                action,
                resource,
                decision="deny",
                details={"reason": reason, "error": str(e)[:300]},
            )
        raise


def export(ws: Workspace, ref: str, dst: Path) -> DatasetInfo:
    """Decrypt a dataset to ``dst`` (written atomically after full verification: a killed
    export leaves no partial plaintext, see BlobCipher.decrypt_file). Failed reads are
    audited."""
    with audited_failure(ws, "dataset.export", f"dataset:{ref}"):
        row = get(ws, ref)
    from privtrain.access import authorize  # the one authorizer (deny by default, audited)

    authorize(ws, None, "dataset.export", f"dataset:{row.name}@v{row.version}")
    with audited_failure(ws, "dataset.export", f"dataset:{row.name}@v{row.version}"):
        key = _readable(ws, row, "dataset.export")
        ctx = dataset_context(row.id, row.name, row.version)
        ws.cipher.decrypt_file(ws.blob_path(row.blob_path), Path(dst), key, expected_context=ctx)
    ws.record(
        "dataset.export", f"dataset:{row.name}@v{row.version}", details={"dataset_id": row.id}
    )
    return _info(row)


def parse_table(info: DatasetInfo, data: bytes) -> Any:
    """A decrypted dataset's bytes as a ``pyarrow.Table`` (Parquet, JSON Lines or CSV);
    InputError naming the dataset when they are not a readable table."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if data[:4] == b"PAR1":
            return pq.read_table(pa.BufferReader(data))
        if (info.source_name or "").lower().endswith((".jsonl", ".ndjson")):
            import pyarrow.json as pajson

            return pajson.read_json(pa.BufferReader(data))
        return pacsv.read_csv(pa.BufferReader(data))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise InputError(f"dataset {info.ref} is not a readable table: {e}") from e


def read_table(
    ws: Workspace, ref: str, *, purpose: str = "dataset.read"
) -> tuple[DatasetInfo, Any]:
    """:func:`read_bytes`, then :func:`parse_table`: (DatasetInfo, pyarrow.Table)."""
    info, data = read_bytes(ws, ref, purpose=purpose)
    return info, parse_table(info, data)


def read_bytes(
    ws: Workspace, ref: str, *, purpose: str = "dataset.read"
) -> tuple[DatasetInfo, bytes]:
    """Decrypt a dataset into memory (fully verified before returning); audited, failed
    reads included."""
    with audited_failure(ws, purpose, f"dataset:{ref}"):
        row = get(ws, ref, include_shredded=True)
    from privtrain.access import authorize  # the one authorizer (deny by default, audited)

    authorize(ws, None, "dataset.read", f"dataset:{row.name}@v{row.version}")
    with audited_failure(ws, purpose, f"dataset:{row.name}@v{row.version}"):
        key = _readable(ws, row, purpose)
        ctx = dataset_context(row.id, row.name, row.version)
        data = ws.cipher.decrypt_bytes(ws.blob_path(row.blob_path), key, expected_context=ctx)
    ws.record(purpose, f"dataset:{row.name}@v{row.version}", details={"dataset_id": row.id})
    return _info(row), data


def shred(ws: Workspace, ref: str) -> DatasetInfo:
    """Destroy the dataset's data key (crypto-shredding), then delete its blob file."""
    row = get(ws, ref)
    from privtrain.access import authorize  # shredding: admins (and the custodian) only

    authorize(ws, None, "dataset.shred", f"dataset:{row.name}@v{row.version}")
    if row.status == "shredded":
        raise NotFoundError(f"dataset {row.name}@v{row.version} is already shredded")
    with ws.write() as s:
        key = s.get(DataKey, row.file_id)
        if key is not None:
            s.delete(key)
        live = s.get(Dataset, row.id)
        live.status = "shredded"
        ws.record(
            "dataset.shred",
            f"dataset:{row.name}@v{row.version}",
            details={"dataset_id": row.id, "file_id": row.file_id},
            session=s,
        )
    _purge_sqlite_wal(ws)
    with contextlib.suppress(FileNotFoundError):
        ws.blob_path(row.blob_path).unlink()
    return _info(get(ws, row.id))


def _purge_sqlite_wal(ws: Workspace) -> None:
    """With SQLite, fold the WAL back into the (secure_delete) database file so that the
    destroyed wrapped key does not linger in the write-ahead log."""
    if ws.catalog.dialect_name != "sqlite":
        return
    from sqlalchemy import text

    with contextlib.suppress(Exception), ws.catalog.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        c.execute(text("SELECT 1"))
