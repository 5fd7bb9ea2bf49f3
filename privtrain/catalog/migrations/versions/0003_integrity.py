"""authenticated catalog rows (MACs)

Adds ``row_mac`` (HMAC-SHA256 over the row, see privtrain.catalog._integrity) to the rows the
ledger and the registry compute from, ``mac`` to audit events, and the ``integrity_heads``
table (sealed per-group row counts and keyed sums, so deleted or replayed rows are caught).

Rows that existed before this revision have no MAC: a catalog holding them must be sealed
once by the custodian (``privtrain keys seal-catalog``) before privtrain reads it again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEALED = ("datasets", "budgets", "runs", "run_datasets", "models")


def upgrade() -> None:
    for table in _SEALED:
        with op.batch_alter_table(table) as b:
            b.add_column(sa.Column("row_mac", sa.String(64), nullable=True))
    with op.batch_alter_table("audit_events") as b:
        b.add_column(sa.Column("mac", sa.String(64), nullable=True))
    op.create_table(
        "integrity_heads",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("acc", sa.String(64), nullable=False),
        sa.Column("row_mac", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_integrity_heads")),
    )


def downgrade() -> None:
    op.drop_table("integrity_heads")
    with op.batch_alter_table("audit_events") as b:
        b.drop_column("mac")
    for table in reversed(_SEALED):
        with op.batch_alter_table(table) as b:
            b.drop_column("row_mac")
