"""Comment text search moves to its own table, filled by the analyze stage: the crawl's writes
into vk_comments no longer pay for a trigram GIN index (bench/RESULTS.md, "Comment search").

Upgrade copies every non-empty stored text into comment_search (so search finds what it found
before), builds the trigram index there after the copy (one sort, not a million inserts), and
drops vk_comments' trigram index. Downgrade rebuilds that index and drops the table.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_TRIGRAM = {"postgresql_using": "gin", "postgresql_ops": {"text": "gin_trgm_ops"}}


def upgrade() -> None:
    op.create_table(
        "comment_search",
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("comment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "text",
            sa.Text(),
            nullable=False,
            comment="vk_comments.text when it was analyzed",
        ),
        sa.PrimaryKeyConstraint("owner_id", "comment_id", name=op.f("pk_comment_search")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # SQLite keeps the table empty: text search there reads vk_comments.text.
        op.execute(
            "INSERT INTO comment_search (owner_id, comment_id, text) "
            "SELECT owner_id, comment_id, text FROM vk_comments WHERE text <> ''"
        )
    op.create_index(
        "ix_comment_search_text_trgm",
        "comment_search",
        ["text"],
        sqlite_where=sa.text("0"),
        **_TRIGRAM,  # type: ignore[arg-type]
    )
    op.drop_index("ix_vk_comments_text_trgm", table_name="vk_comments")


def downgrade() -> None:
    op.create_index(
        "ix_vk_comments_text_trgm",
        "vk_comments",
        ["text"],
        sqlite_where=sa.text("0"),
        **_TRIGRAM,  # type: ignore[arg-type]
    )
    op.drop_index("ix_comment_search_text_trgm", table_name="comment_search")
    op.drop_table("comment_search")
