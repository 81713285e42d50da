"""Scale-out, end to end: ``scripter api`` and ``scripter worker`` as separate processes
on one MariaDB, one RabbitMQ, one Docker engine and a shared data directory.

What this proves, with real processes (ARCHITECTURE.md sections 2-3):

- ``scripter migrate`` prepares the database; the api and the workers need nothing
  else (the api's health says db, broker and docker are ok).
- Builds requested through the api before any worker has ever run wait in the
  durable build queue (the api declares the work queues too), and are built once two
  workers start, by both: each builds one image at a time (concurrency 1), yet two
  builds overlapped. Each build's log has its RUN output; its Docker image exists.
- The api never builds: with every worker stopped, a requested build stays waiting
  as a message in the build queue, and a worker started later builds it.
- A worker killed (SIGKILL) in the middle of a build leaves its request unacked;
  RabbitMQ gives it to the next worker, which marks the build failed with the reason
  instead of leaving it ``building`` for ever.
- SIGTERM stops the api and every worker cleanly: exit 0, no traceback.

Everything it makes is its own and removed afterwards: a fresh database, an exchange
and queues under a unique prefix, Docker images under a unique tag prefix.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import docker
import httpx
import pytest

from scripter.services.images import INTERRUPTED
from tests.conftest import RABBITMQ_URL, TEST_BASE_IMAGE
from tests.e2e.multiprocess import (
    MIGRATE_TIMEOUT,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    Broker,
    Deployment,
    Process,
    eventually,
    free_port,
    scale_out,
    tail,
)

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.docker]

BUILD_TIMEOUT = 60.0


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    # One build at a time per worker: two builds at once means two workers.
    async with scale_out(tmp_path, SCRIPTER_WORKER_CONCURRENCY="1") as deployed:
        yield deployed


async def test_api_and_workers_scale_out_over_rabbitmq_and_mariadb(deployment: Deployment):
    run_token = uuid.uuid4().hex[:12]  # defeats Docker's layer cache between test runs
    port = free_port()

    await deployment.run("migrate", timeout=MIGRATE_TIMEOUT)
    # The api first: no worker has ever run, so only the api can have made the queues.
    api = await deployment.spawn("api", "api", "--host", "127.0.0.1", "--port", str(port))
    connection = await aio_pika.connect_robust(RABBITMQ_URL)
    async with (
        connection,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", auth=deployment.auth) as http,
    ):
        broker = Broker(connection, deployment.queue_prefix)

        async def healthy() -> dict[str, Any] | None:
            deployment.check_alive(api)
            try:
                response = await http.get("/healthz")
            except httpx.TransportError:
                return None
            return dict(response.json()) if response.status_code == 200 else None

        health = await eventually(
            healthy, "api /healthz 200", STARTUP_TIMEOUT, on_timeout=f"\n{tail(api.stderr)}"
        )
        assert {name: check["status"] for name, check in health["checks"].items()} == {
            "db": "ok",
            "broker": "ok",
            "docker": "ok",
        }

        async def get_image(image_id: int) -> dict[str, Any]:
            response = await http.get(f"/api/images/{image_id}")
            assert response.status_code == 200, response.text
            return dict(response.json())

        async def create_image(name: str, dockerfile: str) -> int:
            response = await http.post("/api/images", json={"name": name, "dockerfile": dockerfile})
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        async def request_build(image_id: int) -> None:
            response = await http.post(f"/api/images/{image_id}/build")
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "building"

        async def wait_built(image_id: int, *alive: Process) -> dict[str, Any]:
            async def done() -> dict[str, Any] | None:
                deployment.check_alive(api, *alive)
                image = await get_image(image_id)
                return None if image["status"] == "building" else image

            return await eventually(done, f"build of image {image_id}", BUILD_TIMEOUT)

        async def build_log(image_id: int) -> str:
            response = await http.get(f"/api/images/{image_id}/build-log")
            assert response.status_code == 200, response.text
            return response.text

        async def queued(ready: int) -> None:
            async def probe() -> bool | None:
                return True if await broker.build_queue() == (ready, 0) else None

            await eventually(probe, f"{ready} build request(s) waiting in the build queue", 10.0)

        # --- 1. builds requested before any worker ever ran wait in RabbitMQ; two workers
        # started later build them, side by side -----------------------------------------
        lines = {n: f"built-{n}-{run_token}" for n in (1, 2, 3)}
        # The sleep makes each build outlast the gap between the two workers' start-ups.
        ids = {
            n: await create_image(
                f"scale-{n}", f"FROM {TEST_BASE_IMAGE}\nRUN echo {line} && sleep 2\n"
            )
            for n, line in lines.items()
        }
        for image_id in ids.values():
            await request_build(image_id)
        await queued(3)
        workers = [await deployment.spawn("worker", "worker") for _ in range(2)]
        built = {n: await wait_built(image_id, *workers) for n, image_id in ids.items()}
        client = docker.from_env()
        for n, image in built.items():
            log = await build_log(image["id"])
            assert image["status"] == "built", f"{image}\n{log}"
            # The RUN's output, on a line of its own (not only the step's echo of it).
            assert lines[n] in log.splitlines(), log
            assert (
                image["tag"]
                == f"{deployment.env['SCRIPTER_DOCKER_IMAGE_PREFIX']}/scale-{n}:{image['id']}"
            )
            assert client.images.get(image["tag"]).id == image["docker_image_id"]
        spans = sorted(
            (
                datetime.fromisoformat(i["build_started_at"]),
                datetime.fromisoformat(i["build_finished_at"]),
            )
            for i in built.values()
        )
        overlapped = any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))
        assert overlapped, f"no two builds ran at once, so one worker did them all: {spans}"

        # --- 2. no worker: the request waits in RabbitMQ; a new worker builds it ----------
        for worker in workers:
            await deployment.stop(worker)
        await broker.wait_for_consumers(0)
        fourth_line = f"built-4-{run_token}"
        fourth = await create_image("scale-4", f"FROM {TEST_BASE_IMAGE}\nRUN echo {fourth_line}\n")
        await request_build(fourth)

        await queued(1)
        waiting = await get_image(fourth)
        assert waiting["status"] == "building" and waiting["build_started_at"] is None, waiting

        third_worker = await deployment.spawn("worker", "worker")
        image = await wait_built(fourth, third_worker)
        assert image["status"] == "built", f"{image}\n{await build_log(fourth)}"
        assert fourth_line in (await build_log(fourth)).splitlines()

        # --- 3. a worker killed mid-build: the redelivered request fails the build --------
        sleeper_line = f"sleeping-{run_token}"
        sleeper = await create_image(
            "scale-sleeper", f"FROM {TEST_BASE_IMAGE}\nRUN echo {sleeper_line} && sleep 5\n"
        )
        await request_build(sleeper)

        async def mid_build() -> bool | None:
            deployment.check_alive(api, third_worker)
            started = (await get_image(sleeper))["build_started_at"] is not None
            # The echo's output (not the step line that quotes it): the RUN is running.
            running = sleeper_line in (await build_log(sleeper)).splitlines()
            return True if started and running else None

        await eventually(mid_build, "the sleeper build running its RUN step", BUILD_TIMEOUT)
        third_worker.process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(third_worker.process.wait(), STOP_TIMEOUT) == -signal.SIGKILL
        assert "Traceback" not in third_worker.stderr.read_text(errors="replace")
        stranded = await get_image(sleeper)
        assert stranded["status"] == "building", stranded

        fourth_worker = await deployment.spawn("worker", "worker")
        failed = await wait_built(sleeper, fourth_worker)
        assert failed["status"] == "failed", failed
        assert failed["error"] == INTERRUPTED
        assert failed["files_editable"] is True

        # --- 4. SIGTERM ends everything cleanly ----------------------------------------
        await deployment.stop(fourth_worker)
        await deployment.stop(api)
