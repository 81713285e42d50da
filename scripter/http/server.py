"""uvicorn, taught to end the app's live streams when it starts shutting down."""

from __future__ import annotations

import gc
import socket
from collections.abc import Callable

import uvicorn


class Server(uvicorn.Server):
    """On shutdown uvicorn first waits for open connections to finish, and only then
    runs the app's lifespan shutdown: SSE streams, which never finish by themselves,
    would hold it until ``timeout_graceful_shutdown`` and then be cancelled.
    ``on_shutdown`` (``Scripter.end_live_streams``) is called first, so they end
    cleanly and clients reconnect elsewhere with ``Last-Event-ID``.

    ``freeze_gc``: once started, move everything that exists (modules, the app and
    its routes, ORM metadata, pools: it all lives as long as the process) out of the
    cyclic garbage collector's reach. Its full passes over those objects otherwise
    stop the event loop for 100-500 ms now and then, which with 1,000 open streams
    was most of the p99 latency (docs/benchmarks.md). Only for a process that is
    just this server (not a test run that starts many).
    """

    def __init__(
        self, config: uvicorn.Config, *, on_shutdown: Callable[[], None], freeze_gc: bool = False
    ) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown
        self._freeze_gc = freeze_gc

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._freeze_gc:
            gc.freeze()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        await super().shutdown(sockets)
