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
    """The request's key; 401 without one, with one that is unknown or revoked, or with two
    different ones (a read-only bearer beside a read-write header must not write)."""
    from_bearer = bearer.credentials if bearer is not None else None
    if header and from_bearer and header.strip() != from_bearer.strip():
        raise ApiError(
            401,
            "conflicting_api_keys",
            f"`Authorization` and `{API_KEY_HEADER}` carry different keys; send one key",
            headers=_CHALLENGE,
        )
    presented = header or from_bearer
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


def own_exports(key: keys.ApiKey) -> int | None:
    """Whose exports `key` may see: its own (its id), or every one (None) for an admin key."""
    return None if key.admin else key.id


def writer(key: Annotated[keys.ApiKey, Depends(current_key)]) -> keys.ApiKey:
    """The request's key, which must be allowed to change things (403 for a read-only key)."""
    if key.read_only:
        raise ApiError(
            403, "read_only_key", f"API key {key.name!r} is read-only; this request changes data"
        )
    return key


def optional_key(
    request: Request,
    state: State,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> keys.ApiKey | None:
    """The request's key if it sent one (401 when unknown or revoked); None if it sent none."""
    if not header and bearer is None:
        return None
    return current_key(request, state, bearer, header)


Reader = Depends(current_key)
Writer = Depends(writer)
OptionalKey = Annotated[keys.ApiKey | None, Depends(optional_key)]
# The key itself, for routes that answer by whose key it is (exports belong to keys).
ReaderKey = Annotated[keys.ApiKey, Depends(current_key)]
WriterKey = Annotated[keys.ApiKey, Depends(writer)]
