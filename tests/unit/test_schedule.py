"""Schedules that bend (pure): intervals stretched by priority to fit the daily budget."""

from __future__ import annotations

import pytest

from parser_pipeline.orchestration.schedule import (
    MAX_INTERVAL_MINUTES,
    GroupDemand,
    daily_budget,
    stretch_intervals,
)

WALL = "wall.get"


def group(gid: int, priority: int, interval: int = 60, cost: float = 1.0) -> GroupDemand:
    return GroupDemand(gid, priority, interval, {WALL: cost})


def test_the_budget_is_tokens_times_quota_minus_the_reserve() -> None:
    assert daily_budget({WALL: 5000}, 3) == {WALL: pytest.approx(13_500)}


@pytest.mark.parametrize(
    ("groups", "budget", "expected"),
    [
        pytest.param(
            [group(1, 5), group(2, 5)], 100, {1: 60, 2: 60},
            id="enough-budget-nothing-bends",  # 2 x 24 = 48 calls a day
        ),
        pytest.param(
            [group(1, 5), group(2, 5)], 24, {1: 120, 2: 120},
            id="one-level-stretched-evenly-to-fit",
        ),
        pytest.param(
            [group(1, 9), group(2, 5)], 36, {1: 60, 2: 120},
            id="high-priority-keeps-its-interval",
        ),
        pytest.param(
            [group(1, 9), group(2, 5)], 24, {1: 60, 2: MAX_INTERVAL_MINUTES},
            id="a-lower-level-without-budget-gets-the-longest-interval",
        ),
        pytest.param(
            [group(1, 5, cost=4), group(2, 5, cost=1)], 60, {1: 120, 2: 120},
            id="costly-groups-count-for-their-cost",  # 96 + 24 = 120 needed
        ),
        pytest.param(
            [group(1, 5, interval=1440, cost=200)], 100, {1: 2880},
            id="a-daily-full-listing-of-a-big-wall",
        ),
    ],
)  # fmt: skip
def test_stretch_intervals(
    groups: list[GroupDemand], budget: float, expected: dict[int, int]
) -> None:
    plan = stretch_intervals(groups, {WALL: budget})
    assert plan.effective == expected
    assert plan.short == any(expected[g.group_id] > g.interval_minutes for g in groups)
    served = sum(
        g.cost[WALL] * 1440 / plan.effective[g.group_id]
        for g in groups
        if plan.effective[g.group_id] < MAX_INTERVAL_MINUTES
    )
    assert served <= budget + 1e-6


def test_the_plan_describes_itself_with_the_numbers() -> None:
    plan = stretch_intervals([group(1, 5), group(2, 5)], {WALL: 24})
    assert plan.need == {WALL: 48}
    assert plan.describe() == (
        "wall.get: 48 calls a day needed at the configured intervals, 24 available; "
        "2 groups stretched 2.0x"
    )
