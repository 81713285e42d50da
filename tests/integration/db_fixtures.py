"""Databases for the persistence tests: the in-memory fake, SQLite and MariaDB.

``backend`` is parametrised over the three; each test gets an empty, migrated
database. MariaDB gets one fresh database per test session (``scripter_test_<hex>``),
emptied before each test and dropped at the end.

Import ``backend_fixture`` and ``mariadb_session_url_fixture`` into a test module to
use them (the ``_fixture`` names keep ruff from seeing a redefinition).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url

from scripter.adapters.db.engine import SqlDatabase, create_engine
from scripter.adapters.db.migrate import upgrade_to_head
from scripter.adapters.db.tables import metadata, outbox
from scripter.adapters.db.unit_of_work import SqlOutbox, SqlUnitOfWork
from scripter.domain.ports import Outbox, UnitOfWork
from tests.conftest import MARIADB_URL, require_service, tcp_port_open
from tests.unit.fakes import FakeOutbox, FakeStore, FakeUnitOfWork

T = TypeVar("T")

BACKENDS = ["fake", "sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


class PurgingOutbox(Outbox, Protocol):
    async def purge_published(self, older_than: datetime) -> int: ...


@dataclass
class Backend:
    """One persistence implementation, as the contract tests see it."""

    name: str
    make_uow: Callable[..., UnitOfWork]
    """``make_uow(on_commit=None)``: a new unit of work on the shared state."""
    outbox: PurgingOutbox
    routing_keys: Callable[[], Any]
    """``await routing_keys()``: the stored routing key of every outbox row, in order."""

    def uow(self, **kwargs: Any) -> UnitOfWork:
        return self.make_uow(**kwargs)


# --- MariaDB ------------------------------------------------------------------------


def mariadb_available() -> None:
    url = make_url(MARIADB_URL)
    host, port = url.host or "127.0.0.1", url.port or 3306
    require_service("MariaDB", tcp_port_open(host, port), f"nothing listens on {host}:{port}")


async def mariadb_execute(sql: str) -> None:
    """Run one statement on the server's default database (for CREATE/DROP DATABASE)."""
    engine = create_engine(MARIADB_URL)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


async def create_mariadb_database(prefix: str = "scripter_test") -> str:
    """A new empty database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await mariadb_execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    return make_url(MARIADB_URL).set(database=name).render_as_string(hide_password=False)


async def drop_mariadb_database(url: str) -> None:
    await mariadb_execute(f"DROP DATABASE IF EXISTS `{make_url(url).database}`")


def in_thread(function: Callable[[], T]) -> T:
    """Run ``function`` in a fresh thread: it may call ``asyncio.run`` even when this
    thread is inside pytest-asyncio's running loop (fixtures asked for from async ones)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


@pytest.fixture(scope="session", name="mariadb_session_url")
def mariadb_session_url_fixture() -> Iterator[str]:
    """A migrated database for the whole session, made with its own event loops so it
    does not depend on pytest-asyncio's loop scopes."""
    mariadb_available()
    url = in_thread(lambda: asyncio.run(create_mariadb_database()))
    try:
        in_thread(lambda: upgrade_to_head(url))
        yield url
    finally:
        in_thread(lambda: asyncio.run(drop_mariadb_database(url)))


async def empty_all_tables(db: SqlDatabase) -> None:
    async with db.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(delete(table))


# --- SQLite -------------------------------------------------------------------------


async def migrated_sqlite_url(folder: Path) -> str:
    # A folder that does not exist yet: the engine must create it.
    url = f"sqlite+aiosqlite:///{folder / 'data' / 'scripter.db'}"
    await asyncio.to_thread(upgrade_to_head, url)
    return url


# --- the parametrised fixture --------------------------------------------------------


def sql_backend(name: str, db: SqlDatabase) -> Backend:
    async def routing_keys() -> list[str]:
        async with db.engine.connect() as connection:
            rows = await connection.execute(select(outbox.c.routing_key).order_by(outbox.c.id))
            return [row.routing_key for row in rows]

    return Backend(
        name=name,
        make_uow=lambda **kwargs: SqlUnitOfWork(db.session_factory, **kwargs),
        outbox=SqlOutbox(db.session_factory),
        routing_keys=routing_keys,
    )


def fake_backend() -> Backend:
    store = FakeStore()

    async def routing_keys() -> list[str]:
        return [row.routing_key for _, row in sorted(store.outbox.items())]

    return Backend(
        name="fake",
        make_uow=lambda **kwargs: FakeUnitOfWork(store, **kwargs),
        outbox=FakeOutbox(store),
        routing_keys=routing_keys,
    )


@pytest.fixture(name="backend", params=BACKENDS)
async def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "fake":
        yield fake_backend()
        return
    if request.param == "sqlite":
        url = await migrated_sqlite_url(tmp_path)
    else:
        url = request.getfixturevalue("mariadb_session_url")
    db = SqlDatabase(create_engine(url))
    try:
        if request.param == "mariadb":
            await empty_all_tables(db)
        yield sql_backend(request.param, db)
    finally:
        await db.dispose()
