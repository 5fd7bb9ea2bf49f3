"""initial catalog schema

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types (migrations must not import the live models).
UTC_TS = sa.DateTime(timezone=True)
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(255), nullable=False),
        sa.Column("sensitivity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("schema_json", sa.JSON(), nullable=False),
        sa.Column("deid_report_json", sa.JSON(), nullable=True),
        sa.Column("blob_path", sa.String(1024), nullable=False),
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(64), nullable=False),
        sa.Column("plaintext_bytes", sa.BigInteger(), nullable=False),
        sa.Column("source_name", sa.String(1024), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_datasets_name_version")),
        sa.UniqueConstraint("file_id", name=op.f("uq_datasets_file_id")),
        sa.CheckConstraint(
            "sensitivity IN ('raw', 'deidentified')", name=op.f("ck_datasets_sensitivity")
        ),
        sa.CheckConstraint("status IN ('active', 'shredded')", name=op.f("ck_datasets_status")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_datasets_version_positive")),
    )
    op.create_index(op.f("ix_datasets_name"), "datasets", ["name"])

    op.create_table(
        "data_keys",
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("kek_id", sa.String(255), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("rotated_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_data_keys")),
    )
    op.create_index(op.f("ix_data_keys_kek_id"), "data_keys", ["kek_id"])

    op.create_table(
        "budgets",
        sa.Column("dataset_name", sa.String(255), nullable=False),
        sa.Column("epsilon_total", sa.Double(), nullable=False),
        sa.Column("delta", sa.Double(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("dataset_name", name=op.f("pk_budgets")),
        sa.CheckConstraint("epsilon_total >= 0", name=op.f("ck_budgets_epsilon_nonneg")),
        sa.CheckConstraint("delta >= 0 AND delta < 1", name=op.f("ck_budgets_delta_range")),
    )

    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("history_json", sa.JSON(), nullable=False),
        sa.Column("delta", sa.Double(), nullable=False),
        sa.Column("accountant", sa.String(16), nullable=False),
        sa.Column("neighbouring", sa.String(16), nullable=False),
        sa.Column("epsilon_planned", sa.Double(), nullable=False),
        sa.Column("epsilon_actual", sa.Double(), nullable=True),
        sa.Column("model_id", sa.String(32), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("owner_host", sa.String(255), nullable=False),
        sa.Column("meta_json", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.CheckConstraint(
            "kind IN ('train', 'federated', 'deid-stats')", name=op.f("ck_runs_kind")
        ),
        sa.CheckConstraint(
            "status IN ('reserved', 'committed', 'released')", name=op.f("ck_runs_status")
        ),
        sa.CheckConstraint("accountant IN ('prv', 'rdp')", name=op.f("ck_runs_accountant")),
        sa.CheckConstraint(
            "neighbouring IN ('add_remove', 'replace_one')", name=op.f("ck_runs_neighbouring")
        ),
    )
    op.create_index(op.f("ix_runs_status"), "runs", ["status"])

    op.create_table(
        "run_datasets",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("dataset_name", sa.String(255), nullable=False),
        sa.Column("dataset_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "dataset_id", name=op.f("pk_run_datasets")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_datasets_run_id_runs"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_run_datasets_dataset_name"), "run_datasets", ["dataset_name"])

    op.create_table(
        "models",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("datasets_json", sa.JSON(), nullable=False),
        sa.Column("train_config_json", sa.JSON(), nullable=False),
        sa.Column("card_json", sa.JSON(), nullable=True),
        sa.Column("epsilon", sa.Double(), nullable=True),
        sa.Column("delta", sa.Double(), nullable=True),
        sa.Column("accountant", sa.String(16), nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("blob_path", sa.String(1024), nullable=False),
        sa.Column("file_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_models_name_version")),
        sa.UniqueConstraint("file_id", name=op.f("uq_models_file_id")),
    )
    op.create_index(op.f("ix_models_name"), "models", ["name"])

    op.create_table(
        "principals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("roles_json", sa.JSON(), nullable=False),
        sa.Column("attributes_json", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principals")),
        sa.UniqueConstraint("name", name=op.f("uq_principals_name")),
    )

    op.create_table(
        "audit_events",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(1024), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
        sa.CheckConstraint(
            "decision IN ('allow', 'deny', 'info')", name=op.f("ck_audit_events_decision")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_audit_events_seq_positive")),
    )
    op.create_index(op.f("ix_audit_events_actor"), "audit_events", ["actor"])

    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("first_seq", SEQ, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
        sa.CheckConstraint(
            "first_seq >= 1 AND first_seq <= seq", name=op.f("ck_audit_checkpoints_window")
        ),
    )


def downgrade() -> None:
    for table in (
        "audit_checkpoints",
        "audit_events",
        "principals",
        "models",
        "run_datasets",
        "runs",
        "budgets",
        "data_keys",
        "datasets",
    ):
        op.drop_table(table)
