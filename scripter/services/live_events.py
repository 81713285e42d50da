"""Live status: the domain events of this process, fanned out to every live client.

``EventFeed.publish`` is registered as a listener of the event bus (in-process or
RabbitMQ: both call every listener with every event). Each client of
``/api/events/stream`` holds a bounded queue; a client that falls behind by more
than that loses its queued events and gets one ``Resync`` instead (it reloads what
it shows), so a stuck client costs at most its queue. Log followers and the shutdown
of the server use the same feed: observers see every event, and ``close`` ends every
live stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass

from scripter.domain.events import DomainEvent, ScheduleTick
from scripter.domain.logs import KeepAlive

INTERNAL_EVENTS: tuple[type[DomainEvent], ...] = (ScheduleTick,)
"""Commands between our own processes that tell a client nothing."""


@dataclass(frozen=True, slots=True)
class Resync:
    """Events were lost for this client (it fell behind, or reconnected): reload."""

    reason: str


EventItem = DomainEvent | Resync | KeepAlive


class _Subscriber:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.queue: deque[DomainEvent | Resync] = deque()
        self.wake = asyncio.Event()

    def offer(self, event: DomainEvent) -> None:
        if len(self.queue) >= self.limit:
            self.queue.clear()
            self.queue.append(Resync(f"more than {self.limit} events were waiting"))
        else:
            self.queue.append(event)
        self.wake.set()


class EventFeed:
    def __init__(self, *, queue_limit: int = 1000, heartbeat_seconds: float = 15.0) -> None:
        self._queue_limit = queue_limit
        self._heartbeat = heartbeat_seconds
        self._subscribers: set[_Subscriber] = set()
        self._observers: list[Callable[[DomainEvent], None]] = []
        self._on_close: dict[object, Callable[[], None]] = {}
        self._closed = False

    async def publish(self, event: DomainEvent) -> None:
        """The bus listener. Never blocks: clients are served from their queues."""
        for observer in self._observers:
            observer(event)
        if isinstance(event, INTERNAL_EVENTS):
            return
        for subscriber in self._subscribers:
            subscriber.offer(event)

    def observe(self, observer: Callable[[DomainEvent], None]) -> None:
        """Call ``observer`` (quickly, without blocking) with every event."""
        self._observers.append(observer)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """The server stops: every live stream ends now (uvicorn waits for open
        connections before it shuts the app down)."""
        self._closed = True
        for callback in list(self._on_close.values()):
            callback()
        for subscriber in self._subscribers:
            subscriber.wake.set()

    @contextlib.contextmanager
    def on_close(self, callback: Callable[[], None]) -> Iterator[None]:
        """Call ``callback`` if the feed closes before the block ends."""
        token = object()
        self._on_close[token] = callback
        try:
            yield
        finally:
            self._on_close.pop(token, None)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def stream(self, *, resumed: bool = False) -> AsyncGenerator[EventItem, None]:
        """Every event from now on, until the feed closes; a ``KeepAlive`` after each
        quiet heartbeat interval. ``resumed``: the client was connected before and
        missed what happened meanwhile, so it starts with a ``Resync``."""
        subscriber = _Subscriber(self._queue_limit)
        if resumed:
            subscriber.queue.append(Resync("reconnected: events may have been missed"))
        self._subscribers.add(subscriber)
        try:
            while not self._closed:
                while subscriber.queue:
                    yield subscriber.queue.popleft()
                    if self._closed:
                        return
                subscriber.wake.clear()
                try:
                    async with asyncio.timeout(self._heartbeat):
                        await subscriber.wake.wait()
                except TimeoutError:
                    yield KeepAlive()
        finally:
            self._subscribers.discard(subscriber)
