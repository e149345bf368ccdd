"""The benchmarks' own measures: the limiter-promise check, the size of the e2e world and the
scale benchmark's window."""

from __future__ import annotations

import math

import pytest

from bench import scale
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


def _run(size: str, seconds_per_10k: float, reached: int = scale.WINDOW_TO) -> scale.Run:
    """A crawl storing 10k comments every `seconds_per_10k`, sampled every second, 25 a request."""
    samples = [
        (float(t), min(reached, int(10_000 * t / seconds_per_10k)), t * 40) for t in range(0, 200)
    ]
    return scale.Run(size, scale.SIZES[size] - scale.WINDOW_FROM, 1.0, samples, scale.WINDOW_TO)


def test_scale_times_the_same_window_of_the_crawl_in_every_run() -> None:
    fast, slow, stuck = _run("10k", 2.0), _run("100k", 3.0), _run("1m", 2.5, reached=50_000)
    figures = {f["name"]: f for f in scale.figures([fast, slow, stuck])}
    base = figures["scale_comments_per_second_10k"]
    # 90,000 comments from the crawl's 10,000th to its 100,000th, at 5,000 / s.
    assert base["value"] == pytest.approx(5_000.0)
    assert base["ratio"] == 1.0
    assert figures["scale_comments_per_second_100k"]["ratio"] == pytest.approx(2 / 3, abs=1e-3)
    assert (
        "into a table holding 100,000→190,000 comments"
        in (figures["scale_comments_per_second_100k"]["detail"])
    )
    # The 1M run never stored its window: not measured, and its goal is not met.
    assert figures["scale_comments_per_second_1m"]["value"] is None
    assert figures["scale_comments_per_second_1m"]["met"] is False


def test_the_filled_groups_are_not_counted_as_the_crawl() -> None:
    world = World("large", scale.LARGE_SEED)
    assert all(g.owner_id < -max(scale.FILLED_GROUP_IDS) for g in world.groups)
