"""Work items and job dispatch time: PostgreSQL alone knows what work is unfinished.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("crawl_jobs") as batch:
        batch.add_column(
            sa.Column("dispatched_at", TS, comment="when the dispatcher turned it into work")
        )
    op.create_index("ix_crawl_jobs_dispatched", "crawl_jobs", ["status", "dispatched_at"])
    active = sa.text("status IN ('queued', 'running')")
    op.create_index(
        "uq_crawl_jobs_active_group",
        "crawl_jobs",
        ["group_id"],
        unique=True,
        postgresql_where=active,
        sqlite_where=active,
    )
    op.create_table(
        "work_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, comment="the item's number within its job"),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            comment="ids only: the posts of a comments batch",
        ),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "claimed_by",
            sa.String(64),
            comment="the task id running it (a retry keeps its id)",
        ),
        sa.Column("error", sa.Text()),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            comment="counts and the items skipped for a permanent reason",
        ),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", TS),
        sa.CheckConstraint(
            "status IN ('pending', 'enqueued', 'running', 'done', 'failed', 'skipped')",
            name=op.f("ck_work_items_status_values"),
        ),
        sa.CheckConstraint("kind IN ('wall', 'comments')", name=op.f("ck_work_items_kind_values")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["crawl_jobs.id"],
            ondelete="CASCADE",
            name=op.f("fk_work_items_job_id_crawl_jobs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
    )
    op.create_index(
        "ix_work_items_job_kind_seq", "work_items", ["job_id", "kind", "seq"], unique=True
    )
    op.create_index("ix_work_items_status_updated", "work_items", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_table("work_items")
    op.drop_index("uq_crawl_jobs_active_group", table_name="crawl_jobs")
    op.drop_index("ix_crawl_jobs_dispatched", table_name="crawl_jobs")
    with op.batch_alter_table("crawl_jobs") as batch:
        batch.drop_column("dispatched_at")
