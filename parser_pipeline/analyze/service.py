"""The analyze stage: match stored comments against the active rules, in batches, idempotently.

Per batch, in one transaction: read the comments' texts and stored matches in bulk, match each
text with the compiled engine, rewrite the matches of the comments whose matches changed, set
`analyzed_at` and `matched_keywords_count`, and write what the instant alert rules owe for
these comments to the alert outbox (alerts/outbox.py). A batch run twice writes nothing the second
time (comments whose matches and count are unchanged and already analyzed are left alone).

`vk_comments.matched_keywords_count` is the number of distinct active, non-exclusion keywords
that match the comment and count for it: a keyword does not count when an active exclusion rule
(a "minus word") of the same category also matches the comment. Exclusion rules' own matches
are stored in `keyword_matches` too but never count. So "comments with matches" is
`matched_keywords_count > 0`, served by the partial index `ix_vk_comments_matched_date`.

`analyzed_at` is NULL for comments never analyzed or whose text changed since (the crawl's
upsert resets it); `analyze_comments()` without keys works through those, found by the partial
index `ix_vk_comments_unanalyzed`. This stage also copies those texts into `comment_search`,
what text search reads on PostgreSQL (`store/text_search.py`). The compiled rule set is kept per
process and rebuilt when the active rules differ from the ones it was built from (read at every
batch: a thousand short rows cost about a millisecond, a batch's matching tens of them).

When rules change, `rematch()` re-runs matching over every stored comment in key order. It
recomputes all active rules, not only the changed ones: a comment's count depends on every rule
of its categories, and one automaton pass matches all rules for the price of one. It rewrites
only comments whose matches changed, in batch-sized transactions, so it neither rewrites every
row (as "set analyzed_at NULL everywhere, then analyze" would, in one huge UPDATE) nor holds
long locks. `request_reanalysis()` is that other way, for a fleet: it queues every comment in
short transactions and the analyze workers' backlog sweeps share the work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Engine, Row, func, literal, select, tuple_

from parser_pipeline import metrics
from parser_pipeline.alerts.outbox import record_new_matches
from parser_pipeline.analyze.engine import Match, MatchEngine
from parser_pipeline.analyze.morphology import Lemmatizer
from parser_pipeline.analyze.store import (
    Key,
    active_rules,
    existing_keyword_ids,
    mark_analyzed,
    mark_unanalyzed_after,
    replace_matches,
    stored_matches,
)
from parser_pipeline.store.engine import for_update, transaction
from parser_pipeline.store.keys import keys_in
from parser_pipeline.store.schema import vk_comments
from parser_pipeline.store.text_search import index_texts
from parser_pipeline.store.writes import chunks

log = structlog.get_logger(__name__)

# Comments per transaction. Matching 500 comments takes ~10-30 ms on one core and their texts
# (4096 characters at most, ~150 typically) ~100 KB; row locks are held only that long.
ANALYZE_BATCH_SIZE: Final = 500
# Comments queued per transaction by `request_reanalysis`: a plain indexed UPDATE of a flag.
REQUEUE_BATCH_SIZE: Final = 5000

ProgressCallback = Callable[[int, int], None]  # (comments done, comments in all)

_COLUMNS = (
    vk_comments.c.owner_id,
    vk_comments.c.comment_id,
    vk_comments.c.text,
    vk_comments.c.analyzed_at,
    vk_comments.c.matched_keywords_count,
)
_ORDER = (vk_comments.c.owner_id, vk_comments.c.comment_id)


@dataclass(slots=True)
class AnalyzeSummary:
    """What one run did: comments matched, comments rewritten, match rows written."""

    comments: int = 0
    changed: int = 0
    matches: int = 0
    matched_comments: int = 0
    batches: int = 0
    rules: int = 0
    alerts: int = 0  # alert deliveries written to the outbox

    def add(self, other: AnalyzeSummary) -> None:
        self.comments += other.comments
        self.changed += other.changed
        self.matches += other.matches
        self.matched_comments += other.matched_comments
        self.batches += other.batches
        self.alerts += other.alerts
        self.rules = other.rules


class RuleCache:
    """The compiled engine of this process, rebuilt when the active rules change."""

    def __init__(self, lemmatizer: Lemmatizer | None = None) -> None:
        self._lemmatizer = lemmatizer
        self._lock = threading.Lock()
        self._rules: tuple[Any, ...] | None = None
        self._engine: MatchEngine | None = None

    def engine_for(self, connection: Connection) -> MatchEngine:
        rules = tuple(active_rules(connection))
        with self._lock:
            if self._engine is None or rules != self._rules:
                started = time.perf_counter()
                self._engine = MatchEngine(rules, self._lemmatizer)
                self._rules = rules
                log.info(
                    "analyze.rules_compiled",
                    rules=len(rules),
                    seconds=round(time.perf_counter() - started, 3),
                )
            return self._engine


_PROCESS_CACHE = RuleCache()


def _analyze_rows(
    connection: Connection, matcher: MatchEngine, rows: Sequence[Row[Any]], now: datetime
) -> AnalyzeSummary:
    keys = [(r.owner_id, r.comment_id) for r in rows]
    stored = stored_matches(connection, keys)
    replaced: dict[Key, list[Match]] = {}
    analyzed: list[tuple[int, int, str, int]] = []
    summary = AnalyzeSummary(comments=len(rows), batches=1, rules=len(matcher.rules))
    for row, key in zip(rows, keys, strict=True):
        matches = matcher.match(row.text)
        count = matcher.counted_keywords(matches)
        fresh = {(m.keyword_id, m.start, m.end, m.matched_text, m.context) for m in matches}
        if fresh != stored.get(key, set()):
            replaced[key] = matches
        changed = key in replaced or count != row.matched_keywords_count
        summary.changed += changed
        summary.matched_comments += count > 0
        if changed or row.analyzed_at is None:
            analyzed.append((key[0], key[1], row.text, count))
    summary.matches = replace_matches(connection, replaced, now) if replaced else 0
    mark_analyzed(connection, analyzed, now)
    # A new or edited text (analyzed_at NULL) becomes what text search finds: store/text_search.
    index_texts(
        connection, [(r.owner_id, r.comment_id, r.text) for r in rows if r.analyzed_at is None]
    )
    # The alert outbox, in this transaction: a match stored is an alert owed (alerts/outbox.py).
    summary.alerts = record_new_matches(connection, keys, now)
    return summary


def _rows(
    connection: Connection, where: Sequence[Any], limit: int | None, skip_locked: bool
) -> list[Row[Any]]:
    query = select(*_COLUMNS).where(*where).order_by(*_ORDER)
    if limit is not None:
        query = query.limit(limit)
    return list(connection.execute(for_update(connection, query, skip_locked=skip_locked)))


def _run_batch(
    engine: Engine,
    cache: RuleCache,
    where: Sequence[Any],
    *,
    limit: int | None = None,
    skip_locked: bool = False,
) -> tuple[AnalyzeSummary, Key | None]:
    """One transaction: rules, rows, matching, writes. Returns the summary and the last key."""
    with transaction(engine) as connection:
        matcher = cache.engine_for(connection)
        rows = _rows(connection, where, limit, skip_locked)
        if not rows:
            return AnalyzeSummary(rules=len(matcher.rules)), None
        summary = _analyze_rows(connection, matcher, rows, datetime.now(UTC))
    log.info(
        "analyze.batch_done",
        comments=summary.comments,
        changed=summary.changed,
        matches=summary.matches,
    )
    return summary, (rows[-1].owner_id, rows[-1].comment_id)


def _count(engine: Engine, *conditions: Any) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(vk_comments).where(*conditions)
        return int(connection.execute(query).scalar_one())


def _after(cursor: Key | None) -> list[Any]:
    if cursor is None:
        return []
    return [tuple_(*_ORDER) > tuple_(literal(cursor[0]), literal(cursor[1]))]


def analyze_comments(
    engine: Engine,
    keys: Sequence[tuple[int, int]] | None = None,
    *,
    batch_size: int = ANALYZE_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
    max_comments: int | None = None,
    cache: RuleCache | None = None,
) -> AnalyzeSummary:
    """Analyze the comments with these keys, or (keys None) every comment not yet analyzed.

    Without keys the comments are taken in key order, once each per call: a comment whose text
    changes behind the cursor waits for the next call. `max_comments` bounds one call (a task).
    """
    cache = cache or _PROCESS_CACHE
    summary = AnalyzeSummary()
    if keys is not None:
        wanted = sorted(set(keys))
        asked = 0
        for chunk in chunks(wanted, batch_size):
            done, _ = _run_batch(engine, cache, [keys_in(_ORDER, chunk)])
            summary.add(done)
            asked += len(chunk)
            if on_progress:
                on_progress(asked, len(wanted))
    else:
        unanalyzed = vk_comments.c.analyzed_at.is_(None)
        total = _count(engine, unanalyzed)
        if max_comments is not None:
            total = min(total, max_comments)
        cursor: Key | None = None
        while max_comments is None or summary.comments < max_comments:
            limit = batch_size
            if max_comments is not None:
                limit = min(batch_size, max_comments - summary.comments)
            # Parallel sweeps (PostgreSQL) skip each other's locked rows: they share the work.
            done, cursor = _run_batch(
                engine, cache, [unanalyzed, *_after(cursor)], limit=limit, skip_locked=True
            )
            summary.add(done)
            if cursor is None:
                break
            if on_progress:
                on_progress(summary.comments, max(total, summary.comments))
    metrics.MATCHES_FOUND.inc(summary.matches)
    log.info("analyze.done", comments=summary.comments, changed=summary.changed)
    return summary


def rematch(
    engine: Engine,
    keyword_ids: Sequence[int] | None = None,
    *,
    batch_size: int = ANALYZE_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
    cache: RuleCache | None = None,
) -> AnalyzeSummary:
    """Match every stored comment again and replace what changed (see the module docstring).

    `keyword_ids` names the rules that changed; each must exist (NotFoundError otherwise).
    The pass recomputes every active rule, which includes those.
    """
    cache = cache or _PROCESS_CACHE
    if keyword_ids:
        with engine.connect() as connection:
            existing_keyword_ids(connection, keyword_ids)
    total = _count(engine)
    summary = AnalyzeSummary()
    cursor: Key | None = None
    while True:
        done, cursor = _run_batch(engine, cache, _after(cursor), limit=batch_size)
        summary.add(done)
        if cursor is None:
            break
        if on_progress:
            on_progress(summary.comments, max(total, summary.comments))
    log.info("analyze.rematch_done", comments=summary.comments, changed=summary.changed)
    return summary


def request_reanalysis(
    engine: Engine,
    *,
    batch_size: int = REQUEUE_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Queue every stored comment for analysis (analyzed_at NULL), in short transactions.

    The fleet's way to rematch: analyze workers' backlog sweeps then share the work. Returns
    the number of comments queued or already waiting.
    """
    total = _count(engine)
    done = 0
    cursor: Key | None = None
    while True:
        with transaction(engine) as connection:
            cursor, count = mark_unanalyzed_after(connection, cursor, batch_size)
        if cursor is None:
            break
        done += count
        if on_progress:
            on_progress(done, max(total, done))
    log.info("analyze.reanalysis_requested", comments=done)
    return done


def unanalyzed_count(engine: Engine) -> int:
    """Comments waiting for analysis (an indexed count)."""
    return _count(engine, vk_comments.c.analyzed_at.is_(None))
