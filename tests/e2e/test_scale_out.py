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
import contextlib
import itertools
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import docker
import httpx
import pytest

from scripter.domain.events import BUILD_QUEUE, WORK_QUEUES
from scripter.services.images import INTERRUPTED
from tests.conftest import RABBITMQ_URL, TEST_BASE_IMAGE, require_service, tcp_port_open
from tests.integration.app_fixtures import remove_images, require_docker
from tests.integration.db_fixtures import (
    create_mariadb_database,
    drop_mariadb_database,
    mariadb_available,
)

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.docker]

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
BUILD_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
MIGRATE_TIMEOUT = 60.0
POLL = 0.1

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout: float, *, on_timeout: str = ""
) -> T:
    """Poll ``probe`` until it returns something other than None (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s{on_timeout}")
        await asyncio.sleep(POLL)


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    stderr: Path

    @property
    def running(self) -> bool:
        return self.process.returncode is None


@dataclass
class Deployment:
    """The processes of one scale-out installation and what they share."""

    workdir: Path
    env: dict[str, str]
    queue_prefix: str
    processes: list[Process] = field(default_factory=list)
    _count: int = 0

    async def spawn(self, name: str, *args: str) -> Process:
        self._count += 1
        stem = self.workdir / f"{self._count:02d}-{name}"
        stderr_path = stem.with_suffix(".stderr")
        with stem.with_suffix(".stdout").open("wb") as out, stderr_path.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "scripter",
                *args,
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # a Ctrl-C at the terminal reaches pytest only
            )
        started = Process(name, process, stderr_path)
        self.processes.append(started)
        return started

    async def run(self, *args: str, timeout: float) -> Process:
        """Run a command to its end; it must exit 0."""
        done = await self.spawn(args[0], *args)
        try:
            returncode = await asyncio.wait_for(done.process.wait(), timeout)
        except TimeoutError:
            pytest.fail(f"scripter {' '.join(args)} did not end within {timeout:.0f} s")
        assert returncode == 0, (
            f"scripter {' '.join(args)} exited with {returncode}:\n{_tail(done.stderr)}"
        )
        return done

    async def stop(self, target: Process) -> None:
        """SIGTERM: the process must exit 0 within STOP_TIMEOUT, without a traceback."""
        target.process.send_signal(signal.SIGTERM)
        try:
            returncode = await asyncio.wait_for(target.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            pytest.fail(
                f"{target.name} did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM; "
                f"stderr:\n{_tail(target.stderr)}"
            )
        stderr = target.stderr.read_text(errors="replace")
        assert returncode == 0, f"{target.name} exited with {returncode}:\n{_tail(target.stderr)}"
        assert "Traceback" not in stderr, f"{target.name} printed a traceback:\n{stderr}"

    async def kill_all(self) -> None:
        for leftover in self.processes:
            if leftover.running:
                leftover.process.kill()
                await leftover.process.wait()

    @staticmethod
    def check_alive(*targets: Process) -> None:
        for target in targets:
            if not target.running:
                pytest.fail(
                    f"{target.name} exited with {target.process.returncode}; "
                    f"stderr:\n{_tail(target.stderr)}"
                )


@dataclass
class Broker:
    """Looks at the work queues the way an operator would (passive declares)."""

    connection: aio_pika.abc.AbstractRobustConnection
    queue_prefix: str

    async def build_queue(self) -> tuple[int, int] | None:
        """(messages ready, consumers) of the build queue; None while it does not exist."""
        channel = await self.connection.channel()
        try:
            queue = await channel.declare_queue(self.queue_prefix + BUILD_QUEUE.name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return None  # 404: no worker has declared it yet
        result = queue.declaration_result
        with contextlib.suppress(aio_pika.exceptions.AMQPError):
            await channel.close()
        return result.message_count or 0, result.consumer_count or 0

    async def wait_for_consumers(self, count: int, *alive: Process) -> None:
        """Until ``count`` workers consume the build queue; ``alive`` must not exit."""

        async def probe() -> bool | None:
            Deployment.check_alive(*alive)
            state = await self.build_queue()
            return True if state is not None and state[1] == count else None

        await eventually(probe, f"{count} consumer(s) on the build queue", STARTUP_TIMEOUT)


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    mariadb_available()
    require_service("RabbitMQ", tcp_port_open("127.0.0.1", 5672), "nothing listens on 5672")
    require_docker()

    token = uuid.uuid4().hex
    queue_prefix = f"test-{token}."
    exchange = f"test-{token}.events"
    image_prefix = f"scripter-test-{token[:12]}"
    data = tmp_path / "data"
    data.mkdir()
    database_url = await create_mariadb_database("scripter_scale")

    # The children get this environment only: none of the developer's SCRIPTER_*
    # variables (an unknown one is a configuration error) and no ./config.toml.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCRIPTER_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
            "SCRIPTER_DATA_DIRECTORY": str(data),
            "SCRIPTER_DATABASE_URL": database_url,
            "SCRIPTER_BROKER_URL": RABBITMQ_URL,
            "SCRIPTER_BROKER_EXCHANGE": exchange,
            "SCRIPTER_BROKER_QUEUE_PREFIX": queue_prefix,
            "SCRIPTER_DOCKER_IMAGE_PREFIX": image_prefix,
            "SCRIPTER_DOCKER_BUILD_NETWORK": "host",  # no docker0 bridge on test machines
            "SCRIPTER_IMAGES_DEFAULT_BASE_IMAGE": TEST_BASE_IMAGE,
            # One build at a time per worker: two builds at once means two workers.
            "SCRIPTER_WORKER_CONCURRENCY": "1",
        }
    )
    deployed = Deployment(workdir=tmp_path, env=env, queue_prefix=queue_prefix)
    try:
        yield deployed
    finally:
        await deployed.kill_all()
        try:
            connection = await aio_pika.connect(RABBITMQ_URL)
            async with connection:
                channel = await connection.channel()
                for queue in WORK_QUEUES:
                    await channel.queue_delete(queue_prefix + queue.name)
                await channel.exchange_delete(exchange)
        finally:
            try:
                await drop_mariadb_database(database_url)
            finally:
                await asyncio.to_thread(remove_images, image_prefix)


async def test_api_and_workers_scale_out_over_rabbitmq_and_mariadb(deployment: Deployment):
    run_token = uuid.uuid4().hex[:12]  # defeats Docker's layer cache between test runs
    port = _free_port()

    await deployment.run("migrate", timeout=MIGRATE_TIMEOUT)
    # The api first: no worker has ever run, so only the api can have made the queues.
    api = await deployment.spawn("api", "api", "--host", "127.0.0.1", "--port", str(port))
    connection = await aio_pika.connect_robust(RABBITMQ_URL)
    async with connection, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        broker = Broker(connection, deployment.queue_prefix)

        async def healthy() -> dict[str, Any] | None:
            deployment.check_alive(api)
            try:
                response = await http.get("/healthz")
            except httpx.TransportError:
                return None
            return dict(response.json()) if response.status_code == 200 else None

        health = await eventually(
            healthy, "api /healthz 200", STARTUP_TIMEOUT, on_timeout=f"\n{_tail(api.stderr)}"
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
