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
"""

from privtrain.catalog._db import Catalog
from privtrain.catalog._models import (
    AuditCheckpoint,
    AuditEvent,
    Budget,
    DataKey,
    Dataset,
    Model,
    Principal,
    Run,
    RunDataset,
    new_id,
    utcnow,
)

__all__ = [
    "AuditCheckpoint",
    "AuditEvent",
    "Budget",
    "Catalog",
    "DataKey",
    "Dataset",
    "Model",
    "Principal",
    "Run",
    "RunDataset",
    "new_id",
    "utcnow",
]
