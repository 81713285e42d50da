"""Live logs: follow a job's or a build's log from an offset until it ends.

A follower sends what the file holds from its offset, then what is appended, then
a ``LogEnd`` with the outcome. It pulls bytes from the file at its own pace (the
tailer only says "the file changed"), so a slow client costs no memory and never
holds up a fast one. Chunks end on line boundaries; a partial last line is held
for ``hold_partial_line_seconds`` at most, and a chunk never ends inside a UTF-8
sequence (see ``scripter.domain.logs``).

How a follower learns that the job or build ended: one shared ``_EndWatch`` per job
or image, woken by the events of this process (``JobFinished``, ``ImageBuilt``, ...)
and checking the database every ``status_check_seconds`` as a safety net. The final
status is recorded only after the job's container exited (or the build closed its
log), so once it is seen the follower reads the file to its end, then ends.

Truncation: a rebuild truncates the build log, and a job cut at its log limit loses
its tail. A follower whose offset is past the end of the file sends ``LogReset`` and
follows again from offset 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scripter.domain.errors import NotFound
from scripter.domain.events import (
    DomainEvent,
    ImageBuildFailed,
    ImageBuilt,
    ImageDeleted,
    ImageDestroyed,
    JobFinished,
    ScriptDeleted,
)
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job
from scripter.domain.logs import (
    KeepAlive,
    LogChunk,
    LogEnd,
    LogItem,
    LogReset,
    LogTruncated,
    sendable,
)
from scripter.domain.ports import FileStore, LogReader, LogTailer, UnitOfWorkFactory
from scripter.domain.secrets import NO_SECRETS, SecretMask
from scripter.services.job_secrets import JobSecrets
from scripter.services.live_events import EventFeed

log = logging.getLogger(__name__)

Outcome = Mapping[str, object]
_Key = tuple[str, int]


@dataclass(kw_only=True, frozen=True)
class LiveSettings:
    chunk_bytes: int = 256 * 1024
    """Most bytes read (and sent in one event) at once."""
    hold_partial_line_seconds: float = 0.1
    """How long a line without its end waits for the rest before it is sent as is."""
    heartbeat_seconds: float = 15.0
    recheck_seconds: float = 1.0
    """A follower reads again after this long without a notification: the safety net
    for a missed one, and the only way to see a log on a network file system."""
    status_check_seconds: float = 5.0
    """How often a followed job's or build's status is read from the database, in
    case its final event was missed."""
    event_queue_limit: int = 1000
    """Events waiting for one client of the event stream before it is resynced."""


def job_outcome(job: Job) -> Outcome | None:
    if not job.status.is_final:
        return None
    return {
        "status": str(job.status),
        "exit_code": job.exit_code,
        "duration_seconds": job.duration_seconds,
        "error": job.error,
    }


def build_outcome(image: Image) -> Outcome | None:
    if image.status == ImageStatus.BUILDING:
        return None
    return {"status": str(image.status), "error": image.error}


JOB_DELETED: Outcome = {
    "status": "deleted",
    "exit_code": None,
    "duration_seconds": None,
    "error": "the job was deleted",
}
IMAGE_DELETED: Outcome = {"status": "deleted", "error": "the image was deleted"}


@dataclass(eq=False)
class _EndWatch:
    """Whether one job or build has ended, shared by all of its followers."""

    check: Callable[[], Awaitable[Outcome | None]]
    interval: float
    outcome: Outcome | None = None
    callbacks: dict[object, Callable[[], None]] = field(default_factory=dict)
    poke: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while self.outcome is None:
            self.poke.clear()
            try:
                self.outcome = await self.check()
            except Exception as exc:
                log.warning("checking whether a log ended failed: %s", exc)
            if self.outcome is not None:
                for callback in list(self.callbacks.values()):
                    callback()
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self.poke.wait()


class _Waker:
    """What a follower sleeps on. Woken by callbacks (the file changed, the job ended,
    the server stops) and by two timers: a recheck every second, and the end of a
    partial line's hold. Cheaper than an ``asyncio.Event`` waited on with a timeout:
    with 1,000 followers those timeouts, one per wait, took ~12 % of the server's time.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending = False
        self._waiter: asyncio.Future[None] | None = None
        self._ticker: asyncio.TimerHandle | None = None
        self._alarm: asyncio.TimerHandle | None = None
        self._alarm_at: float | None = None

    def set(self) -> None:
        self._pending = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._pending = False

    async def wait(self) -> None:
        if self._pending:
            return
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def every(self, seconds: float) -> None:
        """Also wake every ``seconds``."""

        def tick() -> None:
            self.set()
            self._ticker = self._loop.call_later(seconds, tick)

        self._ticker = self._loop.call_later(seconds, tick)

    def alarm(self, when: float | None) -> None:
        """Also wake at ``when`` (one alarm at a time; None: no alarm)."""
        if when == self._alarm_at:
            return
        if self._alarm is not None:
            self._alarm.cancel()
        self._alarm_at = when
        self._alarm = None if when is None else self._loop.call_at(when, self.set)

    def close(self) -> None:
        for handle in (self._ticker, self._alarm):
            if handle is not None:
                handle.cancel()


@dataclass
class _Cursor:
    """One follower's position in a log, and what it holds back (a partial line)."""

    offset: int
    settings: LiveSettings
    clock: Callable[[], float]
    held_since: float | None = None
    """When the partial line now held back was first seen."""
    backlog: bool = False
    """The last read was a full chunk: more is waiting."""
    at_end: bool = True
    """Everything the last read found was sent, up to the end of the file."""
    quiet_since: float = field(init=False)

    def __post_init__(self) -> None:
        self.quiet_since = self.clock()

    @property
    def limit(self) -> int:
        return self.settings.chunk_bytes

    def take(
        self, data: bytes, *, ended: bool, mask: SecretMask = NO_SECRETS, behind: bytes = b""
    ) -> LogChunk | None:
        """What to send of ``data`` (read from ``offset``); None: nothing yet.

        With secrets to ``mask``, ``behind`` is the ``mask.lookaround`` bytes before
        ``offset`` (fewer at the start of the log); a tail that may begin a secret
        waits for the rest, unless the log ``ended`` there.
        """
        now = self.clock()
        full = len(data) >= self.settings.chunk_bytes
        complete = ended and not full
        visible = data
        if mask and not complete:
            visible = data[: len(data) - mask.hold(behind + data)]
        flush = (
            self.held_since is not None
            and now - self.held_since >= self.settings.hold_partial_line_seconds
        )
        count = sendable(visible, full=full, flush=flush, complete=complete) if visible else 0
        self.backlog = full
        self.at_end = not full and count == len(data)
        if count == len(visible):
            # Everything but a possible start of a secret is sent: wait for the file
            # to grow (or the job to end), not for a partial line's hold.
            self.held_since = None
        elif count or flush or self.held_since is None:
            # A new partial line; or, after a flush that could send nothing (only the
            # start of a UTF-8 character), the same one held again.
            self.held_since = now
        if not count:
            return None
        if mask:
            start = self.offset
            sent = mask.mask(behind + data, start - len(behind), start, start + count)
        else:
            sent = data if count == len(data) else data[:count]
        self.offset += count
        self.quiet_since = now
        return LogChunk(sent, self.offset)

    def reset(self, reason: str) -> LogReset:
        self.offset, self.held_since, self.quiet_since = 0, None, self.clock()
        return LogReset(reason)

    @property
    def hold_until(self) -> float | None:
        """When the partial line held back must be sent as it is."""
        if self.held_since is None:
            return None
        return self.held_since + self.settings.hold_partial_line_seconds

    def heartbeat_due(self) -> bool:
        now = self.clock()
        if now - self.quiet_since < self.settings.heartbeat_seconds:
            return False
        self.quiet_since = now
        return True


async def _read(reader: LogReader | None, cursor: _Cursor, mask: SecretMask) -> tuple[bytes, bytes]:
    """The bytes before the cursor that masking needs (``mask.lookaround`` of them),
    and up to a chunk from the cursor on (a lookaround more with secrets: the tail
    that waits for the rest of a secret is shorter than that, so a full chunk always
    sends something)."""
    if reader is None:
        return b"", b""
    if not mask:
        return b"", await reader.read(cursor.offset, cursor.limit)
    behind = min(cursor.offset, mask.lookaround)
    window = await reader.read(cursor.offset - behind, behind + cursor.limit + mask.lookaround)
    if len(window) < behind:
        # Shorter than the cursor's offset: the reader says so only for a read from
        # beyond the end, and this one started before the offset.
        raise LogTruncated(cursor.offset - behind + len(window))
    return window[:behind], window[behind:]


class LiveLogs:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        files: FileStore,
        tailer: LogTailer,
        feed: EventFeed,
        settings: LiveSettings,
    ) -> None:
        self._uow = uow
        self._files = files
        self._tailer = tailer
        self._feed = feed
        self._settings = settings
        self._watches: dict[_Key, _EndWatch] = {}
        self._secrets = JobSecrets(uow)
        feed.observe(self._on_event)

    async def job_log(self, job_id: int, offset: int = 0) -> AsyncGenerator[LogItem, None]:
        """The job's log from ``offset``, live until the job ends, with the secret
        values it ran with masked (``scripter.domain.secrets``; chunk ends stay
        offsets in the raw file). ``NotFound`` now if there is no such job."""
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
        mask = await self._secrets.mask(job)
        path = self._files.root / job.log_path if job.log_path else None
        return self._follow(path, offset, ("job", job_id), job_outcome(job), mask)

    async def build_log(self, image_id: int, offset: int = 0) -> AsyncGenerator[LogItem, None]:
        """The image's build log from ``offset``, live until the build ends."""
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
        path = self._files.build_log(image_id)
        return self._follow(path, offset, ("image", image_id), build_outcome(image))

    # --- following ----------------------------------------------------------------

    async def _follow(
        self,
        path: Path | None,
        offset: int,
        key: _Key,
        outcome: Outcome | None,
        mask: SecretMask = NO_SECRETS,
    ) -> AsyncGenerator[LogItem, None]:
        loop = asyncio.get_running_loop()
        waker = _Waker(loop)
        cursor = _Cursor(offset, self._settings, loop.time)
        with contextlib.ExitStack() as stack:
            stack.callback(waker.close)
            reader: LogReader | None = None
            if path is not None:
                reader = self._tailer.open(path)
                stack.callback(reader.close)
            watch: _EndWatch | None = None
            if outcome is None:
                # The end first, then the file: an end seen means the file is complete.
                watch = stack.enter_context(self._watch_end(key, waker.set))
                stack.enter_context(self._feed.on_close(waker.set))
                if path is not None:
                    stack.enter_context(self._tailer.watch(path, waker.set))
                settings = self._settings
                waker.every(min(settings.recheck_seconds, settings.heartbeat_seconds))
            while not self._feed.closed:
                waker.clear()
                if outcome is None and watch is not None:
                    outcome = watch.outcome
                try:
                    behind, data = await _read(reader, cursor, mask)
                except LogTruncated as truncated:
                    yield cursor.reset(f"the log was truncated to {truncated.size} bytes")
                    continue
                chunk = cursor.take(data, ended=outcome is not None, mask=mask, behind=behind)
                if chunk is not None:
                    yield chunk
                    if cursor.backlog:
                        await asyncio.sleep(0)  # more is waiting: let other clients run too
                        continue
                if outcome is not None and cursor.at_end:
                    yield LogEnd(outcome, cursor.offset)
                    return
                waker.alarm(cursor.hold_until)
                await waker.wait()
                if cursor.heartbeat_due():
                    yield KeepAlive()

    # --- knowing when it ends -------------------------------------------------------

    @contextlib.contextmanager
    def _watch_end(self, key: _Key, on_end: Callable[[], None]) -> Iterator[_EndWatch]:
        watch = self._watches.get(key)
        if watch is None:
            kind, entity_id = key
            check = self._check_job if kind == "job" else self._check_build
            watch = _EndWatch(
                check=lambda: check(entity_id), interval=self._settings.status_check_seconds
            )
            self._watches[key] = watch
            watch.task = asyncio.create_task(watch.run(), name=f"live-log-end {kind} {entity_id}")
        token = object()
        watch.callbacks[token] = on_end
        try:
            yield watch
        finally:
            watch.callbacks.pop(token, None)
            if not watch.callbacks and self._watches.get(key) is watch:
                del self._watches[key]
                if watch.task is not None:
                    watch.task.cancel()

    async def _check_job(self, job_id: int) -> Outcome | None:
        try:
            async with self._uow() as uow:
                return job_outcome(await uow.jobs.get(job_id))
        except NotFound:
            return JOB_DELETED

    async def _check_build(self, image_id: int) -> Outcome | None:
        try:
            async with self._uow() as uow:
                return build_outcome(await uow.images.get(image_id))
        except NotFound:
            return IMAGE_DELETED

    def _on_event(self, event: DomainEvent) -> None:
        """Check at once whether what the event concerns has ended."""
        keys: list[_Key] = []
        if isinstance(event, JobFinished):
            keys.append(("job", event.job_id))
        elif isinstance(event, ImageBuilt | ImageBuildFailed | ImageDestroyed | ImageDeleted):
            keys.append(("image", event.image_id))
        elif isinstance(event, ScriptDeleted):
            keys.extend(key for key in self._watches if key[0] == "job")
        for key in keys:
            watch = self._watches.get(key)
            if watch is not None:
                watch.poke.set()

    @property
    def end_watch_count(self) -> int:
        return len(self._watches)
