"""The in-process event bus: the ``EventBus`` port on asyncio queues.

A real adapter, not a test double: ``scripter serve`` (one process) runs on it. It
mirrors the RabbitMQ adapter's semantics where one process can: work queues keep
events published while nobody consumes (until the process exits), a failed handler
gets its message again after a backoff, and each ``consume`` runs at most
``concurrency`` handlers at once, like one RabbitMQ subscriber with that prefetch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from scripter.domain.events import DomainEvent, WorkQueue, decode_event, encode_event
from scripter.domain.ports import EventHandler

logger = logging.getLogger(__name__)

_FIRST_RETRY_DELAY = 0.1
_MAX_RETRY_DELAY = 5.0


@dataclass(frozen=True)
class _Delivery:
    # Bytes, not the event: every delivery decodes a fresh copy, as off the wire.
    body: bytes
    attempt: int = 1


@dataclass
class _Channel:
    """One named queue; several ``consume`` calls on the same name compete for it."""

    routing_keys: set[str]
    queue: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)


class InProcessEventBus:
    """``EventBus`` within one process: asyncio queues and consumer tasks."""

    def __init__(self, concurrency: int = 4) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._concurrency = concurrency
        self._channels: dict[str, _Channel] = {}
        self._consumers: list[tuple[_Channel, EventHandler]] = []
        self._listeners: list[EventHandler] = []
        self._listener_channel = _Channel(routing_keys=set())
        self._workers: list[asyncio.Task[None]] = []
        # Workers waiting for a message (or a retry): stop() may cancel these at once.
        self._idle: set[asyncio.Task[None]] = set()
        self._retries: dict[asyncio.TimerHandle, tuple[_Channel, _Delivery]] = {}
        self._running = False

    def consume(self, queue: WorkQueue, handler: EventHandler) -> None:
        self._require_not_started()
        channel = self._channels.get(queue.name)
        if channel is None:
            channel = self._channels[queue.name] = _Channel(routing_keys=set())
        channel.routing_keys.update(queue.routing_keys)
        self._consumers.append((channel, handler))

    def listen(self, handler: EventHandler) -> None:
        self._require_not_started()
        self._listeners.append(handler)

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for channel, handler in self._consumers:
            for _ in range(self._concurrency):
                self._spawn(self._consume_loop(channel, handler))
        if self._listeners:
            # One dispatcher keeps the listeners' events in publish order.
            self._spawn(self._consume_loop(self._listener_channel, self._notify_listeners))

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        for handle, (channel, delivery) in self._retries.items():
            # A message waiting for its retry is not lost: it goes back to its queue now.
            handle.cancel()
            channel.queue.put_nowait(delivery)
        self._retries.clear()
        for task in self._idle:
            task.cancel()
        # Busy workers finish their handler, see _running is False and return.
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        self._idle.clear()

    async def publish(self, event: DomainEvent) -> None:
        body = encode_event(event)
        key = event.key()
        for channel in self._channels.values():
            if key in channel.routing_keys:
                channel.queue.put_nowait(_Delivery(body))
        if self._listeners:
            self._listener_channel.queue.put_nowait(_Delivery(body))

    async def ping(self) -> None:
        return None

    # --- internals ------------------------------------------------------------------

    def _require_not_started(self) -> None:
        if self._running:
            raise RuntimeError("register consumers and listeners before start()")

    def _spawn(self, loop: Coroutine[Any, Any, None]) -> None:
        self._workers.append(asyncio.create_task(loop))

    async def _consume_loop(self, channel: _Channel, handler: EventHandler) -> None:
        task = asyncio.current_task()
        assert task is not None
        while self._running:
            self._idle.add(task)
            try:
                # Cancelling get() never takes the message out of the queue.
                delivery = await channel.queue.get()
            finally:
                self._idle.discard(task)
            await self._deliver(channel, handler, delivery)

    async def _deliver(self, channel: _Channel, handler: EventHandler, delivery: _Delivery) -> None:
        try:
            event = decode_event(delivery.body)
        except Exception:
            logger.exception("Dropping a message that does not decode: %r", delivery.body)
            return
        try:
            await handler(event)
        except Exception:
            delay = min(_FIRST_RETRY_DELAY * 2 ** (delivery.attempt - 1), _MAX_RETRY_DELAY)
            logger.exception(
                "Handler %r failed on %s %s (attempt %d); redelivering in %.1f s",
                handler,
                event.key(),
                event.event_id,
                delivery.attempt,
                delay,
            )
            self._retry_later(channel, _Delivery(delivery.body, delivery.attempt + 1), delay)

    def _retry_later(self, channel: _Channel, delivery: _Delivery, delay: float) -> None:
        # A timer, not a sleep in the worker: the worker is free for other messages.
        def requeue() -> None:
            self._retries.pop(handle, None)
            channel.queue.put_nowait(delivery)

        handle = asyncio.get_running_loop().call_later(delay, requeue)
        self._retries[handle] = (channel, delivery)

    async def _notify_listeners(self, event: DomainEvent) -> None:
        await asyncio.gather(*(self._notify(listener, event) for listener in self._listeners))

    @staticmethod
    async def _notify(listener: EventHandler, event: DomainEvent) -> None:
        try:
            await listener(event)
        except Exception:
            logger.exception("Listener %r failed on %s %s", listener, event.key(), event.event_id)
