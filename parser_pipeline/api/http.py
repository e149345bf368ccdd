"""HTTP manners FastAPI leaves out: HEAD for every GET, an `Allow` header naming every method,
and paths whose parameters cannot swallow their literal siblings.

HEAD is served by the GET route (the body is dropped, the headers are those of GET), so it is
never out of step with GET. FastAPI registers one route per method, and a 405 would name only
the methods of the first route with that path; `allowed_methods` asks every route. Ids in paths
are `{name:int}` and a group reference is `{name:group_ref}` (anything but "import"), so
`/keywords/test` or `/groups/import` with another method is 405, not a lookup of "test".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """ASGI middleware: a HEAD request runs as GET and its response goes out without a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _routes(router: Any) -> Iterator[BaseRoute]:
    """Every route, also those of included routers (FastAPI keeps those behind a wrapper; the
    app includes them without a prefix, so their own paths are the full paths)."""
    for route in getattr(router, "routes", ()):
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included)
        else:
            yield route


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """Every method some route serves at the request's path (HEAD wherever GET is)."""
    methods: set[str] = set()
    for route in _routes(router):
        found = getattr(route, "methods", None)
        if found and route.matches(scope)[0] is not Match.NONE:
            methods |= set(found)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


class GroupRefConvertor(Convertor[str]):
    """A group reference in a path: one segment, but not the literal `import` of /groups."""

    regex = r"(?!import$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("group_ref", GroupRefConvertor())
