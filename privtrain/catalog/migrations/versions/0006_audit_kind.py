"""ledger run kind ``audit`` (the training run of an empirical privacy audit)

An empirical audit trains a DP model of its own on the private rows; it is charged to the ledger
as what it is — kind ``audit`` — instead of a ``train`` run with a purpose note. Only the
``runs.kind`` CHECK constraint changes; existing rows (and their MACs) are untouched. SQLite
needs batch mode (the table is recreated; its other named CHECK constraints are reflected and
kept); PostgreSQL drops and re-adds the constraint in place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "kind IN ('train', 'federated', 'deid-stats')"
_NEW = "kind IN ('train', 'federated', 'deid-stats', 'audit')"


def upgrade() -> None:
    with op.batch_alter_table("runs") as b:
        b.drop_constraint(op.f("ck_runs_kind"), type_="check")
        b.create_check_constraint(op.f("ck_runs_kind"), _NEW)


def downgrade() -> None:
    # Refused by the constraint while audit runs exist: an audit charge is never rewritten.
    with op.batch_alter_table("runs") as b:
        b.drop_constraint(op.f("ck_runs_kind"), type_="check")
        b.create_check_constraint(op.f("ck_runs_kind"), _OLD)
