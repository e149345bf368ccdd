"""VK API errors and parameter parsing with VK's own validation messages."""

from __future__ import annotations

from collections.abc import Mapping

Params = Mapping[str, str]

ERROR_UNKNOWN = 1
ERROR_UNKNOWN_METHOD = 3
ERROR_AUTH = 5
ERROR_TOO_MANY_RPS = 6
ERROR_INVALID_REQUEST = 8
ERROR_FLOOD = 9
ERROR_INTERNAL = 10
ERROR_EXECUTE_COMPILE = 12
ERROR_EXECUTE_RUNTIME = 13
ERROR_ACCESS_DENIED = 15
ERROR_QUOTA = 29
ERROR_PRIVATE_PROFILE = 30
ERROR_PARAM = 100
ERROR_INVALID_USER = 113
ERROR_COMMENTS_DENIED = 212

MESSAGES: dict[int, str] = {
    ERROR_UNKNOWN: "Unknown error occurred",
    ERROR_UNKNOWN_METHOD: "Unknown method passed",
    ERROR_AUTH: "User authorization failed: invalid access_token (4).",
    ERROR_TOO_MANY_RPS: "Too many requests per second",
    ERROR_INVALID_REQUEST: "Invalid request: v (version) is required",
    ERROR_FLOOD: "Flood control",
    ERROR_INTERNAL: "Internal server error",
    ERROR_EXECUTE_COMPILE: "Unable to compile code",
    ERROR_EXECUTE_RUNTIME: "Runtime error occurred during code invocation",
    ERROR_ACCESS_DENIED: "Access denied",
    ERROR_QUOTA: "Rate limit reached",
    ERROR_PRIVATE_PROFILE: "This profile is private",
    ERROR_PARAM: "One of the parameters specified was missing or invalid",
    ERROR_INVALID_USER: "Invalid user id",
    ERROR_COMMENTS_DENIED: "Access to post comments denied",
}


class VkApiError(Exception):
    """A VK error answer (`{"error": {...}}` with HTTP 200)."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = (
            message if message is not None else MESSAGES.get(code, MESSAGES[ERROR_UNKNOWN])
        )
        super().__init__(f"[{code}] {self.message}")


def param_error(detail: str) -> VkApiError:
    return VkApiError(ERROR_PARAM, f"{MESSAGES[ERROR_PARAM]}: {detail}")


def get_int(
    params: Params,
    name: str,
    default: int | None = None,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int | None:
    """An integer parameter; VK's error 100 when it is not an integer or out of range."""
    raw = params.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise param_error(f"{name} not integer") from None
    if low is not None and value < low:
        raise param_error(f"{name} should be greater or equal to {low}")
    if high is not None and value > high:
        raise param_error(f"{name} should be less or equal to {high}")
    return value


def require_int(
    params: Params, name: str, *, low: int | None = None, high: int | None = None
) -> int:
    value = get_int(params, name, low=low, high=high)
    if value is None:
        raise param_error(f"{name} is undefined")
    return value


def get_flag(params: Params, name: str) -> bool:
    return params.get(name, "0").strip().lower() in {"1", "true"}


def get_list(params: Params, name: str) -> list[str]:
    return [x.strip() for x in params.get(name, "").split(",") if x.strip()]
