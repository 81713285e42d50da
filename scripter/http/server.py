"""uvicorn, taught to end the app's live streams when it starts shutting down."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn


class Server(uvicorn.Server):
    """On shutdown uvicorn first waits for open connections to finish, and only then
    runs the app's lifespan shutdown: SSE streams, which never finish by themselves,
    would hold it until ``timeout_graceful_shutdown`` and then be cancelled.
    ``on_shutdown`` (``Scripter.end_live_streams``) is called first, so they end
    cleanly and clients reconnect elsewhere with ``Last-Event-ID``."""

    def __init__(self, config: uvicorn.Config, *, on_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)
