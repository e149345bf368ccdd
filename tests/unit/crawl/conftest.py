"""Fixtures for the crawl unit tests: the bundled VK emulator and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.vk.client import VkClient

TOKEN = "crawl-unit-token"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """A read-only small world without rate limit or faults, shared by a test module."""
    config = EmulatorConfig(scenario="small", seed=1, tokens=(TOKEN,), rate_limit_per_second=None)
    with run_emulator(config) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[VkClient]:
    settings = load_settings(vk_api_url=emu.base_url, vk_tokens=TOKEN, vk_rps_per_token=100)
    vk = VkClient.from_settings(settings)
    try:
        yield vk
    finally:
        vk.close()
