"""A ``scripter serve`` process with open SSE streams stops at once on SIGINT: the
streams end (uvicorn would otherwise wait for them, then cancel them)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.access import read_token
from tests.child_env import scripter_child_env
from tests.e2e.conftest import STARTUP_TIMEOUT, _free_port, _healthz_answers


def _open_stream(port: int, path: str, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    received = b""
    while b"retry: 2000" not in received:  # the stream's first event
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received
    return sock


def _closed(sock: socket.socket) -> bool:
    """True once the server closed the stream (read to EOF, within the timeout)."""
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    return True


def test_open_streams_end_when_the_server_stops(tmp_path: Path):
    port = _free_port()
    env = scripter_child_env(
        {"SCRIPTER_DATA_DIRECTORY": str(tmp_path / "data")}, inherit_settings=True
    )
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "scripter", "api", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthz_answers(f"http://127.0.0.1:{port}"):
            assert process.poll() is None and time.monotonic() < deadline, stderr_path.read_text()
            time.sleep(0.2)
        token = read_token(tmp_path / "data")
        streams = [_open_stream(port, "/api/events/stream", token) for _ in range(3)]
        process.send_signal(signal.SIGINT)
        assert all(_closed(s) for s in streams)
        assert process.wait(timeout=10) == 0
        log = stderr_path.read_text(errors="replace")
        assert "timeout graceful shutdown exceeded" not in log, log
        assert "Traceback" not in log, log
        for sock in streams:
            sock.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
