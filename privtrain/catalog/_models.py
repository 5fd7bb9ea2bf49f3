"""Catalog tables (SQLAlchemy 2 declarative, typed ``Mapped[]`` columns).

The schema is created and evolved only through the Alembic migrations shipped in
``privtrain/catalog/migrations``; a test compares these models with the migrated schema so
the two never drift apart.

String ids are uuid4 hex unless noted. Timestamps are timezone-aware UTC on every backend
(SQLite stores them naive; :class:`UTCDateTime` re-attaches UTC when reading).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh uuid4 hex id."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands back aware UTC datetimes.

    Naive values given to the database are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Integer on SQLite (INTEGER PRIMARY KEY is the rowid), BIGINT elsewhere.
SeqInt = BigInteger().with_variant(Integer(), "sqlite")

# JSON column whose Python None is SQL NULL (not the JSON literal ``null``).
NullableJSON = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Dataset(Base):
    """One version of an encrypted dataset (the blob lives in the home, the key in data_keys)."""

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        CheckConstraint("sensitivity IN ('raw', 'deidentified')", name="sensitivity"),
        CheckConstraint("status IN ('active', 'shredded')", name="status"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(255), default="local")
    sensitivity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    schema_json: Mapped[Any] = mapped_column(JSON)
    deid_report_json: Mapped[Any | None] = mapped_column(NullableJSON, nullable=True)
    blob_path: Mapped[str] = mapped_column(String(1024))
    file_id: Mapped[str] = mapped_column(String(64), unique=True)
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    plaintext_bytes: Mapped[int] = mapped_column(BigInteger)
    source_name: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    # Migration 0003: HMAC-SHA256 over the row (privtrain.catalog._integrity).
    row_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def ref(self) -> str:
        """``name@vN``."""
        return f"{self.name}@v{self.version}"


class DataKey(Base):
    """A blob's wrapped data key. Deleting the row crypto-shreds the blob."""

    __tablename__ = "data_keys"

    file_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(255), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Budget(Base):
    """Privacy budget of a dataset name (covers every version of that name)."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("epsilon_total >= 0", name="epsilon_nonneg"),
        CheckConstraint("delta >= 0 AND delta < 1", name="delta_range"),
    )

    dataset_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    epsilon_total: Mapped[float] = mapped_column(Double)
    delta: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))
    # Migration 0003: HMAC-SHA256 over the row (privtrain.catalog._integrity).
    row_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Run(Base):
    """A training run (or federated round series / de-id statistics) charged to the ledger."""

    __tablename__ = "runs"
    __table_args__ = (
        # Migration 0006: 'audit', the training run of an empirical privacy audit.
        CheckConstraint("kind IN ('train', 'federated', 'deid-stats', 'audit')", name="kind"),
        CheckConstraint("status IN ('reserved', 'committed', 'released')", name="status"),
        CheckConstraint("accountant IN ('prv', 'rdp')", name="accountant"),
        CheckConstraint("neighbouring IN ('add_remove', 'replace_one')", name="neighbouring"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="reserved", index=True)
    history_json: Mapped[Any] = mapped_column(JSON)
    delta: Mapped[float] = mapped_column(Double)
    accountant: Mapped[str] = mapped_column(String(16), default="prv")
    neighbouring: Mapped[str] = mapped_column(String(16), default="add_remove")
    epsilon_planned: Mapped[float] = mapped_column(Double)
    epsilon_actual: Mapped[float | None] = mapped_column(Double, nullable=True)
    model_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owner_pid: Mapped[int] = mapped_column(Integer)
    owner_host: Mapped[str] = mapped_column(String(255))
    meta_json: Mapped[Any] = mapped_column(JSON, default=dict)
    # Migration 0003: HMAC-SHA256 over the row (privtrain.catalog._integrity).
    row_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Migration 0004: what the run has executed (or is about to execute) on the rows, recorded
    # write-ahead; the least a failed or killed run is charged.
    executed_json: Mapped[Any | None] = mapped_column(NullableJSON, nullable=True)


class RunDataset(Base):
    """Which dataset versions a run read (the ledger composes runs per dataset name)."""

    __tablename__ = "run_datasets"

    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    dataset_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_name: Mapped[str] = mapped_column(String(255), index=True)
    dataset_version: Mapped[int] = mapped_column(Integer)
    # Migration 0003: HMAC-SHA256 over the row (privtrain.catalog._integrity).
    row_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Model(Base):
    """A trained model: encrypted blob, signed model card, privacy cost."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    datasets_json: Mapped[Any] = mapped_column(JSON)
    train_config_json: Mapped[Any] = mapped_column(JSON)
    card_json: Mapped[Any | None] = mapped_column(NullableJSON, nullable=True)
    epsilon: Mapped[float | None] = mapped_column(Double, nullable=True)
    delta: Mapped[float | None] = mapped_column(Double, nullable=True)
    accountant: Mapped[str | None] = mapped_column(String(16), nullable=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    blob_path: Mapped[str] = mapped_column(String(1024))
    file_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    # Migration 0003: HMAC-SHA256 over the row (privtrain.catalog._integrity).
    row_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def ref(self) -> str:
        """``name@vN``."""
        return f"{self.name}@v{self.version}"


class Principal(Base):
    """A user or service known to the access layer."""

    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    roles_json: Mapped[Any] = mapped_column(JSON, default=list)
    attributes_json: Mapped[Any] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Added by migration 0005 (access control). ``mac``: HMAC over the row (privtrain.access).
    kind: Mapped[str] = mapped_column(String(16), default="user")
    site: Mapped[str] = mapped_column(String(255), default="local")
    status: Mapped[str] = mapped_column(String(16), default="active")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    mac: Mapped[str] = mapped_column(String(64), default="")


class AccessToken(Base):
    """A bearer token of a principal: only its SHA-256 is stored; ``mac`` authenticates the row."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scope_json: Mapped[Any] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(255))
    mac: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """One hash-chained audit event. Written only by :class:`privtrain.access.AuditLog`.

    ``seq`` is assigned by the appender (last seq + 1, under a lock), so it is gapless.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("decision IN ('allow', 'deny', 'info')", name="decision"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    seq: Mapped[int] = mapped_column(SeqInt, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(1024))
    decision: Mapped[str] = mapped_column(String(8))
    details_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Migration 0003: HMAC-SHA256 under the keyring's "audit" MAC key over ``hash``.
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


# Added by migration 0002 (so the models and the migrated schema match).
Index("ix_audit_events_action", AuditEvent.action)
Index("ix_audit_events_resource", AuditEvent.resource)


class IntegrityHead(Base):
    """A sealed head (migration 0003): the number of rows in a group and a keyed sum over
    their MACs, so that a deleted, replayed or hidden row is detected
    (privtrain.catalog._integrity)."""

    __tablename__ = "integrity_heads"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    acc: Mapped[str] = mapped_column(String(64))
    row_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditCheckpoint(Base):
    """An Ed25519-signed checkpoint over a window of audit events (``first_seq``..``seq``)."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (CheckConstraint("first_seq >= 1 AND first_seq <= seq", name="window"),)

    seq: Mapped[int] = mapped_column(SeqInt, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(SeqInt)
    head_hash: Mapped[str] = mapped_column(String(64))
    payload_json: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


__all__ = [
    "AccessToken",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "Budget",
    "DataKey",
    "Dataset",
    "IntegrityHead",
    "Model",
    "Principal",
    "Run",
    "RunDataset",
    "new_id",
    "utcnow",
]
