"""The relay publishes committed events in order, after commit, and keeps what the
broker could not take."""

from __future__ import annotations

import asyncio

import pytest

from scripter.adapters.db.unit_of_work import EVENTS_PER_ROW, PACK_ABOVE
from scripter.domain.events import ImageBuildRequested, JobRequested
from scripter.services.relay import OutboxRelay
from tests.unit.fake_bus import FakeEventBus
from tests.unit.fakes import FakeOutbox, FakeStore


async def commit_events(store: FakeStore, count: int) -> list[str]:
    ids = []
    async with store.uow() as uow:
        for n in range(count):
            event = JobRequested(job_id=n, script_id=1)
            uow.emit(event)
            ids.append(event.event_id)
        await uow.commit()
    return ids


async def test_drain_publishes_in_commit_order_and_marks_published():
    store = FakeStore()
    outbox = FakeOutbox(store)
    bus = FakeEventBus()
    ids = await commit_events(store, 3)
    assert await OutboxRelay(outbox, bus).drain() == 3
    assert [e.event_id for e in bus.published] == ids
    assert await outbox.pending() == []


async def test_nothing_is_published_for_a_rolled_back_unit_of_work():
    store = FakeStore()
    bus = FakeEventBus()
    async with store.uow() as uow:
        uow.emit(ImageBuildRequested(image_id=1))
    assert await OutboxRelay(FakeOutbox(store), bus).drain() == 0
    assert bus.published == []


async def test_a_broker_outage_keeps_the_rest_for_later():
    store = FakeStore()
    outbox = FakeOutbox(store)
    bus = FakeEventBus()
    ids = await commit_events(store, 5)
    bus.fail_after = 2
    relay = OutboxRelay(outbox, bus)
    with pytest.raises(ConnectionError):
        await relay.drain()
    assert [e.event_id for e in bus.published] == ids[:2]
    assert [m.event.event_id for m in await outbox.pending()] == ids[2:]
    bus.down, bus.fail_after = False, None
    assert await relay.drain() == 3
    assert [e.event_id for e in bus.published] == ids  # in order, none twice


async def test_batches_larger_than_one_page_are_all_published():
    store = FakeStore()
    bus = FakeEventBus()
    await commit_events(store, 25)
    assert await OutboxRelay(FakeOutbox(store), bus, batch_size=10).drain() == 25


async def test_an_outage_inside_a_packed_row_publishes_that_row_again_whole():
    """A commit of more than PACK_ABOVE events shares rows; a row whose events were
    not all published stays pending, and its events go out again (at least once),
    while the rows before it are done."""
    store = FakeStore()
    outbox = FakeOutbox(store)
    bus = FakeEventBus()
    count = PACK_ABOVE + EVENTS_PER_ROW  # two packed rows
    ids = await commit_events(store, count)
    assert len({m.id for m in await outbox.pending(limit=1000)}) == 2
    bus.fail_after = EVENTS_PER_ROW + 3  # fails inside the second row
    relay = OutboxRelay(outbox, bus)
    with pytest.raises(ConnectionError):
        await relay.drain()
    assert [m.event.event_id for m in await outbox.pending(limit=1000)] == ids[EVENTS_PER_ROW:]
    bus.down, bus.fail_after = False, None
    await relay.drain()
    assert await outbox.pending() == []
    published = [e.event_id for e in bus.published]
    assert published == ids[: EVENTS_PER_ROW + 3] + ids[EVENTS_PER_ROW:]  # none lost


async def test_run_wakes_on_notify_and_survives_an_outage():
    store = FakeStore()
    outbox = FakeOutbox(store)
    bus = FakeEventBus()
    bus.down = True
    relay = OutboxRelay(outbox, bus, sweep_seconds=60, max_backoff_seconds=0.01)
    task = asyncio.create_task(relay.run())
    try:
        ids = await commit_events(store, 2)
        relay.notify()
        await asyncio.sleep(0.05)  # several failed attempts, with backoff
        assert bus.published == []
        bus.down = False
        await asyncio.wait_for(bus.wait_for_published(2), 5)
        assert [e.event_id for e in bus.published] == ids
    finally:
        relay.stop()
        await asyncio.wait_for(task, 5)
