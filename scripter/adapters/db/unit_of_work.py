"""The unit of work (one transaction, events into the outbox on commit) and the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scripter.adapters.db.engine import named_lock
from scripter.adapters.db.repositories import (
    SqlImageRepository,
    SqlJobRepository,
    SqlScheduleRepository,
    SqlScriptRepository,
)
from scripter.adapters.db.tables import outbox
from scripter.domain.clock import Clock
from scripter.domain.events import (
    DomainEvent,
    compress_events,
    decode_events,
    encode_event,
    encode_events,
)
from scripter.domain.model import Aggregate
from scripter.domain.ports import (
    ImageRepository,
    JobRepository,
    OutboxMessage,
    ScheduleRepository,
    ScriptRepository,
)

RELAY_LOCK_TIMEOUT = 10.0
"""Seconds a relay waits for another process's relay to finish its drain."""


PACK_ABOVE = 100
"""A commit with more events than this packs them into shared outbox rows."""
EVENTS_PER_ROW = 500
"""Events in one packed outbox row, at most."""


def _now(clock: Clock | None) -> datetime:
    return clock.now() if clock is not None else datetime.now(UTC)


def outbox_chunks(events: Sequence[DomainEvent]) -> list[Sequence[DomainEvent]]:
    """How one commit's events are stored, in order: a row per event, or, for a
    commit of thousands (a burst of schedules firing together), a few rows of many.
    Writing thousands of outbox rows was the largest part of such a commit; the
    relay marks a shared row published only once every event in it is."""
    if len(events) <= PACK_ABOVE:
        return [[event] for event in events]
    return [events[i : i + EVENTS_PER_ROW] for i in range(0, len(events), EVENTS_PER_ROW)]


def encode_chunk(chunk: Sequence[DomainEvent]) -> bytes:
    """One event as its wire form, several as a JSON array, compressed
    (``decode_events`` reads all three). A burst's rows are most of the bytes its
    commit writes, and repetitive JSON shrinks about tenfold: writing them
    uncompressed took longer than the flip of the burst's jobs."""
    if len(chunk) == 1:
        return encode_event(chunk[0])
    return compress_events(encode_events(chunk))


def outbox_rows(events: Sequence[DomainEvent], created_at: datetime) -> list[dict[str, object]]:
    """The rows of one commit's events; a row is named after its first event
    (``event_id`` is unique)."""
    return [
        {
            "event_id": chunk[0].event_id,
            "routing_key": chunk[0].key(),
            "payload": encode_chunk(chunk).decode(),
            "created_at": created_at,
        }
        for chunk in outbox_chunks(events)
    ]


class EventCollector:
    """The aggregates a unit of work has seen and the events emitted on their own.

    Events come out aggregate by aggregate, in the order the aggregates were first
    seen, each aggregate's in the order it raised them, then the emitted ones.
    (Wall-clock ``occurred_at`` is not used to order: clocks step backwards.)
    """

    def __init__(self) -> None:
        self._aggregates: dict[int, Aggregate] = {}
        self._emitted: list[DomainEvent] = []

    def track(self, aggregate: Aggregate) -> None:
        self._aggregates.setdefault(id(aggregate), aggregate)

    def emit(self, event: DomainEvent) -> None:
        self._emitted.append(event)

    def pending(self) -> list[DomainEvent]:
        raised = [event for a in self._aggregates.values() for event in a.events]
        # event_id is unique in the outbox: an event both raised and emitted is one row.
        return list({event.event_id: event for event in raised + self._emitted}.values())

    def committed(self) -> None:
        """The events are in the outbox now; the aggregates stay tracked for more."""
        for aggregate in self._aggregates.values():
            aggregate.events.clear()
        self._emitted.clear()

    def discard(self) -> None:
        """Rolled back: the events never happened."""
        self.committed()
        self._aggregates.clear()


class SqlUnitOfWork:
    """The ``UnitOfWork`` port on one ``AsyncSession`` (one transaction).

    ``on_commit`` is called after a commit that wrote events to the outbox (the
    relay uses it to wake up instead of waiting for its next poll).
    """

    # Typed as the ports: a Protocol's attributes are invariant.
    images: ImageRepository
    scripts: ScriptRepository
    jobs: JobRepository
    schedules: ScheduleRepository

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        on_commit: Callable[[], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._on_commit = on_commit
        self._clock = clock
        self._session: AsyncSession | None = None
        self._events = EventCollector()
        self.committed = False

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        session = self._session = self._session_factory()
        track = self._events.track
        self.images = SqlImageRepository(session, track)
        self.scripts = SqlScriptRepository(session, track)
        self.jobs = SqlJobRepository(session, track)
        self.schedules = SqlScheduleRepository(session, track)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and returns the connection.
        self._events.discard()
        await self._require_session().close()

    def emit(self, event: DomainEvent) -> None:
        self._events.emit(event)

    async def commit(self) -> None:
        session = self._require_session()
        events = self._events.pending()
        if events:
            await session.execute(insert(outbox), outbox_rows(events, _now(self._clock)))
        await session.commit()
        self._events.committed()
        self.committed = True
        if events and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        self._events.discard()
        await self._require_session().rollback()

    def _require_session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work in 'async with'")
        return self._session


class SqlOutbox:
    """The ``Outbox`` port: what the relay reads and marks, each call its own transaction.

    Pending messages are not found by "id above the last one published": a
    transaction that started earlier can commit a lower id later, so every row
    carries its own ``published_at``.
    """

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], clock: Clock | None = None
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock

    async def pending(self, limit: int = 100) -> list[OutboxMessage]:
        statement = (
            select(outbox.c.id, outbox.c.payload)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(statement)).all()
        return [
            OutboxMessage(id=row.id, event=event)
            for row in rows
            for event in decode_events(row.payload)
        ]

    async def mark_published(self, message_ids: Sequence[int]) -> None:
        if not message_ids:
            return
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(list(message_ids)), outbox.c.published_at.is_(None))
            .values(published_at=_now(self._clock))
        )
        async with self._session_factory() as session, session.begin():
            await session.execute(statement)

    @asynccontextmanager
    async def relay_lock(self, timeout: float = RELAY_LOCK_TIMEOUT) -> AsyncIterator[bool]:
        """On MariaDB, a named lock (``GET_LOCK``) of this database's outbox, held by a
        connection of its own: every process of a scaled-out installation runs a relay
        on the same outbox, and without it two would publish the same row. The server
        releases the lock if the holder's connection dies. SQLite has one process,
        so nothing to exclude."""
        async with named_lock(self._session_factory, "outbox", timeout) as got:
            yield got

    async def purge_published(self, older_than: datetime) -> int:
        """Delete messages published before ``older_than``; returns how many."""
        statement = delete(outbox).where(
            outbox.c.published_at.is_not(None), outbox.c.published_at < older_than
        )
        async with self._session_factory() as session, session.begin():
            result = await session.execute(statement)
        return int(getattr(result, "rowcount", 0))
