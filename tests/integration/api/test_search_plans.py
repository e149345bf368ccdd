"""Every documented search filter is served by an index: no sequential scan over vk_comments
(nor over comment_search, the analyzed texts "text contains" reads on PostgreSQL).

200,000 generated comments (bench/api_search.fill: skewed groups, authors and likes, a Zipf
vocabulary, 2% deleted, 10% matched), ANALYZE, then EXPLAIN of the exact statement the endpoint
runs for each search of bench's SEARCHES, first page and a page behind a cursor. The planner
sees realistic statistics; nothing is disabled (enable_seqscan stays on).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from bench.api_search import SEARCHES, fill
from parser_pipeline.store import migrations, search
from parser_pipeline.store.comment_filter import CommentFilter, build_filter, where
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import vk_comments

ROWS = 200_000


@pytest.fixture(scope="module")
def big_engine(postgres_server: str) -> Iterator[Engine]:
    # One database for the module: filling it takes seconds, and the tests only read it.
    name = f"vkpipe_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        fill(engine, ROWS)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _filters(connection: Connection, params: dict[str, Any]) -> CommentFilter:
    def one(name: str) -> Any:
        return params.get(name)

    return build_filter(
        connection,
        text=one("text"),
        groups=params.get("group", []),
        post_id=one("post"),
        author_ids=tuple(params.get("author", [])),
        keyword_ids=tuple(params.get("keyword", [])),
        categories=tuple(params.get("category", [])),
        matched_only=one("matched_only") == "true",
        since=one("since"),
        until=one("until"),
        deleted=one("deleted") or "include",
    )


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(connection: Connection, statement: Any) -> dict[str, Any]:
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = dict(compiled.params)
    # The column types' conversions (UtcDateTime), as SQLAlchemy applies them when executing.
    for key, process in compiled._bind_processors.items():
        if key in params and process is not None:
            params[key] = process(params[key])
    row = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", params).scalar_one()
    return row[0]["Plan"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("name", "params"), SEARCHES, ids=[name for name, _ in SEARCHES])
def test_no_sequential_scan_over_comments(
    big_engine: Engine, name: str, params: dict[str, Any]
) -> None:
    sort: search.Sort = params.get("sort", "-date")
    with big_engine.connect() as connection:
        filters = _filters(connection, params)
        first = search.search(connection, filters, sort, None, search.DEFAULT_LIMIT)
        cursor = search.decode_cursor(first.next_cursor, sort) if first.next_cursor else None
        for after in (None, cursor):
            found = where(connection, filters)
            statement = search.search_query(filters, sort, after, search.DEFAULT_LIMIT, found)
            scans = _scans(connection, statement)
            assert scans, name
            assert "Seq Scan" not in scans, (name, after, scans)


def _scans(connection: Connection, statement: Any) -> list[str]:
    return [
        n["Node Type"]
        for n in _nodes(_plan(connection, statement))
        if n.get("Relation Name") in ("vk_comments", "comment_search")
    ]


def test_the_check_sees_a_sequential_scan_when_there_is_one(big_engine: Engine) -> None:
    # A filter on a column without an index: the planner has no choice, and the check says so.
    unindexed = select(vk_comments).where(vk_comments.c.reply_to_user_id == 5).limit(50)
    with big_engine.connect() as connection:
        assert _scans(connection, unindexed) == ["Seq Scan"]
