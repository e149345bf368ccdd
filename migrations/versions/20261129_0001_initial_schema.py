"""Initial schema: groups, posts, comments, authors, crawl jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ZERO = sa.text("0")


def upgrade() -> None:
    op.create_table(
        "vk_groups",
        sa.Column(
            "id", sa.BigInteger(), autoincrement=False, nullable=False, comment="VK group id, > 0"
        ),
        sa.Column("screen_name", sa.String(255)),
        sa.Column("name", sa.Text()),
        sa.Column("is_closed", sa.SmallInteger(), server_default=ZERO, nullable=False),
        sa.Column("deactivated", sa.String(32), comment="VK's deactivated state: deleted, banned"),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "crawl_interval_minutes", sa.Integer(), server_default=sa.text("60"), nullable=False
        ),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("5"), nullable=False),
        sa.Column("max_post_age_days", sa.Integer()),
        sa.Column("last_crawled_at", TS),
        sa.Column("next_crawl_at", TS, comment="NULL: due now"),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_error_code", sa.Integer()),
        sa.Column("crawls_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("added_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("id > 0", name=op.f("ck_vk_groups_id_positive")),
        sa.CheckConstraint(
            "crawl_interval_minutes BETWEEN 1 AND 1440",
            name=op.f("ck_vk_groups_crawl_interval_minutes_range"),
        ),
        sa.CheckConstraint("priority BETWEEN 1 AND 10", name=op.f("ck_vk_groups_priority_range")),
        sa.CheckConstraint(
            "max_post_age_days IS NULL OR max_post_age_days >= 1",
            name=op.f("ck_vk_groups_max_age_positive"),
        ),
        sa.CheckConstraint("is_closed IN (0, 1, 2)", name=op.f("ck_vk_groups_is_closed_values")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vk_groups")),
    )
    op.create_index("ix_vk_groups_due", "vk_groups", ["is_active", "next_crawl_at"])
    op.create_index("ix_vk_groups_screen_name", "vk_groups", ["screen_name"], unique=True)

    op.create_table(
        "vk_posts",
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("post_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("from_id", sa.BigInteger()),
        sa.Column("date", TS, nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("comments_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("likes_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("reposts_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("views_count", sa.Integer()),
        sa.Column("is_pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("comments_closed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("attachments", JSON),
        sa.Column("last_fetched_at", TS, nullable=False, comment="last seen in wall.get"),
        sa.Column("comments_synced_count", sa.Integer()),
        sa.Column("comments_synced_at", TS),
        sa.Column(
            "comments_error", sa.Text(), comment="why comments cannot be read (e.g. VK error 212)"
        ),
        sa.PrimaryKeyConstraint("owner_id", "post_id", name=op.f("pk_vk_posts")),
    )
    op.create_index("ix_vk_posts_owner_date", "vk_posts", ["owner_id", "date"])

    op.create_table(
        "vk_comments",
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("comment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "parent_comment_id", sa.BigInteger(), comment="NULL for top level; the thread's top id"
        ),
        sa.Column("reply_to_comment_id", sa.BigInteger()),
        sa.Column("reply_to_user_id", sa.BigInteger()),
        sa.Column("from_id", sa.BigInteger()),
        sa.Column("date", TS, nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("likes_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("attachments", JSON),
        sa.Column("is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("thread_synced_count", sa.Integer()),
        sa.Column("first_seen_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "comment_id", name=op.f("pk_vk_comments")),
    )
    op.create_index("ix_vk_comments_post", "vk_comments", ["owner_id", "post_id"])
    op.create_index("ix_vk_comments_date", "vk_comments", ["date"])
    op.create_index("ix_vk_comments_from", "vk_comments", ["from_id"])

    op.create_table(
        "vk_authors",
        sa.Column(
            "id",
            sa.BigInteger(),
            autoincrement=False,
            nullable=False,
            comment="users > 0, groups < 0",
        ),
        sa.Column("name", sa.Text()),
        sa.Column("screen_name", sa.String(255)),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vk_authors")),
    )

    op.create_table(
        "crawl_jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), server_default="crawl", nullable=False),
        sa.Column("group_id", sa.BigInteger()),
        sa.Column("status", sa.String(16), server_default="queued", nullable=False),
        sa.Column("requested_by", sa.String(16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("5"), nullable=False),
        sa.Column("full_verify", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("posts_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("comments_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("requests_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("errors_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("skipped_count", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("details", JSON, comment="skipped items with their reasons"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_crawl_jobs_status_values"),
        ),
        sa.CheckConstraint(
            "requested_by IN ('beat', 'cli', 'api')", name=op.f("ck_crawl_jobs_requested_by_values")
        ),
        sa.CheckConstraint("kind IN ('crawl')", name=op.f("ck_crawl_jobs_kind_values")),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["vk_groups.id"],
            ondelete="SET NULL",
            name=op.f("fk_crawl_jobs_group_id_vk_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_jobs")),
    )
    op.create_index("ix_crawl_jobs_status_created", "crawl_jobs", ["status", "created_at"])
    op.create_index("ix_crawl_jobs_group_status", "crawl_jobs", ["group_id", "status"])


def downgrade() -> None:
    for table in ("crawl_jobs", "vk_authors", "vk_comments", "vk_posts", "vk_groups"):
        op.drop_table(table)
