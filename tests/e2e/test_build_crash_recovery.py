"""`scripter serve` killed with SIGKILL in the middle of an image build, then started
again: the build ends `failed` with the reason, never `building` forever, and the
build leaves no container behind."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import httpx
import pytest
from docker.models.containers import Container

from scripter.services.images import INTERRUPTED
from tests.conftest import TEST_BASE_IMAGE
from tests.e2e.test_crash_recovery import Server, eventually
from tests.e2e.test_crash_recovery import namespace as namespace  # the fixture

pytestmark = pytest.mark.docker


def build_containers(marker: str) -> list[Container]:
    """The builder's containers of the step whose command holds ``marker`` (a build's
    intermediate containers carry no label of ours)."""
    client = docker.from_env()
    return [
        c
        for c in client.containers.list(all=True, ignore_removed=True)
        if marker in " ".join(c.attrs["Config"].get("Cmd") or [])
    ]


@pytest.fixture
def marker() -> Iterator[str]:
    """Makes the build's RUN step unique (no layer cache from an earlier run) and
    findable; whatever container of it is still there at the end is removed."""
    text = f"build-{uuid.uuid4().hex}"
    yield text
    for container in build_containers(text):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def test_a_build_killed_with_the_server_ends_failed_after_the_restart(
    tmp_path: Path, namespace: str, marker: str
):
    data = tmp_path / "data"
    data.mkdir()
    server_log = tmp_path / "server.log"
    server = Server(data, namespace, server_log)
    try:
        api = httpx.Client(base_url=server.url, timeout=30, headers=server.headers)
        dockerfile = f"FROM {TEST_BASE_IMAGE}\nRUN echo {marker} started && sleep 30\n"
        created = api.post("/api/images", json={"name": "slow", "dockerfile": dockerfile})
        assert created.status_code == 201, created.text
        url = f"/api/images/{created.json()['id']}"
        assert api.post(f"{url}/build").status_code == 202
        # The RUN step printed its first line: the sleep is under way.
        eventually(lambda: f"{marker} started" in api.get(f"{url}/build-log").text, "the RUN")
        assert api.get(url).json()["status"] == "building"
        assert build_containers(marker), "the RUN step's container is not found"
    except BaseException:
        server.stop()
        raise
    server.kill()  # no shutdown of any kind: the build's stream just breaks

    server = Server(data, namespace, server_log)
    try:
        api = httpx.Client(base_url=server.url, timeout=30, headers=server.headers)
        image = eventually(
            lambda: (i := api.get(url).json())["status"] != "building" and i,
            "the interrupted build to be recorded",
        )
        assert (image["status"], image["error"]) == ("failed", INTERRUPTED)
        assert image["files_editable"] is True
        assert (image["tag"], image["docker_image_id"]) == (None, None)
        # The engine ends the step whose client went away, and its builder removes the
        # step's container (rm and forcerm): nothing of the build stays behind.
        eventually(lambda: not build_containers(marker), "the build's container to go")
    finally:
        server.stop()
    assert server.process.returncode == 0, server_log.read_text()[-3000:]
