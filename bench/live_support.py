"""Shared plumbing of the live-log benchmarks: a real ``scripter serve`` process on
127.0.0.1 (SQLite, in-process bus, the local Docker engine), its RSS, a script on the
test base image, and a lean SSE client on asyncio (httpx costs too much per event to
drive 1,000 streams from one process on two cores)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from tests.child_env import scripter_child_env

REPO = Path(__file__).resolve().parents[1]
BASE_IMAGE = os.environ.get("SCRIPTER_TEST_BASE_IMAGE", "scripter-test-base:bookworm")
HOST = "127.0.0.1"  # only ever loopback
BENCH_LIMITS: dict[str, Any] = {"memory_mb": 512, "cpus": 1.0, "pids": 64}


def machine() -> str:
    cores = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{platform.machine()}, {cores} cores, {memory:.0f} GiB, Linux {platform.release()}"
        f" (load average {load}: other work on the machine)"
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values_ns: list[int]) -> dict[str, float]:
    ms = [v / 1e6 for v in values_ns]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }


# --- the server -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class RssSampler:
    """Samples a process's RSS every 20 ms in a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = rss_bytes(pid)
        self.peak = self.before
        self._stop = False

    def _run(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)

    @contextlib.contextmanager
    def sampling(self) -> Iterator[RssSampler]:
        import threading

        self.before = rss_bytes(self.pid)
        self.peak = self.before
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop = True
            thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 2**20


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    port: int
    data: Path
    namespace: str

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def auth_headers(self) -> dict[str, str]:
        """``Authorization`` with the access token the server keeps in its data
        directory (made on its first start), if it has one."""
        from scripter.adapters.access_token import token_path

        token_file = token_path(self.data)
        if not token_file.is_file():
            return {}  # auth is off
        return {"Authorization": f"Bearer {token_file.read_text().strip()}"}

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **self.auth_headers},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def wait_healthy(self, timeout: float = 60) -> None:
        """Until ``/healthz`` says 200: the database, the broker (connected in the
        background after start) and Docker all answer."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5).close()
                return
            except urllib.error.HTTPError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server is not healthy: {exc.read()[:500]!r}") from exc
            time.sleep(0.1)

    def bench_image(self) -> dict[str, Any]:
        """The image ``bench``, built from the test base image (a FROM-only build)."""
        images = self.request("GET", "/api/images/")["items"]
        image: dict[str, Any] | None = next((i for i in images if i["name"] == "bench"), None)
        if image is None:
            image = self.request(
                "POST", "/api/images/", {"name": "bench", "dockerfile": f"FROM {BASE_IMAGE}\n"}
            )
            assert image is not None
        if image["status"] != "built":
            self.request("POST", f"/api/images/{image['id']}/build")
            deadline = time.monotonic() + 300
            while image["status"] in ("dormant", "building") and time.monotonic() < deadline:
                time.sleep(0.3)
                image = self.request("GET", f"/api/images/{image['id']}")
            if image["status"] != "built":
                raise RuntimeError(f"the bench image did not build: {image}")
        return image

    def seed_script(
        self,
        code: str,
        *,
        log_limit: int | None = None,
        limits: dict[str, Any] | None = BENCH_LIMITS,
    ) -> int:
        """A script on the image ``bench``. ``limits=None``: a new script's defaults."""
        image = self.bench_image()
        body: dict[str, Any] = {
            "name": f"bench-{uuid.uuid4().hex[:8]}",
            "image_id": image["id"],
            "files": [{"path": "main.py", "content": code}],
            "log_limit_bytes": log_limit,
            "timeout_seconds": 3600,
        }
        if limits is not None:
            body["limits"] = limits
        script = self.request("POST", "/api/scripts/", body)
        return int(script["id"])

    def run(self, script_id: int) -> int:
        return int(self.request("POST", f"/api/scripts/{script_id}/runs")["id"])

    def job(self, job_id: int) -> dict[str, Any]:
        job: dict[str, Any] = self.request("GET", f"/api/jobs/{job_id}")
        return job

    def wait_job(
        self, job_id: int, *, leave: tuple[str, ...], timeout: float = 600
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job = self.job(job_id)
        while job["status"] in leave:
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']}")
            time.sleep(0.05)
            job = self.job(job_id)
        return job

    def container_name(self, job_id: int) -> str:
        return f"{self.namespace}-job-{job_id}"


@contextlib.contextmanager
def scripter_server(
    env: Mapping[str, str] | None = None, *, command: str = "serve", data: Path | None = None
) -> Iterator[Server]:
    """``python -m scripter serve`` (or ``api``) with a fresh data directory (or
    ``data``), stopped with SIGINT; ``env``: more ``SCRIPTER_*`` settings."""
    namespace = f"scripter-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="scripter-bench-") as tmp:
        data = data or Path(tmp) / "data"
        port = _free_port()
        # Without the test suite's SCRIPTER_TEST_* knobs: the server would refuse them.
        environment = scripter_child_env(
            {
                "SCRIPTER_DATA_DIRECTORY": str(data),
                "SCRIPTER_DOCKER_BUILD_NETWORK": "host",
                "SCRIPTER_DOCKER_IMAGE_PREFIX": namespace,
                "SCRIPTER_LOGGING_LEVEL": "WARNING",
                **(env or {}),
            },
            inherit_settings=True,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "scripter", command, "--host", HOST, "--port", str(port)],
            cwd=tmp,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(tmp) / "server.log", "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        server = Server(process, f"http://{HOST}:{port}", port, data, namespace)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{server.base_url}/healthz", timeout=2).close()
                    break
                except urllib.error.HTTPError:
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            "scripter serve did not start:\n"
                            + (Path(tmp) / "server.log").read_text()[-3000:]
                        ) from None
                    time.sleep(0.2)
            yield server
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _remove_docker_objects(namespace)


def _remove_docker_objects(namespace: str) -> None:
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=scripter.namespace={namespace}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
    # By tag, never by id: an image built elsewhere from the same base (a test, another
    # benchmark) can have the same id, and its tags are not ours to remove.
    tags = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"{namespace}/*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if tags:
        subprocess.run(["docker", "rmi", *tags], capture_output=True, check=False)


# --- a lean SSE client ------------------------------------------------------------------

_decode_str = msgspec.json.Decoder(str).decode


class Dechunker:
    """HTTP/1.1 chunked transfer decoding, fed packet by packet; ``on_data`` gets the
    body's bytes (views into the packet: copy what you keep)."""

    def __init__(self, on_data: Callable[[memoryview], None]) -> None:
        self.on_data = on_data
        self.done = False
        self._size_line = b""
        self._chunk_left = 0
        self._crlf_left = 0

    def feed(self, data: bytes) -> None:
        size, pos = len(data), 0
        with memoryview(data) as view:
            while pos < size and not self.done:
                if self._crlf_left:
                    skip = min(self._crlf_left, size - pos)
                    pos += skip
                    self._crlf_left -= skip
                elif self._chunk_left == 0:
                    line_end = data.find(b"\n", pos)
                    if line_end < 0:
                        self._size_line += data[pos:]
                        return
                    line = self._size_line + data[pos:line_end]
                    self._size_line = b""
                    pos = line_end + 1
                    self._chunk_left = int(line.rstrip(b"\r").split(b";")[0], 16)
                    self.done = self._chunk_left == 0
                else:
                    take = min(self._chunk_left, size - pos)
                    self.on_data(view[pos : pos + take])
                    pos += take
                    self._chunk_left -= take
                    if self._chunk_left == 0:
                        self._crlf_left = 2


@dataclass
class SseStream(asyncio.Protocol):
    """One SSE stream over HTTP/1.1 (chunked), parsed in ``data_received`` with as few
    copies as Python allows (the client shares two cores with the server).

    ``on_chunk(text, end_offset, received_ns)`` gets each log chunk; the stream is
    ``done`` after ``event: end`` (its data in ``outcome``) or when it closes.
    """

    path: str
    on_chunk: Callable[[str, int, int], None] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Extra request headers (the server's ``auth_headers``)."""
    keep_text: bool = False
    defer: bool = False
    """Parse only in ``replay``, after the stream ended (see ``data_received``)."""
    count_only: bool = False
    """Receive and count, never parse (what the server sends, not what a client can
    make of it)."""
    after_first: asyncio.Event | None = None
    """With ``defer``: set when a packet arrives after the first one."""
    text_parts: list[str] = field(default_factory=list)
    bytes_received: int = 0
    outcome: dict[str, Any] | None = None
    done: asyncio.Future[None] | None = None
    connected_ns: int = 0
    _transport: asyncio.Transport | None = None
    _head: bytes = b""
    _deferred: list[tuple[int, bytes]] = field(default_factory=list)
    _tail: bytes = b""
    _body: bytearray = field(default_factory=bytearray)
    _scanned: int = 0
    _headers_done: bool = False
    _dechunker: Dechunker = field(init=False)

    def __post_init__(self) -> None:
        self._dechunker = Dechunker(self._body.extend)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.connected_ns = time.time_ns()
        request = f"GET {self.path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n"
        request += "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        transport.write(request.encode() + b"\r\n")

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        self.bytes_received += len(data)
        if self.defer or self.count_only:
            # Only note the time and keep the bytes: parsing now would delay the
            # timestamps of the other streams this loop iteration serves.
            if self.defer:
                self._deferred.append((now, data))
            if len(self._deferred) == 2 and self.after_first is not None:
                self.after_first.set()  # the first packet after the headers and retry
            self._tail = (self._tail + data)[-7:]
            if self._tail == b"\r\n0\r\n\r\n":  # the last chunk of the response
                self._finish()
            return
        self._process(data, now)

    def replay(self) -> None:
        """Parse what ``defer`` kept, with the times it arrived."""
        deferred, self._deferred = self._deferred, []
        for now, data in deferred:
            self._process(data, now)

    def _process(self, data: bytes, now: int) -> None:
        if not self._headers_done:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self._head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{self.path}: {self._head[:200]!r}")
            self._headers_done = True
            data, self._head = self._head[end + 4 :], b""
        self._dechunker.feed(data)
        self._events(now)
        if self._dechunker.done:
            self._finish()

    def _events(self, now: int) -> None:
        body = self._body
        start = 0
        while True:
            # Line by line with find(b"\n") (memchr); find(b"\n\n") is ~10x slower.
            end = body.find(b"\n", max(start, self._scanned))
            if end < 0:
                self._scanned = len(body)
                break
            if end + 1 == len(body):
                self._scanned = end  # look at this line end again when more arrives
                break
            if body[end + 1] != 10:
                self._scanned = end + 1
                continue
            self._event(body, start, end, now)
            start = self._scanned = end + 2
        if start:
            del body[:start]
            self._scanned -= start

    def _event(self, body: bytearray, start: int, end: int, now: int) -> None:
        event, event_id, data = b"message", 0, (0, 0)
        pos = start
        while pos < end:
            line_end = body.find(b"\n", pos, end)
            line_end = end if line_end < 0 else line_end
            if body.startswith(b"data: ", pos):
                data = (pos + 6, line_end)
            elif body.startswith(b"id: ", pos):
                event_id = int(body[pos + 4 : line_end])
            elif body.startswith(b"event: ", pos):
                event = bytes(body[pos + 7 : line_end])
            pos = line_end + 1
        if data == (0, 0):
            return
        if event == b"message":
            with memoryview(body) as view:
                text = _decode_str(view[data[0] : data[1]])
            if self.keep_text:
                self.text_parts.append(text)
            if self.on_chunk is not None:
                self.on_chunk(text, event_id, now)
        elif event == b"end":
            self.outcome = json.loads(bytes(body[data[0] : data[1]]))

    def _finish(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


async def open_sse(port: int, stream: SseStream) -> SseStream:
    loop = asyncio.get_running_loop()
    stream.done = loop.create_future()
    await loop.create_connection(lambda: stream, HOST, port)
    return stream


def raise_fd_limit() -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def exit_cleanly_on_sigterm() -> None:
    """``timeout`` and CI send SIGTERM: unwind, so the server and its containers go."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
