"""Schedules that bend to VK's daily budget: stretch crawl intervals by priority, visibly.

When the configured intervals would need more calls of a quota-limited method (wall.get:
5,000 a day per token) than the tokens can give, the intervals are stretched instead of crawls
failing at noon: high priority keeps its interval longest. Each group's cost is what its
recent crawls spent. The plan is pure (`stretch_intervals`); `apply_schedule` reads the groups
and their costs, and stores each group's effective interval, which the dispatcher schedules by
and `vkpipe groups list`, the API and `vkpipe doctor` show.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Engine, select, update

from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import crawl_jobs, vk_groups

log = structlog.get_logger(__name__)

MINUTES_PER_DAY: Final = 1440
# Share of the daily budget kept free of scheduled crawls: first crawls of new groups list
# their whole walls, and retries and crawls asked for by hand need room too.
RESERVE_SHARE: Final = 0.1
# A group's cost is the median of its last crawls (a first crawl's full listing is an outlier).
COST_SAMPLE: Final = 5
# A group with no crawl yet is assumed to cost one call of each budgeted method per crawl.
DEFAULT_COST: Final = 1.0
# The longest a stretched interval gets (a week): a group is never dropped, only slowed.
MAX_INTERVAL_MINUTES: Final = 7 * MINUTES_PER_DAY


@dataclass(frozen=True, slots=True)
class GroupDemand:
    """One active group: its priority, configured interval and calls per crawl by method."""

    group_id: int
    priority: int
    interval_minutes: int
    cost: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """Effective intervals, and the numbers behind them (calls a day by method)."""

    effective: dict[int, int]
    budget: dict[str, float]
    need: dict[str, float]
    stretched: dict[int, float] = field(default_factory=dict)  # group -> factor

    @property
    def short(self) -> bool:
        return bool(self.stretched)

    def describe(self) -> str:
        """One line for an operator: budget, need at the configured intervals, what bends."""
        parts = []
        for method in sorted(self.budget):
            parts.append(
                f"{method}: {self.need.get(method, 0):,.0f} calls a day needed at the configured "
                f"intervals, {self.budget[method]:,.0f} available"
            )
        line = "; ".join(parts) or "no method has a daily quota"
        if self.stretched:
            low, high = min(self.stretched.values()), max(self.stretched.values())
            line += f"; {len(self.stretched)} groups stretched {low:.1f}x" + (
                f" to {high:.1f}x" if high > low + 0.05 else ""
            )
        return line


def daily_budget(quotas: Mapping[str, int], tokens: int) -> dict[str, float]:
    """Calls a day each budgeted method can take from `tokens` tokens, the reserve kept."""
    return {m: q * tokens * (1 - RESERVE_SHARE) for m, q in quotas.items()}


def stretch_intervals(
    groups: Sequence[GroupDemand],
    budget: Mapping[str, float],
    *,
    max_interval_minutes: int = MAX_INTERVAL_MINUTES,
) -> SchedulePlan:
    """Intervals that keep every budgeted method's calls a day within its budget.

    Priority levels are served from the highest down at their configured intervals while the
    budget lasts; the first level that does not fit is stretched by the factor that makes it
    fit the rest, and every lower level gets the longest interval.
    """
    need: dict[str, float] = defaultdict(float)
    for g in groups:
        for method in budget:
            need[method] += g.cost.get(method, 0.0) * MINUTES_PER_DAY / g.interval_minutes
    effective: dict[int, int] = {}
    stretched: dict[int, float] = {}
    remaining = dict(budget)
    by_priority: dict[int, list[GroupDemand]] = defaultdict(list)
    for g in groups:
        by_priority[g.priority].append(g)
    for priority in sorted(by_priority, reverse=True):
        level = by_priority[priority]
        level_need = {
            m: sum(g.cost.get(m, 0.0) * MINUTES_PER_DAY / g.interval_minutes for g in level)
            for m in budget
        }
        factor = 1.0
        for method, wanted in level_need.items():
            if wanted <= 0:
                continue
            left = remaining[method]
            factor = max(factor, math.inf if left <= 0 else wanted / left)
        for g in level:
            wanted_minutes = g.interval_minutes * factor
            minutes = (
                max_interval_minutes
                if wanted_minutes >= max_interval_minutes
                else math.ceil(wanted_minutes)
            )
            minutes = max(minutes, g.interval_minutes)
            effective[g.group_id] = minutes
            if minutes > g.interval_minutes:
                stretched[g.group_id] = minutes / g.interval_minutes
        for method in level_need:
            spent = sum(
                g.cost.get(method, 0.0) * MINUTES_PER_DAY / effective[g.group_id] for g in level
            )
            remaining[method] = max(0.0, remaining[method] - spent)
    return SchedulePlan(effective, dict(budget), dict(need), stretched)


def recent_costs(
    connection: Connection, methods: Iterable[str], since: datetime
) -> dict[int, dict[str, float]]:
    """Each group's median calls per crawl by method, over its last finished crawls."""
    wanted = list(methods)
    rows = connection.execute(
        select(crawl_jobs.c.group_id, crawl_jobs.c.calls)
        .where(crawl_jobs.c.status.in_(("succeeded", "failed")))
        .where(crawl_jobs.c.finished_at >= since, crawl_jobs.c.group_id.is_not(None))
        .order_by(crawl_jobs.c.id.desc())
    )
    samples: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    taken: Counter[int] = Counter()
    for group_id, calls in rows:
        if taken[group_id] >= COST_SAMPLE:
            continue
        taken[group_id] += 1
        for method in wanted:
            samples[group_id][method].append(float((calls or {}).get(method, 0)))
    return {
        group_id: {m: median(values) for m, values in per_method.items() if values}
        for group_id, per_method in samples.items()
    }


def demands(connection: Connection, methods: Sequence[str], now: datetime) -> list[GroupDemand]:
    """Every active group with its cost (recent crawls, or the default for a new one)."""
    costs = recent_costs(connection, methods, now - timedelta(days=7))
    rows = connection.execute(
        select(vk_groups.c.id, vk_groups.c.priority, vk_groups.c.crawl_interval_minutes).where(
            vk_groups.c.is_active
        )
    )
    return [
        GroupDemand(
            r.id,
            r.priority,
            r.crawl_interval_minutes,
            costs.get(r.id) or dict.fromkeys(methods, DEFAULT_COST),
        )
        for r in rows
    ]


def plan_schedule(
    engine: Engine, quotas: Mapping[str, int], tokens: int, now: datetime
) -> SchedulePlan:
    """The plan for today's budget (read only)."""
    budget = daily_budget(quotas, tokens)
    with engine.connect() as connection:
        groups = demands(connection, list(budget), now)
    return stretch_intervals(groups, budget)


def apply_schedule(
    engine: Engine, quotas: Mapping[str, int], tokens: int, now: datetime
) -> SchedulePlan:
    """Plan, then store each group's effective interval (NULL: the configured one) and move its
    next crawl accordingly; tells the log when the schedule starts or stops bending. Without
    tokens there is no budget to plan by: nothing changes."""
    plan = plan_schedule(engine, quotas, tokens, now)
    if tokens < 1:
        return plan
    with transaction(engine) as connection:
        current = {
            r.id: r
            for r in connection.execute(
                select(
                    vk_groups.c.id,
                    vk_groups.c.crawl_interval_minutes,
                    vk_groups.c.effective_interval_minutes,
                    vk_groups.c.last_crawled_at,
                )
            )
        }
        changed = 0
        for group_id, minutes in plan.effective.items():
            row = current.get(group_id)
            if row is None:
                continue
            stored = None if minutes == row.crawl_interval_minutes else minutes
            if stored == row.effective_interval_minutes:
                continue
            values: dict[str, Any] = {"effective_interval_minutes": stored}
            if row.last_crawled_at is not None:
                values["next_crawl_at"] = row.last_crawled_at + timedelta(minutes=minutes)
            connection.execute(update(vk_groups).where(vk_groups.c.id == group_id).values(**values))
            changed += 1
    if changed:
        event = "schedule.stretched" if plan.short else "schedule.restored"
        log.warning(event, groups_changed=changed, detail=plan.describe())
    return plan
