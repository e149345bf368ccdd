"""What "text contains" searches on PostgreSQL: comment_search, kept by the analyze stage.

Why a table of its own (bench/RESULTS.md, "Comment search", measured side by side): a trigram
GIN index on vk_comments.text made every comment the crawl stores insert some hundred index
entries, and that cost grows with the index: at 1M stored comments the fleet stored at 0.165 of
its rate at 10k. Tuning the index for bulk writes (fastupdate, a bigger pending list) keeps the
cost on the crawl's path; a full-text index (`russian` configuration) matches word forms, not
substrings, and would change what every stored filter and export selects. So vk_comments has
no text index, and the analyze stage, which reads and rewrites every new or edited comment in
any case (the crawl's `vkpipe crawl`, the fleet's analyze workers, re-analysis all go through
`analyze_comments`), copies its text here in the same transaction; the trigram index lives
here. (While the index was on vk_comments, that stage's own UPDATE of each comment, not a HOT
update since it changes indexed columns, inserted the whole text into it a second time.)

What it means: on PostgreSQL a comment is found by its text once it is analyzed (seconds after
it is stored in a running fleet; at the end of `vkpipe crawl`), and an edited comment by its new
text once it is analyzed again (the crawl's upsert sets `analyzed_at` back to NULL). A deleted
comment keeps its text (VK's placeholder has none) and its row. SQLite does not use the table:
its text search scans vk_comments.text (embedded, demo-sized data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import Connection, delete, tuple_
from sqlalchemy.dialects import postgresql

from parser_pipeline.store.schema import comment_search
from parser_pipeline.store.writes import chunks

# Rows per statement: three parameters a row; texts are at most 4096 characters.
ROWS_PER_STATEMENT: Final = 500

SearchText = tuple[int, int, str]  # (owner_id, comment_id, text)


def uses_search_table(connection: Connection) -> bool:
    """Whether text search on this connection reads comment_search (PostgreSQL) or scans
    vk_comments.text (SQLite)."""
    return connection.dialect.name == "postgresql"


def index_texts(connection: Connection, texts: Sequence[SearchText]) -> None:
    """Make comment_search hold exactly these comments' texts: insert or replace a non-empty
    text (a row whose text is already this one is not rewritten), delete an empty one's row.
    Nothing on SQLite (see the module docstring)."""
    if not texts or not uses_search_table(connection):
        return
    rows = sorted({(o, c): t for o, c, t in texts}.items())  # one row per key, in lock order
    filled = [{"owner_id": o, "comment_id": c, "text": t} for (o, c), t in rows if t]
    empty = [key for key, t in rows if not t]
    for chunk in chunks(filled, ROWS_PER_STATEMENT):
        stmt = postgresql.insert(comment_search)
        stmt = stmt.on_conflict_do_update(
            index_elements=[comment_search.c.owner_id, comment_search.c.comment_id],
            set_={"text": stmt.excluded.text},
            where=comment_search.c.text.is_distinct_from(stmt.excluded.text),
        )
        connection.execute(stmt, list(chunk))
    key = tuple_(comment_search.c.owner_id, comment_search.c.comment_id)
    for keys in chunks(empty, ROWS_PER_STATEMENT):
        connection.execute(delete(comment_search).where(key.in_(list(keys))))
