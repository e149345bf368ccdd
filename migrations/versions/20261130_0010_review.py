"""The analyst workspace: review states, tags and notes of comments, their audit trail, sessions.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATES = "state IN ('new', 'in_progress', 'done', 'irrelevant')"
ACTIONS = "action IN ('state', 'tag_added', 'tag_removed', 'note')"


def upgrade() -> None:
    op.create_table(
        "comment_reviews",
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("comment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), server_default="new", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column(
            "updated_by", sa.String(length=255), nullable=False, comment="the API key's name"
        ),
        sa.CheckConstraint(STATES, name=op.f("ck_comment_reviews_state_values")),
        sa.PrimaryKeyConstraint("owner_id", "comment_id", name=op.f("pk_comment_reviews")),
    )
    op.create_index(
        "ix_comment_reviews_state", "comment_reviews", ["state", "owner_id", "comment_id"]
    )
    op.create_table(
        "comment_tags",
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("comment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False, comment="lower case"),
        sa.Column("tagged_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "comment_id", "tag", name=op.f("pk_comment_tags")),
    )
    op.create_index("ix_comment_tags_tag", "comment_tags", ["tag", "owner_id", "comment_id"])
    op.create_table(
        "review_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False, comment="the API key's name"),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column(
            "value",
            sa.Text(),
            server_default="",
            nullable=False,
            comment="the state, tag or note",
        ),
        sa.CheckConstraint(ACTIONS, name=op.f("ck_review_events_action_values")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_events")),
    )
    op.create_index("ix_review_events_comment", "review_events", ["owner_id", "comment_id", "id"])
    op.create_table(
        "workspace_sessions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column(
            "token_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 (hex) of the cookie",
        ),
        sa.Column(
            "api_key_id",
            sa.BigInteger(),
            nullable=False,
            comment="who signed in; a revoked key ends its sessions",
        ),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_workspace_sessions_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_sessions")),
    )
    op.create_index(
        "uq_workspace_sessions_token", "workspace_sessions", ["token_hash"], unique=True
    )
    op.create_index("ix_workspace_sessions_expires", "workspace_sessions", ["expires_at"])
    op.create_index("ix_vk_comments_first_seen", "vk_comments", ["first_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_vk_comments_first_seen", table_name="vk_comments")
    op.drop_table("workspace_sessions")
    op.drop_table("review_events")
    op.drop_table("comment_tags")
    op.drop_table("comment_reviews")
