"""Review state and tag filters are served by indexes: no sequential scan over the comments or
the review tables, for each view of bench/workspace.py on 200,000 generated comments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.datastructures import QueryParams
from test_search_plans import _nodes, _plan

from bench.api_search import fill
from bench.workspace import VIEWS, add_reviews
from parser_pipeline.store import migrations, search
from parser_pipeline.store.comment_filter import where
from parser_pipeline.store.engine import make_engine
from parser_pipeline.web.filters import parse_filters, read_form

ROWS = 200_000
TABLES = {"vk_comments", "comment_reviews", "comment_tags"}


@pytest.fixture(scope="module")
def reviewed_engine(postgres_server: str) -> Iterator[Engine]:
    name = f"vkpipe_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        fill(engine, ROWS)
        add_reviews(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize(("name", "query"), VIEWS, ids=[name for name, _ in VIEWS])
def test_feed_views_scan_no_table_sequentially(
    reviewed_engine: Engine, name: str, query: dict[str, Any]
) -> None:
    params = QueryParams([(k, v) for k, vs in query.items() for v in _listed(vs)])
    with reviewed_engine.connect() as connection:
        form = parse_filters(connection, read_form(params, params.getlist))
        assert form.filter is not None, form.errors
        statement = search.search_query(
            form.filter, form.sort, None, search.DEFAULT_LIMIT, where(connection, form.filter)
        )
        scans = [
            (n.get("Relation Name"), n["Node Type"])
            for n in _nodes(_plan(connection, statement))
            if n.get("Relation Name") in TABLES
        ]
    assert scans, name
    assert not [scan for scan in scans if scan[1] == "Seq Scan"], (name, scans)


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
