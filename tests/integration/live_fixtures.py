"""A Scripter app served by a real uvicorn on 127.0.0.1, in the test's own event loop,
and a small SSE client on httpx. (Litestar's test client buffers whole responses, so
streams are tested over real HTTP.)"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import uvicorn

from scripter.adapters.log_tailer import WatchfilesLogTailer
from scripter.bootstrap import Role, Scripter, bootstrap
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus, log_file_name
from scripter.domain.scripts import Script
from scripter.http.app import create_app
from scripter.http.server import Server
from scripter.services.live_logs import LiveSettings
from tests.access import auth_headers
from tests.conftest import remove_namespace_containers
from tests.integration.app_fixtures import App, make_test_config, require_docker

WAIT = 20.0
"""Bound of every wait in these tests (nothing is timed)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SseEvent:
    event: str = "message"
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The log chunk a data event carries (a JSON string)."""
        value = json.loads(self.data)
        assert isinstance(value, str)
        return value

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class SseReader:
    """Parses an SSE response into events (comments and ``retry:`` lines kept aside)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.aiter_raw()
        self._buffer = b""
        self.comments: list[str] = []

    async def next(self) -> SseEvent | None:
        """The next event with data, or None when the stream closed."""
        while True:
            while b"\n\n" not in self._buffer:
                try:
                    self._buffer += await anext(self._chunks)
                except StopAsyncIteration:
                    return None
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            event = SseEvent()
            for line in block.decode().split("\n"):
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    self.comments.append(value)
                elif name == "data":
                    event.data = f"{event.data}\n{value}" if event.data else value
                elif name in ("event", "id"):
                    setattr(event, name, value)
            if event.data:
                return event

    async def until(self, event_type: str) -> list[SseEvent]:
        """Every event up to and including the first of ``event_type``."""
        seen: list[SseEvent] = []
        async with asyncio.timeout(WAIT):
            while True:
                event = await self.next()
                assert event is not None, f"the stream closed before {event_type}: {seen}"
                seen.append(event)
                if event.event == event_type:
                    return seen

    async def log_until(self, end_offset: int) -> list[SseEvent]:
        """Log events until one whose id is ``end_offset``."""
        seen: list[SseEvent] = []
        async with asyncio.timeout(WAIT):
            while not seen or seen[-1].id != str(end_offset):
                event = await self.next()
                assert event is not None, f"the stream closed early: {seen}"
                seen.append(event)
        return seen


def log_text(events: list[SseEvent]) -> str:
    return "".join(e.text for e in events if e.event == "message")


@dataclass
class LiveApp:
    scripter: Scripter
    base_url: str
    data: Path
    server: Server

    @property
    def headers(self) -> dict[str, str]:
        """What every client of this app sends: the token it made at start."""
        return auth_headers(self.data)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=WAIT, headers=self.headers)

    @property
    def tailer(self) -> WatchfilesLogTailer:
        assert isinstance(self.scripter.tailer, WatchfilesLogTailer)
        return self.scripter.tailer

    @asynccontextmanager
    async def sse(
        self, path: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[SseReader]:
        async with (
            self.client() as client,
            client.stream("GET", path, headers=dict(headers or {})) as response,
        ):
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield SseReader(response)

    async def add_job(self, status: JobStatus = JobStatus.RUNNING) -> tuple[int, Path]:
        """A job (with its script and image rows) whose log file the test writes."""
        now = datetime.now(UTC)
        async with self.scripter.unit_of_work() as uow:
            image = await uow.images.get_by_name("base")
            if image is None:
                image = await uow.images.add(
                    Image(
                        name="base",
                        status=ImageStatus.BUILT,
                        tag="t",
                        created_at=now,
                        updated_at=now,
                    )
                )
            script = await uow.scripts.add(
                Script(
                    name=f"s-{uuid.uuid4().hex[:8]}",
                    image_id=image.require_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            # Its revision 1, as every job has: the log is served with its secrets.
            revision = script.revise(None, now, {"main.py": b""})
            assert revision is not None
            await uow.scripts.update(script)
            await uow.scripts.add_revision(revision)
            job = await uow.jobs.add(
                Job(
                    script_id=script.require_id,
                    revision=1,
                    image_id=image.require_id,
                    created_at=now,
                )
            )
            # The file store's layout and the job's own idea of its log agree.
            log = self.scripter.files.job_log(script.require_id, log_file_name(now, job.require_id))
            assert log == self.scripter.files.root / str(job.log_path)
            if status != JobStatus.QUEUED:
                job.start(now, container_id="c")
            await uow.jobs.update(job)
            await uow.commit()
        if status != JobStatus.QUEUED:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.touch()
        return job.require_id, log

    async def finish_job(self, job_id: int, exit_code: int = 0) -> None:
        async with self.scripter.unit_of_work() as uow:
            job = await uow.jobs.get(job_id)
            job.finish_from_exit(datetime.now(UTC), exit_code, oom_killed=False, memory_mb=None)
            await uow.jobs.update(job)
            await uow.commit()

    async def add_building_image(self) -> tuple[int, Path]:
        now = datetime.now(UTC)
        async with self.scripter.unit_of_work() as uow:
            image = await uow.images.add(
                Image(name=f"i-{uuid.uuid4().hex[:8]}", created_at=now, updated_at=now)
            )
            image.request_build(now)
            image.start_build(now)
            await uow.images.update(image)
            await uow.commit()
        path = self.scripter.files.build_log(image.require_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        return image.require_id, path

    async def finish_build(self, image_id: int, error: str | None = None) -> None:
        now = datetime.now(UTC)
        async with self.scripter.unit_of_work() as uow:
            image = await uow.images.get(image_id)
            if error is None:
                image.finish_build(now, docker_image_id="sha256:x", tag="t")
            else:
                image.fail_build(now, error)
            await uow.images.update(image)
            await uow.commit()

    async def until(self, condition: Any, what: str) -> None:
        """Wait (bounded) until ``condition()`` is true."""
        async with asyncio.timeout(WAIT):
            while not condition():
                await asyncio.sleep(0.02)


@asynccontextmanager
async def live_app(
    data: Path,
    roles: set[Role],
    *,
    settings: LiveSettings | None = None,
    **env: str,
) -> AsyncIterator[LiveApp]:
    """``scripter`` with ``roles`` behind uvicorn on a free loopback port."""
    scripter = bootstrap(make_test_config(data, **env), live_settings=settings)
    port = free_port()
    server = Server(
        uvicorn.Config(
            create_app(scripter, roles=roles, migrate=True),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
        ),
        on_shutdown=scripter.end_live_streams,
    )
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(WAIT):
            while not server.started:
                assert not serving.done(), "uvicorn did not start"
                await asyncio.sleep(0.02)
        yield LiveApp(
            scripter=scripter, base_url=f"http://127.0.0.1:{port}", data=data, server=server
        )
    finally:
        server.should_exit = True
        async with asyncio.timeout(WAIT):
            await serving


@asynccontextmanager
async def live_worker_app(tmp_path: Path) -> AsyncIterator[LiveApp]:
    """A live app with a worker on the real Docker engine, in a namespace of its own
    (derived from its data directory); its job containers are removed afterwards."""
    require_docker()
    data = tmp_path / "data"
    namespace = "scripter-test-" + hashlib.sha256(str(data).encode()).hexdigest()[:10]
    async with live_app(
        data, {Role.API, Role.WORKER}, SCRIPTER_DOCKER_IMAGE_PREFIX=namespace
    ) as started:
        try:
            yield started
        finally:
            remove_namespace_containers(namespace)


def as_app(live: LiveApp) -> App:
    """The jobs tests' helpers want an ``App``; they use its database and config only."""
    return App(client=cast(Any, None), scripter=live.scripter, data=live.data)
