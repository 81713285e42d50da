"""Relays of several processes on one MariaDB outbox publish each event once.

Every scripter process (api, each worker, the scheduler) runs an outbox relay on the
shared database; without the relay lock two of them read the same pending rows and
both publish them, and a duplicated build request reads to the build handler as a
worker that died mid-build (found by tests/e2e/test_scale_out.py).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from scripter.adapters.db.engine import SqlDatabase, create_engine
from scripter.adapters.db.unit_of_work import SqlOutbox, SqlUnitOfWork
from scripter.domain.events import DomainEvent, JobRequested
from scripter.services.relay import OutboxRelay
from tests.child_env import scripter_child_env
from tests.integration.db_fixtures import (
    empty_all_tables,
    mariadb_session_url_fixture,
)
from tests.unit.fake_bus import FakeEventBus

pytestmark = pytest.mark.mariadb

__all__ = ["mariadb_session_url_fixture"]

PROCESSES = 3
EVENTS = 30


class SlowBus(FakeEventBus):
    """Publishing takes a moment, like a broker round trip with confirms."""

    async def publish(self, event: DomainEvent) -> None:
        await asyncio.sleep(0.002)
        await super().publish(event)


@pytest.fixture
async def databases(mariadb_session_url: str) -> AsyncIterator[list[SqlDatabase]]:
    """One engine per simulated process, all on the same database."""
    databases = [SqlDatabase(create_engine(mariadb_session_url)) for _ in range(PROCESSES)]
    try:
        await empty_all_tables(databases[0])
        yield databases
    finally:
        for database in databases:
            await database.dispose()


async def test_concurrent_relays_publish_every_event_exactly_once(databases: list[SqlDatabase]):
    async with SqlUnitOfWork(databases[0].session_factory) as uow:
        sent = [JobRequested(job_id=n, script_id=1) for n in range(EVENTS)]
        for event in sent:
            uow.emit(event)
        await uow.commit()
    bus = SlowBus()
    relays = [OutboxRelay(SqlOutbox(db.session_factory), bus) for db in databases]

    published = await asyncio.gather(*(relay.drain() for relay in relays))

    counts = Counter(event.event_id for event in bus.published)
    assert sum(published) == EVENTS
    assert [e for e, n in counts.items() if n > 1] == []
    assert set(counts) == {event.event_id for event in sent}
    # The lock is released: a later drain runs and finds nothing left.
    assert await relays[0].drain() == 0


async def test_a_relay_that_cannot_get_the_lock_skips_its_drain(databases: list[SqlDatabase]):
    holder, other = (SqlOutbox(db.session_factory) for db in databases[:2])
    async with holder.relay_lock() as held:
        assert held
        async with other.relay_lock(timeout=0) as got:
            assert not got
    async with other.relay_lock(timeout=0) as got:
        assert got


async def test_an_exclusive_of_one_purpose_is_held_by_one_process_at_a_time(
    databases: list[SqlDatabase],
):
    first, second, _ = databases
    async with first.exclusive("flip") as held:
        assert held
        async with second.exclusive("flip") as got:
            assert not got
        # Another purpose is another lock.
        async with second.exclusive("other") as got:
            assert got
    async with second.exclusive("flip") as got:
        assert got


HOLD_AND_WAIT = """
import asyncio, sys
from scripter.adapters.db.engine import SqlDatabase, create_engine

async def main():
    database = SqlDatabase(create_engine(sys.argv[1]))
    async with database.exclusive("flip") as got:
        print("held" if got else "refused", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_an_exclusive_goes_with_a_holder_process_that_died(
    databases: list[SqlDatabase], mariadb_session_url: str
):
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_AND_WAIT,
        mariadb_session_url,
        stdout=asyncio.subprocess.PIPE,
        env=scripter_child_env({}),
    )
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(holder.stdout.readline(), timeout=60)
        assert line.strip() == b"held"
        async with databases[0].exclusive("flip") as got:
            assert not got
    finally:
        holder.kill()  # SIGKILL: no release, the server sees the connection close
        await holder.wait()
    for _ in range(100):
        async with databases[0].exclusive("flip") as got:
            if got:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the lock of a killed holder was never released")
