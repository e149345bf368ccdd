"""The error hierarchy of vkpipe; library exceptions are translated into these at each boundary.

    VkpipeError                      every error vkpipe raises on purpose
    ├── ConfigError                  a setting or CLI input is wrong (exit code 2)
    ├── StorageError                 the database is unreachable or refused a statement
    ├── CoordinationError            Redis (the shared rate limit, quota ledger) is unreachable
    ├── NotFoundError                a group, job or keyword the user named does not exist
    ├── ExportError                  an export file could not be written (disk full, I/O)
    ├── AlertDeliveryError           a channel did not take an alert (retried until its max age)
    └── VkError                      anything the VK API (or the road to it) answered
        ├── VkTransientError         worth retrying with backoff
        │   ├── VkTransportError     timeout, reset, HTTP 5xx, HTML or truncated JSON (code None)
        │   ├── VkRateLimitError     6 too many requests per second, 9 flood control
        │   └── VkServerError        1 unknown error, 10 internal server error
        ├── VkExecuteSplitError      13 from execute: split the batch and retry the halves
        ├── VkTokenError             the token, not the request, is the problem
        │   ├── VkTokenRevokedError  5 authorization failed: drop the token from the pool
        │   ├── VkTokenParkedError   14 captcha: park the token for a while
        │   └── VkMethodQuotaError   29 this token's daily quota of this method is spent
        ├── VkPermanentError         never retried: recorded on the group or post, work moves on
        │   ├── VkAccessDeniedError  15, 18, 30, 200, 203, 212, 213
        │   └── VkInvalidRequestError 100, 113, 12 and every code not listed here
        ├── VkMalformedAnswerError   valid JSON of the wrong shape: that work fails, named, no retry
        ├── VkQuotaExhaustedError    every token's quota of a method is spent: the call waits for
        │                            the quota day to end (it is neither retried nor failed)
        └── VkNoTokensError          every token in the pool is revoked: the job fails, clearly

Every VkError carries the method and the request parameters that failed, never the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

# Parameters that are secret by VK's protocol; they are stripped from every error we build.
_SECRET_PARAMS = frozenset({"access_token", "client_secret", "password"})


class VkpipeError(Exception):
    """Root of vkpipe's own errors; `str(error)` is one line a user can act on."""


class ConfigError(VkpipeError):
    """A setting or a command-line value is wrong; the message names it and what is allowed."""


class StorageError(VkpipeError):
    """The database could not be reached or refused a statement."""


class CoordinationError(VkpipeError):
    """The shared rate limiter or quota ledger (Redis) cannot be reached: VK must not be
    called blind, so the work waits and is tried again."""


class NotFoundError(VkpipeError):
    """Something the user named (a group, a job, a keyword) does not exist."""


class AlertDeliveryError(VkpipeError):
    """A channel did not take an alert: a timeout, a refused connection, a non-2xx answer.

    `retry_after` is the receiver's own wait (Retry-After, Telegram's retry_after) in seconds;
    the message names the channel kind and the cause, never a token, secret or chat id.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ExportError(VkpipeError):
    """An export could not be written (a full disk, an I/O error); nothing was left behind."""


def public_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Request parameters safe to keep in an error, a log line or a database row."""
    return {k: v for k, v in (params or {}).items() if k not in _SECRET_PARAMS}


class VkError(VkpipeError):
    """An answer from VK (or the failure to get one) for one method call."""

    #: VK error codes this class stands for; used by `from_response`.
    codes: ClassVar[frozenset[int]] = frozenset()
    #: Whether the retry policy may try the same call again.
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        method: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.method = method
        self.params = public_params(params)
        self.vk_message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.method}: " if self.method else ""
        code = f"VK error {self.code}: " if self.code is not None else ""
        return f"{where}{code}{self.vk_message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable across process pools with their keyword-only fields.
        return (_rebuild, (type(self), self.vk_message, self.code, self.method, self.params))

    @classmethod
    def from_response(
        cls, error: Mapping[str, Any], *, method: str = "", params: Mapping[str, Any] | None = None
    ) -> VkError:
        """Map VK's `{"error_code", "error_msg"}` (or an `execute_errors` entry) to a class."""
        try:
            code = int(error.get("error_code", 0))
        except (TypeError, ValueError):
            code = 0
        message = str(error.get("error_msg", "unknown error"))
        method = str(error.get("method") or method)
        return error_class_for(code)(message, code=code, method=method, params=params)


def _rebuild(
    klass: type[VkError], message: str, code: int | None, method: str, params: dict[str, Any]
) -> VkError:
    return klass(message, code=code, method=method, params=params)


class VkTransientError(VkError):
    retryable = True


class VkTransportError(VkTransientError):
    """No usable answer: timeout, connection reset, HTTP 5xx, an HTML page, broken JSON."""


class VkRateLimitError(VkTransientError):
    codes = frozenset({6, 9})


class VkServerError(VkTransientError):
    codes = frozenset({1, 10})


class VkExecuteSplitError(VkError):
    """execute hit a runtime error or a too-large answer: run its calls in smaller batches."""

    codes = frozenset({13})


class VkTokenError(VkError):
    """The token is the problem; another token may succeed with the same call."""

    retryable = True


class VkTokenRevokedError(VkTokenError):
    codes = frozenset({5})


class VkTokenParkedError(VkTokenError):
    codes = frozenset({14})


class VkMethodQuotaError(VkTokenError):
    """Error 29: this token may not call this method again until the quota day ends."""

    codes = frozenset({29})


class VkPermanentError(VkError):
    """The object itself cannot be read; retrying cannot help."""


class VkAccessDeniedError(VkPermanentError):
    codes = frozenset({15, 18, 30, 200, 203, 212, 213})


class VkInvalidRequestError(VkPermanentError):
    codes = frozenset({12, 100, 113})


class VkMalformedAnswerError(VkError):
    """VK answered valid JSON that lacks a field or has a wrong type where vkpipe needs one.

    Not a property of the post or group (those are VkPermanentError, recorded and skipped):
    the work that met it fails with the field named, and the next crawl reads it again.
    """


class VkNoTokensError(VkError):
    """No token in the pool can be used any more."""


class VkQuotaExhaustedError(VkError):
    """No token may call these methods again before the quota day ends at `resets_at`."""

    def __init__(
        self,
        message: str,
        *,
        methods: tuple[str, ...] = (),
        resets_at: datetime | None = None,
        method: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.methods = methods
        self.resets_at = resets_at
        super().__init__(message, method=method, params=params)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_quota, (self.vk_message, self.methods, self.resets_at))


def _rebuild_quota(
    message: str, methods: tuple[str, ...], resets_at: datetime | None
) -> VkQuotaExhaustedError:
    return VkQuotaExhaustedError(message, methods=methods, resets_at=resets_at)


_BY_CODE: dict[int, type[VkError]] = {
    code: klass
    for klass in (
        VkRateLimitError,
        VkServerError,
        VkExecuteSplitError,
        VkTokenRevokedError,
        VkTokenParkedError,
        VkMethodQuotaError,
        VkAccessDeniedError,
        VkInvalidRequestError,
    )
    for code in klass.codes
}


def error_class_for(code: int) -> type[VkError]:
    """The class for a VK error code; codes we do not know are permanent (never retried blindly)."""
    return _BY_CODE.get(code, VkInvalidRequestError)
