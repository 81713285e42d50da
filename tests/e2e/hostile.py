"""A ``scripter serve`` process of its own for the hostile-input suite
(``test_hostile_*.py``), so that what the suite throws at it never meets another
test's data: its own data directory beside an ``outside/`` folder that nothing may
ever touch, its own Docker namespace (image prefix and container label), removed
afterwards, and a small file limit so that oversize bodies stay small.

The suite sends what a client may send: the access token as ``Authorization: Bearer``
(read from the data directory, where the server made it on first start, as a user
copies it from ``scripter token show``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.access import read_token
from tests.conftest import TEST_BASE_IMAGE, remove_namespace_containers
from tests.e2e.multiprocess import REPO_ROOT, free_port, scripter_env, tail
from tests.integration.app_fixtures import remove_images, require_docker

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
MAX_FILE_BYTES = 64 * 1024
"""The server's file limit (``images.max_file_bytes``); JSON bodies may be about
twice that plus 1 MB (base64 files)."""
CANARY = b"outside the data directory: never read, written or deleted\n"


@dataclass
class HostileServer:
    base_url: str
    data: Path
    outside: Path
    """A folder beside the data directory, with a canary file, for links to point at."""
    namespace: str
    token: str = ""
    seeded: dict[str, int] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30.0)

    def outside_state(self) -> dict[str, str]:
        """Everything under the workdir but the data directory, by content: a request
        that escaped ``src/`` would show here."""
        found: dict[str, str] = {}
        for path in sorted(self.outside.parent.rglob("*")):
            if self.data in path.parents or path == self.data or path.suffix in (".log",):
                continue
            if path.is_symlink():
                found[str(path)] = f"-> {path.readlink()}"
            elif path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[str(path)] = "dir"
        return found


def _start(workdir: Path, token: str | None) -> tuple[subprocess.Popen[bytes], HostileServer]:
    data, outside = workdir / "data", workdir / "outside"
    data.mkdir(parents=True)
    if token is not None:
        # A token of the test's choosing: the server takes the file it finds.
        (data / "auth-token").write_text(token + "\n")
        (data / "auth-token").chmod(0o600)
    outside.mkdir()
    (outside / "passwd").write_bytes(CANARY)
    (outside / "folder").mkdir()
    port = free_port()
    namespace = f"scripter-hostile-{port}"
    env = scripter_env(
        data,
        {
            "SCRIPTER_IMAGES_DEFAULT_BASE_IMAGE": TEST_BASE_IMAGE,
            "SCRIPTER_DOCKER_BUILD_NETWORK": "host",
            "SCRIPTER_DOCKER_IMAGE_PREFIX": namespace,
            "SCRIPTER_IMAGES_MAX_FILE_BYTES": str(MAX_FILE_BYTES),
            # The suite sends wrong tokens on purpose, thousands of them (schemathesis
            # checks that requests without the token are refused): the limiter
            # would lock the suite's own address out. Its tests are the auth tests.
            "SCRIPTER_AUTH_MAX_FAILED_LOGINS": "1000000",
        },
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        "-m",
        "scripter",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    stderr_path = workdir / "server.stderr.log"
    with (workdir / "server.stdout.log").open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
    server = HostileServer(
        base_url=f"http://127.0.0.1:{port}", data=data, outside=outside, namespace=namespace
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code in (200, 503):
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"scripter serve did not start; stderr:\n{tail(stderr_path)}")
        time.sleep(0.2)
    server.token = read_token(data)
    return process, server


def _seed(server: HostileServer) -> None:
    """An image (built: a one-line Dockerfile on the test base image) and a script on
    it, so that generated requests with small ids reach real objects."""
    with server.client() as client:
        image = client.post(
            "/api/images",
            json={"name": "seed", "dockerfile": f"FROM {TEST_BASE_IMAGE}\n"},
        )
        assert image.status_code == 201, image.text
        image_id = image.json()["id"]
        assert client.post(f"/api/images/{image_id}/build").status_code == 202
        deadline = time.monotonic() + 120
        while client.get(f"/api/images/{image_id}").json()["status"] == "building":
            assert time.monotonic() < deadline, "the seed image did not build"
            time.sleep(0.2)
        script = client.post(
            "/api/scripts",
            json={"name": "seed", "image_id": image_id, "timeout_seconds": 30},
        )
        assert script.status_code == 201, script.text
    server.seeded = {"image": image_id, "script": script.json()["id"]}


def _stop(process: subprocess.Popen[bytes], server: HostileServer, workdir: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    remove_namespace_containers(server.namespace)
    remove_images(server.namespace)


@contextlib.contextmanager
def hostile_server(
    workdir: Path, *, seed: bool = True, token: str | None = None
) -> Iterator[HostileServer]:
    """The server; ``token``: its access token (else the one it makes)."""
    require_docker()
    process, server = _start(workdir, token)
    try:
        if seed:
            _seed(server)
        yield server
    finally:
        _stop(process, server, workdir)
    stderr = (workdir / "server.stderr.log").read_text(errors="replace")
    assert "Traceback" not in stderr, (
        f"the server logged an error:\n{tail(workdir / 'server.stderr.log')}"
    )
