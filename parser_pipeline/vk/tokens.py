"""The token pool: which VK token to use next, which are parked for a while, which are dropped."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import structlog
from pydantic import SecretStr

from parser_pipeline.errors import VkNoTokensError

log = structlog.get_logger(__name__)

# Hex digits of sha256(token) that name a token in Redis keys and logs: 48 bits, so two real
# tokens never collide, and the id reveals nothing of the token.
TOKEN_ID_HEX_DIGITS = 12


def token_id(token: str) -> str:
    """A short stable id for a token, safe for Redis keys, logs and errors."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:TOKEN_ID_HEX_DIGITS]


def token_hint(token: str) -> str:
    """How a person recognises a token: its last four characters only."""
    return "…" + token[-4:] if len(token) > 8 else "…"


@dataclass
class _Token:
    secret: SecretStr
    id: str
    hint: str
    parked_until: float = 0.0
    dropped: bool = False
    uses: int = 0


@dataclass(frozen=True)
class TokenLease:
    """A token handed out for one request: the secret is only read when the request is built."""

    id: str
    hint: str
    secret: SecretStr

    def __repr__(self) -> str:  # never show the secret, even through SecretStr's own mask
        return f"TokenLease(id={self.id!r}, hint={self.hint!r})"

    def value(self) -> str:
        return self.secret.get_secret_value()


class TokenPool:
    """Tokens from settings; parks a token for a cool-down, drops a revoked one with one warning."""

    def __init__(
        self, tokens: Iterable[SecretStr | str], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: list[_Token] = []
        seen: set[str] = set()
        for raw in tokens:
            secret = raw if isinstance(raw, SecretStr) else SecretStr(raw)
            value = secret.get_secret_value()
            if not value or value in seen:
                continue
            seen.add(value)
            self._tokens.append(_Token(secret=secret, id=token_id(value), hint=token_hint(value)))
        if not self._tokens:
            raise VkNoTokensError(
                "no VK token configured: add one or more tokens to VKPIPE_VK_TOKENS "
                "(comma-separated) or VKPIPE_VK_TOKENS_FILE"
            )

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"TokenPool(tokens={[t.hint for t in self._tokens]!r})"

    def available(self) -> tuple[list[TokenLease], float]:
        """Usable tokens that are not parked (least used first), and seconds until one un-parks.

        Raises VkNoTokensError when every token is dropped.
        """
        with self._lock:
            now = self._clock()
            alive = [t for t in self._tokens if not t.dropped]
            if not alive:
                raise VkNoTokensError(
                    f"no usable VK token left: all {len(self._tokens)} were rejected by VK "
                    "(error 5, revoked or invalid); add a valid token to VKPIPE_VK_TOKENS"
                )
            ready = sorted((t for t in alive if t.parked_until <= now), key=lambda t: t.uses)
            wait = 0.0 if ready else min(t.parked_until for t in alive) - now
            return [TokenLease(t.id, t.hint, t.secret) for t in ready], max(0.0, wait)

    def usable_ids(self) -> list[str]:
        """Ids of the tokens not dropped (parked ones included)."""
        with self._lock:
            return [t.id for t in self._tokens if not t.dropped]

    def hints(self) -> dict[str, str]:
        """Token id -> its last four characters, for people (metrics, the doctor)."""
        return {t.id: t.hint for t in self._tokens}

    def mark_used(self, lease: TokenLease) -> None:
        with self._lock:
            for t in self._tokens:
                if t.id == lease.id:
                    t.uses += 1

    def park(self, lease: TokenLease, seconds: float, *, reason: str) -> None:
        """Keep `lease`'s token out of use for `seconds` (captcha, quota, rate limit)."""
        with self._lock:
            for t in self._tokens:
                if t.id == lease.id and not t.dropped:
                    t.parked_until = max(t.parked_until, self._clock() + seconds)
        log.info(
            "vk.token_parked", token=lease.hint, token_id=lease.id, seconds=seconds, reason=reason
        )

    def drop(self, lease: TokenLease, *, reason: str) -> bool:
        """Remove a revoked token for good, warning once; False when it was already dropped."""
        with self._lock:
            target = next((t for t in self._tokens if t.id == lease.id), None)
            if target is None or target.dropped:
                return False
            target.dropped = True
            left = sum(1 for t in self._tokens if not t.dropped)
        log.warning(
            "vk.token_dropped", token=lease.hint, token_id=lease.id, reason=reason, tokens_left=left
        )
        return True

    def status(self) -> list[dict[str, object]]:
        """Per token: hint, id, dropped, seconds parked left, uses (safe to print)."""
        with self._lock:
            now = self._clock()
            return [
                {
                    "token": t.hint,
                    "token_id": t.id,
                    "dropped": t.dropped,
                    "parked_seconds": max(0.0, t.parked_until - now),
                    "uses": t.uses,
                }
                for t in self._tokens
            ]
