"""Log throughput: a job writes 1 GB; clients get every byte, in order.

1. live: an SSE client follows the job while its container writes the 1 GB;
2. then, on the finished log, interleaved (A B C A B C): the whole log over SSE;
   the same file over a plain HTTP GET (``/api/jobs/{id}/log``, the existing
   endpoint); and SSE again with a client that only counts what arrives (what the
   server sends, without this Python client's JSON decoding).

Every byte a verifying client receives is compared with the file at the offsets the
stream names (live: a CRC of all of it). The server runs as its own process; its
RSS is sampled every 20 ms, and the CPU time of server and client is reported.

    python -m bench.log_throughput [--megabytes 1024] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mmap
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.live_support import (
    HOST,
    Dechunker,
    RssSampler,
    SseStream,
    cpu_seconds,
    exit_cleanly_on_sigterm,
    machine,
    open_sse,
    scripter_server,
)

SCRIPT = """\
import sys, time
MEGABYTES = {megabytes}
out = sys.stdout.buffer
time.sleep(2)  # the live follower attaches meanwhile
# 1 MB of numbered 100-byte lines; the block number makes every line unique.
template = b"".join(b"BLOCK###:%05d " % n + b"x" * 84 + b"\\n" for n in range(10485))
template += b"#" * 49 + b"\\n"
for block in range(MEGABYTES):
    out.write(template.replace(b"BLOCK###", b"%08d" % block))
    out.flush()
"""


def _crc32_of(path: Path) -> int:
    crc = 0
    with path.open("rb") as handle:
        while block := handle.read(2**20):
            crc = zlib.crc32(block, crc)
    return crc


class Verifier:
    """Compares what a client receives with the file, chunk by chunk."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        self.size = len(self._map)
        self.offset = 0
        self.mismatch: str | None = None
        self.first_ns = 0
        self.last_ns = 0
        self.progress: list[tuple[int, int]] = []
        """(time in ns, bytes received so far), at most every 20 ms: the plot's line."""

    def _note(self, now: int) -> None:
        if not self.progress or now - self.progress[-1][0] >= 20_000_000:
            self.progress.append((now, self.offset))

    def arrived(self, now: int) -> None:
        if self.first_ns == 0:
            self.first_ns = now
        self.last_ns = now
        self._note(now)

    def bytes(self, data: memoryview) -> None:
        """Raw bytes that continue the file (a plain GET)."""
        start = self.offset
        # bytes == bytes is a memcmp; bytes == memoryview goes item by item.
        if self._map[start : start + len(data)] != data.tobytes():
            self.mismatch = self.mismatch or f"bytes from {start} differ"
        self.offset += len(data)

    def chunk(self, text: str, end: int, now: int) -> None:
        data = text.encode()
        if self.first_ns == 0:
            self.first_ns = now
        self.last_ns = now
        if end - self.offset != len(data) or self._map[self.offset : end] != data:
            self.mismatch = self.mismatch or f"bytes {self.offset}-{end} differ"
        self.offset = end
        self._note(now)

    def close(self) -> None:
        self._map.close()
        self._file.close()


@dataclass
class PlainGet(asyncio.Protocol):
    """A plain ``GET`` (Content-Length or chunked), compared with the file as it
    arrives."""

    path: str
    verifier: Verifier
    done: asyncio.Future[None] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    _head: bytes = b""
    _length: int | None = None
    _dechunker: Dechunker | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        extra = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        transport.write(f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\n{extra}\r\n".encode())

    def data_received(self, data: bytes) -> None:
        self.verifier.arrived(time.time_ns())
        if self._length is None and self._dechunker is None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (
                    line.partition(":") for line in self._head[:end].decode().split("\r\n")[1:]
                )
            }
            if headers.get("transfer-encoding") == "chunked":
                self._dechunker = Dechunker(self.verifier.bytes)
            else:
                self._length = int(headers["content-length"])
            data, self._head = self._head[end + 4 :], b""
        if self._dechunker is not None:
            self._dechunker.feed(data)
            finished = self._dechunker.done
        else:
            self.verifier.bytes(memoryview(data))
            finished = self.verifier.offset >= (self._length or 0)
        if finished:
            self._finish()

    def _finish(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)
        self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)


async def _transfer(
    port: int, kind: str, job_id: int, log: Path, pid: int, headers: dict[str, str]
) -> dict[str, Any]:
    verifier = Verifier(log)
    sampler = RssSampler(pid)
    loop = asyncio.get_running_loop()
    started = time.time_ns()
    server_cpu, client_cpu = cpu_seconds(pid), cpu_seconds(os.getpid())
    with sampler.sampling():
        if kind == "sse":
            stream = SseStream(
                f"/api/jobs/{job_id}/log/stream", on_chunk=verifier.chunk, headers=headers
            )
            await open_sse(port, stream)
            assert stream.done is not None
            await stream.done
            ok = stream.outcome is not None
        elif kind == "sse, received without parsing":
            stream = SseStream(f"/api/jobs/{job_id}/log/stream", count_only=True, headers=headers)
            await open_sse(port, stream)
            assert stream.done is not None
            await stream.done
            ok = True  # received, not checked: see every_byte_in_order
        else:
            get = PlainGet(f"/api/jobs/{job_id}/log", verifier, loop.create_future(), headers)
            await loop.create_connection(lambda: get, HOST, port)
            assert get.done is not None
            await get.done
            ok = True
    seconds = (time.time_ns() - started) / 1e9
    server_cpu = cpu_seconds(pid) - server_cpu
    client_cpu = cpu_seconds(os.getpid()) - client_cpu
    size = verifier.size
    verifier.close()
    return {
        "kind": kind,
        "progress": [((t - started) / 1e9, offset / 2**20) for t, offset in verifier.progress],
        "seconds": round(seconds, 3),
        "mb_per_s": round(size / 2**20 / seconds, 1),
        "every_byte_in_order": (
            None  # not looked at
            if kind.startswith("sse, received")
            else verifier.offset == size and verifier.mismatch is None and ok
        ),
        "rss_growth_mb": round(sampler.growth_mb, 1),
        "rss_before_mb": round(sampler.before / 2**20, 1),
        "server_cpu_seconds_per_gb": round(server_cpu / (size / 2**30), 2),
        "client_cpu_seconds_per_gb": round(client_cpu / (size / 2**30), 2),
    }


async def measure(megabytes: int, rounds: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``env``: more server settings (the stack). Each transfer has ``progress``:
    (seconds, MiB received) pairs."""
    with scripter_server(env) as server:
        script_id = server.seed_script(
            SCRIPT.format(megabytes=megabytes), log_limit=(megabytes + 16) * 2**20
        )
        job_id = server.run(script_id)
        server.wait_job(job_id, leave=("queued",))
        log = server.data / server.job(job_id)["log_path"]
        # 1. Live, while the container writes.
        sampler = RssSampler(server.pid)
        offsets: list[int] = []
        crc = [0]

        progress: list[tuple[int, int]] = []

        def live_chunk(text: str, end: int, now: int) -> None:
            crc[0] = zlib.crc32(text.encode(), crc[0])
            offsets.append(end)
            if not progress or now - progress[-1][0] >= 20_000_000:
                progress.append((now, end))

        stream = SseStream(
            f"/api/jobs/{job_id}/log/stream", on_chunk=live_chunk, headers=server.auth_headers
        )
        with sampler.sampling():
            started = time.time_ns()
            await open_sse(server.port, stream)
            assert stream.done is not None
            await stream.done
            live_seconds = (time.time_ns() - started) / 1e9 - 2  # the script's sleep
        job = server.job(job_id)
        size = log.stat().st_size
        live = {
            "kind": "sse, live while the job writes",
            "job_status": job["status"],
            "bytes": size,
            "job_seconds": job["duration_seconds"],
            "writer_mb_per_s": round(size / 2**20 / (job["duration_seconds"] - 2), 1),
            "client_mb_per_s": round(size / 2**20 / live_seconds, 1),
            "ended_with_outcome": stream.outcome,
            "rss_growth_mb": round(sampler.growth_mb, 1),
            "every_byte_in_order": offsets == sorted(offsets)
            and offsets[-1] == size
            and crc[0] == _crc32_of(log),
            "progress": [((t - started) / 1e9, end / 2**20) for t, end in progress],
        }
        # 2. The finished log: SSE and plain GET, interleaved.
        transfers = []
        for _ in range(rounds):
            for kind in ("sse", "get", "sse, received without parsing"):
                transfers.append(
                    await _transfer(server.port, kind, job_id, log, server.pid, server.auth_headers)
                )
    return {
        "benchmark": "log throughput",
        "machine": machine(),
        "megabytes": megabytes,
        "live": live,
        "finished": transfers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    print(json.dumps(asyncio.run(measure(args.megabytes, args.rounds)), indent=2))


if __name__ == "__main__":
    main()
