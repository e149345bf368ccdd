"""Exports belong to the API key that asked for them; admin keys see every export.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column(
                "is_admin",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
                comment="sees every export, not only its own",
            )
        )
    with op.batch_alter_table("export_jobs") as batch:
        batch.add_column(
            sa.Column(
                "api_key_id",
                sa.BigInteger(),
                nullable=True,
                comment="the API key that asked for it; NULL: the CLI or beat",
            )
        )
        batch.create_foreign_key(
            op.f("fk_export_jobs_api_key_id_api_keys"),
            "api_keys",
            ["api_key_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_export_jobs_api_key", ["api_key_id", "id"])


def downgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.drop_index("ix_export_jobs_api_key")
        batch.drop_constraint(op.f("fk_export_jobs_api_key_id_api_keys"), type_="foreignkey")
        batch.drop_column("api_key_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("is_admin")
