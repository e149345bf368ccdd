"""One crawl engine: a pool of VK calls packed into fetch batches, post reads, daily quotas.

Work items ("list this wall", "read these 25 posts") go: every VK call a job needs is a row in
`vk_calls`, packed with the calls of any other job into `fetch_batches` of up to 25 (one
`execute`), and `crawl_reads` follows each post whose comments a job reads. Jobs, groups and
posts gain what incremental listing, post-age tiers and budget-aware schedules need, and
`vk_quota_usage` counts each token's calls per method and day. Unfinished work items are not
carried over: the reconciler of this version does not know them, and the next crawl of their
groups reads what they would have read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.drop_table("work_items")
    with op.batch_alter_table("vk_groups") as batch:
        batch.add_column(sa.Column("wall_listed_until", TS))
        batch.add_column(sa.Column("effective_interval_minutes", sa.Integer()))
    with op.batch_alter_table("vk_posts") as batch:
        batch.add_column(sa.Column("comments_checked_at", TS))
        batch.add_column(sa.Column("comments_verified_at", TS))
    with op.batch_alter_table("crawl_jobs") as batch:
        batch.add_column(
            sa.Column("stage", sa.String(16), comment="listing, checking or reading while running")
        )
        batch.add_column(
            sa.Column(
                "calls", JSON, comment="VK calls answered, by method (the daily quotas' unit)"
            )
        )
        batch.add_column(
            sa.Column("runner", sa.String(64), comment="who carries it: fleet, or cli:<host>:<pid>")
        )
        batch.add_column(
            sa.Column("updated_at", TS, comment="last progress (a heartbeat of its runner)")
        )
    op.create_table(
        "fetch_batches",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("5"), nullable=False),
        sa.Column("calls", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("claimed_by", sa.String(64), comment="the task or thread running it"),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", TS),
        sa.CheckConstraint(
            _in("status", ("pending", "enqueued", "running", "done", "failed")),
            name=op.f("ck_fetch_batches_status_values"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fetch_batches")),
    )
    op.create_index("ix_fetch_batches_status_updated", "fetch_batches", ["status", "updated_at"])
    op.create_table(
        "vk_calls",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "post_id", sa.BigInteger(), comment="the post whose comments it reads (top, thread)"
        ),
        sa.Column("params", JSON, nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("5"), nullable=False),
        sa.Column("batch_id", sa.BigInteger()),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "request_share",
            sa.Float(),
            server_default=sa.text("0"),
            nullable=False,
            comment="its share of the requests its batches took",
        ),
        sa.Column("result", JSON, comment="what the post's completion needs: the ids it saw"),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            _in("status", ("pending", "batched", "done", "failed")),
            name=op.f("ck_vk_calls_status_values"),
        ),
        sa.CheckConstraint(
            _in("kind", ("wall", "check", "top", "thread")), name=op.f("ck_vk_calls_kind_values")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["crawl_jobs.id"],
            ondelete="CASCADE",
            name=op.f("fk_vk_calls_job_id_crawl_jobs"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["fetch_batches.id"],
            ondelete="SET NULL",
            name=op.f("fk_vk_calls_batch_id_fetch_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vk_calls")),
    )
    op.create_index("ix_vk_calls_pending", "vk_calls", ["status", "priority", "id"])
    op.create_index("ix_vk_calls_job_post", "vk_calls", ["job_id", "owner_id", "post_id"])
    op.create_index("ix_vk_calls_batch", "vk_calls", ["batch_id"])
    op.create_table(
        "crawl_reads",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("post_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "comments_count", sa.Integer(), nullable=False, comment="its watermark once read"
        ),
        sa.Column(
            "verify",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="every thread",
        ),
        sa.Column("status", sa.String(16), server_default="reading", nullable=False),
        sa.Column("comments", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint(
            _in("status", ("reading", "done", "failed", "skipped")),
            name=op.f("ck_crawl_reads_status_values"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["crawl_jobs.id"],
            ondelete="CASCADE",
            name=op.f("fk_crawl_reads_job_id_crawl_jobs"),
        ),
        sa.PrimaryKeyConstraint("job_id", "owner_id", "post_id", name=op.f("pk_crawl_reads")),
    )
    op.create_index("ix_crawl_reads_job_status", "crawl_reads", ["job_id", "status"])
    op.create_table(
        "vk_quota_usage",
        sa.Column(
            "day", sa.String(10), nullable=False, comment="the quota day (YYYY-MM-DD), its zone"
        ),
        sa.Column(
            "token_id", sa.String(16), nullable=False, comment="sha256 prefix, never the token"
        ),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "resting_until",
            TS,
            nullable=True,
            comment="VK answered error 29: the token rests from the method until then",
        ),
        sa.PrimaryKeyConstraint("day", "token_id", "method", name=op.f("pk_vk_quota_usage")),
    )


def downgrade() -> None:
    op.drop_table("vk_quota_usage")
    op.drop_table("crawl_reads")
    op.drop_table("vk_calls")
    op.drop_table("fetch_batches")
    with op.batch_alter_table("crawl_jobs") as batch:
        for column in ("updated_at", "runner", "calls", "stage"):
            batch.drop_column(column)
    with op.batch_alter_table("vk_posts") as batch:
        batch.drop_column("comments_verified_at")
        batch.drop_column("comments_checked_at")
    with op.batch_alter_table("vk_groups") as batch:
        batch.drop_column("effective_interval_minutes")
        batch.drop_column("wall_listed_until")
    op.create_table(
        "work_items",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, comment="the item's number within its job"),
        sa.Column("payload", JSON, comment="ids only: the posts of a comments batch"),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "claimed_by", sa.String(64), comment="the task id running it (a retry keeps its id)"
        ),
        sa.Column("error", sa.Text()),
        sa.Column("result", JSON, comment="counts and the items skipped for a permanent reason"),
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
