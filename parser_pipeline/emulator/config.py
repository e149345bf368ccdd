"""Configuration of the VK API emulator: scenario, tokens, rate limit and fault injection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SCENARIOS: tuple[str, ...] = ("small", "standard", "large")

# VK's documented limit for user and service tokens (VK_API.md, "Rate limits").
VK_REQUESTS_PER_SECOND = 3

FAULT_ERROR10 = "error10"
FAULT_ERROR9 = "error9"
FAULT_ERROR6_BURST = "error6_burst"
FAULT_HTTP502 = "http502"
FAULT_TRUNCATED_JSON = "truncated_json"
FAULT_SLOW = "slow"
FAULT_KINDS: tuple[str, ...] = (
    FAULT_ERROR10,
    FAULT_ERROR9,
    FAULT_ERROR6_BURST,
    FAULT_HTTP502,
    FAULT_TRUNCATED_JSON,
    FAULT_SLOW,
)

# A slow answer must outlast a careless client's patience but keep unit tests fast;
# the reliability suite passes a larger delay (e.g. 2 s) to trip real timeouts.
DEFAULT_SLOW_SECONDS = 0.2
# VK's flood bursts reject several consecutive requests of one token, not a single one.
DEFAULT_BURST_LENGTH = 3
# The hostile preset: one request in ten goes wrong, enough to exercise every retry path.
HOSTILE_RATE = 0.1


@dataclass(frozen=True)
class FaultConfig:
    """Fault injection: `rate` is the probability that a request is hit, split evenly over `kinds`.

    `rates` (kind -> probability) overrides the even split when given. Everything is
    drawn from `random.Random(seed)`, so the same request sequence meets the same faults.
    """

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    rates: Mapping[str, float] | None = None
    slow_seconds: float = DEFAULT_SLOW_SECONDS
    burst_length: int = DEFAULT_BURST_LENGTH

    def __post_init__(self) -> None:
        unknown = [k for k in (*self.kinds, *(self.rates or {})) if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds: {unknown}; known: {list(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate}")
        if self.rates is not None and sum(self.rates.values()) > 1.0:
            raise ValueError("fault rates must sum to at most 1")
        if self.burst_length < 1 or self.slow_seconds < 0:
            raise ValueError("burst_length must be >= 1 and slow_seconds >= 0")

    @classmethod
    def off(cls) -> FaultConfig:
        """No faults at all (the default, and what the demo uses)."""
        return cls(rate=0.0)

    @classmethod
    def hostile(cls, seed: int = 0, *, slow_seconds: float = DEFAULT_SLOW_SECONDS) -> FaultConfig:
        """Every fault kind, one request in ten, for reliability tests."""
        return cls(rate=HOSTILE_RATE, seed=seed, slow_seconds=slow_seconds)

    def kind_rates(self) -> dict[str, float]:
        """The probability of each fault kind per request."""
        if self.rates is not None:
            return {k: float(v) for k, v in self.rates.items() if v > 0}
        if self.rate <= 0 or not self.kinds:
            return {}
        share = self.rate / len(self.kinds)
        return {k: share for k in self.kinds}

    @property
    def enabled(self) -> bool:
        return bool(self.kind_rates())


def _default_tokens() -> tuple[str, ...]:
    return ("emulator-token",)


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that defines one emulator run; the world is a pure function of scenario+seed."""

    scenario: str = "small"
    seed: int = 1
    tokens: tuple[str, ...] = field(default_factory=_default_tokens)
    revoked_tokens: tuple[str, ...] = ()
    rate_limit_per_second: int | None = VK_REQUESTS_PER_SECOND
    faults: FaultConfig = field(default_factory=FaultConfig.off)
    host: str = "127.0.0.1"
    port: int = 0
    clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; known: {', '.join(SCENARIOS)}")
        if not self.tokens:
            raise ValueError("at least one valid token must be configured")
        if self.rate_limit_per_second is not None and self.rate_limit_per_second < 1:
            raise ValueError("rate_limit_per_second must be >= 1 or None")
