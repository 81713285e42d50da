"""Job containers on the real Docker engine: secrets the job prints are masked in
everything the API serves (whole log, ranges, download, SSE) but kept raw in the
file; the hardening of the container as the engine reports it; and the per-script
choice of a read-only root file system."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest

from scripter.domain.images import Image, ImageStatus
from scripter.domain.scripts import EnvVar
from tests.conftest import TEST_BASE_IMAGE
from tests.integration.app_fixtures import App
from tests.integration.live_fixtures import (
    WAIT,
    LiveApp,
    as_app,
    live_worker_app,
    log_text,
)
from tests.integration.test_jobs import (
    add_script,
    finished,
    leftover_containers,
    log_of,
    remove_containers,
    run,
    until_running,
)

pytestmark = pytest.mark.docker

SECRET = "s3cr3t-Tøken-✓-42"
OVERRIDE = "override-secret-value"
PRINTS_SECRETS = """\
import os, sys, time
secret, other = os.environ["TOKEN"], os.environ["OTHER"]
sys.stdout.write("token=" + secret[:5])
sys.stdout.flush()
time.sleep(0.6)  # the secret's first bytes wait alone in the file
sys.stdout.write(secret[5:] + "\\n")
print("again", secret, secret, flush=True)
print("other", other)
print("plain", os.environ["PLAIN"])
sys.stdout.write("tail")
"""
MASKED = "token=****\nagain **** ****\nother ****\nplain visible\ntail"


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_worker_app(tmp_path) as started:
        yield started


def outbox_payloads(data: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(data / "scripter.db")) as db:
        return [row[0] for row in db.execute("SELECT payload FROM outbox")]


async def test_printed_secrets_are_masked_in_every_served_log_and_raw_in_the_file(
    live: LiveApp,
):
    helper = as_app(live)
    try:
        script_id = await add_script(
            helper,
            PRINTS_SECRETS,
            env=[
                EnvVar(name="TOKEN", value=SECRET, secret=True),
                EnvVar(name="OTHER", value="stored-other-value", secret=True),
                EnvVar(name="PLAIN", value="visible"),
            ],
        )
    finally:
        await helper.close()
    async with live.client() as client:
        response = await client.post(
            f"/api/scripts/{script_id}/runs", json={"env": {"OTHER": OVERRIDE}}
        )
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["env"] == {"OTHER": "****"}  # an override of a secret stays secret
        async with live.sse(f"/api/jobs/{job['id']}/log/stream") as stream:
            events = await stream.until("end")
        raw = (live.data / job["log_path"]).read_bytes()
        # The file keeps what the job printed; only what is served is masked.
        assert SECRET.encode() in raw and OVERRIDE.encode() in raw

        # SSE: masked, ids are offsets in the raw file, the last one its size.
        assert log_text(events) == MASKED
        ids = [int(e.id or 0) for e in events]
        assert ids == sorted(ids) and ids[-1] == len(raw)
        assert events[-1].json["status"] == "succeeded"
        for event in events:
            assert SECRET[:5] not in event.data or event.data.endswith('tail"')
        # Resumed from inside a secret: none of it.
        inside = raw.index(SECRET.encode()) + 3
        async with live.sse(
            f"/api/jobs/{job['id']}/log/stream", headers={"Last-Event-ID": str(inside)}
        ) as stream:
            resumed = log_text(await stream.until("end"))
        assert resumed == MASKED[MASKED.index("****") + 4 :]

        # The whole log, streamed; the download; every split into two ranges.
        whole = await client.get(f"/api/jobs/{job['id']}/log")
        assert whole.text == MASKED and whole.headers["x-next-offset"] == str(len(raw))
        download = await client.get(f"/api/jobs/{job['id']}/log", params={"download": "true"})
        assert download.text == MASKED
        for cut in range(0, len(raw) + 1, 3):
            head = await client.get(f"/api/jobs/{job['id']}/log", params={"limit": cut or 1})
            offset = int(head.headers["x-next-offset"])
            tail = await client.get(f"/api/jobs/{job['id']}/log", params={"offset": offset})
            assert head.headers["x-log-size"] == str(len(raw))
            assert (head.content + tail.content).decode() == MASKED, cut

        # Nothing else the API says carries a secret value.
        for url in (f"/api/jobs/{job['id']}", "/api/jobs", f"/api/scripts/{script_id}"):
            text = (await client.get(url)).text
            assert SECRET not in text and OVERRIDE not in text, url
    for payload in outbox_payloads(live.data):
        assert SECRET not in payload and OVERRIDE not in payload


async def add_base_image(app: App) -> int:
    """An image that is the test base image itself (nothing to build)."""
    now = app.scripter.clock.now()
    async with app.uow() as uow:
        image = await uow.images.add(
            Image(
                name="base",
                status=ImageStatus.BUILT,
                tag=TEST_BASE_IMAGE,
                docker_image_id="x",
                created_at=now,
                updated_at=now,
            )
        )
        await uow.commit()
    return image.require_id


WRITES_EVERYWHERE = """\
import sys, time
for target in ("/written-by-the-job", "/tmp/scratch"):
    try:
        with open(target, "w") as f:
            f.write("x")
        print(target, "written")
    except OSError as e:
        print(target, "refused", e.errno)
if sys.argv[1:] == ["wait"]:
    print("ready", flush=True)
    time.sleep(60)
"""


async def test_the_root_is_read_only_unless_the_script_says_otherwise(app: App):
    try:
        image_id = await add_base_image(app)
        created = await app.client.post(
            "/api/scripts",
            json={
                "name": "writer",
                "image_id": image_id,
                "files": [{"path": "main.py", "content": WRITES_EVERYWHERE}],
            },
        )
        assert created.status_code == 201, created.text
        script = created.json()
        assert script["read_only_root"] is None  # the configured default: read-only
        default = await finished(app, (await run(app, script["id"]))["id"])
        assert await log_of(app, default["id"]) == (
            b"/written-by-the-job refused 30\n/tmp/scratch written\n"
        )

        patched = await app.client.patch(
            f"/api/scripts/{script['id']}", json={"read_only_root": False}
        )
        assert patched.status_code == 200, patched.text
        assert (patched.json()["read_only_root"], patched.json()["current_revision"]) == (False, 2)
        revision = (await app.client.get(f"/api/scripts/{script['id']}/revisions/2")).json()
        assert revision["settings"]["read_only_root"] is False
        writable = await finished(app, (await run(app, script["id"]))["id"])
        assert await log_of(app, writable["id"]) == (
            b"/written-by-the-job written\n/tmp/scratch written\n"
        )

        back = await app.client.patch(f"/api/scripts/{script['id']}", json={"read_only_root": True})
        assert back.json()["read_only_root"] is True
        again = await finished(app, (await run(app, script["id"]))["id"])
        assert (await log_of(app, again["id"])).startswith(b"/written-by-the-job refused 30\n")
        assert await leftover_containers(app) == []
    finally:
        remove_containers(app)


def host_config(app: App, job_id: int) -> dict[str, Any]:
    namespace = app.scripter.config.docker.image_prefix
    container = docker.from_env().containers.get(f"{namespace}-job-{job_id}")
    attrs: dict[str, Any] = container.attrs
    return attrs


async def wait_for_output(app: App, job_id: int, text: bytes) -> None:
    async with asyncio.timeout(WAIT):
        while text not in await log_of(app, job_id):
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("read_only_root", [None, False])
async def test_the_container_is_hardened_as_the_engine_reports_it(
    app: App, read_only_root: bool | None
):
    try:
        image_id = await add_base_image(app)
        created = await app.client.post(
            "/api/scripts",
            json={
                "name": "hardened",
                "image_id": image_id,
                "files": [{"path": "main.py", "content": WRITES_EVERYWHERE}],
                "args": ["wait"],
                "limits": {"memory_mb": 96, "pids": 50, "cpus": 0.5},
                "read_only_root": read_only_root,
            },
        )
        assert created.status_code == 201, created.text
        job = await until_running(app, (await run(app, created.json()["id"]))["id"])
        await wait_for_output(app, job["id"], b"ready\n")
        attrs = host_config(app, job["id"])
        host = attrs["HostConfig"]
        assert host["Privileged"] is False
        assert host["SecurityOpt"] == ["no-new-privileges"]
        assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
        assert host["PidsLimit"] == 50
        assert host["Memory"] == 96 * 2**20 and host["MemorySwap"] == host["Memory"]
        assert host["NanoCpus"] == 500_000_000
        assert host["Init"] is True
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is (read_only_root is None)
        assert set(host["Tmpfs"]) == {"/tmp"}
        # Never the Docker socket, in any form of mount.
        sources = [m.get("Source", "") for m in attrs["Mounts"]] + list(host.get("Binds") or [])
        assert not any("docker.sock" in s for s in sources), sources
        assert {m["Destination"] for m in attrs["Mounts"]} == {
            "/scripter/src",
            "/scripter/output.log",
        }
        assert [m["RW"] for m in attrs["Mounts"] if m["Destination"] == "/scripter/src"] == [False]
        assert not host.get("Devices") and not host.get("VolumesFrom")
        assert host.get("PidMode", "") == "" and host.get("IpcMode") in ("private", "", "none")
        cancel = await app.client.post(f"/api/jobs/{job['id']}/cancel")
        assert cancel.status_code == 202
        assert (await finished(app, job["id"]))["status"] == "cancelled"
    finally:
        remove_containers(app)
