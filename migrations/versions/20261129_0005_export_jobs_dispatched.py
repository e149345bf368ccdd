"""Export jobs get a dispatch time, so the dispatcher publishes each queued export job once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.add_column(
            sa.Column("dispatched_at", TS, comment="when the dispatcher published it (outbox)")
        )


def downgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.drop_column("dispatched_at")
