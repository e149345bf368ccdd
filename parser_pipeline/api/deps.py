"""What endpoints receive: the app's state (settings, one Engine, the lazy VK client)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine

from parser_pipeline.api.errors import ApiError
from parser_pipeline.crawl.groups import GroupApi
from parser_pipeline.errors import ConfigError
from parser_pipeline.settings import Settings


@dataclass
class ApiState:
    """Built once per app. The VK client is made on the first group add, used by one request
    at a time (group adds are rare; the client's token leases stay simple), closed on exit."""

    settings: Settings
    engine: Engine
    export_dir: Path
    make_vk: Callable[[], GroupApi]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _vk: GroupApi | None = None
    _vk_lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def vk(self) -> Iterator[GroupApi]:
        with self._vk_lock:
            if self._vk is None:
                try:
                    self._vk = self.make_vk()
                except ConfigError as exc:
                    raise ApiError(503, "vk_unavailable", str(exc)) from None
            yield self._vk

    def close(self) -> None:
        with self._vk_lock:
            close = getattr(self._vk, "close", None)
            if callable(close):
                close()
            self._vk = None

    def lifespan(
        self, *, dispose_engine: bool
    ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
        """An app's lifespan: at shutdown the VK client closes, and the engine if it is ours."""

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            try:
                yield
            finally:
                self.close()
                if dispose_engine:
                    self.engine.dispose()

        return lifespan


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


State = Annotated[ApiState, Depends(api_state)]
