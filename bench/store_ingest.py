"""Benchmark: comment ingest on PostgreSQL through the store vs raw COPY and plain executemany.

Run: `.venv/bin/python -m bench store_ingest [--quick]` (or `-m bench.store_ingest`); needs
PostgreSQL at VKPIPE_BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres,
where it creates and drops `vkpipe_bench_*` databases. 200,000 generated comment rows (quick:
50,000), built by `comment_row` as the crawl builds them, go into an empty migrated database
(a fresh one per variant and round) by:
- copy: one raw `COPY vk_comments (...) FROM STDIN` (psycopg `cursor.copy`), one transaction:
  the floor for loading these rows, and the baseline of every figure;
- store: `upsert_comments` in transactions of 5,000 rows (its COPY-to-staging path);
- executemany: the same transactions, each as `upsert_comments` calls of COPY_MIN_ROWS - 1
  rows, so SQLAlchemy's executemany of INSERT ... ON CONFLICT DO UPDATE runs (what small batches
  cost);
- reingest: the store path again with the same rows over the store variant's full table (an
  idempotent re-crawl: nothing may change).
Each variant's time is the best of the rounds (2, quick: 1); rows are generated beforehand.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from bench.pgscratch import admin_url, scratch_database
from parser_pipeline.records import CommentRecord
from parser_pipeline.store.copy import COPY_MIN_ROWS
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.schema import vk_comments
from parser_pipeline.store.writes import chunks, comment_row, upsert_comments

ROWS_FULL = 200_000
ROWS_QUICK = 50_000
# Rounds of copy, store and re-ingest, interleaved, best of each: the machine may be shared.
# executemany (informative, and ten times slower) runs once.
ROUNDS_FULL = 3
ROUNDS_QUICK = 2
# Rows per transaction: about what one crawl round stores (100 calls x up to 100 comments).
BATCH_ROWS = 5_000
# Below COPY_MIN_ROWS, so upsert_comments takes its executemany path.
EXECUTEMANY_CALL_ROWS = COPY_MIN_ROWS - 1
GOAL_NEW = 0.45
GOAL_REINGEST = 0.70
SEED = 20240601

# ---- deterministic rows ----------------------------------------------------------------------

# Words of comments on a city's community walls.
_VOCABULARY = (
    "дорога двор школа мэрия автобус светофор ремонт снег уборка новости город жители парк "
    "детская площадка больница очередь врач остановка маршрут пробка налог выборы участок "
    "наблюдатель голос спасибо вопрос ответ когда почему опять снова наконец хорошо плохо "
    "администрация управляющая компания подъезд лифт вода отопление свет тариф платёж"
)
_WORDS = _VOCABULARY.split()
_EMOJI = ("😀", "👍", "🔥", "😡", "🙏", "❤️", "😂", "🤔", "👏", "🚗", "🏫", "⚠️")
_PHOTO_SIZES = ("s", "m", "x", "y")


def _text(rng: random.Random) -> str:
    """A comment text: mostly a sentence or two, some long, a few empty, some with emoji."""
    roll = rng.random()
    if roll < 0.04:
        return ""  # a sticker or a photo alone
    if roll < 0.34:
        words = rng.randint(1, 6)
    elif roll < 0.86:
        words = rng.randint(7, 45)
    else:
        words = rng.randint(46, 250)
    out = " ".join(rng.choices(_WORDS, k=words)).capitalize() + rng.choice(".!?")
    if rng.random() < 0.12:
        out += " " + "".join(rng.choices(_EMOJI, k=rng.randint(1, 4)))
    return out


def _attachments(rng: random.Random, owner_id: int) -> list[dict[str, Any]] | None:
    roll = rng.random()
    if roll < 0.85:
        return None
    if roll < 0.95:
        photo_id = rng.randint(400_000_000, 460_000_000)
        sizes = [
            {
                "type": size,
                "url": f"https://sun9-{rng.randint(1, 80)}.userapi.com/{photo_id:x}/{size}.jpg",
                "width": 75 * (i + 1) * 2,
                "height": 56 * (i + 1) * 2,
            }
            for i, size in enumerate(_PHOTO_SIZES[: rng.randint(1, 4)])
        ]
        return [{"type": "photo", "photo": {"id": photo_id, "owner_id": owner_id, "sizes": sizes}}]
    if roll < 0.98:
        sticker = {"sticker_id": rng.randint(1, 80_000), "product_id": rng.randint(1, 900)}
        return [{"type": "sticker", "sticker": sticker}]
    return [{"type": "link", "link": {"url": "https://example.org/news", "title": "Новости"}}]


def generate_rows(count: int, seed: int = SEED) -> list[dict[str, Any]]:
    """`count` comment rows over posts of four walls, as `comment_row` builds them; pure."""
    rng = random.Random(seed)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    owners = [-(30_000_000 + i * 1_000_003) for i in range(4)]
    next_id = dict.fromkeys(owners, 1)
    rows: list[dict[str, Any]] = []
    while len(rows) < count:
        owner = rng.choice(owners)
        post_id = next_id[owner]
        size = min(count - len(rows), max(1, int(rng.expovariate(1 / 100))))
        first = post_id + 1
        next_id[owner] = first + size
        date = now - timedelta(days=rng.randint(0, 365))
        tops: list[int] = []
        thread_size: dict[int, int] = {}
        parents: list[int | None] = []
        for _ in range(size):
            parent = rng.choice(tops) if tops and rng.random() < 0.4 else None
            parents.append(parent)
            if parent is None:
                tops.append(first + len(parents) - 1)
            else:
                thread_size[parent] = thread_size.get(parent, 0) + 1
        replied: dict[int, list[int]] = {}  # a thread's replies so far
        for comment_id, parent in enumerate(parents, start=first):
            earlier = replied.setdefault(parent, []) if parent else []
            answers = bool(earlier) and rng.random() < 0.35
            deleted = rng.random() < 0.01
            from_id = rng.randint(1_000_000, 800_000_000) if rng.random() > 0.03 else owner
            date += timedelta(seconds=rng.randint(5, 1800))
            record = CommentRecord(
                owner_id=owner,
                comment_id=comment_id,
                post_id=post_id,
                parent_comment_id=parent,
                reply_to_comment_id=rng.choice(earlier) if answers else None,
                reply_to_user_id=rng.randint(1_000_000, 800_000_000) if answers else None,
                from_id=from_id,
                date=date,
                text="" if deleted else _text(rng),
                likes_count=int(rng.paretovariate(1.6)) - 1,
                attachments=None if deleted else _attachments(rng, from_id),
                is_deleted=deleted,
                thread_count=thread_size.get(comment_id, 0) if parent is None else None,
            )
            rows.append(comment_row(record, now, thread_complete=parent is None))
            if parent:
                earlier.append(comment_id)
    return rows


# ---- scratch databases and memory ------------------------------------------------------------


_PROC_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _rss_kb(field: str) -> int | None:
    with suppress(OSError):
        found = re.search(rf"^{field}:\s+(\d+) kB", _PROC_STATUS.read_text(), re.MULTILINE)
        return int(found.group(1)) if found else None
    return None


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux: writing 5 to clear_refs); False when impossible."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class Timed:
    """Seconds of one variant's run and the RSS it added at its peak (MB, None if unknown)."""

    def __init__(self, seconds: float, extra_peak_mb: float | None) -> None:
        self.seconds = seconds
        self.extra_peak_mb = extra_peak_mb


def _timed(work: Callable[[], None]) -> Timed:
    before = _rss_kb("VmRSS")
    can_peak = _reset_peak()
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    peak = _rss_kb("VmHWM") if can_peak else None
    extra = (peak - before) / 1024 if peak is not None and before is not None else None
    return Timed(seconds, extra)


# ---- the variants ----------------------------------------------------------------------------


def _raw_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def copy_rows(url: str, rows: Sequence[dict[str, Any]]) -> Timed:
    """Raw COPY of all rows into vk_comments in one transaction."""
    columns = list(rows[0])
    json_columns = {c for c in columns if c == "attachments"}
    quoted = ", ".join(f'"{c}"' for c in columns)
    with psycopg.connect(_raw_conninfo(url)) as conn:
        conn.execute("SELECT 1")

        def work() -> None:
            statement = f"COPY vk_comments ({quoted}) FROM STDIN"
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(
                        [
                            Jsonb(row[c]) if c in json_columns and row[c] is not None else row[c]
                            for c in columns
                        ]
                    )
            conn.commit()

        return _timed(work)


def _warm(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def store_rows(engine: Engine, rows: Sequence[dict[str, Any]], *, expect_changed: bool) -> Timed:
    """`upsert_comments` in transactions of BATCH_ROWS; checks what it reports as changed."""
    changed = 0

    def work() -> None:
        nonlocal changed
        for batch in chunks(rows, BATCH_ROWS):
            with transaction(engine) as connection:
                changed += len(upsert_comments(connection, batch))

    _warm(engine)
    timed = _timed(work)
    want = len(rows) if expect_changed else 0
    assert changed == want, f"store reported {changed} changed rows, expected {want}"
    return timed


def executemany_rows(engine: Engine, rows: Sequence[dict[str, Any]]) -> Timed:
    """The same transactions through upsert_comments' INSERT path (calls below COPY_MIN_ROWS)."""
    assert EXECUTEMANY_CALL_ROWS < COPY_MIN_ROWS
    changed = 0

    def work() -> None:
        nonlocal changed
        for batch in chunks(rows, BATCH_ROWS):
            with transaction(engine) as connection:
                for part in chunks(batch, EXECUTEMANY_CALL_ROWS):
                    changed += len(upsert_comments(connection, part))

    _warm(engine)
    timed = _timed(work)
    assert changed == len(rows), f"executemany reported {changed} changed of {len(rows)}"
    return timed


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(vk_comments)).scalar_one()
            )
    finally:
        engine.dispose()


def measure(rows: Sequence[dict[str, Any]], rounds: int, admin: str) -> dict[str, list[Timed]]:
    """copy, store and re-ingest `rounds` times, interleaved, then executemany once.

    Every variant starts from a fresh migrated database (re-ingest from the store's full one).
    """
    results: dict[str, list[Timed]] = {"copy": [], "store": [], "reingest": [], "executemany": []}
    for _ in range(rounds):
        with scratch_database(admin) as url:
            results["copy"].append(copy_rows(url, rows))
            assert _count(url) == len(rows)
        with scratch_database(admin) as url:
            engine = make_engine(url)
            try:
                results["store"].append(store_rows(engine, rows, expect_changed=True))
                results["reingest"].append(store_rows(engine, rows, expect_changed=False))
            finally:
                engine.dispose()
            assert _count(url) == len(rows)
    with scratch_database(admin) as url:
        engine = make_engine(url)
        try:
            results["executemany"].append(executemany_rows(engine, rows))
        finally:
            engine.dispose()
        assert _count(url) == len(rows)
    return results


def _mb(timed: Timed) -> str:
    return "?" if timed.extra_peak_mb is None else f"{timed.extra_peak_mb:.1f} MB"


def _best(timings: list[Timed]) -> Timed:
    return min(timings, key=lambda t: t.seconds)


def figures(results: dict[str, list[Timed]], rows: int) -> list[dict[str, Any]]:
    copy, store = _best(results["copy"]), _best(results["store"])
    reingest, many = _best(results["reingest"]), _best(results["executemany"])

    def rate(t: Timed) -> str:
        return f"{t.seconds:.2f} s ({rows / t.seconds:,.0f} rows/s)"

    where = f"{rows:,} rows, {BATCH_ROWS:,} per transaction, best of {len(results['copy'])} rounds"
    out = [
        {
            "name": "store_vs_copy_new",
            "value": round(copy.seconds / store.seconds, 3),
            "unit": "× raw COPY speed",
            "baseline": round(copy.seconds, 3),
            "baseline_unit": "s raw COPY",
            "ratio": None,
            "goal": f"≥ {GOAL_NEW:g}",
            "met": copy.seconds / store.seconds >= GOAL_NEW,
            "detail": f"COPY {rate(copy)} vs store {rate(store)}; {where}",
        },
        {
            "name": "store_vs_copy_reingest",
            "value": round(copy.seconds / reingest.seconds, 3),
            "unit": "× raw COPY speed",
            "baseline": round(copy.seconds, 3),
            "baseline_unit": "s raw COPY",
            "ratio": None,
            "goal": f"≥ {GOAL_REINGEST:g}",
            "met": copy.seconds / reingest.seconds >= GOAL_REINGEST,
            "detail": f"COPY into an empty table {rate(copy)} vs re-ingest {rate(reingest)}",
        },
        {
            "name": "executemany_vs_copy_new",
            "value": round(copy.seconds / many.seconds, 3),
            "unit": "× raw COPY speed",
            "baseline": round(copy.seconds, 3),
            "baseline_unit": "s raw COPY",
            "ratio": None,
            "goal": None,
            "met": None,
            "detail": f"COPY {rate(copy)} vs executemany INSERT ... ON CONFLICT {rate(many)}",
        },
    ]
    if store.extra_peak_mb is not None and copy.extra_peak_mb is not None:
        out.append(
            {
                "name": "store_ingest_extra_peak_rss_mb",
                "value": round(store.extra_peak_mb, 1),
                "unit": "MB above the rows",
                "baseline": round(copy.extra_peak_mb, 1),
                "baseline_unit": "MB raw COPY",
                "ratio": None,
                "goal": None,
                "met": None,
                "detail": (
                    "client process peak RSS while ingesting, above its RSS before (rows "
                    f"already in memory); baseline raw COPY; executemany {_mb(many)}, "
                    f"re-ingest {_mb(reingest)}"
                ),
            }
        )
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    rows = generate_rows(ROWS_QUICK if quick else ROWS_FULL)
    results = measure(rows, ROUNDS_QUICK if quick else ROUNDS_FULL, admin_url())
    return figures(results, len(rows))


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING")  # the crawl narrates every group at INFO
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{ROWS_QUICK:,} rows, one round")
    args = parser.parse_args()
    for f in run(args.quick):
        print(f"{f['name']}: {f['value']} {f['unit']} (goal {f['goal']}, met {f['met']})")
        print(f"    {f['detail']}")
