"""Keywords, keyword matches, analysis columns on comments, export subscriptions and jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "export_subscriptions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("directory", sa.Text(), nullable=False),
        sa.Column("filters", JSON, nullable=True, comment="the same filters as `vkpipe export`"),
        sa.Column(
            "group_ids", JSON, nullable=True, comment="groups whose finished crawls trigger it"
        ),
        sa.Column("categories", JSON, nullable=True, comment="keyword categories it follows"),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "exported_until", TS, nullable=True, comment="watermark: rows changed before it are out"
        ),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "format IN ('csv', 'jsonl', 'parquet', 'xlsx')",
            name=op.f("ck_export_subscriptions_format_values"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_subscriptions")),
        sa.UniqueConstraint("name", name=op.f("uq_export_subscriptions_name")),
    )
    op.create_table(
        "keywords",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("phrase", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=255), server_default="", nullable=False),
        sa.Column("match_mode", sa.String(length=16), server_default="word_forms", nullable=False),
        sa.Column("case_sensitive", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_exclusion", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "match_mode IN ('word_forms', 'exact_word', 'substring')",
            name=op.f("ck_keywords_match_mode_values"),
        ),
        sa.CheckConstraint("length(phrase) > 0", name=op.f("ck_keywords_phrase_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keywords")),
    )
    op.create_index(
        "uq_keywords_rule",
        "keywords",
        ["phrase", "category", "match_mode", "case_sensitive", "is_exclusion"],
        unique=True,
    )

    op.create_table(
        "export_jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("filters", JSON, nullable=True),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.CheckConstraint(
            "format IN ('csv', 'jsonl', 'parquet', 'xlsx')",
            name=op.f("ck_export_jobs_format_values"),
        ),
        sa.CheckConstraint(
            "requested_by IN ('beat', 'cli', 'api')",
            name=op.f("ck_export_jobs_requested_by_values"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_export_jobs_status_values"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["export_subscriptions.id"],
            name=op.f("fk_export_jobs_subscription_id_export_subscriptions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    op.create_index(
        "ix_export_jobs_status_created", "export_jobs", ["status", "created_at"], unique=False
    )

    op.create_table(
        "keyword_matches",
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("comment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("keyword_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "start", sa.Integer(), autoincrement=False, nullable=False, comment="character offset"
        ),
        sa.Column("end", sa.Integer(), nullable=False, comment="character offset, exclusive"),
        sa.Column("matched_text", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("matched_at", TS, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["keyword_id"],
            ["keywords.id"],
            name=op.f("fk_keyword_matches_keyword_id_keywords"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "owner_id", "comment_id", "keyword_id", "start", name=op.f("pk_keyword_matches")
        ),
    )
    op.create_index("ix_keyword_matches_keyword", "keyword_matches", ["keyword_id"], unique=False)

    op.add_column("vk_comments", sa.Column("analyzed_at", TS))
    op.add_column(
        "vk_comments",
        sa.Column(
            "matched_keywords_count", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
    )
    matched = sa.text("matched_keywords_count > 0")
    op.create_index(
        "ix_vk_comments_matched_date",
        "vk_comments",
        ["date"],
        postgresql_where=matched,
        sqlite_where=matched,
    )
    unanalyzed = sa.text("analyzed_at IS NULL")
    op.create_index(
        "ix_vk_comments_unanalyzed",
        "vk_comments",
        ["owner_id", "comment_id"],
        postgresql_where=unanalyzed,
        sqlite_where=unanalyzed,
    )


def downgrade() -> None:
    op.drop_index("ix_vk_comments_unanalyzed", table_name="vk_comments")
    op.drop_index("ix_vk_comments_matched_date", table_name="vk_comments")
    with op.batch_alter_table("vk_comments") as batch:
        batch.drop_column("matched_keywords_count")
        batch.drop_column("analyzed_at")
    for table in ("keyword_matches", "export_jobs", "keywords", "export_subscriptions"):
        op.drop_table(table)
