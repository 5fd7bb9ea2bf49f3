"""ledger privacy fields (executed steps, non-private runs)

Adds ``runs.executed_json``: the mechanism history a run has executed (or is about to execute)
on the rows, recorded write-ahead by the trainer, so a failed or killed run is charged at least
what it ran. Non-private runs need no column: their history has noise multiplier 0 (ε = ∞).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as b:
        b.add_column(sa.Column("executed_json", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as b:
        b.drop_column("executed_json")
