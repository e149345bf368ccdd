"""The token pool: rotation, parking, dropping, and never showing a token."""

from __future__ import annotations

import pytest
import structlog
from pydantic import SecretStr

from parser_pipeline.errors import VkNoTokensError
from parser_pipeline.vk.tokens import TokenPool, token_hint, token_id

SECRET = "SECRET-TOKEN-7f3e9a"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_id_and_hint_reveal_nothing_but_the_last_four() -> None:
    assert len(token_id(SECRET)) == 12
    assert SECRET not in token_id(SECRET)
    assert token_hint(SECRET) == "…3e9a"
    assert token_hint("short") == "…"


def test_pool_deduplicates_and_requires_a_token() -> None:
    assert len(TokenPool([SECRET, SecretStr(SECRET), "other-token-1234"])) == 2
    with pytest.raises(VkNoTokensError, match="VKPIPE_VK_TOKENS"):
        TokenPool([])


def test_available_prefers_least_used_and_skips_parked() -> None:
    clock = FakeClock()
    pool = TokenPool(["token-aaaa-1111", "token-bbbb-2222"], clock=clock)
    first, _ = pool.available()
    pool.mark_used(first[0])
    leases, wait = pool.available()
    assert leases[0].id != first[0].id
    assert wait == 0.0
    pool.park(leases[0], 5.0, reason="test")
    pool.park(first[0], 2.0, reason="test")
    leases, wait = pool.available()
    assert leases == []
    assert wait == pytest.approx(2.0)
    clock.now += 2.0
    leases, _ = pool.available()
    assert [lease.id for lease in leases] == [first[0].id]


def test_drop_warns_once_and_the_last_drop_fails_clearly() -> None:
    pool = TokenPool([SECRET, "other-token-1234"])
    leases, _ = pool.available()
    with structlog.testing.capture_logs() as logs:
        assert pool.drop(leases[0], reason="VK error 5") is True
        assert pool.drop(leases[0], reason="VK error 5") is False
    assert [e["event"] for e in logs] == ["vk.token_dropped"]
    remaining, _ = pool.available()
    assert len(remaining) == 1
    pool.drop(remaining[0], reason="VK error 5")
    with pytest.raises(VkNoTokensError, match="no usable VK token left"):
        pool.available()
    assert SECRET not in repr(pool)
    assert SECRET not in repr(leases[0])
    assert SECRET not in str(pool.status())
