"""A distinctive token never shows up in a log line, an exception, a pickled error or a counter."""

from __future__ import annotations

import logging
import pickle
import traceback

import pytest
import structlog

from parser_pipeline.emulator import EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.errors import VkError, VkNoTokensError
from parser_pipeline.settings import load_settings
from parser_pipeline.vk.client import VkCall, VkClient

SECRET = "SECRET-TOKEN-7f3e9a"
REVOKED_SECRET = "SECRET-REVOKED-TOKEN-0b1c"


def _leaks(text: str) -> bool:
    return SECRET in text or REVOKED_SECRET in text


def test_no_token_in_logs_errors_payloads_or_counters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3, requests and vk_api debug lines included
    config = EmulatorConfig(
        scenario="small",
        seed=1,
        tokens=(SECRET,),
        revoked_tokens=(REVOKED_SECRET,),
        rate_limit_per_second=None,
        # Faults that raise through the transport (6 and 9 would only park the single token).
        faults=FaultConfig(
            rate=0.5,
            seed=3,
            kinds=("http502", "truncated_json", "slow", "error10"),
            slow_seconds=0.3,
        ),
    )
    errors: list[BaseException] = []
    with run_emulator(config) as emu, structlog.testing.capture_logs() as logs:
        settings = load_settings(
            vk_api_url=emu.base_url,
            vk_tokens=f"{REVOKED_SECRET},{SECRET}",
            vk_backoff_base_seconds=0.01,
            vk_backoff_cap_seconds=0.05,
            vk_read_timeout_seconds=0.1,
            vk_max_attempts=2,
            vk_rps_per_token=100,
        )
        client = VkClient.from_settings(settings)
        owner = -client.resolve_screen_name("gorod_novosti")["object_id"]
        calls = [
            VkCall("wall.get", {"owner_id": owner, "count": 2, "offset": i}) for i in range(40)
        ]
        calls.append(VkCall("wall.get", {"owner_id": -1}))
        for _ in range(2):
            errors += [o.error for o in client.call_many(calls) if o.error is not None]
            for n in range(5):
                try:
                    client.call("wall.get", {"owner_id": owner, "offset": n})
                except VkError as exc:
                    errors.append(exc)
        emu.revoke_token(SECRET)
        with pytest.raises(VkNoTokensError) as no_tokens:
            client.call("wall.get", {"owner_id": owner})
        errors.append(no_tokens.value)
        snapshot = client.counters.snapshot()
    assert len(errors) >= 5
    assert {type(e).__name__ for e in errors} >= {"VkTransportError", "VkNoTokensError"}
    assert any(e["event"] == "vk.token_dropped" for e in logs)
    assert any(e["event"] == "vk.retry" for e in logs)
    assert caplog.records  # the standard loggers did say something
    assert not _leaks(repr(logs))
    assert not _leaks(caplog.text)
    assert not any(_leaks(r.getMessage()) for r in caplog.records)
    for error in errors:
        assert not _leaks(str(error))
        assert not _leaks(repr(error))
        assert not _leaks("".join(traceback.format_exception(error)))
        assert not _leaks(repr(vars(error)))
        assert not _leaks(pickle.dumps(error).decode("latin-1"))
    assert not _leaks(repr(snapshot))
    assert not _leaks(repr(client.pool.status()))
    assert not _leaks(repr(client.pool))
