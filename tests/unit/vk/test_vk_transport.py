"""The vk-api based transport: redirected base URL, no built-in error-6 loop, typed failures."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.errors import (
    VkAccessDeniedError,
    VkRateLimitError,
    VkTokenRevokedError,
    VkTransportError,
)
from parser_pipeline.vk.transport import VkTransport, build_session

TOKEN = "transport-token-1234"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(
        scenario="small", seed=1, tokens=(TOKEN,), revoked_tokens=("gone-token-0000",)
    )
    with run_emulator(config) as emulator:
        yield emulator


def _transport(base_url: str, session: requests.Session | None = None) -> VkTransport:
    http = build_session(base_url, connect_timeout=1.0, read_timeout=0.5, session=session)
    return VkTransport(http, api_version="5.199")


def test_answers_come_from_our_base_url_with_api_version_5_199(emu: Emulator) -> None:
    transport = _transport(emu.base_url, session=requests.Session())  # injected session works
    body = transport.request("utils.resolveScreenName", {"screen_name": "gorod_novosti"}, TOKEN)
    assert body["response"]["type"] == "page"
    assert emu.stats()["requests_by_method"] == {"utils.resolveScreenName": 1}


def test_error_6_is_raised_at_once_not_slept_on(emu: Emulator) -> None:
    emu.set_rate_limit(1)
    transport = _transport(emu.base_url)
    transport.request("utils.resolveScreenName", {"screen_name": "x"}, TOKEN)
    started = time.monotonic()
    with pytest.raises(VkRateLimitError) as info:
        transport.request("utils.resolveScreenName", {"screen_name": "x"}, TOKEN)
    assert time.monotonic() - started < 0.3  # vk-api would sleep 0.5 s and retry forever
    assert info.value.code == 6
    assert emu.stats()["total_requests"] == 2


def test_vk_errors_become_typed_errors_with_method_and_params(emu: Emulator) -> None:
    transport = _transport(emu.base_url)
    with pytest.raises(VkTokenRevokedError):
        transport.request("utils.resolveScreenName", {"screen_name": "x"}, "gone-token-0000")
    closed = transport.request("utils.resolveScreenName", {"screen_name": "zakrytyi_klub"}, TOKEN)
    with pytest.raises(VkAccessDeniedError) as info:
        transport.request("wall.get", {"owner_id": -closed["response"]["object_id"]}, TOKEN)
    assert info.value.method == "wall.get"
    assert "access_token" not in info.value.params


def test_timeouts_and_dead_hosts_are_transport_errors(emu: Emulator) -> None:
    emu.set_faults(FaultConfig(rates={"slow": 1.0}, slow_seconds=1.0))
    with pytest.raises(VkTransportError, match="timed out") as info:
        _transport(emu.base_url).request("utils.resolveScreenName", {"screen_name": "x"}, TOKEN)
    assert info.value.retryable
    assert isinstance(info.value.__cause__, requests.exceptions.Timeout)
    with pytest.raises(VkTransportError, match="request failed"):
        _transport("http://127.0.0.1:1/method").request("users.get", {}, TOKEN)
