"""Who is asking: an API key from `Authorization: Bearer` or `X-API-Key`; read-only keys read."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import ApiError
from parser_pipeline.store import api_keys as keys

API_KEY_HEADER: Final = "X-API-Key"
_CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer vkp_...`")
_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="`X-API-Key: vkp_...`")


def current_key(
    request: Request,
    state: State,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> keys.ApiKey:
    """The request's key; 401 without one or with one that is unknown or revoked."""
    presented = header or (bearer.credentials if bearer is not None else None)
    if not presented:
        raise ApiError(
            401,
            "unauthorized",
            f"an API key is required: send `Authorization: Bearer KEY` or `{API_KEY_HEADER}: KEY`"
            " (create one with `vkpipe api-keys create NAME`)",
            headers=_CHALLENGE,
        )
    key = keys.authenticate(state.engine, presented, state.clock())
    if key is None:
        raise ApiError(
            401, "invalid_api_key", "the API key is unknown or revoked", headers=_CHALLENGE
        )
    request.state.api_key_name = key.name
    return key


def writer(key: Annotated[keys.ApiKey, Depends(current_key)]) -> keys.ApiKey:
    """The request's key, which must be allowed to change things (403 for a read-only key)."""
    if key.read_only:
        raise ApiError(
            403, "read_only_key", f"API key {key.name!r} is read-only; this request changes data"
        )
    return key


Reader = Depends(current_key)
Writer = Depends(writer)
