"""When periodic work runs, and nothing else: beat publishes these and never does work itself."""

from __future__ import annotations

from typing import Any

from parser_pipeline.settings import Settings


def schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The beat schedule; intervals come from Settings so tests and operators can shorten them."""
    return {}
