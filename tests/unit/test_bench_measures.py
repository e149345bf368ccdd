"""The benchmarks' own measures: the limiter-promise check and the size of the e2e world."""

from __future__ import annotations

import math

import pytest

from bench.e2e import MIN_REQUESTS, SCENARIO, SEED
from bench.rate_limit import tightest_spans
from parser_pipeline.constants import VK_EXECUTE_MAX_CALLS
from parser_pipeline.emulator.world import World


@pytest.mark.parametrize(
    ("grants", "limit", "spans"),
    [
        ([], 3, []),
        ([("a", 0.0), ("a", 0.4), ("a", 0.8)], 3, []),  # fewer than limit + 1 grants
        ([("a", 0.0), ("a", 0.35), ("a", 0.7), ("a", 1.05)], 3, [1.05]),
        # Tokens are separate windows: four grants over two tokens never make a span.
        ([("a", 0.0), ("b", 0.1), ("a", 0.2), ("b", 0.3)], 1, [0.2, 0.2]),
        # Grants arrive from several processes out of order; spans follow time, smallest first.
        ([("a", 1.2), ("a", 0.0), ("a", 0.9), ("a", 0.3), ("a", 1.5)], 3, [1.2, 1.2]),
    ],
)
def test_tightest_spans_measure_each_grant_to_the_limit_th_after_it(
    grants: list[tuple[str, float]], limit: int, spans: list[float]
) -> None:
    assert tightest_spans(grants, limit) == pytest.approx(spans)


def test_the_e2e_world_needs_over_a_thousand_executes() -> None:
    world = World(SCENARIO, SEED)
    open_walls = {g.owner_id for g in world.open_groups()}
    posts = [p for p in world.iter_posts() if p.owner_id in open_walls]
    # At least one wall.getComments call per post with comments, one wall.get per 100 posts.
    calls = sum(1 for p in posts if p.n_comments > 0) + math.ceil(len(posts) / 100)
    assert calls / VK_EXECUTE_MAX_CALLS >= MIN_REQUESTS
