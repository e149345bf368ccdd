"""HTTP to VK on the `vk-api` package, redirected to our base URL, with our own error handling.

What this module overrides in vk-api 11.10.1 (see ../shared/VK_API.md): the hardcoded
`https://api.vk.ru/method` prefix (a transport adapter rewrites it to `settings.vk_api_url`),
the old default API version (5.199 is passed), `RPS_DELAY` (0: the shared limiter decides), the
per-instance lock (gone: requests run in parallel) and every `error_handlers` entry, notably
error 6's "sleep 0.5 s and retry forever". Library exceptions stop here: `requests` and JSON
failures become VkTransportError, VK error answers become the typed VkError from `errors.py`.
Answers are decoded by orjson rather than the standard library: an execute's answer is tens to
hundreds of kilobytes, and decoding it was 7% of a crawl's CPU (orjson takes a third of that).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import orjson
import requests
import vk_api
from jconfig.memory import MemoryConfig  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter

from parser_pipeline.errors import VkError, VkTransportError

# The prefix vk-api 11.10.1 posts every method call to (vk_api/vk_api.py, VkApi.method).
VK_API_HARDCODED_PREFIX = "https://api.vk.ru/method"
# Connections kept per host: one per worker thread that may talk to VK at once.
HTTP_POOL_SIZE = 16
_USER_AGENT = "vkpipe/0.1 (+https://github.com/vkpipe)"


class VkResponse(requests.Response):
    """A response whose `json()` (what vk-api calls on every answer) is orjson's. Broken JSON
    raises orjson.JSONDecodeError, a ValueError like the standard library's."""

    def json(self, **kwargs: Any) -> Any:
        return orjson.loads(self.content)


class VkBaseUrlAdapter(HTTPAdapter):
    """Sends requests meant for VK's hardcoded prefix to `base_url`, with default timeouts;
    its responses are VkResponse."""

    def __init__(self, base_url: str, timeout: tuple[float, float]) -> None:
        super().__init__(pool_connections=HTTP_POOL_SIZE, pool_maxsize=HTTP_POOL_SIZE)
        self.base_url = base_url.rstrip("/")
        self.default_timeout = timeout

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        if url.startswith(VK_API_HARDCODED_PREFIX):
            request.url = self.base_url + url[len(VK_API_HARDCODED_PREFIX) :]
        return super().send(request, timeout=timeout or self.default_timeout, **kwargs)

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response.__class__ = VkResponse  # requests builds a plain Response; only json() differs
        return response


def build_session(
    base_url: str,
    *,
    connect_timeout: float,
    read_timeout: float,
    session: requests.Session | None = None,
) -> requests.Session:
    """A requests session (the injected one, or a new one) whose VK calls go to `base_url`."""
    http = session or requests.Session()
    if session is None:
        http.headers["User-Agent"] = _USER_AGENT
    http.mount(VK_API_HARDCODED_PREFIX, VkBaseUrlAdapter(base_url, (connect_timeout, read_timeout)))
    return http


class VkTransport:
    """One HTTP request to one VK method with one token; answers the whole JSON body."""

    def __init__(self, session: requests.Session, *, api_version: str) -> None:
        self.session = session
        self.api_version = api_version
        api = vk_api.VkApi(
            token=None, api_version=api_version, session=session, config=MemoryConfig
        )
        api.RPS_DELAY = 0  # the shared rate limiter paces requests, not vk-api's sleep
        api.error_handlers = {}  # no sleeping-and-retrying on 6, no captcha prompts: we decide
        api.lock = contextlib.nullcontext()  # vk-api serialises requests per instance; we don't
        self._api = api

    def request(self, method: str, params: Mapping[str, Any], token: str) -> dict[str, Any]:
        """POST `method`; the whole answer (`response`, `execute_errors`), or a typed VkError."""
        values = dict(params)
        values["access_token"] = token
        values["v"] = self.api_version
        try:
            body = self._api.method(method, values, raw=True)
        except vk_api.exceptions.ApiError as exc:
            # The library's exception holds the request values (the token among them): build
            # ours from the VK error dict alone and cut the chain.
            error = exc.error if isinstance(exc.error, Mapping) else {}
            raise VkError.from_response(error, method=method, params=params) from None
        except vk_api.exceptions.ApiHttpError as exc:
            status = exc.response.status_code
            raise VkTransportError(f"HTTP {status} from VK", method=method, params=params) from None
        except requests.exceptions.Timeout as exc:
            raise VkTransportError(
                f"timed out ({type(exc).__name__})", method=method, params=params
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise VkTransportError(
                f"request failed ({type(exc).__name__})", method=method, params=params
            ) from exc
        except ValueError as exc:  # orjson.JSONDecodeError (VkResponse.json)
            raise VkTransportError(
                "VK answered with broken JSON", method=method, params=params
            ) from exc
        if not isinstance(body, dict) or "response" not in body:
            raise VkTransportError("VK answer has no 'response'", method=method, params=params)
        return body

    def close(self) -> None:
        self.session.close()
