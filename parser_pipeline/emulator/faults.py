"""A deterministic fault plan: which request meets which injected fault, drawn from a seed."""

from __future__ import annotations

import random

from .config import FAULT_ERROR6_BURST, FAULT_ERROR10, FaultConfig
from .model import derive_seed

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class FaultPlan:
    """Draws one fault (or none) per request; same seed and request order, same faults.

    An `error6_burst` hits the token's next `burst_length` requests. For `execute`,
    error 10 hits individual inner calls (`draw_inner`) instead of the whole request.
    """

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(derive_seed("faults", config.seed))
        self._rates = sorted(config.kind_rates().items())
        self._bursts: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return bool(self._rates)

    def draw(self, token: str, *, execute: bool = False) -> str | None:
        if not self._rates:
            return None
        left = self._bursts.get(token, 0)
        if left:
            self._bursts[token] = left - 1
            return FAULT_ERROR6_BURST
        r = self._rng.random()
        acc = 0.0
        for kind, rate in self._rates:
            acc += rate
            if r < acc:
                if kind == FAULT_ERROR10 and execute:
                    return None
                if kind == FAULT_ERROR6_BURST:
                    self._bursts[token] = self.config.burst_length - 1
                return kind
        return None

    def draw_inner(self) -> bool:
        """Whether one inner call of an execute fails with error 10."""
        rate = dict(self._rates).get(FAULT_ERROR10, 0.0)
        return rate > 0 and self._rng.random() < rate
