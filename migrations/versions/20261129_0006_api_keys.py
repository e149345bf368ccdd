"""API keys for the HTTP API, and the indexes its comment search needs (pg_trgm on PostgreSQL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (name, columns, options) of the plain comment-search indexes.
_SEARCH_INDEXES: list[tuple[str, list[str], dict[str, object]]] = [
    ("ix_vk_comments_owner_date", ["owner_id", "date", "comment_id"], {}),
    ("ix_vk_comments_likes", ["likes_count", "owner_id", "comment_id"], {}),
    ("ix_vk_comments_owner_likes", ["owner_id", "likes_count", "comment_id"], {}),
    (
        "ix_vk_comments_deleted_date",
        ["date"],
        {"postgresql_where": sa.text("is_deleted"), "sqlite_where": sa.text("is_deleted")},
    ),
]


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "prefix",
            sa.String(length=32),
            nullable=False,
            comment="the key's public part, for lookup",
        ),
        sa.Column(
            "secret_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 (hex) of the whole key",
        ),
        sa.Column("read_only", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True, comment="NULL: the key works"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index("uq_api_keys_prefix", "api_keys", ["prefix"], unique=True)
    op.create_index(
        "uq_api_keys_active_name",
        "api_keys",
        ["name"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
        sqlite_where=sa.text("revoked_at IS NULL"),
    )
    for name, columns, options in _SEARCH_INDEXES:
        op.create_index(name, "vk_comments", columns, **options)  # type: ignore[arg-type]
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_vk_comments_text_trgm",
        "vk_comments",
        ["text"],
        postgresql_using="gin",
        postgresql_ops={"text": "gin_trgm_ops"},
        sqlite_where=sa.text("0"),
    )


def downgrade() -> None:
    # pg_trgm stays installed: other objects of the database may use it.
    op.drop_index("ix_vk_comments_text_trgm", table_name="vk_comments")
    for name, _, _ in reversed(_SEARCH_INDEXES):
        op.drop_index(name, table_name="vk_comments")
    op.drop_index("uq_api_keys_active_name", table_name="api_keys")
    op.drop_index("uq_api_keys_prefix", table_name="api_keys")
    op.drop_table("api_keys")
