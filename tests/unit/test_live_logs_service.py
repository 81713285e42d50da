"""``LiveLogs`` with in-memory fakes: a fake tailer whose files the test appends to,
and the fake unit of work for job and image status."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripter.domain.events import JobFinished
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job
from scripter.domain.logs import KeepAlive, LogChunk, LogEnd, LogItem, LogReset, LogTruncated
from scripter.domain.scripts import EnvVar, Script
from scripter.services.live_events import EventFeed
from scripter.services.live_logs import LiveLogs, LiveSettings
from tests.unit.fake_files import FakeFileStore
from tests.unit.fakes import FakeStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class FakeReader:
    def __init__(self, tailer: FakeTailer, path: Path) -> None:
        self._tailer, self._path = tailer, path
        self.closed = False

    async def read(self, offset: int, limit: int) -> bytes:
        content = self._tailer.files.get(self._path, bytearray())
        if len(content) < offset:
            raise LogTruncated(len(content))
        return bytes(content[offset : offset + limit])

    def close(self) -> None:
        self.closed = True


class FakeTailer:
    def __init__(self) -> None:
        self.files: dict[Path, bytearray] = {}
        self.watchers: dict[Path, list[Callable[[], None]]] = {}
        self.readers: list[FakeReader] = []

    def open(self, path: Path) -> FakeReader:
        self.readers.append(FakeReader(self, path))
        return self.readers[-1]

    @contextlib.contextmanager
    def watch(self, path: Path, on_change: Callable[[], None]) -> Iterator[None]:
        self.watchers.setdefault(path, []).append(on_change)
        try:
            yield
        finally:
            self.watchers[path].remove(on_change)
            if not self.watchers[path]:
                del self.watchers[path]

    @property
    def watcher_count(self) -> int:
        return len(self.watchers)

    def append(self, path: Path, data: bytes) -> None:
        self.files.setdefault(path, bytearray()).extend(data)
        for callback in self.watchers.get(path, []):
            callback()

    def truncate(self, path: Path, data: bytes) -> None:
        self.files[path] = bytearray(data)
        for callback in self.watchers.get(path, []):
            callback()


class World:
    def __init__(self, **settings: float) -> None:
        self.store = FakeStore()
        self.files = FakeFileStore()
        self.tailer = FakeTailer()
        self.feed = EventFeed(heartbeat_seconds=60)
        self.live = LiveLogs(
            uow=self.store.uow,
            files=self.files,
            tailer=self.tailer,
            feed=self.feed,
            settings=LiveSettings(
                chunk_bytes=int(settings.pop("chunk_bytes", 64)),
                hold_partial_line_seconds=settings.pop("hold", 0.05),
                heartbeat_seconds=settings.pop("heartbeat", 60),
                status_check_seconds=60,  # ends come from events in these tests
                recheck_seconds=60,
            ),
        )

    async def running_job(
        self, env: list[EnvVar] | None = None, overrides: dict[str, str] | None = None
    ) -> tuple[int, Path]:
        async with self.store.uow() as uow:
            image = await uow.images.add(
                Image(name="i", status=ImageStatus.BUILT, created_at=NOW, updated_at=NOW)
            )
            script = await uow.scripts.add(
                Script(
                    name="s",
                    image_id=image.require_id,
                    env=env or [],
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            revision = script.revise(None, NOW, {"main.py": b""})
            assert revision is not None
            await uow.scripts.add_revision(revision)
            job = await uow.jobs.add(
                Job(
                    script_id=script.require_id,
                    revision=1,
                    image_id=image.require_id,
                    env=overrides or {},
                    created_at=NOW,
                )
            )
            job.start(NOW, container_id="c")
            await uow.jobs.update(job)
            await uow.commit()
        return job.require_id, self.files.root / str(job.log_path)

    async def finish(self, job_id: int, exit_code: int) -> None:
        async with self.store.uow() as uow:
            job = await uow.jobs.get(job_id)
            job.finish_from_exit(NOW, exit_code, oom_killed=False, memory_mb=None)
            await uow.jobs.update(job)
            await uow.commit()
        await self.feed.publish(
            JobFinished(job_id=job_id, script_id=1, status="x", exit_code=0, duration_seconds=0)
        )


async def items_of(stream: AsyncGenerator[LogItem, None], count: int) -> list[LogItem]:
    async with asyncio.timeout(5):
        return [await anext(stream) for _ in range(count)]


async def test_a_running_job_is_followed_until_it_ends():
    w = World()
    job_id, log = await w.running_job()
    w.tailer.append(log, b"one\ntwo\n")
    stream = await w.live.job_log(job_id)
    assert await items_of(stream, 1) == [LogChunk(b"one\ntwo\n", 8)]
    assert w.tailer.watcher_count == 1 and w.live.end_watch_count == 1
    w.tailer.append(log, b"three\n")
    assert await items_of(stream, 1) == [LogChunk(b"three\n", 14)]
    w.tailer.append(log, b"last\n")
    await w.finish(job_id, 2)
    rest = await items_of(stream, 2)
    assert rest[0] == LogChunk(b"last\n", 19)
    assert isinstance(rest[1], LogEnd) and rest[1].end == 19
    assert rest[1].outcome["status"] == "failed" and rest[1].outcome["exit_code"] == 2
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert w.tailer.watcher_count == 0 and w.live.end_watch_count == 0
    assert all(r.closed for r in w.tailer.readers)


async def test_a_finished_job_sends_its_log_and_end_without_watching():
    w = World(chunk_bytes=4)
    job_id, log = await w.running_job()
    w.tailer.append(log, b"ab\ncdefgh\nij")
    await w.finish(job_id, 0)
    stream = await w.live.job_log(job_id, offset=1)
    items = await items_of(stream, 5)
    assert items[:4] == [
        LogChunk(b"b\n", 3),  # whole lines when a chunk holds a line end
        LogChunk(b"cdef", 7),  # a line longer than a chunk is cut
        LogChunk(b"gh\n", 10),
        LogChunk(b"ij", 12),  # the end: the partial last line goes too
    ]
    assert isinstance(items[4], LogEnd) and items[4].outcome["status"] == "succeeded"
    assert w.tailer.watchers == {}


async def test_a_partial_line_is_held_briefly_then_sent_without_splitting_a_character():
    w = World(hold=0.05)
    job_id, log = await w.running_job()
    stream = await w.live.job_log(job_id)
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    w.tailer.append(log, "naïve ✓".encode()[:-1])  # the check mark's last byte is missing
    assert await asyncio.wait_for(pending, 5) == LogChunk("naïve ".encode(), 7)
    w.tailer.append(log, "✓".encode()[-1:] + b"\n")
    assert await items_of(stream, 1) == [LogChunk("✓\n".encode(), 11)]
    await stream.aclose()
    assert w.tailer.watcher_count == 0 and w.live.end_watch_count == 0


async def test_truncation_resets_and_follows_from_the_start():
    w = World()
    job_id, log = await w.running_job()
    w.tailer.append(log, b"old build output\n")
    stream = await w.live.job_log(job_id)
    assert await items_of(stream, 1) == [LogChunk(b"old build output\n", 17)]
    w.tailer.truncate(log, b"new\n")
    items = await items_of(stream, 2)
    assert isinstance(items[0], LogReset)
    assert items[1] == LogChunk(b"new\n", 4)
    await stream.aclose()


async def test_followers_share_one_end_watch_and_the_feed_closing_ends_them():
    w = World()
    job_id, log = await w.running_job()
    w.tailer.append(log, b"x\n")
    streams = [await w.live.job_log(job_id) for _ in range(3)]
    for stream in streams:
        await items_of(stream, 1)
    assert w.live.end_watch_count == 1
    w.feed.close()
    for stream in streams:
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(stream), 5)
    assert w.live.end_watch_count == 0 and w.tailer.watcher_count == 0


async def test_an_idle_follower_gets_keepalives():
    w = World(heartbeat=0.05)
    job_id, _ = await w.running_job()
    stream = await w.live.job_log(job_id)
    assert await items_of(stream, 2) == [KeepAlive(), KeepAlive()]
    await stream.aclose()


SECRET = "hunter2-✓-token"


def joined(items: list[LogItem]) -> bytes:
    return b"".join(i.data for i in items if isinstance(i, LogChunk))


async def test_a_secret_split_across_writes_never_shows_and_offsets_stay_raw():
    raw = f"login {SECRET} ok\n".encode()
    for cut in range(1, len(raw)):
        w = World(hold=0.01)
        job_id, log = await w.running_job(env=[EnvVar(name="T", value=SECRET, secret=True)])
        stream = await w.live.job_log(job_id)
        w.tailer.append(log, raw[:cut])
        first = await items_of(stream, 1)  # held partial line, flushed: what is safe
        w.tailer.append(log, raw[cut:])
        await w.finish(job_id, 0)
        items = first
        while not isinstance(items[-1], LogEnd):
            items += await items_of(stream, 1)
        assert joined(items) == b"login **** ok\n", cut
        assert all(SECRET.encode()[:4] not in i.data for i in items if isinstance(i, LogChunk))
        assert items[-1].end == len(raw)
        ends = [i.end for i in items if isinstance(i, LogChunk)]
        assert ends == sorted(ends) and ends[-1] == len(raw)


async def test_a_possible_start_of_a_secret_waits_and_goes_as_it_is_when_the_job_ends():
    w = World(hold=0.01)
    job_id, log = await w.running_job(env=[EnvVar(name="T", value=SECRET, secret=True)])
    stream = await w.live.job_log(job_id)
    w.tailer.append(log, b"progress: hunt")
    assert await items_of(stream, 1) == [LogChunk(b"progress: ", 10)]
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)
    assert not pending.done()  # "hunt" may be the start of the secret: it waits
    await w.finish(job_id, 0)
    assert await asyncio.wait_for(pending, 5) == LogChunk(b"hunt", 14)  # it was not


async def test_a_stream_resumed_inside_a_secret_shows_none_of_it():
    w = World()
    job_id, log = await w.running_job(env=[EnvVar(name="T", value=SECRET, secret=True)])
    w.tailer.append(log, f"a {SECRET} b\n".encode())
    await w.finish(job_id, 0)
    for offset in range(2, 2 + len(SECRET.encode()) + 1):
        stream = await w.live.job_log(job_id, offset=offset)
        items = await items_of(stream, 2)
        expected = b"**** b\n" if offset == 2 else b" b\n"
        assert joined(items) == expected, offset


async def test_an_override_of_a_secret_variable_is_masked_too():
    w = World()
    job_id, log = await w.running_job(
        env=[EnvVar(name="T", value=SECRET, secret=True), EnvVar(name="P", value="plain-value")],
        overrides={"T": "override-token", "P": "plain-override"},
    )
    w.tailer.append(log, b"override-token plain-override plain-value\n")
    await w.finish(job_id, 0)
    items = await items_of(await w.live.job_log(job_id), 2)
    assert joined(items) == b"**** plain-override plain-value\n"
