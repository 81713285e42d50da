"""`scripter serve` killed with SIGKILL while jobs run, then started again: every job
ends with its true status and its whole log, and no container is left behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.access import auth_headers
from tests.conftest import (
    TEST_BASE_IMAGE,
    namespace_containers,
    remove_namespace_containers,
    require_service,
)

pytestmark = pytest.mark.docker

DEADLINE = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    def __init__(self, data: Path, namespace: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = data
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTER_")}
        env.update(
            SCRIPTER_DATA_DIRECTORY=str(data),
            SCRIPTER_DOCKER_IMAGE_PREFIX=namespace,
            SCRIPTER_DOCKER_BUILD_NETWORK="host",
            SCRIPTER_IMAGES_DEFAULT_BASE_IMAGE=TEST_BASE_IMAGE,
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scripter", "serve", "--port", str(self.port)],
            cwd=data.parent,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        eventually(self._up, "the server to answer")

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def headers(self) -> dict[str, str]:
        """The token the first start made in the data directory (the restart keeps it)."""
        return auth_headers(self.data)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
        self.log.close()


@pytest.fixture
def namespace(tmp_path: Path) -> Iterator[str]:
    try:
        docker.from_env().images.get(TEST_BASE_IMAGE)
        ok, why = True, ""
    except Exception as exc:
        ok, why = False, str(exc)
    require_service("Docker engine with the test base image", ok, why)
    name = "scripter-test-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]
    yield name
    client = docker.from_env()
    remove_namespace_containers(name)
    # By tag, not id: an identical image of someone else's shares the id.
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(name + "/"):
                with contextlib.suppress(docker.errors.NotFound):
                    client.images.remove(tag)


def job(server: Server, job_id: int) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/jobs/{job_id}", headers=server.headers, timeout=10)
    body: dict[str, Any] = response.json()
    return body


def test_jobs_survive_a_killed_server(tmp_path: Path, namespace: str):
    data = tmp_path / "data"
    data.mkdir()
    server_log = tmp_path / "server.log"
    server = Server(data, namespace, server_log)
    try:
        api = httpx.Client(base_url=server.url, timeout=30, headers=server.headers)
        image = api.post(
            "/api/images", json={"name": "base", "dockerfile": f"FROM {TEST_BASE_IMAGE}\n"}
        ).json()
        api.post(f"/api/images/{image['id']}/build")
        eventually(
            lambda: api.get(f"/api/images/{image['id']}").json()["status"] == "built",
            "the image to build",
        )
        jobs: dict[str, int] = {}
        for name, code in {
            "long": "import time\nprint('a', flush=True)\ntime.sleep(6)\nprint('b')\n",
            "short": "import time\nprint('c', flush=True)\ntime.sleep(1)\nraise SystemExit(5)\n",
        }.items():
            script = api.post(
                "/api/scripts",
                json={
                    "name": name,
                    "image_id": image["id"],
                    "files": [{"path": "main.py", "content": code}],
                },
            )
            assert script.status_code == 201, script.text
            run = api.post(f"/api/scripts/{script.json()['id']}/runs")
            jobs[name] = run.json()["id"]
        eventually(
            lambda: all(job(server, j)["status"] == "running" for j in jobs.values()),
            "both jobs to run",
        )
    except BaseException:
        server.stop()
        raise
    server.kill()  # no shutdown of any kind: supervisors die, containers run on

    time.sleep(3)  # the short job ends while nobody watches
    server = Server(data, namespace, server_log)
    try:
        short = eventually(
            lambda: (j := job(server, jobs["short"]))["status"] not in ("queued", "running") and j,
            "the short job to be recorded",
        )
        long = eventually(
            lambda: (j := job(server, jobs["long"]))["status"] not in ("queued", "running") and j,
            "the long job to end",
        )
        assert (short["status"], short["exit_code"]) == ("failed", 5)
        assert (long["status"], long["exit_code"]) == ("succeeded", 0)
        log = httpx.get(f"{server.url}/api/jobs/{jobs['long']}/log", headers=server.headers)
        assert log.content == b"a\nb\n"
        short_log = httpx.get(f"{server.url}/api/jobs/{jobs['short']}/log", headers=server.headers)
        assert short_log.content == b"c\n"
        eventually(
            lambda: not namespace_containers(namespace),
            "the job containers to be removed",
            timeout=20,
        )
    finally:
        server.stop()
    assert server.process.returncode == 0, server_log.read_text()[-3000:]
