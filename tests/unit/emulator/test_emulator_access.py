"""Contract: tokens (valid, unknown, revoked, mid-run revocation) and the per-token rate limit."""

from __future__ import annotations

from collections.abc import Callable

from emulator_refcrawl import Client

from parser_pipeline.emulator import Emulator, FaultConfig
from parser_pipeline.emulator.ratelimit import RateLimiter

PING = ("utils.resolveScreenName", {"screen_name": "gorod_novosti"})


def _code(vk: Client) -> int | None:
    body = vk.answer(*PING)
    return body["error"]["error_code"] if "error" in body else None


def test_tokens_valid_unknown_missing_revoked(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(tokens=("tok-a", "tok-b"), revoked_tokens=("tok-bad",))
    assert _code(Client(emu.base_url, "tok-a", retry=False)) is None
    assert _code(Client(emu.base_url, "tok-b", retry=False)) is None
    for token in ("tok-bad", "unknown", "emulator-token", ""):
        assert _code(Client(emu.base_url, token, retry=False)) == 5
    bad = Client(emu.base_url, "nope", retry=False).answer(*PING)["error"]
    assert bad["error_msg"].startswith("User authorization failed")
    emu.revoke_token("tok-a")
    assert _code(Client(emu.base_url, "tok-a", retry=False)) == 5
    assert _code(Client(emu.base_url, "tok-b", retry=False)) is None
    assert emu.stats()["requests_by_token"]["tok-a"] == 2


def test_no_faults_for_invalid_tokens(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(faults=FaultConfig(rate=1.0, seed=1))
    vk = Client(emu.base_url, "unknown", retry=False)
    for _ in range(20):
        assert vk.answer(*PING)["error"]["error_code"] == 5
    assert emu.stats()["faults_injected"] == {}


def test_rate_limiter_rolling_window_with_fake_clock() -> None:
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # per key
    now[0] = 0.5
    assert not limiter.allow("a")
    now[0] = 1.0  # the first three leave the window
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    limiter.set_limit(None)
    assert all(limiter.allow("a") for _ in range(100))


def test_rate_limiter_judges_arrival_time_not_judging_time() -> None:
    """A busy emulator judges arrivals late and out of order; the verdict follows when each
    request arrived, so late judging neither admits a burst nor refuses a paced client."""
    limiter = RateLimiter(3, clock=lambda: 100.0)  # "now" is long after every arrival
    paced = [0.0, 0.35, 0.7, 1.05, 1.4]
    assert [limiter.allow("a", at=t) for t in paced] == [True] * 5
    # a request that arrived between earlier ones, judged last: 4 within a second
    assert not limiter.allow("a", at=0.9)
    # the same arrivals judged out of order: still exactly one window's worth
    for t in (0.7, 0.0, 0.35):
        assert limiter.allow("b", at=t)
    assert not limiter.allow("b", at=0.5)
    assert limiter.allow("b", at=1.0)  # the window of 0.0 has passed by 1.0


def test_rate_limit_over_http_per_token(fresh_emu: Callable[..., Emulator]) -> None:
    now = [10.0]
    emu = fresh_emu(tokens=("t1", "t2"), rate_limit_per_second=3, clock=lambda: now[0])
    t1, t2 = Client(emu.base_url, "t1", retry=False), Client(emu.base_url, "t2", retry=False)
    assert [_code(t1) for _ in range(4)] == [None, None, None, 6]
    assert _code(t2) is None
    error = t1.answer(*PING)["error"]
    assert error["error_msg"] == "Too many requests per second"
    now[0] += 1.0
    assert _code(t1) is None
    assert emu.stats()["rate_limited"] == 2
    emu.set_rate_limit(None)
    assert all(_code(t1) is None for _ in range(10))


def test_stats_count_and_reset(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu()
    vk = Client(emu.base_url, retry=False)
    vk.answer(*PING)
    vk.answer("wall.get", {"domain": "zakrytyi_klub"})
    stats = emu.stats()
    assert stats["total_requests"] == 2
    assert stats["requests_by_method"] == {"utils.resolveScreenName": 1, "wall.get": 1}
    assert stats["requests_by_token"] == {"emulator-token": 2}
    assert stats["errors_by_code"] == {15: 1}
    emu.reset_stats()
    assert emu.stats()["total_requests"] == 0
