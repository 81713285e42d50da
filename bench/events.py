"""A lean client of ``/api/events/stream`` (the domain events as SSE): the moment
the API tells a client that a job finished, noted on arrival."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from bench.live_support import HOST, Dechunker, Server


@dataclass(frozen=True)
class Arrival:
    perf: float
    """``time.perf_counter()`` when the event's bytes arrived."""
    wall: float
    """``time.time()`` then (comparable with the server's timestamps: one clock)."""
    data: dict[str, Any]


class EventStream(asyncio.Protocol):
    """Keeps every ``job.finished`` event by job id; ``finished(job_id)`` waits for one."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers
        self._transport: asyncio.Transport | None = None
        self._head = b""
        self._headers_done = False
        self._body = bytearray()
        self._dechunker = Dechunker(self._body.extend)
        self.finished_jobs: dict[int, Arrival] = {}
        self._waiters: dict[int, asyncio.Future[Arrival]] = {}
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(cls, server: Server) -> EventStream:
        loop = asyncio.get_running_loop()
        stream = cls(server.auth_headers)
        await loop.create_connection(lambda: stream, HOST, server.port)
        await asyncio.wait_for(stream.ready, 30)
        return stream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        extra = "".join(f"{k}: {v}\r\n" for k, v in self._headers.items())
        transport.write(
            f"GET /api/events/stream HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Accept: text/event-stream\r\n{extra}\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        perf, wall = time.perf_counter(), time.time()
        if not self._headers_done:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self._head.startswith(b"HTTP/1.1 200"):
                error = RuntimeError(f"events stream: {self._head[:200]!r}")
                if not self.ready.done():
                    self.ready.set_exception(error)
                return
            self._headers_done = True
            if not self.ready.done():
                self.ready.set_result(None)
            data, self._head = self._head[end + 4 :], b""
        self._dechunker.feed(data)
        while (end := self._body.find(b"\n\n")) >= 0:
            block = bytes(self._body[:end])
            del self._body[: end + 2]
            self._event(block, perf, wall)

    def _event(self, block: bytes, perf: float, wall: float) -> None:
        name, payload = b"", b""
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                name = line[7:]
            elif line.startswith(b"data: "):
                payload = line[6:]
        if name != b"job.finished" or not payload:
            return
        data = json.loads(payload)
        arrival = Arrival(perf=perf, wall=wall, data=data)
        job_id = int(data["job_id"])
        self.finished_jobs[job_id] = arrival
        waiter = self._waiters.pop(job_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrival)

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError("the events stream closed")
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(error)
        if not self.ready.done():
            self.ready.set_exception(error)
        if not self.closed.done():
            self.closed.set_result(None)

    async def finished(self, job_id: int, timeout: float) -> Arrival:
        if job_id in self.finished_jobs:
            return self.finished_jobs[job_id]
        waiter = self._waiters.setdefault(job_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), timeout)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
