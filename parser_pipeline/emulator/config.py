"""Configuration of the VK API emulator: scenario, tokens, rate limit and fault injection."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SCENARIOS: tuple[str, ...] = ("small", "standard", "large", "wide")

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


@dataclass(frozen=True)
class LatencyConfig:
    """How long answers take, drawn from `seed` (the same request order meets the same delays).

    A request travels `uplink_seconds` × U(0, 1) before the emulator judges it (the rate limit is
    judged on arrival, so travel-time spread reorders requests as the network does), then takes
    `base_seconds` + `per_call_seconds` × its inner execute calls, times U(1 − spread, 1 +
    spread), building the answer included; one answer in `1 / slow_share` takes `slow_factor`
    times longer.
    """

    base_seconds: float = 0.0
    per_call_seconds: float = 0.0
    spread: float = 0.0
    slow_share: float = 0.0
    slow_factor: float = 1.0
    uplink_seconds: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        values = (self.base_seconds, self.per_call_seconds, self.uplink_seconds)
        if min(values) < 0 or not 0 <= self.spread < 1 or not 0 <= self.slow_share <= 1:
            raise ValueError("latencies must be >= 0, spread in [0, 1), slow_share in [0, 1]")
        if self.slow_factor < 1:
            raise ValueError("slow_factor must be >= 1")

    @classmethod
    def vk_like(cls, seed: int = 0) -> LatencyConfig:
        """Real VK as measured (VK_API.md): an execute of 25 wall.getComments in about 0.2–1.5 s.

        0.15 s + 0.02 s per inner call (0.65 s for 25) ± 30%, one answer in 50 four times
        slower, and up to 40 ms of travel before VK counts the request.
        """
        return cls(0.15, 0.02, 0.3, 0.02, 4.0, 0.04, seed)

    @property
    def enabled(self) -> bool:
        return self.base_seconds > 0 or self.per_call_seconds > 0 or self.uplink_seconds > 0


def parse_latency(text: str, seed: int = 0) -> LatencyConfig:
    """`off`, `vk` (LatencyConfig.vk_like) or `BASE[+PER_CALL][~SPREAD][^UPLINK]` in seconds,
    e.g. `0.15+0.02~0.3^0.04`."""
    value = text.strip().lower()
    if value in ("", "off", "0"):
        return LatencyConfig()
    if value == "vk":
        return LatencyConfig.vk_like(seed)
    match = re.fullmatch(
        r"(?P<base>[\d.]+)(?:\+(?P<per>[\d.]+))?(?:~(?P<spread>[\d.]+))?(?:\^(?P<up>[\d.]+))?",
        value,
    )
    if match is None:
        raise ValueError(f"{text!r} is not off, vk or BASE[+PER_CALL][~SPREAD][^UPLINK]")
    return LatencyConfig(
        float(match["base"]),
        float(match["per"] or 0),
        float(match["spread"] or 0),
        uplink_seconds=float(match["up"] or 0),
        seed=seed,
    )


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
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    # Calls per token, per method, per quota day (e.g. {"wall.get": 5000}); calls inside an
    # execute count against their own method. Past it the method answers error 29.
    daily_quotas: Mapping[str, int] = field(default_factory=dict)
    # Where quota days begin: midnight Moscow time, on the real clock ("real") or on the
    # world's clock ("world", which advance() moves an hour a step).
    quota_reset_hour: int = 0
    quota_timezone: str = "Europe/Moscow"
    quota_time: str = "real"
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
        if any(n < 0 for n in self.daily_quotas.values()):
            raise ValueError("daily quotas must be >= 0")
        if self.quota_time not in ("real", "world") or not 0 <= self.quota_reset_hour < 24:
            raise ValueError("quota_time is real or world; quota_reset_hour is 0..23")
