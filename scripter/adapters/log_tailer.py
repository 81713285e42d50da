"""The ``LogTailer`` port on watchfiles: one watcher per folder, shared by every
follower of the files in it.

Why the pieces are as they are (figures in docs/live-logs.md):

- A watcher watches the log's folder, filtered by file name: a watch on the file
  itself would die with the file, and a folder that does not exist yet (a queued
  job's) is waited for. One folder holds every log of a script, so the jobs of one
  script share a watcher.
- ``debounce=0, step=1``: watchfiles wakes ~1-2 ms after a write instead of its
  default of up to 1.6 s.
- Each watcher runs ``watchfiles.watch`` in a thread of its own, not ``awatch``:
  awatch parks a thread of anyio's default pool (40 tokens, shared with Litestar's
  sync handlers and anyio file I/O) for as long as it watches, so 40 watched folders
  would starve the whole app.
- A notification carries no bytes, it only wakes the followers of that file; each
  reads from its own offset at its own pace (``FileLogReader``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import watchfiles

from scripter.domain.logs import LogTruncated

log = logging.getLogger(__name__)

# watchfiles logs every batch of changes at INFO: one line per write of a log.
logging.getLogger("watchfiles").setLevel(logging.WARNING)

_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)
_NOWAIT_UNSUPPORTED = {errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS}


class _LastRead:
    """The last bytes read from one file, shared by its readers: 1,000 followers of a
    job read the same new line at the same offset, and only the first one needs the
    read and the copy (measured: reads were ~20 % of the server's time with 1,000
    followers). Valid while the file's inode, size and mtime are those it was read
    at; a log only grows, and a truncated one that is rewritten to the very same size
    within one tick of the file system's clock is the one case it would miss."""

    __slots__ = ("data", "key", "readers")

    def __init__(self) -> None:
        self.key: tuple[int, int, int, int, int] | None = None
        self.data = b""
        self.readers = 0


class FileLogReader:
    """Reads a log with ``pread`` from any offset.

    A read of bytes in the page cache (a log that is being written, or was just
    read) is made on the event loop with ``RWF_NOWAIT``: measured here, a thread hop
    costs ~200 us while a 64 KB read from the cache costs ~4 us, and a live log is
    read thousands of times a second by its followers. Bytes that would need the
    disk make the kernel answer EAGAIN instead of blocking; those reads go to a
    thread. Where RWF_NOWAIT is missing (other kernels, NFS), every read does.
    """

    def __init__(
        self,
        path: Path,
        last_read: _LastRead | None = None,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._path = path
        self._fd: int | None = None
        self._nowait = _RWF_NOWAIT is not None
        self._last = last_read if last_read is not None else _LastRead()
        self._on_close = on_close
        self._closed = False

    async def read(self, offset: int, limit: int) -> bytes:
        fd = self._open()
        if fd is None:
            if offset > 0:
                raise LogTruncated(0)
            return b""
        stat = os.fstat(fd)
        size = stat.st_size
        if size < offset:
            raise LogTruncated(size)
        count = min(limit, size - offset)
        if count <= 0:
            return b""
        key = (stat.st_ino, offset, count, size, stat.st_mtime_ns)
        last = self._last
        if last.key == key:
            return last.data
        data = await self._read(fd, count, offset)
        if len(data) == count:
            last.key, last.data = key, data
        return data

    async def _read(self, fd: int, count: int, offset: int) -> bytes:
        head = b""
        if self._nowait and _RWF_NOWAIT is not None:
            buffer = bytearray(count)
            try:
                got = os.preadv(fd, [buffer], offset, _RWF_NOWAIT)
            except BlockingIOError:
                got = 0  # none of it is in the page cache
            except OSError as exc:
                if exc.errno not in _NOWAIT_UNSUPPORTED:
                    raise
                self._nowait, got = False, 0
            if got == count:
                return bytes(buffer)
            head = bytes(memoryview(buffer)[:got])
        # The rest needs the disk: in a thread. Never return a short read before the end
        # of the file: a follower takes fewer bytes than it asked for as the end.
        return head + await asyncio.to_thread(
            _read_exactly, fd, count - len(head), offset + len(head)
        )

    def _open(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return None
        return self._fd

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._on_close is not None:
            self._on_close()


def _read_exactly(fd: int, count: int, offset: int) -> bytes:
    """``count`` bytes from ``offset``, or fewer if the file ends before."""
    parts: list[bytes] = []
    while count > 0:
        part = os.pread(fd, count, offset)
        if not part:
            break
        parts.append(part)
        count -= len(part)
        offset += len(part)
    return b"".join(parts)


class _FolderWatcher:
    """One thread running ``watchfiles.watch`` on one folder; calls the callbacks of
    the files that changed on the event loop."""

    def __init__(
        self,
        folder: Path,
        loop: asyncio.AbstractEventLoop,
        *,
        debounce_ms: int,
        step_ms: int,
        missing_folder_poll: float,
    ) -> None:
        self.folder = folder
        self._loop = loop
        self._debounce_ms = debounce_ms
        self._step_ms = step_ms
        self._missing_folder_poll = missing_folder_poll
        self._callbacks: dict[str, dict[object, Callable[[], None]]] = {}
        # Read by the watcher thread's filter; replaced whole, never mutated.
        self._names: frozenset[str] = frozenset()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"log-watch {folder}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()  # the thread sees it within one step (1 ms) and exits

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def empty(self) -> bool:
        return not self._callbacks

    def add(self, name: str, token: object, callback: Callable[[], None]) -> None:
        self._callbacks.setdefault(name, {})[token] = callback
        self._names = frozenset(self._callbacks)

    def remove(self, name: str, token: object) -> None:
        callbacks = self._callbacks.get(name, {})
        callbacks.pop(token, None)
        if not callbacks:
            self._callbacks.pop(name, None)
        self._names = frozenset(self._callbacks)

    # --- the watcher thread -------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.folder.is_dir():
                self._stop.wait(self._missing_folder_poll)
                continue
            try:
                self._watch()
            except Exception as exc:
                log.warning("watching %s failed (%s); watching again", self.folder, exc)
                self._stop.wait(0.5)

    def _watch(self) -> None:
        first = True
        for changes in watchfiles.watch(
            self.folder,
            watch_filter=self._wanted,
            debounce=self._debounce_ms,
            step=self._step_ms,
            stop_event=self._stop,
            # The first (empty) yield says the watch is in place: followers re-read
            # once then, for writes made before it was.
            rust_timeout=50,
            yield_on_timeout=True,
            recursive=False,
            raise_interrupt=False,
        ):
            if first or changes:
                self._post(None if first else {Path(path).name for _, path in changes})
                first = False

    def _wanted(self, change: watchfiles.Change, path: str) -> bool:
        return os.path.basename(path) in self._names

    def _post(self, names: set[str] | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are stopping too
            self._loop.call_soon_threadsafe(self._dispatch, names)

    # --- back on the event loop ---------------------------------------------------

    def _dispatch(self, names: set[str] | None) -> None:
        for name in list(self._callbacks) if names is None else names:
            for callback in list(self._callbacks.get(name, {}).values()):
                callback()


class WatchfilesLogTailer:
    """``LogTailer`` with watchfiles (see the module's docstring)."""

    def __init__(
        self, *, debounce_ms: int = 0, step_ms: int = 1, missing_folder_poll: float = 0.25
    ) -> None:
        self._debounce_ms = debounce_ms
        self._step_ms = step_ms
        self._missing_folder_poll = missing_folder_poll
        self._watchers: dict[Path, _FolderWatcher] = {}
        self._last_reads: dict[Path, _LastRead] = {}

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def open(self, path: Path) -> FileLogReader:
        last = self._last_reads.setdefault(path, _LastRead())
        last.readers += 1

        def release() -> None:
            last.readers -= 1
            if last.readers == 0 and self._last_reads.get(path) is last:
                del self._last_reads[path]

        return FileLogReader(path, last, on_close=release)

    @contextlib.contextmanager
    def watch(self, path: Path, on_change: Callable[[], None]) -> Iterator[None]:
        folder, name, token = path.parent, path.name, object()
        watcher = self._watchers.get(folder)
        if watcher is None:
            watcher = _FolderWatcher(
                folder,
                asyncio.get_running_loop(),
                debounce_ms=self._debounce_ms,
                step_ms=self._step_ms,
                missing_folder_poll=self._missing_folder_poll,
            )
            self._watchers[folder] = watcher
            watcher.start()
        watcher.add(name, token, on_change)
        try:
            yield
        finally:
            watcher.remove(name, token)
            if watcher.empty and self._watchers.get(folder) is watcher:
                del self._watchers[folder]
                watcher.stop()

    async def close(self) -> None:
        """Stop every watcher (their followers get no more notifications)."""
        watchers = list(self._watchers.values())
        self._watchers.clear()
        for watcher in watchers:
            watcher.stop()
        for watcher in watchers:
            await asyncio.to_thread(watcher.join, 1.0)
