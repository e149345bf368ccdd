"""Benchmark: latency of the comment search endpoint (`GET /comments`) at 100k and 1M comments.

Run: `.venv/bin/python -m bench.api_search [--quick]`; needs PostgreSQL at
VKPIPE_BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres, where it
creates and drops `vkpipe_bench_*` databases. Each size gets a fresh migrated database filled
by `fill` (INSERT ... SELECT generate_series, seeded): 20 groups of skewed sizes, 40 comments a
post, 200,000 authors of skewed activity, texts of 3-12 words from a Zipf-weighted vocabulary,
skewed likes, 2% deleted, 10% matched by one of 10 keywords; then ANALYZE. Every search of
SEARCHES (each documented filter, both sorts) runs through the app in process (FastAPI's test
client: routing, auth, validation, queries and JSON, no network), first page and a page deep
behind a cursor, ROUNDS times each after a warm-up. Figures: p50 and p95 over all those calls
(quick: 100k only). Baseline: p50 of `GET /groups?limit=1`, the API's floor (auth, one tiny
query, JSON).
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
from sqlalchemy import Connection, Engine, text

from bench.pgscratch import admin_url, scratch_database
from parser_pipeline.api.app import create_app
from parser_pipeline.settings import load_settings
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import comment_search

SIZES_FULL: Final = (100_000, 1_000_000)
SIZES_QUICK: Final = (100_000,)
ROUNDS_FULL: Final = 15
ROUNDS_QUICK: Final = 5
# Pages followed for the "deep" variant of each search.
DEEP_PAGES: Final = 20
PAGE: Final = 50
# Rows per INSERT ... SELECT: one transaction of 100k generated rows.
FILL_CHUNK: Final = 100_000
GROUPS: Final = 20
FIRST_GROUP: Final = 1000
AUTHORS: Final = 200_000
COMMENTS_PER_POST: Final = 40
KEYWORDS: Final = 10
# The newest comment's date; comments are 30 s apart before it.
NEWEST: Final = datetime(2026, 11, 1, tzinfo=UTC)
GOAL_P50_MS: Final = 25.0
GOAL_P95_MS: Final = 100.0
SEED: Final = 0.4242

# Words of comments on a city's walls; earlier words are far more frequent (Zipf-like).
_WORDS: Final = (
    "и в не на что это как так да нет когда опять снова дорога двор школа мэрия автобус снег "
    "уборка новости город жители парк площадка больница очередь врач остановка маршрут пробка "
    "налог выборы участок голос спасибо вопрос ответ почему наконец хорошо плохо лифт вода "
    "отопление свет тариф платёж подъезд администрация компания ремонт светофор тротуар "
    "велодорожка фонтан библиотека стадион поликлиника"
)
VOCABULARY: Final = tuple(_WORDS.split())
RARE_WORD: Final = "шлагбаум"  # in one comment of 4,999
CATEGORIES: Final = ("roads", "city", "utilities", "politics", "health")

# (name, filters as GET /comments takes them). Group and author values fit `fill`'s data.
SEARCHES: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("newest", {}),
    ("oldest", {"sort": "date"}),
    ("text_common", {"text": "дорог"}),
    ("text_rare", {"text": RARE_WORD}),
    ("group_big", {"group": [str(FIRST_GROUP)]}),
    ("group_small", {"group": [str(FIRST_GROUP + GROUPS - 1)]}),
    ("group_post", {"group": [str(FIRST_GROUP)], "post": 7}),
    ("author_busy", {"author": [1]}),
    ("author_rare", {"author": [AUTHORS - 7]}),
    ("keyword", {"keyword": [3]}),
    ("category", {"category": ["roads"]}),
    ("matched_only", {"matched_only": "true"}),
    ("date_range", {"since": "2026-06-01T00:00:00+00:00", "until": "2026-06-08T00:00:00+00:00"}),
    ("deleted_only", {"deleted": "only"}),
    ("not_deleted", {"deleted": "exclude"}),
    ("most_liked", {"sort": "-likes"}),
    ("group_most_liked", {"group": [str(FIRST_GROUP + 3)], "sort": "-likes"}),
    ("group_text_matched", {"group": [str(FIRST_GROUP)], "text": "ремонт", "matched_only": "true"}),
)


def _trigram_index() -> Any:
    return next(i for i in comment_search.indexes if i.name == "ix_comment_search_text_trgm")


def fill(engine: Engine, count: int) -> None:
    """`count` generated comments (see the module docstring), with groups, authors, keywords
    and matches, the analyzed texts in comment_search, then ANALYZE. The trigram index is built
    after the load, as a restore would."""
    words = "ARRAY[" + ", ".join(f"'{w}'" for w in VOCABULARY) + "]"
    with engine.begin() as connection:
        connection.execute(text("SELECT setseed(:s)"), {"s": SEED})
        connection.execute(
            text(
                "INSERT INTO vk_groups (id, screen_name, name) "
                "SELECT :first + k, 'bench' || k, 'Bench ' || k FROM generate_series(0, :n - 1) k"
            ),
            {"first": FIRST_GROUP, "n": GROUPS},
        )
        connection.execute(
            text("INSERT INTO vk_authors (id, name) SELECT a, 'Author ' || a "
                 "FROM generate_series(1, :n) a"),
            {"n": AUTHORS},
        )  # fmt: skip
        for k in range(KEYWORDS):
            connection.execute(
                text("INSERT INTO keywords (phrase, category) VALUES (:p, :c)"),
                {"p": VOCABULARY[15 + k], "c": CATEGORIES[k % len(CATEGORIES)]},
            )
        _trigram_index().drop(connection)
    for start in range(1, count + 1, FILL_CHUNK):
        end = min(count, start + FILL_CHUNK - 1)
        with engine.begin() as connection:
            _fill_chunk(connection, words, start, end, count)
    with engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO keyword_matches (owner_id, comment_id, keyword_id, start, "end", '
                "matched_text, context) SELECT owner_id, comment_id, 1 + comment_id % :k, 0, 5, "
                "'match', 'context' FROM vk_comments WHERE matched_keywords_count > 0"
            ),
            {"k": KEYWORDS},
        )
        # What the analyze stage writes for analyzed comments (store/text_search.py).
        connection.execute(
            text(
                "INSERT INTO comment_search (owner_id, comment_id, text) "
                "SELECT owner_id, comment_id, text FROM vk_comments WHERE text <> ''"
            )
        )
        _trigram_index().create(connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


def _fill_chunk(connection: Connection, words: str, start: int, end: int, count: int) -> None:
    n = len(VOCABULARY)
    connection.execute(
        text(
            f"""
            INSERT INTO vk_comments (owner_id, comment_id, post_id, parent_comment_id, from_id,
                date, text, likes_count, is_deleted, matched_keywords_count, analyzed_at,
                first_seen_at, updated_at)
            SELECT -(:first + floor(:groups * power(random(), 2))::int), i,
                i / :per_post,
                CASE WHEN random() < 0.3 AND i > 5 THEN i - 1 - floor(random() * 5)::int END,
                1 + floor(:authors * power(random(), 3))::int,
                :newest - (:count - i) * interval '30 seconds',
                array_to_string(ARRAY(
                    SELECT ({words})[1 + floor({n} * power(random(), 2))::int]
                    FROM generate_series(1, 3 + i % 10)
                ), ' ') || CASE WHEN i % 4999 = 0 THEN ' {RARE_WORD}' ELSE '' END,
                floor(500 * power(random(), 6))::int,
                random() < 0.02,
                CASE WHEN random() < 0.1 THEN 1 ELSE 0 END,
                :newest, :newest, :newest
            FROM generate_series(CAST(:start AS integer), CAST(:end AS integer)) i
            """  # noqa: S608  # the vocabulary is this module's constant
        ),
        {
            "first": FIRST_GROUP,
            "groups": GROUPS,
            "per_post": COMMENTS_PER_POST,
            "authors": AUTHORS,
            "newest": NEWEST,
            "count": count,
            "start": start,
            "end": end,
        },
    )


def query_string(params: dict[str, Any]) -> str:
    return urlencode(params, doseq=True)


@contextmanager
def _client(url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine = make_engine(url)
    try:
        created = keys.create_key(engine, "bench", read_only=True, now=datetime.now(UTC))
        app = create_app(load_settings(database_url=url), engine=engine)
        with TestClient(app) as client:
            yield client, {"X-API-Key": created.key}
    finally:
        engine.dispose()


def _timed_get(client: TestClient, url: str, headers: dict[str, str]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:200]}")
    return elapsed, response.json()


def measure(url: str, rounds: int) -> dict[str, Any]:
    """Latencies (ms) of every search, first page and deep page, and of the floor."""
    per_search: dict[str, list[float]] = {}
    floor: list[float] = []
    with _client(url) as (client, headers):
        deep_urls: dict[str, str] = {}
        for name, params in SEARCHES:
            first = f"/comments?{query_string({**params, 'limit': PAGE})}"
            cursor: str | None = None
            for _ in range(DEEP_PAGES):
                _, page = _timed_get(
                    client, first + (f"&cursor={cursor}" if cursor else ""), headers
                )
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            deep_urls[name] = first + (f"&cursor={cursor}" if cursor else "")
        for _ in range(rounds):
            floor.append(_timed_get(client, "/groups?limit=1", headers)[0])
            for name, params in SEARCHES:
                first = f"/comments?{query_string({**params, 'limit': PAGE})}"
                per_search.setdefault(name, []).append(_timed_get(client, first, headers)[0])
                deep = _timed_get(client, deep_urls[name], headers)[0]
                per_search.setdefault(f"{name} (page {DEEP_PAGES + 1})", []).append(deep)
    every = [ms for values in per_search.values() for ms in values]
    return {"all": every, "per_search": per_search, "floor": floor}


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


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
            finally:
                engine.dispose()
            fill_seconds = time.perf_counter() - started
            result = measure(url, rounds)
        floor = statistics.median(result["floor"])
        slowest = max(result["per_search"].items(), key=lambda kv: statistics.median(kv[1]))
        detail = (
            f"{len(result['all'])} searches over {count:,} comments (filled in "
            f"{fill_seconds:.0f} s); slowest: {slowest[0]} at p50 "
            f"{statistics.median(slowest[1]):.1f} ms"
        )
        for q, goal in ((50, GOAL_P50_MS), (95, GOAL_P95_MS)):
            value = _percentile(result["all"], q)
            figures.append(
                {
                    "name": f"api_search_p{q}_ms_{_label(count)}",
                    "value": round(value, 2),
                    "unit": "ms",
                    "baseline": round(floor, 2),
                    "baseline_unit": "ms (GET /groups?limit=1)",
                    "ratio": round(value / floor, 2) if floor else None,
                    "goal": f"≤ {goal:g} ms",
                    "met": value <= goal,
                    "detail": detail,
                }
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k comments only")
    args = parser.parse_args()
    for figure in run(args.quick):
        print(f"{figure['name']}: {figure['value']} {figure['unit']} ({figure['detail']})")


if __name__ == "__main__":
    main()
