"""The privtrain catalog: datasets, data keys, budgets, runs, models, principals, audit log.

SQLAlchemy 2; SQLite by default (one file in the home), PostgreSQL by URL. The schema is
managed only by the Alembic migrations shipped in this package::

    cat = Catalog("sqlite:////path/to/home/catalog.db")
    cat.upgrade()                        # alembic upgrade head (idempotent)
    with cat.session() as s: ...         # commit on success, rollback on error
    with cat.write_transaction() as s:   # SQLite: BEGIN IMMEDIATE
        ...

The catalog never holds secrets in clear: data keys are stored wrapped by a key-encryption
key, and audit details must not carry key material or PII (see privtrain.access.auditlog).

Rows the ledger and the registry compute from are authenticated: with a
:class:`RowSealer` attached (``cat.attach_sealer(RowSealer(key))``, done by the workspace),
every session seals them on flush and verifies them on load, and readers check whole groups
against sealed heads (privtrain.catalog._integrity).
"""

from privtrain.catalog import _integrity  # noqa: F401  (registers the sealing hooks)
from privtrain.catalog._db import Catalog
from privtrain.catalog._integrity import RowSealer
from privtrain.catalog._models import (
    AccessToken,
    AuditCheckpoint,
    AuditEvent,
    Budget,
    DataKey,
    Dataset,
    IntegrityHead,
    Model,
    Principal,
    Run,
    RunDataset,
    new_id,
    utcnow,
)

__all__ = [
    "AccessToken",
    "AuditCheckpoint",
    "AuditEvent",
    "Budget",
    "Catalog",
    "DataKey",
    "Dataset",
    "IntegrityHead",
    "Model",
    "Principal",
    "Run",
    "RowSealer",
    "RunDataset",
    "new_id",
    "utcnow",
]
