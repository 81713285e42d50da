"""The RabbitMQ event bus: the ``EventBus`` port on FastStream's ``RabbitBroker``.

Topology: one durable topic exchange; events are published to it as JSON with
their type tag (``job.finished``) as routing key, persistent, with
``message_id = event_id``. Each work queue is a durable queue bound to the
exchange once per routing key; listeners share one exclusive, auto-deleted queue
per process bound with ``#``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from faststream.exceptions import NackMessage, RejectMessage
from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue

from scripter.domain.events import DomainEvent, WorkQueue, decode_event, encode_event
from scripter.domain.ports import EventHandler

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from aio_pika.abc import AbstractRobustConnection
    from faststream.message import StreamMessage

logger = logging.getLogger(__name__)

# A handler that raised keeps its prefetch slot this long before the nack, so a
# message that always fails is retried a few times a second, not in a hot loop.
_RETRY_DELAY = 0.5
# A handler still running after this is abandoned at stop(): its message was not
# acked, so RabbitMQ delivers it again to the next consumer.
_GRACEFUL_STOP_SECONDS = 15.0
_PUBLISH_TIMEOUT = 10.0


class BrokerUnavailable(ConnectionError):
    """The bus is not connected to RabbitMQ (not started, or the connection is down)."""


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    # Replaces FastStream's decoder, which would json-load the body; we decode with
    # msgspec into the event types ourselves.
    body: bytes = message.body
    return body


def _decode(body: bytes) -> DomainEvent:
    try:
        return decode_event(body)
    except msgspec.DecodeError:
        # Redelivering a message nobody can read would loop forever: drop it.
        logger.exception("Rejecting a message that is not a known event: %r", body[:500])
        raise RejectMessage(requeue=False) from None


class RabbitEventBus:
    """``EventBus`` on RabbitMQ: durable work queues with manual acks, fan-out listeners."""

    def __init__(
        self,
        url: str,
        concurrency: int = 4,
        exchange: str = "scripter.events",
        queue_prefix: str = "",
        work_queues: Sequence[WorkQueue] = (),
    ) -> None:
        """``work_queues`` are declared and bound at start even if this process does
        not consume them: a command published before any worker has ever run (the
        api's first build request) then waits in its queue instead of being dropped
        by the exchange."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._concurrency = concurrency
        self._queue_prefix = queue_prefix
        self._broker = RabbitBroker(
            url,
            graceful_timeout=_GRACEFUL_STOP_SECONDS,
            # FastStream logs "Received"/"Processed" per message at this level.
            log_level=logging.DEBUG,
        )
        # Every declaration of the exchange goes through this one object, so it is
        # declared the same way everywhere (a mismatch is PRECONDITION_FAILED).
        self._exchange = RabbitExchange(
            exchange, type=ExchangeType.TOPIC, durable=True, auto_delete=False
        )
        self._publisher = self._broker.publisher(
            exchange=self._exchange,
            persist=True,
            # Events nobody has bound a queue for (yet) are fine to drop.
            mandatory=False,
            content_type="application/json",
            title=exchange,
            description="Every domain event, routed by its type tag (e.g. job.finished).",
            schema=bytes,
        )
        self._extra_bindings: list[tuple[RabbitQueue, str]] = []
        self._declared_only = list(work_queues)
        self._listeners: list[EventHandler] = []
        self._connection: AbstractRobustConnection | None = None

    @property
    def broker(self) -> RabbitBroker:
        """The FastStream broker (for the AsyncAPI document)."""
        return self._broker

    @property
    def exchange_name(self) -> str:
        return self._exchange.name

    def queue_name(self, queue: WorkQueue) -> str:
        return self._queue_prefix + queue.name

    def consume(self, queue: WorkQueue, handler: EventHandler) -> None:
        self._require_not_started()
        other_keys = queue.routing_keys[1:]
        rabbit_queue = self._rabbit_queue(queue)
        self._declared_only = [q for q in self._declared_only if q.name != queue.name]
        # FastStream binds a queue with one routing key; start() binds the others.
        self._extra_bindings.extend((rabbit_queue, key) for key in other_keys)
        subscriber = self._broker.subscriber(
            rabbit_queue,
            self._exchange,
            # One channel per subscriber: its prefetch bounds the handlers running at once.
            channel=Channel(prefetch_count=self._concurrency),
            # Requeue on an unexpected exception too, not FastStream's default reject.
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=_raw_body,
            title=rabbit_queue.name,
            description=(
                f"Durable work queue, bound to exchange {self._exchange.name} with "
                f"{', '.join(queue.routing_keys)}. Acked after the handler succeeds."
            ),
        )
        subscriber(self._work_handler(handler))

    def listen(self, handler: EventHandler) -> None:
        self._require_not_started()
        if not self._listeners:
            listener_queue = RabbitQueue(
                f"{self._queue_prefix}scripter.listener.{uuid.uuid4().hex}",
                durable=False,
                exclusive=True,
                auto_delete=True,
                routing_key="#",
            )
            subscriber = self._broker.subscriber(
                listener_queue,
                self._exchange,
                # One message in flight keeps the listeners' events in publish order.
                channel=Channel(prefetch_count=1),
                # Fan-out is not durable: a failing listener does not get a retry.
                ack_policy=AckPolicy.ACK,
                decoder=_raw_body,
                include_in_schema=False,
            )
            subscriber(self._notify_listeners)
        self._listeners.append(handler)

    async def start(self) -> None:
        if self._connection is not None:
            return
        try:
            await self._broker.start()
            connection = await self._broker.connect()  # the one start() opened
            exchange = await self._broker.declare_exchange(self._exchange)
            bindings = list(self._extra_bindings) + [
                (self._rabbit_queue(queue), key)
                for queue in self._declared_only
                for key in queue.routing_keys
            ]
            for rabbit_queue, key in bindings:
                declared = await self._broker.declare_queue(rabbit_queue)
                await declared.bind(exchange, routing_key=key)
        except BaseException:
            # Do not leave a half-started broker (and its connection) behind.
            with contextlib.suppress(Exception):
                await self._broker.stop()
            raise
        self._connection = connection

    async def stop(self) -> None:
        if self._connection is None:
            return
        self._connection = None
        await self._broker.stop()

    async def publish(self, event: DomainEvent) -> None:
        body = encode_event(event)
        self._require_connected()
        # Publisher confirms are on (FastStream's default channel): once this returns,
        # RabbitMQ has the message. The timeout turns a stuck connection into an error.
        async with asyncio.timeout(_PUBLISH_TIMEOUT):
            await self._publisher.publish(body, routing_key=event.key(), message_id=event.event_id)

    async def ping(self) -> None:
        self._require_connected()

    # --- internals ------------------------------------------------------------------

    def _rabbit_queue(self, queue: WorkQueue) -> RabbitQueue:
        """A work queue, declared the same way by consumers and by publishers."""
        return RabbitQueue(
            self.queue_name(queue),
            durable=True,
            auto_delete=False,
            routing_key=queue.routing_keys[0],
        )

    def _require_not_started(self) -> None:
        if self._connection is not None:
            raise RuntimeError("register consumers and listeners before start()")

    def _require_connected(self) -> None:
        if self._connection is None:
            raise BrokerUnavailable("the event bus is not started")
        if self._connection.is_closed or not self._connection.connected.is_set():
            raise BrokerUnavailable("the connection to RabbitMQ is down")

    def _work_handler(self, handler: EventHandler) -> Callable[[bytes], Awaitable[None]]:
        async def handle_work(body: bytes) -> None:
            event = _decode(body)
            try:
                await handler(event)
            except Exception:
                logger.exception(
                    "Handler %r failed on %s %s; redelivering", handler, event.key(), event.event_id
                )
                await asyncio.sleep(_RETRY_DELAY)
                raise NackMessage(requeue=True) from None

        return handle_work

    async def _notify_listeners(self, body: bytes) -> None:
        event = _decode(body)
        await asyncio.gather(*(self._notify(listener, event) for listener in self._listeners))

    @staticmethod
    async def _notify(listener: EventHandler, event: DomainEvent) -> None:
        try:
            await listener(event)
        except Exception:
            logger.exception("Listener %r failed on %s %s", listener, event.key(), event.event_id)
