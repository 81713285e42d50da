"""Where a log chunk may end, the SSE encoding, and the live event feed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from scripter.domain.errors import InvalidInput
from scripter.domain.events import ImageCreated, JobStarted, ScheduleTick
from scripter.domain.logs import (
    KeepAlive,
    LogChunk,
    LogEnd,
    LogReset,
    line_end,
    sendable,
    utf8_end,
)
from scripter.http.sse import encode_event_item, encode_log_item, resume_offset
from scripter.services.live_events import EventFeed, Resync


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0),
        (b"abc", 3),
        (b"caf\xc3", 3),  # the lead byte of a 2-byte character, alone
        (b"caf\xc3\xa9", 5),
        (b"\xe2\x9c", 0),  # 2 of the 3 bytes of a check mark
        (b"x\xe2\x9c\x93", 4),
        (b"x\xf0\x9f\x99", 1),  # 3 of the 4 bytes of an emoji
        (b"x\xf0\x9f\x99\x82", 5),
        (b"x\x80\x80\x80\x80", 5),  # stray continuation bytes: invalid anyway, sent
        (b"x\xff", 2),  # never a lead byte
        (b"a\x80", 2),  # a continuation byte after ASCII: invalid, sent
    ],
)
def test_utf8_end_never_splits_a_character(data: bytes, expected: int):
    assert utf8_end(data) == expected


def test_line_end_counts_newlines_and_bare_carriage_returns():
    assert line_end(b"no end") == 0
    assert line_end(b"one\ntwo") == 4
    assert line_end(b"one\ntwo\n") == 8
    assert line_end(b"50%\r60%\rtail") == 8


def test_sendable_prefers_whole_lines_then_flushes_partial_lines():
    assert sendable(b"a\nb", full=False, flush=False, complete=False) == 2
    assert sendable(b"partial", full=False, flush=False, complete=False) == 0
    assert sendable(b"partial", full=False, flush=True, complete=False) == 7
    assert sendable(b"caf\xc3", full=False, flush=True, complete=False) == 3
    assert sendable(b"long line \xc3", full=True, flush=False, complete=False) == 10
    # The log ended: everything goes, even a character that can never be completed.
    assert sendable(b"a\nb\xc3", full=False, flush=False, complete=True) == 4


def test_every_cut_decodes_on_its_own():
    text = "héllo ✓ 日本 🙂\n" * 50
    data = text.encode()
    for size in range(1, 40):
        received, offset = "", 0
        while offset < len(data):
            window = data[offset : offset + size]
            cut = sendable(window, full=True, flush=True, complete=False)
            if cut == 0:  # a character longer than the window: a real read is longer
                cut = len(window)
                assert size < 4
            chunk = window[:cut]
            if size >= 4:
                received += chunk.decode("utf-8")  # strict: raises on a split character
            offset += cut
        if size >= 4:
            assert received == text


def test_log_items_on_the_wire():
    chunk = encode_log_item(LogChunk('a\r\nb "q" ✓\n'.encode(), 17))
    assert chunk.startswith(b"id: 17\ndata: ") and chunk.endswith(b"\n\n")
    lines = chunk.decode().split("\n")
    assert len(lines) == 4  # id, data, and the blank line that ends the event
    assert json.loads(lines[1].removeprefix("data: ")) == 'a\r\nb "q" ✓\n'
    end = encode_log_item(LogEnd({"status": "succeeded", "exit_code": 0}, 40))
    assert end == b'event: end\nid: 40\ndata: {"status":"succeeded","exit_code":0}\n\n'
    reset = encode_log_item(LogReset("truncated"))
    assert reset == b'event: reset\nid: 0\ndata: {"reason":"truncated"}\n\n'
    assert encode_log_item(KeepAlive()) == b": ping\n\n"
    assert encode_log_item(LogChunk(b"\xff\n", 2)) == b'id: 2\ndata: "\xef\xbf\xbd\\n"\n\n'


def test_events_on_the_wire():
    event = ImageCreated(image_id=3, name="py")
    wire = encode_event_item(event).decode()
    assert wire.startswith(f"event: image.created\nid: {event.event_id}\ndata: ")
    assert json.loads(wire.split("data: ", 1)[1])["name"] == "py"
    assert encode_event_item(Resync("x")) == b'event: resync\ndata: {"reason":"x"}\n\n'


def test_resume_offset():
    assert resume_offset(None, None) == 0
    assert resume_offset(None, 5) == 5
    assert resume_offset("12", 5) == 12  # a reconnection wins over the first URL
    assert resume_offset(" ", 5) == 5
    for bad in ("x", "-1", "1.5"):
        with pytest.raises(InvalidInput):
            resume_offset(bad, None)


async def test_a_client_that_falls_behind_is_told_to_resync():
    feed = EventFeed(queue_limit=4, heartbeat_seconds=60)
    stream = feed.stream()
    first = JobStarted(job_id=1, script_id=1)
    pending = asyncio.ensure_future(anext(stream))
    await subscribed(feed)
    await feed.publish(first)
    assert await pending == first
    for job_id in range(2, 10):  # the client reads nothing meanwhile
        await feed.publish(JobStarted(job_id=job_id, script_id=1))
    # 2-5 filled the queue; 6 overflowed it: dropped, and a Resync in their place.
    items = [await anext(stream) for _ in range(4)]
    assert isinstance(items[0], Resync)
    assert [i.job_id for i in items[1:] if isinstance(i, JobStarted)] == [7, 8, 9]
    await stream.aclose()
    assert feed.subscriber_count == 0


async def test_internal_commands_are_not_sent_and_close_ends_streams():
    feed = EventFeed(heartbeat_seconds=60)
    stream = feed.stream()
    pending = asyncio.ensure_future(anext(stream))
    await subscribed(feed)
    await feed.publish(ScheduleTick(schedule_id=1, fire_time=datetime.now(UTC)))
    await feed.publish(ImageCreated(image_id=1, name="a"))
    item = await pending
    assert isinstance(item, ImageCreated)
    closing = asyncio.ensure_future(anext(stream))
    feed.close()
    with pytest.raises(StopAsyncIteration):
        await closing


async def subscribed(feed: EventFeed) -> None:
    """Let the stream's first step run: it subscribes then."""
    async with asyncio.timeout(5):
        while feed.subscriber_count == 0:
            await asyncio.sleep(0)
