"""Benchmark: server time of the workspace feed's first page at 1,000,000 comments (and 100k).

Run: `.venv/bin/python -m bench.workspace [--quick]`; needs PostgreSQL at
VKPIPE_BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres, where it
creates and drops `vkpipe_bench_*` databases. Each size gets a fresh migrated database filled by
`bench.api_search.fill` (20 groups, skewed authors and likes, Zipf-weighted texts, 10% matched
by one of 10 keywords), plus a post per 40 comments, reviews of 30% of the matched comments
(60% done, 20% irrelevant, 20% in progress) and a tag on 2% of all comments; then ANALYZE.
Each view of VIEWS (the feed's default, every filter kind, review states and tags, both sorts)
is fetched as the whole HTML page of `GET /workspace/feed` through the app in process (FastAPI's
test client with a signed-in session: routing, the session lookup, the filter form, the search,
what is shown beside each comment, the reviews, template rendering; no network), ROUNDS times
after a warm-up. Figures: p50 and p95 over all those pages (quick: 100k only). Baseline: p50 of
`GET /health/live`, the app's floor.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from bench.api_search import fill
from bench.pgscratch import admin_url, scratch_database
from parser_pipeline.api.app import create_app
from parser_pipeline.settings import load_settings
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.engine import make_engine

SIZES_FULL: Final = (100_000, 1_000_000)
SIZES_QUICK: Final = (100_000,)
ROUNDS_FULL: Final = 15
ROUNDS_QUICK: Final = 5
GOAL_P95_MS: Final = 300.0
TAGS: Final = ("жалоба", "срочно", "спам")

# (name, the feed's query). The feed shows comments with matches unless told otherwise.
VIEWS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("default", {}),
    ("all_comments", {"matched_only": "false"}),
    ("most_liked", {"sort": "-likes"}),
    ("new_only", {"review_state": "new"}),
    ("done", {"review_state": "done"}),
    ("irrelevant", {"review_state": "irrelevant"}),
    ("in_progress_or_done", {"review_state": ["in_progress", "done"]}),
    ("tag", {"tag": "срочно"}),
    ("tag_all_comments", {"tag": "спам", "matched_only": "false"}),
    ("group", {"group": "bench0"}),
    ("small_group_new", {"group": "bench19", "review_state": "new"}),
    ("category", {"category": "roads"}),
    ("text", {"text": "дорог"}),
    ("week", {"since": "2026-10-20", "until": "2026-10-26"}),
    ("not_deleted_new", {"deleted": "exclude", "review_state": "new"}),
)


def add_reviews(engine: Engine) -> None:
    """Posts for the comments, reviews of matched comments, tags (see the module docstring)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO vk_posts (owner_id, post_id, date, text, last_fetched_at) "
                "SELECT DISTINCT owner_id, post_id, :now, 'Пост номер ' || post_id || "
                "' о дорогах, школах и выборах города', :now FROM vk_comments"
            ),
            {"now": datetime(2026, 11, 1, tzinfo=UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO comment_reviews (owner_id, comment_id, state, updated_by) "
                "SELECT owner_id, comment_id, CASE WHEN r < 0.6 THEN 'done' "
                "WHEN r < 0.8 THEN 'irrelevant' ELSE 'in_progress' END, 'bench' FROM "
                "(SELECT owner_id, comment_id, random() AS r FROM vk_comments "
                " WHERE matched_keywords_count > 0 AND random() < 0.3) picked"
            )
        )
        connection.execute(
            text(
                "INSERT INTO comment_tags (owner_id, comment_id, tag) "
                "SELECT owner_id, comment_id, (CAST(:tags AS text[]))[1 + comment_id % 3] "
                "FROM vk_comments WHERE random() < 0.02"
            ),
            {"tags": list(TAGS)},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


@contextmanager
def _signed_in(url: str) -> Iterator[TestClient]:
    engine = make_engine(url)
    try:
        created = keys.create_key(engine, "bench", read_only=True, now=datetime.now(UTC))
        app = create_app(load_settings(database_url=url), engine=engine)
        with TestClient(app) as client:
            response = client.post(
                "/workspace/sign-in", data={"key": created.key}, follow_redirects=False
            )
            if response.status_code != 303:
                raise RuntimeError(f"sign-in: {response.status_code} {response.text[:200]}")
            yield client
    finally:
        engine.dispose()


def _timed(client: TestClient, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
    return elapsed


def measure(url: str, rounds: int) -> dict[str, Any]:
    """Latencies (ms) of every view's first page, and of the floor."""
    per_view: dict[str, list[float]] = {}
    floor: list[float] = []
    with _signed_in(url) as client:
        pages = {name: f"/workspace/feed?{urlencode(q, doseq=True)}" for name, q in VIEWS}
        for page in pages.values():  # warm-up: plans, caches, template compilation
            _timed(client, page)
        for _ in range(rounds):
            started = time.perf_counter()
            client.get("/health/live")
            floor.append((time.perf_counter() - started) * 1000)
            for name, page in pages.items():
                per_view.setdefault(name, []).append(_timed(client, page))
    every = [ms for values in per_view.values() for ms in values]
    return {"all": every, "per_view": per_view, "floor": floor}


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _label(count: int) -> str:
    return "1m" if count == 1_000_000 else f"{count // 1000}k"


def run(quick: bool) -> list[dict[str, Any]]:
    figures: list[dict[str, Any]] = []
    rounds = ROUNDS_QUICK if quick else ROUNDS_FULL
    for count in SIZES_QUICK if quick else SIZES_FULL:
        with scratch_database(admin_url()) as url:
            engine = make_engine(url)
            started = time.perf_counter()
            try:
                fill(engine, count)
                add_reviews(engine)
            finally:
                engine.dispose()
            fill_seconds = time.perf_counter() - started
            result = measure(url, rounds)
        floor = statistics.median(result["floor"])
        slowest = max(result["per_view"].items(), key=lambda kv: _percentile(kv[1], 95))
        detail = (
            f"{len(result['all'])} first pages of {len(VIEWS)} views over {count:,} comments "
            f"(filled in {fill_seconds:.0f} s); slowest: {slowest[0]} at p95 "
            f"{_percentile(slowest[1], 95):.1f} ms"
        )
        for q in (50, 95):
            value = _percentile(result["all"], q)
            figures.append(
                {
                    "name": f"workspace_feed_p{q}_ms_{_label(count)}",
                    "value": round(value, 2),
                    "unit": "ms",
                    "baseline": round(floor, 2),
                    "baseline_unit": "ms (GET /health/live)",
                    "ratio": round(value / floor, 2) if floor else None,
                    "goal": f"≤ {GOAL_P95_MS:g} ms" if q == 95 else None,
                    "met": value <= GOAL_P95_MS if q == 95 else None,
                    "detail": detail,
                }
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k comments only")
    args = parser.parse_args()
    for figure in run(args.quick):
        print(f"{figure['name']}: {figure['value']} {figure['unit']} ({figure['detail']})")


if __name__ == "__main__":
    main()
