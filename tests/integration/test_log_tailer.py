"""The watchfiles log tailer against the real file system."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from scripter.adapters.log_tailer import FileLogReader, WatchfilesLogTailer
from scripter.domain.logs import LogTruncated

WAIT = 10.0


async def woken(event: asyncio.Event) -> None:
    async with asyncio.timeout(WAIT):
        await event.wait()
    event.clear()


async def test_followers_of_one_folder_share_one_watcher_and_are_woken(tmp_path: Path):
    tailer = WatchfilesLogTailer()
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    woke_a, woke_a2, woke_b = asyncio.Event(), asyncio.Event(), asyncio.Event()
    with (
        tailer.watch(first, woke_a.set),
        tailer.watch(first, woke_a2.set),
        tailer.watch(second, woke_b.set),
    ):
        assert tailer.watcher_count == 1
        await woken(woke_a)  # once when the watch is in place
        woke_a2.clear()
        woke_b.clear()
        first.write_bytes(b"x\n")
        await woken(woke_a)
        await woken(woke_a2)
        assert not woke_b.is_set()  # another file's followers are left alone
        second.write_bytes(b"y\n")
        await woken(woke_b)
    assert tailer.watcher_count == 0
    await tailer.close()


async def test_a_folder_that_appears_later_is_watched(tmp_path: Path):
    tailer = WatchfilesLogTailer(missing_folder_poll=0.05)
    log = tmp_path / "later" / "job.log"
    woke = asyncio.Event()
    with tailer.watch(log, woke.set):
        await asyncio.sleep(0.2)
        assert not woke.is_set()
        log.parent.mkdir()
        log.write_bytes(b"hello\n")
        await woken(woke)
    await tailer.close()


async def test_the_reader_reads_at_any_offset_and_sees_truncation(tmp_path: Path):
    log = tmp_path / "job.log"
    reader = FileLogReader(log)
    try:
        assert await reader.read(0, 100) == b""  # not there yet
        log.write_bytes(b"0123456789")
        assert await reader.read(0, 4) == b"0123"
        assert await reader.read(4, 100) == b"456789"
        assert await reader.read(10, 100) == b""
        log.write_bytes(b"01")
        with pytest.raises(LogTruncated):
            await reader.read(10, 100)
    finally:
        reader.close()


async def test_bytes_not_in_the_page_cache_are_read_whole(tmp_path: Path):
    """RWF_NOWAIT answers EAGAIN or a short read for bytes on disk only; the reader
    must then read them (in a thread), never return less before the end."""
    log = tmp_path / "cold.log"
    content = os.urandom(8 * 2**20)
    log.write_bytes(content)
    fd = os.open(log, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # drop it from the cache
    finally:
        os.close(fd)
    reader = FileLogReader(log)
    try:
        received, offset = b"", 0
        while offset < len(content):
            chunk = await reader.read(offset, 256 * 1024)
            assert len(chunk) == min(256 * 1024, len(content) - offset)
            received += chunk
            offset += len(chunk)
        assert received == content
    finally:
        reader.close()


async def test_readers_of_one_file_share_its_last_read(tmp_path: Path):
    tailer = WatchfilesLogTailer()
    log = tmp_path / "job.log"
    log.write_bytes(b"line 1\n")
    first, second = tailer.open(log), tailer.open(log)
    try:
        data = await first.read(0, 100)
        assert data == b"line 1\n"
        assert await second.read(0, 100) is data  # no second read
        with log.open("ab") as handle:
            handle.write(b"line 2\n")
        assert await second.read(0, 100) == b"line 1\nline 2\n"  # grown: read again
        assert await first.read(7, 100) == b"line 2\n"
    finally:
        first.close()
        second.close()
        second.close()  # twice is fine
    assert tailer._last_reads == {}
