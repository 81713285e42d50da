"""Server-Sent Events on the wire: each event encoded once, as bytes, and sent in a
plain ``Stream`` (Litestar's ``ServerSentEventMessage`` objects cost ~6x more per
byte, measured in PITFALLS.md).

Log streams: every chunk is one event, ``id: <byte offset after it>`` and one
``data:`` line holding the chunk as a JSON string (SSE data cannot hold raw line
ends; JSON keeps ``\\n``, ``\\r`` and control characters exact). Then
``event: end`` with the outcome as a JSON object, and the stream closes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import msgspec
from litestar.background_tasks import BackgroundTask
from litestar.response import Stream

from scripter.domain.errors import InvalidInput
from scripter.domain.events import DomainEvent, encode_event
from scripter.domain.logs import KeepAlive, LogChunk, LogEnd, LogItem, LogReset
from scripter.http.params import MAX_OFFSET
from scripter.services.live_events import EventItem, Resync

EVENT_STREAM = "text/event-stream"
PING = b": ping\n\n"
RETRY = b"retry: 2000\n\n"
"""Sent first: a browser reconnects 2 s after a dropped connection."""

_json = msgspec.json.Encoder()

LOG_STREAM_DESCRIPTION = """\
Server-Sent Events (`text/event-stream`). Starts at byte offset `Last-Event-ID`
(sent by a reconnecting EventSource) or else `offset` (default 0).

- Log data: unnamed events (`message`). `id:` is the byte offset just after the
  chunk; `data:` is one line, the chunk as a JSON string (decode it with
  `JSON.parse`). Chunks end on line ends where possible (a partial last line is
  held at most 0.1 s) and never inside a UTF-8 character. Bytes that are not
  UTF-8 arrive as U+FFFD (the offsets still count the file's bytes).
- `event: reset`, `id: 0`: the log was truncated (a rebuild started a new build
  log, or a job's output was cut at its log limit): drop what you have; the log
  follows again from offset 0.
- `event: end`: the job or build ended and every byte was sent; `id:` is the
  final offset, `data:` the outcome as JSON. Then the stream closes (call
  `EventSource.close()`, or the browser reconnects and gets `end` again).
- `: ping` comment lines every 15 s keep idle connections open through proxies.
- The stream also closes, without `end`, when the server stops: reconnect with
  `Last-Event-ID` to resume with no gap and no duplicate.
"""


def resume_offset(last_event_id: str | None, offset: int | None) -> int:
    """Where a log stream starts: ``Last-Event-ID`` (a reconnection) wins over
    ``?offset=``, which the reconnecting browser still sends from the first URL."""
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id.strip())
        except ValueError:
            value = -1
        if not 0 <= value <= MAX_OFFSET:
            raise InvalidInput(
                f"Last-Event-ID must be a byte offset (an integer from 0 to {MAX_OFFSET})",
                field="Last-Event-ID",
            )
        return value
    return offset or 0


def encode_log_item(item: LogItem) -> bytes:
    if isinstance(item, LogChunk):
        text = item.data.decode("utf-8", "replace")
        return b"id: %d\ndata: %s\n\n" % (item.end, _json.encode(text))
    if isinstance(item, LogEnd):
        return b"event: end\nid: %d\ndata: %s\n\n" % (item.end, _json.encode(item.outcome))
    if isinstance(item, LogReset):
        return b"event: reset\nid: 0\ndata: %s\n\n" % _json.encode({"reason": item.reason})
    return PING


def encode_event_item(item: EventItem) -> bytes:
    if isinstance(item, DomainEvent):
        return b"event: %s\nid: %s\ndata: %s\n\n" % (
            item.key().encode(),
            item.event_id.encode(),
            encode_event(item),
        )
    if isinstance(item, Resync):
        return b"event: resync\ndata: %s\n\n" % _json.encode({"reason": item.reason})
    assert isinstance(item, KeepAlive)
    return PING


async def _log_bytes(items: AsyncGenerator[LogItem, None]) -> AsyncGenerator[bytes, None]:
    yield RETRY
    async for item in items:
        yield encode_log_item(item)


async def _event_bytes(items: AsyncGenerator[EventItem, None]) -> AsyncGenerator[bytes, None]:
    yield RETRY
    async for item in items:
        yield encode_event_item(item)


def _stream(body: AsyncGenerator[bytes, None], items: AsyncGenerator[object, None]) -> Stream:
    async def close() -> None:
        # A client that disconnects while its stream waits for the socket leaves the
        # generators suspended at a yield: close them now (their ``finally`` releases
        # the watchers), not whenever the garbage collector gets to them.
        await body.aclose()
        await items.aclose()

    return Stream(
        body,
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(close),
    )


def log_stream(items: AsyncGenerator[LogItem, None]) -> Stream:
    return _stream(_log_bytes(items), items)


def event_stream(items: AsyncGenerator[EventItem, None]) -> Stream:
    return _stream(_event_bytes(items), items)
