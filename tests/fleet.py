"""The end-to-end tests' fleet: bench/fleet.py's launcher with the tests' tokens and settings."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select

from bench import fleet as launcher
from bench.fleet import Fleet
from parser_pipeline.emulator import Emulator
from parser_pipeline.settings import Settings, load_settings
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs

__all__ = [
    "TOKENS", "Fleet", "fleet_env", "fleet_vk_settings", "jobs_final", "register_all", "wait_for",
]  # fmt: skip

TOKENS = ("e2e-token-1", "e2e-token-2", "e2e-token-3")
# The longest an e2e wait may take before the test fails (a hang must not hang CI).
DEADLINE_SECONDS = 240.0


def wait_for(
    condition: Callable[[], bool],
    what: str,
    fleet: Fleet | None = None,
    timeout: float = DEADLINE_SECONDS,
) -> None:
    """Wait for an event the test caused, with a deadline (bench/fleet.py's `wait_for`)."""
    launcher.wait_for(condition, what, fleet, timeout)


def jobs_final(engine: Engine, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        with engine.connect() as connection:
            statuses = list(connection.execute(select(crawl_jobs.c.status)).scalars())
        return len(statuses) >= expected and all(s not in UNFINISHED_JOB_STATUSES for s in statuses)

    return check


def register_all(engine: Engine, emulator: Emulator) -> int:
    """Monitor every community of the emulated world; returns how many."""
    return launcher.register_all(engine, emulator, TOKENS)


# How a test fleet calls VK: a generous rate (the emulator's limit is off), quick retries.
FLEET_VK_SETTINGS = {
    "vk_rps_per_token": "50",
    "vk_backoff_base_seconds": "0.05",
    "vk_backoff_cap_seconds": "0.5",
    "vk_max_attempts": "12",
}


def fleet_vk_settings(emulator: Emulator, tokens: tuple[str, ...] = TOKENS) -> Settings:
    """The VK settings a test fleet runs with, for a crawl in the test's own process."""
    return load_settings(
        vk_api_url=emulator.base_url, vk_tokens=",".join(tokens), **FLEET_VK_SETTINGS
    )


def fleet_env(
    *,
    database_url: str,
    broker_url: str,
    limiter_url: str,
    vk_api_url: str,
    tokens: tuple[str, ...] = TOKENS,
    lost_work_after_seconds: int = 8,
) -> dict[str, str]:
    """The environment of a test fleet: fast retries and dispatch, short lost-work detection."""
    return launcher.fleet_environment(
        database_url=database_url,
        broker_url=broker_url,
        limiter_url=limiter_url,
        vk_api_url=vk_api_url,
        tokens=tokens,
        settings={
            "dispatch_interval_seconds": "1",
            "reconcile_interval_seconds": "2",
            "lost_work_after_seconds": str(lost_work_after_seconds),
            # Every post's count checked on every crawl, so the database equals the truth after
            # every crawl of a world that moved (the default tiers check old posts daily).
            "recheck_tiers": "*=0/30d",
            "log_level": "INFO",
            **FLEET_VK_SETTINGS,
        },
    )
