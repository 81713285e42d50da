"""Live logs: what a follower of a growing log file sends, and where it may cut.

A log is a file of bytes that only grows (a rebuild truncates a build log; a job
cut at its log limit loses its tail). A follower sends it in chunks; every chunk
ends at a byte offset that is the resume point of a reconnecting client. Chunks
end on line boundaries where possible and never inside a UTF-8 sequence, so each
chunk decodes on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class LogTruncated(Exception):
    """The log is now shorter than the offset a follower had reached: it was
    truncated (a rebuild) or cut (a job's log limit)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the log is {size} bytes now, shorter than what was read")
        self.size = size


@dataclass(frozen=True, slots=True)
class LogChunk:
    data: bytes
    end: int
    """The byte offset just after ``data``: where a reconnecting client resumes."""


@dataclass(frozen=True, slots=True)
class LogReset:
    """The log shrank under the follower: what it sent is void, the log follows again
    from offset 0."""

    reason: str


@dataclass(frozen=True, slots=True)
class LogEnd:
    """The job or build ended and every byte of its log was sent."""

    outcome: Mapping[str, object]
    end: int


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Nothing happened for a while (lets a transport send a heartbeat)."""


LogItem = LogChunk | LogReset | LogEnd | KeepAlive


def line_end(data: bytes) -> int:
    """The length of ``data`` up to and including its last line end (``\\n`` or a
    bare ``\\r``, as progress bars write), or 0 if it holds no line end."""
    return max(data.rfind(b"\n"), data.rfind(b"\r")) + 1


def utf8_end(data: bytes) -> int:
    """The length of ``data`` without an incomplete UTF-8 sequence at its end.

    Only a sequence that may still be completed by the next bytes is held back;
    bytes that are invalid anyway are left in (they decode to U+FFFD).
    """
    size = len(data)
    for back in range(1, min(4, size) + 1):
        byte = data[size - back]
        if byte & 0xC0 == 0x80:
            continue  # a continuation byte: look further back for the lead byte
        if byte < 0xC0 or byte >= 0xF8:
            return size  # ASCII (so nothing is open), or not a lead byte at all
        needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
        return size if back >= needed else size - back
    return size


def sendable(data: bytes, *, full: bool, flush: bool, complete: bool) -> int:
    """How many bytes of ``data`` (the unsent bytes of a log, from the follower's
    offset) to send now; 0 means wait for more.

    - ``complete``: the log will not grow again and ``data`` reaches its end: all of it.
    - whole lines when ``data`` holds a line end;
    - else, when ``full`` (``data`` is as long as a read may be, so the line is longer
      than a chunk) or ``flush`` (a partial line was held long enough): up to the
      last whole UTF-8 character.
    """
    if complete:
        return len(data)
    lines = line_end(data)
    if lines:
        return lines
    if full or flush:
        return utf8_end(data)
    return 0
