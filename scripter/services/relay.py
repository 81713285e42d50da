"""The outbox relay: publishes committed events, in commit order, after commit.

A state change and its events are committed together (see the unit of work); this
relay then hands them to the bus and marks them published. If the broker is down
the events wait in the outbox and the relay retries with a backoff; if the process
dies between publish and mark, the event is published again on restart and the
idempotent handlers absorb the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from scripter.domain.ports import EventBus, Outbox

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        bus: EventBus,
        *,
        sweep_seconds: float = 2.0,
        # Short: an attempt while the broker is down fails before any network I/O
        # (the bus knows it is disconnected) and costs one small outbox query, and
        # the backoff is how late work requested in an outage starts once it is back.
        max_backoff_seconds: float = 5.0,
        batch_size: int = 100,
    ) -> None:
        self._outbox = outbox
        self._bus = bus
        self._sweep = sweep_seconds
        self._max_backoff = max_backoff_seconds
        self._batch = batch_size
        self._wake = asyncio.Event()
        self._stopping = False

    def notify(self) -> None:
        """Called after each commit: publish now rather than at the next sweep."""
        self._wake.set()

    async def drain(self) -> int:
        """Publish everything pending; returns how many were published.
        Stops at the first publish error, leaving the rest for the next try."""
        published = 0
        # Every process runs a relay on the shared outbox: one drains at a time, so
        # the next one reads only what is still unpublished.
        async with self._outbox.relay_lock() as locked:
            if not locked:
                log.info("outbox relay: another process is draining; trying again later")
                return 0
            while True:
                messages = await self._outbox.pending(self._batch)
                if not messages:
                    return published
                done: list[int] = []
                try:
                    for message in messages:
                        try:
                            await self._bus.publish(message.event)
                        except BaseException:
                            # Several events can share a message id (one outbox row):
                            # a row is published only when all of its events are.
                            done = [i for i in done if i != message.id]
                            raise
                        done.append(message.id)
                finally:
                    if done:
                        await self._outbox.mark_published(sorted(set(done)))
                        published += len(done)
                if len(messages) < self._batch:
                    return published

    async def run(self) -> None:
        """Drain on every notify, and every ``sweep_seconds`` for events committed by
        other processes or left by a crash; back off while the broker is down."""
        backoff = 0.0
        while not self._stopping:
            # Clear before draining: a commit that lands during the drain sets it again.
            self._wake.clear()
            try:
                await self.drain()
                backoff = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                backoff = min(max(backoff * 2, 0.5), self._max_backoff)
                log.warning("outbox relay: publish failed (%s); retrying in %.1f s", exc, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff or self._sweep)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
