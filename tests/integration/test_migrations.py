"""The packaged Alembic migrations build exactly ``tables.metadata``, on both databases."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.engine import Connection

from scripter.adapters.db.engine import create_engine
from scripter.adapters.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from scripter.adapters.db.tables import images, metadata
from tests.integration.db_fixtures import (
    create_mariadb_database,
    drop_mariadb_database,
    mariadb_available,
)


@pytest.fixture(
    name="empty_url", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
)
async def empty_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'new' / 'scripter.db'}"
        return
    mariadb_available()
    url = await create_mariadb_database("scripter_migrations")
    try:
        yield url
    finally:
        await drop_mariadb_database(url)


async def schema_differences(url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


# Alembic's type comparison skips arguments only one side states, so it would not
# notice DATETIME where DATETIME(6) is wanted (microseconds lost). Compare the
# rendered types too, after removing what reflection legitimately adds or loses.
_REFLECTED_SPELLINGS = [
    (re.compile(r" (CHARACTER SET|COLLATE) \S+"), ""),  # table defaults; NOCASE: see contract
    (re.compile(r"^TINYINT\(1\)$"), "BOOL"),  # MariaDB's BOOL
    (re.compile(r"^INTEGER\(11\)$"), "INTEGER"),  # display width
    (re.compile(r"^BIGINT\(20\)$"), "BIGINT"),
    (re.compile(r"^LONGTEXT$"), "JSON"),  # MariaDB's JSON is LONGTEXT + CHECK
]


def _spelling(rendered: str, *, json_ok: bool = False) -> str:
    for pattern, replacement in _REFLECTED_SPELLINGS:
        if replacement != "JSON" or json_ok:
            rendered = pattern.sub(replacement, rendered)
    return rendered


async def type_differences(url: str) -> list[tuple[str, str, str]]:
    def compare(connection: Connection) -> list[tuple[str, str, str]]:
        dialect, inspector = connection.dialect, inspect(connection)
        differences = []
        for table in metadata.sorted_tables:
            for reflected in inspector.get_columns(table.name):
                column = table.c[reflected["name"]]
                wanted = _spelling(column.type.compile(dialect=dialect))
                is_json = wanted == "JSON"
                found = _spelling(reflected["type"].compile(dialect=dialect), json_ok=is_json)
                if wanted != found:
                    differences.append((f"{table.name}.{column.name}", wanted, found))
        return differences

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def count_images(url: str, *, add_one: bool = False) -> int:
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            if add_one:
                row = {"version": 1, "name": "kept", "description": "", "status": "dormant"}
                await connection.execute(
                    insert(images).values(created_at=now, updated_at=now, **row)
                )
            return int(await connection.scalar(select(func.count()).select_from(images)) or 0)
    finally:
        await engine.dispose()


async def test_upgrade_builds_the_metadata_schema_and_is_idempotent(empty_url: str) -> None:
    # Synchronous and asyncio.run inside: from async code it runs in a thread.
    assert await asyncio.to_thread(current_revision, empty_url) is None

    await asyncio.to_thread(upgrade_to_head, empty_url)
    head = head_revision()
    assert head is not None
    assert await asyncio.to_thread(current_revision, empty_url) == head
    assert await schema_differences(empty_url) == []
    assert await type_differences(empty_url) == []

    assert await count_images(empty_url, add_one=True) == 1
    await asyncio.to_thread(upgrade_to_head, empty_url)  # nothing left to do
    assert await asyncio.to_thread(current_revision, empty_url) == head
    assert await count_images(empty_url) == 1  # the tables were not recreated
    assert await schema_differences(empty_url) == []


async def test_downgrade_to_base_and_back(empty_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, empty_url)
    await asyncio.to_thread(command.downgrade, alembic_config(empty_url), "base")
    assert await asyncio.to_thread(current_revision, empty_url) is None
    await asyncio.to_thread(upgrade_to_head, empty_url)
    assert await schema_differences(empty_url) == []


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite:///unused.db", "mysql+asyncmy://root@127.0.0.1:3306/unused"]
)
def test_offline_mode_writes_the_sql_for_a_dba(url: str) -> None:
    config = alembic_config(url)
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE schedule_firings" in sql
    if url.startswith("mysql"):
        assert "DATETIME(6)" in sql and "LONGTEXT" in sql


async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'deep' / 'folder' / 'scripter.db'}"
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert (await pragma("PRAGMA journal_mode")).scalar() == "wal"
            assert (await pragma("PRAGMA busy_timeout")).scalar() == 5000
            assert (await pragma("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
    assert (tmp_path / "deep" / "folder" / "scripter.db").exists()
