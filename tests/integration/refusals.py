"""Assertions that a refused request answered a problem body naming its cause and
changed nothing: not a row of the database, not a byte on disk."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from httpx import Response

from tests.integration.app_fixtures import App

DATABASE = "scripter.db"


def disk(data: Path) -> dict[str, str]:
    """Every file and link under the data directory (but the database), by content."""
    found: dict[str, str] = {}
    for p in sorted(data.rglob("*")):
        if p.name.startswith(DATABASE):
            continue
        if p.is_symlink():
            found[str(p.relative_to(data))] = f"-> {p.readlink()}"
        elif p.is_file():
            found[str(p.relative_to(data))] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            found[str(p.relative_to(data))] = "dir"
    return found


def database(data: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the app's SQLite database. The outbox's
    ``published_at`` is left out: the relay sets it after commit, at its own pace."""
    with contextlib.closing(sqlite3.connect(data / DATABASE)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        dump: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            columns = [
                f'"{column[1]}"'
                for column in db.execute(f'PRAGMA table_info("{table}")')
                if (table, column[1]) != ("outbox", "published_at")
            ]
            rows = db.execute(f'SELECT {", ".join(columns)} FROM "{table}"').fetchall()
            dump[table] = sorted(rows, key=repr)
    return dump


async def state(app: App) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, str]]:
    return await asyncio.to_thread(database, app.data), await asyncio.to_thread(disk, app.data)


async def refused(
    app: App, call: Callable[[], Awaitable[Response]], status: int, field: str | None, says: str
) -> dict[str, Any]:
    """Make the call; assert it was refused with ``status``, a problem body whose detail
    contains ``says`` and (unless None) whose ``field`` is ``field``, and that the
    database and the data directory are exactly as before. Returns the body."""
    before = await state(app)
    response = await call()
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert says in body["detail"], body
    if field is not None:
        assert body.get("field") == field, body
    assert await state(app) == before
    return body
