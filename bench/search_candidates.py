"""Benchmark: what each way of indexing comment text costs the store at 1M comments, side by side.

Run: `.venv/bin/python -m bench.search_candidates [--quick]`; needs PostgreSQL as
`bench/store_ingest.py` does. Not part of `python -m bench`: it is the measurement behind the
choice of migration 0012 (bench/RESULTS.md, "Comment search"), kept so it can be repeated.

One scratch database gets BASE_ROWS generated comments (`store_ingest.generate_rows`, walls
and ids apart from the new rows) with no text index, then VACUUM ANALYZE. Per candidate a copy
of it (CREATE DATABASE ... TEMPLATE) gets the candidate's index built, and NEW_ROWS new comments
are stored through `upsert_comments` in transactions of 5,000; the same rows are stored into an
empty migrated database with the same index. Figure: rate at 1M ÷ rate into the empty table.
Candidates: no text index on vk_comments (what the store pays when text search lives in its own
table), the trigram GIN with default settings (fastupdate on, 4 MB pending list), with
fastupdate off, with a 64 MB pending list, and a full-text GIN on to_tsvector('russian', text).
For the separate table the analyze stage's side is measured too: the same texts upserted into
`comment_search` (1M rows, trigram GIN) in the analyze stage's batches of 500.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.pgscratch import admin_url, scratch_database
from bench.store_ingest import BATCH_ROWS, copy_rows, generate_rows
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.writes import chunks, upsert_comments

BASE_ROWS = 1_000_000
QUICK_BASE_ROWS = 200_000
NEW_ROWS = 50_000
QUICK_NEW_ROWS = 20_000
# Base rows are generated and copied in parts of this many (memory: ~1.5 KB a row).
PART_ROWS = 100_000
# Comment ids of the new rows start above every base row's.
NEW_ID_OFFSET = 1_000_000_000
ANALYZE_BATCH = 500

_TRGM = "CREATE INDEX ix_text_candidate ON vk_comments USING gin (text gin_trgm_ops)"
CANDIDATES: dict[str, list[str]] = {
    "no_text_index": [],
    "trigram_default": [_TRGM],
    "trigram_fastupdate_off": [_TRGM + " WITH (fastupdate = off)"],
    "trigram_pending_64mb": [_TRGM + " WITH (gin_pending_list_limit = 65536)"],
    "fts_russian": [
        "CREATE INDEX ix_text_candidate ON vk_comments USING gin (to_tsvector('russian', text))"
    ],
}


def _base_rows(count: int) -> Iterator[list[dict[str, Any]]]:
    for part, start in enumerate(range(0, count, PART_ROWS)):
        rows = generate_rows(min(PART_ROWS, count - start), seed=1000 + part)
        for row in rows:
            row["comment_id"] += part * 10 * PART_ROWS
            for key in ("parent_comment_id", "reply_to_comment_id"):
                if row[key] is not None:
                    row[key] += part * 10 * PART_ROWS
            row["post_id"] += part * 10 * PART_ROWS
        yield rows


def _new_rows(count: int) -> list[dict[str, Any]]:
    rows = generate_rows(count, seed=7)
    for row in rows:
        for key in ("comment_id", "post_id", "parent_comment_id", "reply_to_comment_id"):
            if row[key] is not None:
                row[key] += NEW_ID_OFFSET
    return rows


def _ddl(url: str, statements: Sequence[str]) -> float:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    return time.perf_counter() - started


@contextmanager
def _clone(admin: str, template: str, name: str) -> Iterator[str]:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        try:
            yield make_url(admin).set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def _store(url: str, rows: Sequence[dict[str, Any]]) -> float:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        started = time.perf_counter()
        for batch in chunks(rows, BATCH_ROWS):
            with transaction(engine) as connection:
                upsert_comments(connection, batch)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def _search_table_side(url: str, rows: Sequence[dict[str, Any]]) -> float:
    """The analyze stage's writes of the new texts into a 1M-row comment_search (trigram)."""
    _ddl(
        url,
        [
            "CREATE TABLE comment_search_candidate (owner_id bigint, comment_id bigint, "
            "text text NOT NULL, PRIMARY KEY (owner_id, comment_id))",
            "INSERT INTO comment_search_candidate SELECT owner_id, comment_id, text "
            "FROM vk_comments WHERE text <> ''",
            "CREATE INDEX ON comment_search_candidate USING gin (text gin_trgm_ops)",
            "VACUUM ANALYZE comment_search_candidate",
        ],
    )
    engine = make_engine(url)
    statement = text(
        "INSERT INTO comment_search_candidate VALUES (:o, :c, :t) ON CONFLICT (owner_id, "
        "comment_id) DO UPDATE SET text = excluded.text "
        "WHERE comment_search_candidate.text IS DISTINCT FROM excluded.text"
    )
    try:
        started = time.perf_counter()
        for batch in chunks([r for r in rows if r["text"]], ANALYZE_BATCH):
            with transaction(engine) as connection:
                params = [{"o": r["owner_id"], "c": r["comment_id"], "t": r["text"]} for r in batch]
                connection.execute(statement, params)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def run(quick: bool) -> dict[str, Any]:
    admin = admin_url()
    base_count = QUICK_BASE_ROWS if quick else BASE_ROWS
    new = _new_rows(QUICK_NEW_ROWS if quick else NEW_ROWS)
    out: dict[str, Any] = {"base_rows": base_count, "new_rows": len(new)}
    with scratch_database(admin, "vkpipe_bench_cand") as base_url:
        _ddl(base_url, ["DROP INDEX IF EXISTS ix_vk_comments_text_trgm"])
        for part in _base_rows(base_count):
            copy_rows(base_url, part)
        _ddl(base_url, ["VACUUM ANALYZE vk_comments"])
        template = make_url(base_url).database
        assert template is not None
        # A template must have no connections while it is copied.
        terminate = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
        _ddl(admin, [terminate + f"'{template}' AND pid <> pg_backend_pid()"])
        for name, statements in CANDIDATES.items():
            with scratch_database(admin, "vkpipe_bench_cand") as empty_url:
                _ddl(empty_url, ["DROP INDEX IF EXISTS ix_vk_comments_text_trgm", *statements])
                empty_seconds = _store(empty_url, new)
            with _clone(admin, template, f"{template}_{name}") as url:
                build = _ddl(url, [*statements, "VACUUM ANALYZE vk_comments"])
                full_seconds = _store(url, new)
                result = {
                    "build_s": round(build, 1),
                    "empty_s": round(empty_seconds, 2),
                    "full_s": round(full_seconds, 2),
                    "ratio": round(empty_seconds / full_seconds, 3),
                }
                if name == "no_text_index":
                    result["search_table_analyze_s"] = round(_search_table_side(url, new), 2)
            out[name] = result
            print(name, result, file=sys.stderr, flush=True)
    return out


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200k base rows, 20k new")
    args = parser.parse_args()
    print(run(args.quick))
