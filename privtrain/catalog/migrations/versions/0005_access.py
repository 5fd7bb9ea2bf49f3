"""users, tokens and access-control tables

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("principals") as b:
        b.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="user"))
        b.add_column(sa.Column("site", sa.String(255), nullable=False, server_default="local"))
        b.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="active"))
        b.add_column(
            sa.Column(
                "updated_at", UTC_TS, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
            )
        )
        b.add_column(sa.Column("mac", sa.String(64), nullable=False, server_default=""))
    # Only the defaults for rows that existed before; new rows always set every column.
    with op.batch_alter_table("principals") as b:
        for col in ("kind", "site", "status", "updated_at", "mac"):
            b.alter_column(col, server_default=None)

    op.create_table(
        "access_tokens",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("scope_json", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=False),
        sa.Column("revoked_at", UTC_TS, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_access_tokens_token_sha256")),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_access_tokens_principal_id_principals"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_access_tokens_principal_id"), "access_tokens", ["principal_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_access_tokens_principal_id"), table_name="access_tokens")
    op.drop_table("access_tokens")
    with op.batch_alter_table("principals") as b:
        for col in ("mac", "updated_at", "status", "site", "kind"):
            b.drop_column(col)
