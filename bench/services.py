"""The shared services a benchmark runs on, each made for the run and removed after
it: a MariaDB database of its own (a unique name, dropped afterwards), RabbitMQ
names of its own (exchange and work queues under a unique prefix, deleted
afterwards), and the Docker containers it labels."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

T = TypeVar("T")

MARIADB_URL = os.environ.get(
    "SCRIPTER_TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/test?charset=utf8mb4"
)
RABBITMQ_URL = os.environ.get("SCRIPTER_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
BENCH_LABEL = "scripter.bench"
"""Label of every container a benchmark starts itself (the baselines)."""
STACKS = ("mariadb", "sqlite")


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to the end in a thread of its own (so it works whether or not
    the caller is inside an event loop)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _port_open(url: str, default_port: int) -> bool:
    parsed = urlsplit(url)
    address = (parsed.hostname or "127.0.0.1", parsed.port or default_port)
    try:
        with socket.create_connection(address, 2):
            return True
    except OSError:
        return False


def require(stack: str, *, docker_image: str | None = None) -> None:
    """Fail early, with what is missing, instead of halfway through a run."""
    missing = []
    if stack == "mariadb":
        if not _port_open(MARIADB_URL, 3306):
            missing.append(f"MariaDB ({make_url(MARIADB_URL).host})")
        if not _port_open(RABBITMQ_URL, 5672):
            missing.append("RabbitMQ")
    if docker_image is not None:
        found = subprocess.run(
            ["docker", "image", "inspect", docker_image], capture_output=True, check=False
        )
        if found.returncode != 0:
            missing.append(f"the Docker image {docker_image}")
    if missing:
        raise RuntimeError("not reachable: " + ", ".join(missing))


# --- MariaDB ------------------------------------------------------------------------


async def _mariadb_execute(sql: str) -> None:
    from sqlalchemy import text

    from scripter.adapters.db.engine import create_engine

    engine = create_engine(MARIADB_URL)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def mariadb_database(prefix: str = "scripter_bench") -> Iterator[str]:
    """A new, empty database (not migrated); its URL. Dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    run_async(lambda: _mariadb_execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield make_url(MARIADB_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        run_async(lambda: _mariadb_execute(f"DROP DATABASE IF EXISTS `{name}`"))


def migrate(url: str) -> None:
    from scripter.adapters.db.migrate import upgrade_to_head

    # Alembic's env calls asyncio.run: a thread of its own.
    run_async(lambda: asyncio.to_thread(upgrade_to_head, url))


# --- RabbitMQ -----------------------------------------------------------------------


async def _delete_rabbit_names(exchange: str, queue_prefix: str) -> None:
    import aio_pika

    from scripter.domain.events import WORK_QUEUES

    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        for queue in WORK_QUEUES:
            await channel.queue_delete(queue_prefix + queue.name)
        await channel.exchange_delete(exchange)


@contextlib.contextmanager
def rabbitmq_names() -> Iterator[dict[str, str]]:
    """Scripter's settings for an exchange and work queues of this run only."""
    token = uuid.uuid4().hex[:12]
    exchange, prefix = f"bench-{token}.events", f"bench-{token}."
    try:
        yield {
            "SCRIPTER_BROKER_URL": RABBITMQ_URL,
            "SCRIPTER_BROKER_EXCHANGE": exchange,
            "SCRIPTER_BROKER_QUEUE_PREFIX": prefix,
        }
    finally:
        run_async(lambda: _delete_rabbit_names(exchange, prefix))


# --- stacks -------------------------------------------------------------------------


@contextlib.contextmanager
def stack_env(stack: str, *, migrated: bool = False) -> Iterator[dict[str, str]]:
    """``SCRIPTER_*`` settings of a stack: ``mariadb`` (a database of its own and
    RabbitMQ), or ``sqlite`` (nothing to set: SQLite in the data directory, the
    in-process bus). ``migrated``: bring the MariaDB database to the latest schema
    (``scripter serve`` does it by itself; ``api``, ``worker``, ``scheduler`` don't)."""
    if stack not in STACKS:
        raise ValueError(f"unknown stack {stack!r}: use one of {', '.join(STACKS)}")
    if stack == "sqlite":
        yield {}
        return
    with mariadb_database() as url, rabbitmq_names() as broker:
        if migrated:
            migrate(url)
        yield {"SCRIPTER_DATABASE_URL": url, **broker}


# --- Docker -------------------------------------------------------------------------


def remove_labelled_containers(label: str, value: str) -> None:
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}={value}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
