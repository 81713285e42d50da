"""An in-memory EventBus for unit tests: records what was published, fails on demand."""

from __future__ import annotations

import asyncio

from scripter.domain.events import DomainEvent, WorkQueue
from scripter.domain.ports import EventHandler


class BrokerDown(ConnectionError):
    pass


class FakeEventBus:
    def __init__(self) -> None:
        self.published: list[DomainEvent] = []
        self.down = False
        self.fail_after: int | None = None
        """Publish this many more events, then behave as if the broker went down."""
        self.consumers: dict[str, EventHandler] = {}
        self.listeners: list[EventHandler] = []
        self.started = False
        self._changed = asyncio.Condition()

    def consume(self, queue: WorkQueue, handler: EventHandler) -> None:
        self.consumers[queue.name] = handler

    def listen(self, handler: EventHandler) -> None:
        self.listeners.append(handler)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def publish(self, event: DomainEvent) -> None:
        if self.fail_after is not None:
            if self.fail_after == 0:
                self.down = True
            self.fail_after -= 1
        if self.down:
            raise BrokerDown("broker unreachable")
        self.published.append(event)
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_published(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.published) >= count)

    async def ping(self) -> None:
        if self.down:
            raise BrokerDown("broker unreachable")
