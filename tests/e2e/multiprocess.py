"""Scripter as separate processes, the way a scale-out deployment runs it: plumbing
shared by the scale-out and deployment tests.

``scale_out(tmp_path)`` gives a ``Deployment`` on the real MariaDB (a fresh database),
RabbitMQ (an exchange and work queues under a unique prefix) and Docker engine (a
unique image prefix, which is also the namespace of job containers), and removes all
of it afterwards. ``Deployment.spawn`` starts ``python -m scripter ...`` with that
environment only: none of the developer's ``SCRIPTER_*`` variables (an unknown one is
a configuration error) and no ``./config.toml`` (the processes run in a temp folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import httpx
import pytest

from scripter.domain.events import BUILD_QUEUE, WORK_QUEUES
from tests.access import TokenFromFile
from tests.child_env import scripter_child_env
from tests.conftest import (
    RABBITMQ_URL,
    TEST_BASE_IMAGE,
    remove_namespace_containers,
    require_rabbitmq,
)
from tests.integration.app_fixtures import remove_images, require_docker
from tests.integration.db_fixtures import (
    create_mariadb_database,
    drop_mariadb_database,
    mariadb_available,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
MIGRATE_TIMEOUT = 60.0
POLL = 0.1

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
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


def scripter_env(data: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child ``scripter``: this checkout first on the import path,
    the data directory, ``settings`` (``SCRIPTER_*``), and no other ``SCRIPTER_*``."""
    return scripter_child_env({"SCRIPTER_DATA_DIRECTORY": str(data), **settings})


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    stderr: Path

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")


@dataclass
class Deployment:
    """The processes of one installation and what they share."""

    workdir: Path
    env: dict[str, str]
    queue_prefix: str = ""
    processes: list[Process] = field(default_factory=list)
    _count: int = 0

    @property
    def auth(self) -> TokenFromFile:
        """For HTTP clients of its api: the token the api made in the shared data
        directory on its first start."""
        return TokenFromFile(Path(self.env["SCRIPTER_DATA_DIRECTORY"]))

    @property
    def namespace(self) -> str:
        """The image prefix, which also labels the job containers of this deployment."""
        return self.env.get("SCRIPTER_DOCKER_IMAGE_PREFIX", "scripter")

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
            f"scripter {' '.join(args)} exited with {returncode}:\n{tail(done.stderr)}"
        )
        return done

    async def api(self, port: int, *, accept: tuple[int, ...] = (200,)) -> Process:
        """``scripter api`` on 127.0.0.1:``port``, once its /healthz answers with a
        status in ``accept``."""
        api = await self.spawn("api", "api", "--host", "127.0.0.1", "--port", str(port))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def healthy() -> bool | None:
                self.check_alive(api)
                try:
                    response = await http.get("/healthz")
                except httpx.TransportError:
                    return None
                return True if response.status_code in accept else None

            await eventually(
                healthy,
                f"api /healthz {accept}",
                STARTUP_TIMEOUT,
                on_timeout=f"\n{tail(api.stderr)}",
            )
        return api

    async def stop(self, target: Process, stop_signal: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM (or SIGINT, a Ctrl-C): the process must exit 0 within STOP_TIMEOUT,
        without a traceback."""
        target.process.send_signal(stop_signal)
        try:
            returncode = await asyncio.wait_for(target.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            pytest.fail(
                f"{target.name} did not stop within {STOP_TIMEOUT:.0f} s of "
                f"{stop_signal.name}; stderr:\n{tail(target.stderr)}"
            )
        stderr = target.log()
        assert returncode == 0, f"{target.name} exited with {returncode}:\n{tail(target.stderr)}"
        assert "Traceback" not in stderr, f"{target.name} printed a traceback:\n{stderr}"

    async def kill(self, target: Process) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        target.process.send_signal(signal.SIGKILL)
        returncode = await asyncio.wait_for(target.process.wait(), STOP_TIMEOUT)
        assert returncode == -signal.SIGKILL

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
                    f"stderr:\n{tail(target.stderr)}"
                )


@dataclass
class Broker:
    """Looks at the work queues the way an operator would (passive declares)."""

    connection: aio_pika.abc.AbstractRobustConnection
    queue_prefix: str

    async def queue_state(self, name: str) -> tuple[int, int] | None:
        """(messages ready, consumers) of a work queue; None while it does not exist."""
        channel = await self.connection.channel()
        try:
            queue = await channel.declare_queue(self.queue_prefix + name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return None  # 404: nobody has declared it yet
        result = queue.declaration_result
        with contextlib.suppress(aio_pika.exceptions.AMQPError):
            await channel.close()
        return result.message_count or 0, result.consumer_count or 0

    async def build_queue(self) -> tuple[int, int] | None:
        return await self.queue_state(BUILD_QUEUE.name)

    async def wait_for_consumers(self, count: int, *alive: Process) -> None:
        """Until ``count`` workers consume the build queue; ``alive`` must not exit."""

        async def probe() -> bool | None:
            Deployment.check_alive(*alive)
            state = await self.build_queue()
            return True if state is not None and state[1] == count else None

        await eventually(probe, f"{count} consumer(s) on the build queue", STARTUP_TIMEOUT)


def require_scale_out_services() -> None:
    mariadb_available()
    require_rabbitmq()
    require_docker()


@contextlib.asynccontextmanager
async def scale_out(tmp_path: Path, **settings: str) -> AsyncIterator[Deployment]:
    """A deployment on MariaDB, RabbitMQ and Docker; ``settings`` are extra
    ``SCRIPTER_*`` variables. Everything it made is removed afterwards."""
    require_scale_out_services()
    token = uuid.uuid4().hex
    queue_prefix = f"test-{token}."
    exchange = f"test-{token}.events"
    image_prefix = f"scripter-test-{token[:12]}"
    data = tmp_path / "data"
    data.mkdir()
    database_url = await create_mariadb_database("scripter_scale")
    env = scripter_env(
        data,
        {
            "SCRIPTER_DATABASE_URL": database_url,
            "SCRIPTER_BROKER_URL": RABBITMQ_URL,
            "SCRIPTER_BROKER_EXCHANGE": exchange,
            "SCRIPTER_BROKER_QUEUE_PREFIX": queue_prefix,
            "SCRIPTER_DOCKER_IMAGE_PREFIX": image_prefix,
            "SCRIPTER_DOCKER_BUILD_NETWORK": "host",  # no docker0 bridge on test machines
            "SCRIPTER_IMAGES_DEFAULT_BASE_IMAGE": TEST_BASE_IMAGE,
            **settings,
        },
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
                await asyncio.to_thread(remove_containers, image_prefix)
                await asyncio.to_thread(remove_images, image_prefix)


def remove_containers(namespace: str) -> None:
    """Every job container of ``namespace`` (left by a test that failed midway)."""
    remove_namespace_containers(namespace)


def json_of(response: httpx.Response, status: int) -> Any:
    """The response's JSON (None when it has no body), once its status is ``status``."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json() if response.content else None


async def built_image_and_script(
    http: httpx.AsyncClient,
    deployment: Deployment,
    *alive: Process,
    name: str,
    code: str,
    build_timeout: float,
) -> int:
    """An image ``name`` on the test base, built by a worker, and a script ``name`` on it
    running ``code``; the script's id. Fails early if one of ``alive`` dies."""
    image = json_of(
        await http.post(
            "/api/images",
            json={
                "name": name,
                # The label makes the image this test's own (same content, same id:
                # another session's image would share it and its removal).
                "dockerfile": f"FROM {TEST_BASE_IMAGE}\nLABEL test={deployment.namespace}\n",
            },
        ),
        201,
    )
    json_of(await http.post(f"/api/images/{image['id']}/build"), 202)

    async def built() -> dict[str, Any] | None:
        deployment.check_alive(*alive)
        found = json_of(await http.get(f"/api/images/{image['id']}"), 200)
        return None if found["status"] == "building" else dict(found)

    image = await eventually(built, "the image build", build_timeout)
    assert image["status"] == "built", image
    script = json_of(
        await http.post(
            "/api/scripts",
            json={
                "name": name,
                "image_id": image["id"],
                "files": [{"path": "main.py", "content": code}],
                "keep_last": 1000,  # retention must not delete what is counted here
            },
        ),
        201,
    )
    return int(script["id"])
