"""Fixtures for the VK emulator contract tests: running emulators and plain clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from emulator_refcrawl import Client

from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator

TOKEN = "emulator-token"


@pytest.fixture(scope="module")
def small_emu() -> Iterator[Emulator]:
    """A read-only small world without rate limit or faults, shared by a test module."""
    with run_emulator(EmulatorConfig(scenario="small", seed=1, rate_limit_per_second=None)) as emu:
        yield emu


@pytest.fixture
def fresh_emu() -> Iterator[Callable[..., Emulator]]:
    """A factory of emulators a test may change (advance, revoke, faults); stopped afterwards."""
    started: list[Emulator] = []

    def make(**kwargs: object) -> Emulator:
        kwargs.setdefault("rate_limit_per_second", None)
        emu = Emulator(EmulatorConfig(**kwargs)).start()  # type: ignore[arg-type]
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def vk(small_emu: Emulator) -> Client:
    """A client without retries against the shared small world."""
    return Client(small_emu.base_url, TOKEN, retry=False)
