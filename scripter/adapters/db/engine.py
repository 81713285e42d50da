"""Engines for SQLite (aiosqlite) and MariaDB (asyncmy), set up the way each needs."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 5000
MARIADB_POOL_RECYCLE_S = 1800
"""Below MariaDB's default ``wait_timeout`` (8 h) and any sane proxy idle timeout."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, foreign_keys: bool = True) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite:///path.db`` or ``mysql+asyncmy://...``.

    SQLite gets WAL (readers never block the writer), a busy timeout (writers
    wait for each other instead of failing at once) and enforced foreign keys on
    every connection; the database file's folder is created. ``foreign_keys=False``
    is for migrations only: Alembic's batch mode recreates tables, and with
    foreign keys on, dropping the old copy would cascade into the referencing rows.
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        # pre_ping and recycle: MariaDB closes idle connections after wait_timeout.
        # READ COMMITTED: InnoDB's default REPEATABLE READ takes next-key (gap)
        # locks on every locking read and UPDATE of an index range, and two
        # schedulers flipping disjoint armed firings of the same range deadlocked on
        # them. Nothing here relies on a repeatable snapshot: every write is
        # conditional (a version, a next_run_at, a status) or unique-keyed.
        return create_async_engine(
            sa_url,
            pool_pre_ping=True,
            pool_recycle=MARIADB_POOL_RECYCLE_S,
            isolation_level="READ COMMITTED",
        )

    database = sa_url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(sa_url)

    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    event.listen(engine.sync_engine, "connect", set_pragmas)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for ``SqlUnitOfWork``; nothing expires on commit, so objects stay
    readable afterwards without a lazy load (which would raise in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def named_lock(
    session_factory: async_sessionmaker[AsyncSession], purpose: str, timeout: float
) -> AsyncIterator[bool]:
    """On MariaDB, a named lock (``GET_LOCK``) of this database for ``purpose``, held
    by a connection of its own until the block ends; yields whether it was got
    within ``timeout`` seconds. Processes of a scaled-out installation use it so that
    one of them does a thing at a time. The server releases it if the holder's
    connection dies, so a crashed holder blocks nobody. SQLite has one process:
    always got."""
    async with session_factory() as session:
        connection = await session.connection()
        if connection.dialect.name == "sqlite":
            yield True
            return
        database = connection.engine.url.database or ""
        # Lock names are server-wide and at most 64 characters.
        name = f"scripter.{purpose}.{database}"
        if len(name) > 64:
            name = f"scripter.{purpose}." + hashlib.sha256(database.encode()).hexdigest()[:40]
        got = await connection.scalar(
            text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": timeout}
        )
        if got != 1:
            yield False
            return
        try:
            yield True
        finally:
            await connection.scalar(text("SELECT RELEASE_LOCK(:name)"), {"name": name})


class SqlDatabase:
    """The ``Database`` port, plus the engine's lifetime."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.session_factory = create_session_factory(engine)

    def exclusive(self, purpose: str) -> AbstractAsyncContextManager[bool]:
        """``named_lock`` for ``purpose``, got only if free right now."""
        return named_lock(self.session_factory, purpose, 0)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close pooled connections; without it aiosqlite's threads keep the process alive."""
        await self.engine.dispose()
