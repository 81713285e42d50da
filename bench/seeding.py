"""Big tables, fast: a few template rows through the app's own repositories (so they
are what the app writes), then copies of them with ``INSERT ... SELECT`` (doubling
each time) over the columns the database actually has. No request goes through the
API, and the copies keep working when a migration adds a column."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from scripter.adapters.db.engine import SqlDatabase, create_engine, is_sqlite
from scripter.adapters.db.unit_of_work import SqlUnitOfWork
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus, JobTrigger
from scripter.domain.scripts import Script, ScriptRevision

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class Seeded:
    image_id: int
    script_ids: list[int]
    seconds: float = 0.0


async def columns_of(engine: AsyncEngine, table: str) -> list[str]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda sync: inspect(sync).get_columns(table))
    return [str(column["name"]) for column in found]


async def multiply_rows(
    engine: AsyncEngine, table: str, total: int, *, copies: int | None = None
) -> int:
    """Copy the table's rows until it holds ``total`` rows; the count. Ids are new;
    every other column is copied as it is.

    The rows are copied from a side table (``bench_seed``), never from the table
    itself: MariaDB copies a table into itself through an on-disk temporary table,
    which is slow and lives in the server's tmpdir."""
    names = [c for c in await columns_of(engine, table) if c != "id"]
    quote = engine.dialect.identifier_preparer.quote  # `trigger` is a reserved word
    column_list = ", ".join(quote(name) for name in names)
    from_seed = ", ".join(f"s.{quote(name)}" for name in names)
    async with engine.begin() as connection:

        async def execute(sql: str, parameters: Any = None) -> None:
            await connection.execute(text(sql), parameters)

        if not is_sqlite(str(engine.url)):
            # This session only: skip per-row checks that copies cannot fail anyway.
            await execute("SET SESSION foreign_key_checks = 0")
            await execute("SET SESSION unique_checks = 0")
        count = int((await connection.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())
        if count == 0:
            raise ValueError(f"{table} has no row to copy")
        template = count
        # About 100,000 rows per statement.
        copies = copies or max(1, min(1000, 100_000 // template))
        await execute(f"CREATE TABLE bench_seed AS SELECT {column_list} FROM {table}")
        await execute("CREATE TABLE bench_numbers (i INTEGER NOT NULL)")
        await execute(
            "INSERT INTO bench_numbers (i) VALUES (:i)", [{"i": i} for i in range(copies)]
        )
        try:
            while count < total:
                times = min(copies, (total - count) // template)
                if times >= 1:
                    await execute(
                        f"INSERT INTO {table} ({column_list}) SELECT {from_seed}"
                        f" FROM bench_numbers n CROSS JOIN bench_seed s WHERE n.i < {times}"
                    )
                    count += times * template
                else:
                    rest = total - count
                    await execute(
                        f"INSERT INTO {table} ({column_list})"
                        f" SELECT {column_list} FROM bench_seed LIMIT {rest}"
                    )
                    count += rest
        finally:
            await execute("DROP TABLE bench_seed")
            await execute("DROP TABLE bench_numbers")
    return count


async def seed_scripts(database: SqlDatabase, scripts: int) -> Seeded:
    """A built image (tag ``bench:1``, no Docker image behind it) and ``scripts``
    scripts with one revision each: ``print(1)``."""
    async with SqlUnitOfWork(database.session_factory) as uow:
        image = await uow.images.add(
            Image(
                name="bench", status=ImageStatus.BUILT, tag="bench:1", created_at=T0, updated_at=T0
            )
        )
        script_ids = []
        for index in range(scripts):
            script = await uow.scripts.add(
                Script(
                    name=f"bench-{index}",
                    image_id=image.require_id,
                    current_revision=1,
                    created_at=T0,
                    updated_at=T0,
                )
            )
            await uow.scripts.add_revision(
                ScriptRevision(
                    script_id=script.require_id,
                    number=1,
                    content_hash="bench",
                    files={"main.py": base64.b64encode(b"print(1)\n").decode()},
                    settings={},
                    created_at=T0,
                )
            )
            script_ids.append(script.require_id)
        await uow.commit()
    return Seeded(image_id=image.require_id, script_ids=script_ids)


def template_status(index: int, scripts: int) -> JobStatus:
    """The ``index``-th template job (of script ``index % scripts``): a quarter of the
    scripts never failed; the others failed one job in ten. A few jobs of any script
    were cancelled, timed out or lost; the rest succeeded."""
    script, nth = index % scripts, index // scripts
    if index % 97 == 0:
        return JobStatus.TIMED_OUT
    if index % 89 == 0:
        return JobStatus.LOST
    if index % 83 == 0:
        return JobStatus.CANCELLED
    if script % 4 != 0 and nth % 10 == 9:
        return JobStatus.FAILED
    return JobStatus.SUCCEEDED


async def seed_jobs(url: str, rows: int, *, scripts: int = 100, template: int = 1000) -> Seeded:
    """``rows`` finished jobs spread over ``scripts`` scripts, on a migrated database."""
    started = time.monotonic()
    database = SqlDatabase(create_engine(url))
    try:
        seeded = await seed_scripts(database, scripts)
        async with SqlUnitOfWork(database.session_factory) as uow:
            for index in range(min(template, rows)):
                created = T0 + timedelta(seconds=index)
                status = template_status(index, scripts)
                await uow.jobs.add(
                    Job(
                        script_id=seeded.script_ids[index % scripts],
                        revision=1,
                        image_id=seeded.image_id,
                        image_tag="bench:1",
                        trigger=JobTrigger.API,
                        status=status,
                        created_at=created,
                        started_at=created + timedelta(seconds=1),
                        finished_at=created + timedelta(seconds=2),
                        exit_code=0 if status == JobStatus.SUCCEEDED else 1,
                        error=None if status == JobStatus.SUCCEEDED else "exit code 1",
                    )
                )
            await uow.commit()
        await multiply_rows(database.engine, "jobs", rows)
    finally:
        await database.dispose()
    seeded.seconds = time.monotonic() - started
    return seeded
