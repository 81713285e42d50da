"""Private instances of the services, for the fault suite to stop and start for real.

The MariaDB server, the RabbitMQ broker and the Docker engine on 127.0.0.1 are shared
with other test runs and CI: a test never stops them. Each class here runs a service
of its own instead (its own data folder, port, socket and process group), and stops
it, starts it again or kills it, as the fault asks. ``async with`` removes the process
and every file it made, whether the test passed or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TypeVar

import aio_pika
import docker
import pytest

from tests.conftest import TEST_BASE_IMAGE, require_service, tcp_port_open
from tests.e2e.multiprocess import eventually, free_port, tail

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

D = TypeVar("D", bound="_Daemon")


def require_root(what: str) -> None:
    require_service(what, os.geteuid() == 0, "needs root (private servers, mounts)")


def short_tempdir(prefix: str) -> Path:
    """A folder with a short path: unix socket paths are limited to 107 bytes, and
    pytest's tmp_path can be longer than that with a socket name added."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


class _Daemon:
    """One server process in its own session (process group), logging to a file."""

    name = "daemon"

    def __init__(self, base: Path) -> None:
        self.base = base
        self.log = base / f"{self.name}.log"
        self.process: asyncio.subprocess.Process | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    async def ready(self) -> bool:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        assert not self.running, f"{self.name} is running already"
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=self.base,
                # Its own process group: a Ctrl-C at the terminal does not reach it,
                # and cleanup can kill exactly its processes.
                start_new_session=True,
            )

        async def up() -> bool | None:
            if not self.running:
                pytest.fail(f"private {self.name} exited; log:\n{tail(self.log)}")
            return True if await self.ready() else None

        try:
            await eventually(up, f"private {self.name} to start", START_TIMEOUT)
        except pytest.fail.Exception as failed:
            pytest.fail(f"{failed}; log:\n{tail(self.log)}")

    async def stop(self) -> None:
        """A clean stop (SIGTERM), as an operator's restart or a host shutdown does."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"private {self.name} did not stop within {STOP_TIMEOUT:.0f} s")

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def kill(self) -> None:
        """Its whole process group, at once (cleanup after a failed test)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)


class PrivateMariaDB(_Daemon):
    """``mariadbd`` on a fresh data directory and a free port; root without password."""

    name = "mariadb"

    def __init__(self, base: Path) -> None:
        super().__init__(base)
        self.port = free_port()
        self.datadir = base / "datadir"

    @property
    def url(self) -> str:
        return f"mysql+asyncmy://root@127.0.0.1:{self.port}/scripter?charset=utf8mb4"

    def command(self) -> list[str]:
        return [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.base / 'mysqld.sock'}",
            f"--pid-file={self.base / 'mysqld.pid'}",
            "--user=root",
            "--innodb-buffer-pool-size=16M",
            "--skip-log-bin",
        ]

    async def ready(self) -> bool:
        return tcp_port_open("127.0.0.1", self.port, timeout=0.5)

    async def install(self) -> None:
        install = await asyncio.create_subprocess_exec(
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--user=root",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await install.communicate()
        assert install.returncode == 0, f"mariadb-install-db failed: {err.decode()[-2000:]}"
        await self.start()
        client = await asyncio.create_subprocess_exec(
            "mariadb",
            "-uroot",
            "-h127.0.0.1",
            f"-P{self.port}",
            "-e",
            "CREATE DATABASE scripter CHARACTER SET utf8mb4",
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await client.communicate()
        assert client.returncode == 0, err.decode()


class PrivateRabbitMQ(_Daemon):
    """A RabbitMQ node of its own (name, ports, Mnesia folder, config): stopping it
    drops every client connection, starting it again keeps its durable queues and
    persistent messages, as a real broker restart does."""

    name = "rabbitmq"

    def __init__(self, base: Path) -> None:
        super().__init__(base)
        self.port = free_port()
        self.node = f"scripterfault{os.getpid()}x{self.port}@localhost"
        (base / "home").mkdir()
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (base / "enabled_plugins").write_text("[].\n")  # no management listener
        (base / "rabbitmq-env.conf").write_text("")  # not the system node's env file

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        # Not the /usr/sbin wrapper: as root it switches to the rabbitmq user, which
        # cannot write here.
        direct = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
        return [str(direct) if direct.exists() else "rabbitmq-server"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(self.base / "home"),  # its own Erlang cookie
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(free_port()),
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.base / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_CONF_ENV_FILE=str(self.base / "rabbitmq-env.conf"),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "logs"),
            RABBITMQ_PID_FILE=str(self.base / "rabbitmq.pid"),
            ERL_EPMD_ADDRESS="127.0.0.1",
        )
        return env

    async def ready(self) -> bool:
        if not tcp_port_open("127.0.0.1", self.port, timeout=0.5):
            return False
        try:
            connection = await aio_pika.connect(self.url, timeout=2)
        except Exception:
            return False
        await connection.close()
        return True


class PrivateDockerd(_Daemon):
    """A Docker engine of its own (data root, exec root, socket, pid file), flagged as
    .ci/ensure-docker.sh flags the machine's engine; the test base image is copied in."""

    name = "dockerd"

    def __init__(self, base: Path) -> None:
        super().__init__(base)
        self.live_restore = False
        """Whether containers keep running while the engine is down (takes effect at
        the next start; Docker's default is off)."""

    @property
    def host(self) -> str:
        return f"unix://{self.base / 'docker.sock'}"

    def command(self) -> list[str]:
        return [
            "dockerd",
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            f"--data-root={self.base / 'root'}",
            f"--exec-root={self.base / 'exec'}",
            f"--pidfile={self.base / 'docker.pid'}",
            f"--host={self.host}",
            *(["--live-restore"] if self.live_restore else []),
        ]

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=60)

    async def ready(self) -> bool:
        def ping() -> bool:
            try:
                client = self.client()
            except Exception:  # not listening yet (the client negotiates a version)
                return False
            try:
                return bool(client.ping())
            except Exception:
                return False
            finally:
                client.close()

        return await asyncio.to_thread(ping)

    async def load_test_image(self) -> None:
        """The base image, from the machine's engine (there is no registry)."""
        pipeline = await asyncio.create_subprocess_shell(
            f"docker save {TEST_BASE_IMAGE} | DOCKER_HOST={self.host} docker load",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await pipeline.communicate()
        assert pipeline.returncode == 0, f"loading {TEST_BASE_IMAGE}: {err.decode()[-2000:]}"


@contextlib.asynccontextmanager
async def private_mariadb() -> AsyncIterator[PrivateMariaDB]:
    require_root("a private MariaDB server")
    require_service(
        "mariadbd", bool(shutil.which("mariadbd") and shutil.which("mariadb-install-db"))
    )
    async with _owned(PrivateMariaDB(short_tempdir("sf-my-"))) as server:
        await server.install()
        yield server


@contextlib.asynccontextmanager
async def private_rabbitmq() -> AsyncIterator[PrivateRabbitMQ]:
    require_root("a private RabbitMQ node")
    require_service("rabbitmq-server", bool(shutil.which("rabbitmq-server")))
    async with _owned(PrivateRabbitMQ(short_tempdir("sf-mq-"))) as server:
        await server.start()
        yield server


@contextlib.asynccontextmanager
async def private_dockerd() -> AsyncIterator[PrivateDockerd]:
    require_root("a private Docker engine")
    require_service("dockerd", bool(shutil.which("dockerd")))
    async with _owned(PrivateDockerd(short_tempdir("sf-dk-"))) as engine:
        await engine.start()
        await engine.load_test_image()
        yield engine


@contextlib.asynccontextmanager
async def _owned(daemon: D) -> AsyncIterator[D]:
    try:
        yield daemon
    finally:
        try:
            # A clean stop first: dockerd then stops its containerd and unmounts.
            with contextlib.suppress(BaseException):
                await daemon.stop()
            await daemon.kill()
        finally:
            await asyncio.to_thread(_remove_tree, daemon.base)


def _remove_tree(base: Path) -> None:
    """Unmount whatever is still mounted below ``base`` (an engine that died hard
    leaves overlay and netns mounts), then delete it."""
    prefix = str(base) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """``folder`` as a tmpfs of ``size`` (``4m``): a disk that fills up for real."""
    require_root("a tmpfs mount")
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    require_service("mount -t tmpfs", mounted.returncode == 0, mounted.stderr.strip())
    try:
        yield folder
    finally:
        unmounted = subprocess.run(["umount", str(folder)], capture_output=True, text=True)
        if unmounted.returncode != 0:
            # Something still holds it open (a process the test could not stop):
            # detach it now, the kernel frees it once that lets go.
            subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)
