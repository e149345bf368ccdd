"""Benchmark: export rows per second and peak memory per format, against a plain COPY TO STDOUT.

Run: `.venv/bin/python -m bench export [--quick]` (or `-m bench.export`); needs PostgreSQL at
VKPIPE_BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres, where it
creates and drops a `vkpipe_bench_export_*` database. 1,000,000 generated comments (quick:
50,000) over 4 groups, 10% of them with keyword matches, are loaded by COPY. Then:
- baseline: `COPY (<the export query>) TO STDOUT` through psycopg, every byte read: the floor
  for getting the same rows, joins and keyword aggregation out of PostgreSQL;
- each format: `export()` in a fresh subprocess (`python -m bench.export --child ...`), which
  reports its time and its own peak resident memory (ru_maxrss), imports included.
Figures: `export_rows_per_second_<format>` (ratio = format / COPY) and `export_peak_rss_mb`,
the largest peak of any format, with the goal < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from bench.pgscratch import admin_url, scratch_database
from parser_pipeline.export.query import export_query
from parser_pipeline.export.service import export
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.names import EXPORT_FORMATS

ROWS_FULL = 1_000_000
ROWS_QUICK = 50_000
GOAL_PEAK_RSS_MB = 300
GROUPS = 4
AUTHORS = 20_000
KEYWORDS = 20
MATCHED_SHARE = 0.10
# Distinct texts generated once and reused (generation time is not what is measured).
TEXT_POOL = 5_000
SEED = 20240601

_WORDS = (  # noqa: SIM905  # a sentence of words reads better than a list literal
    "дорога двор школа мэрия автобус светофор ремонт снег уборка новости город жители парк "
    "детская площадка больница очередь врач остановка маршрут пробка налог выборы участок "
    "спасибо вопрос ответ когда почему опять снова наконец хорошо плохо подъезд лифт вода"
).split()
_EMOJI = ("😀", "👍", "🔥", "😡", "🙏", "❤️", "😂", "🤔")


def _raw(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _texts(rng: random.Random) -> list[str]:
    texts = []
    for _ in range(TEXT_POOL):
        words = rng.choice((3, 8, 15, 30, 60))
        body = " ".join(rng.choices(_WORDS, k=words)).capitalize() + rng.choice(".!?")
        if rng.random() < 0.15:
            body += " " + "".join(rng.choices(_EMOJI, k=2))
        if rng.random() < 0.05:
            body += '\n"цитата"; ещё\tстрока'
        texts.append(body)
    return texts


def load(url: str, rows: int, seed: int = SEED) -> None:
    """Groups, authors, keywords, `rows` comments and their matches, by COPY."""
    rng = random.Random(seed)
    texts = _texts(rng)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(days=365) / rows
    with psycopg.connect(_raw(url)) as conn, conn.cursor() as cur:
        for g in range(1, GROUPS + 1):
            cur.execute(
                "INSERT INTO vk_groups (id, screen_name, name) VALUES (%s, %s, %s)",
                (g, f"group{g}", f"Группа {g}"),
            )
        with cur.copy("COPY vk_authors (id, name) FROM STDIN") as copy:
            for a in range(1, AUTHORS + 1):
                copy.write_row((a, f"Автор {a}"))
        for k in range(1, KEYWORDS + 1):
            cur.execute(
                "INSERT INTO keywords (id, phrase, category) VALUES (%s, %s, %s)",
                (k, _WORDS[k], f"cat{k % 4}"),
            )
        columns = (
            "owner_id, comment_id, post_id, parent_comment_id, from_id, date, text, "
            "likes_count, is_deleted, matched_keywords_count, first_seen_at, updated_at"
        )
        matches: list[tuple[int, int, int, int]] = []
        with cur.copy(f"COPY vk_comments ({columns}) FROM STDIN") as copy:
            for i in range(1, rows + 1):
                owner = -(i % GROUPS + 1)
                parent = i - 1 if i % 3 == 0 else None
                kws = rng.sample(range(1, KEYWORDS + 1), 2) if rng.random() < MATCHED_SHARE else []
                matches.extend((owner, i, k, n * 10) for n, k in enumerate(kws))
                date = start + step * i
                copy.write_row(
                    (owner, i, i // 50 + 1, parent, rng.randint(1, AUTHORS), date,
                     texts[i % TEXT_POOL], i % 17, i % 100 == 0, len(kws), date, date)
                )  # fmt: skip
        with cur.copy(
            'COPY keyword_matches (owner_id, comment_id, keyword_id, start, "end", '
            "matched_text, context) FROM STDIN"
        ) as copy:
            for owner, cid, k, s in matches:
                copy.write_row((owner, cid, k, s, s + 5, _WORDS[k], _WORDS[k]))
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")


def copy_baseline(url: str) -> tuple[int, float]:
    """Rows and seconds of `COPY (<export query>) TO STDOUT`, every byte read."""
    query = export_query([], dialect="postgresql")  # no filter: every comment
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with psycopg.connect(_raw(url)) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        lines = 0
        with cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
            for block in copy:
                lines += bytes(block).count(b"\n")
        return lines, time.perf_counter() - started


def child(fmt: str, url: str, out: Path) -> dict[str, Any]:
    """One export in this process: rows, seconds and this process's peak RSS in MB."""
    engine = make_engine(url)
    started = time.perf_counter()
    result = export(engine, CommentFilter(), fmt, out, force=True)
    seconds = time.perf_counter() - started
    engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    return {
        "rows": result.rows,
        "seconds": seconds,
        "peak_rss_mb": peak_kb / 1024,
        "bytes": out.stat().st_size,
    }


def measure(fmt: str, url: str, directory: Path) -> dict[str, Any]:
    out = directory / f"bench.{fmt}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.export", "--child", fmt, url, str(out)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VKPIPE_LOG_LEVEL": "WARNING"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{fmt} export failed: {done.stderr.strip().splitlines()[-1:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    return report


def run(quick: bool) -> list[dict[str, Any]]:
    rows = ROWS_QUICK if quick else ROWS_FULL
    figures: list[dict[str, Any]] = []
    with (
        scratch_database(admin_url(), "vkpipe_bench_export") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        load(url, rows)
        copied, copy_seconds = copy_baseline(url)
        if copied != rows:
            raise RuntimeError(f"COPY returned {copied} rows, expected {rows}")
        copy_rps = rows / copy_seconds
        peaks: dict[str, float] = {}
        for fmt in EXPORT_FORMATS:
            report = measure(fmt, url, Path(tmp))
            if report["rows"] != rows:
                raise RuntimeError(f"{fmt} wrote {report['rows']} rows, expected {rows}")
            rps = rows / report["seconds"]
            peaks[fmt] = report["peak_rss_mb"]
            figures.append(
                {
                    "name": f"export_rows_per_second_{fmt}",
                    "value": round(rps),
                    "unit": "rows/s",
                    "baseline": round(copy_rps),
                    "baseline_unit": "rows/s (COPY TO STDOUT)",
                    "ratio": round(rps / copy_rps, 3),
                    "goal": None,
                    "met": None,
                    "detail": (
                        f"{rows:,} rows in {report['seconds']:.2f} s, "
                        f"{report['bytes'] / 2**20:.1f} MB file, peak RSS "
                        f"{report['peak_rss_mb']:.0f} MB; COPY {copy_seconds:.2f} s"
                    ),
                }
            )
        worst = max(peaks, key=lambda f: peaks[f])
        figures.append(
            {
                "name": "export_peak_rss_mb",
                "value": round(peaks[worst], 1),
                "unit": f"MB (largest, {worst})",
                "baseline": None,
                "ratio": None,
                "goal": f"< {GOAL_PEAK_RSS_MB}",
                "met": peaks[worst] < GOAL_PEAK_RSS_MB,
                "detail": ", ".join(f"{f} {mb:.0f} MB" for f, mb in peaks.items())
                + f" at {rows:,} rows (each in its own process, imports included)",
            }
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "URL", "OUT"))
    args = parser.parse_args(argv)
    if args.child:
        fmt, url, out = args.child
        print(json.dumps(child(fmt, url, Path(out))))
        return 0
    for figure in run(args.quick):
        print(json.dumps(figure, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING", stream=sys.stderr)
    sys.exit(main())
