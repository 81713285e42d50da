"""The ``EventBus`` contract, run against the in-process bus and RabbitMQ.

The RabbitMQ runs use the real broker (``TestRabbitBroker`` neither routes ``#``
like RabbitMQ nor redelivers a nack). Each test gets its own exchange and queue
prefix, deleted afterwards. What concerns one adapter only (RabbitMQ's wire format
and topology, the in-process bus's queue before start) is tested for that adapter
alone, not skipped for the other.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
import pytest

from scripter.adapters.bus.memory import InProcessEventBus
from scripter.adapters.bus.rabbit import RabbitEventBus
from scripter.domain.events import (
    WORK_QUEUES,
    DomainEvent,
    ImageBuildRequested,
    JobFinished,
    JobRequested,
    WorkQueue,
    encode_event,
)
from scripter.domain.ports import EventBus, EventHandler
from tests.conftest import RABBITMQ_URL, require_rabbitmq

TIMEOUT = 10.0
# How long a test gives something that must NOT happen the chance to happen.
QUIET_WINDOW = 0.3


@dataclass
class Harness:
    """Makes buses that share one broker, like processes of one deployment.

    The in-process bus has no broker to share: every ``make`` returns the one bus,
    so "two instances" are two ``consume`` registrations competing in one process.
    """

    kind: str
    _new_bus: Callable[[int, Sequence[WorkQueue]], EventBus]
    buses: list[EventBus] = field(default_factory=list)
    queues: list[WorkQueue] = field(default_factory=list)

    def make(self, concurrency: int = 4, work_queues: Sequence[WorkQueue] = ()) -> EventBus:
        if self.kind == "memory" and self.buses:
            return self.buses[0]
        bus = self._new_bus(concurrency, work_queues)
        self.buses.append(bus)
        return bus

    def work_queue(self, *routing_keys: str) -> WorkQueue:
        queue = WorkQueue(f"work-{len(self.queues)}", routing_keys)
        self.queues.append(queue)
        return queue

    async def publisher(self) -> EventBus:
        """A bus to publish with while the consumers are stopped."""
        if self.kind == "memory":
            return self.make()  # publishes while stopped; starting it would start the consumers
        bus = self.make()
        await bus.start()
        return bus


@asynccontextmanager
async def memory_harness() -> AsyncIterator[Harness]:
    memory = Harness("memory", lambda concurrency, _: InProcessEventBus(concurrency))
    try:
        yield memory
    finally:
        for bus in memory.buses:
            await bus.stop()


@asynccontextmanager
async def rabbit_harness() -> AsyncIterator[Harness]:
    require_rabbitmq()
    prefix = f"test-{uuid.uuid4().hex}."
    exchange = f"{prefix}events"
    rabbit = Harness(
        "rabbitmq",
        lambda concurrency, work_queues: RabbitEventBus(
            RABBITMQ_URL,
            concurrency,
            exchange=exchange,
            queue_prefix=prefix,
            work_queues=work_queues,
        ),
    )
    try:
        yield rabbit
    finally:
        for bus in rabbit.buses:
            await bus.stop()
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            for queue in rabbit.queues:
                await channel.queue_delete(prefix + queue.name)
            await channel.exchange_delete(exchange)


@pytest.fixture(params=["memory", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The contract's tests run once per adapter."""
    made = memory_harness() if request.param == "memory" else rabbit_harness()
    async with made as started:
        yield started


@pytest.fixture
async def rabbit() -> AsyncIterator[Harness]:
    """For what only RabbitMQ has (mark the test ``rabbitmq``)."""
    async with rabbit_harness() as started:
        yield started


@pytest.fixture
async def memory() -> AsyncIterator[Harness]:
    async with memory_harness() as started:
        yield started


async def wait(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), TIMEOUT)


def job_requested(job_id: int = 1) -> JobRequested:
    return JobRequested(job_id=job_id, script_id=7)


# --- 1. delivery ----------------------------------------------------------------------


async def test_published_event_reaches_the_work_queue_handler(harness: Harness) -> None:
    queue = harness.work_queue(JobRequested.key())
    received: list[DomainEvent] = []
    arrived = asyncio.Event()

    async def handler(event: DomainEvent) -> None:
        received.append(event)
        arrived.set()

    bus = harness.make()
    bus.consume(queue, handler)
    await bus.start()
    sent = job_requested(42)
    await bus.publish(sent)

    await wait(arrived)
    assert received == [sent]
    assert received[0] is not sent  # a copy off the wire, not the publisher's object


# --- 2. routing -----------------------------------------------------------------------


async def test_events_reach_exactly_the_queues_bound_to_their_key(harness: Harness) -> None:
    jobs_only = harness.work_queue(JobRequested.key())
    jobs_and_builds = harness.work_queue(JobRequested.key(), ImageBuildRequested.key())
    received: dict[str, list[DomainEvent]] = {jobs_only.name: [], jobs_and_builds.name: []}
    last = job_requested(999)
    done = {name: asyncio.Event() for name in received}

    def recorder(name: str) -> EventHandler:
        async def handler(event: DomainEvent) -> None:
            received[name].append(event)
            if event.event_id == last.event_id:
                done[name].set()

        return handler

    # One handler at a time, so the queues keep publish order: when `last` arrives,
    # anything wrongly routed before it has arrived too.
    bus = harness.make(concurrency=1)
    bus.consume(jobs_only, recorder(jobs_only.name))
    bus.consume(jobs_and_builds, recorder(jobs_and_builds.name))
    await bus.start()
    job = job_requested(1)
    build = ImageBuildRequested(image_id=3)
    unbound = JobFinished(job_id=1, script_id=7, status="ok", exit_code=0, duration_seconds=1.5)
    for event in (job, build, unbound, last):
        await bus.publish(event)

    for queue_done in done.values():
        await wait(queue_done)
    assert received[jobs_only.name] == [job, last]
    assert received[jobs_and_builds.name] == [job, build, last]


# --- 3. competing consumers -----------------------------------------------------------


async def test_competing_consumers_share_the_work_each_event_once(harness: Harness) -> None:
    queue = harness.work_queue(JobRequested.key())
    deliveries: list[tuple[int, str]] = []
    events = [job_requested(i) for i in range(20)]
    all_arrived = asyncio.Event()

    def consumer(number: int) -> EventHandler:
        async def handler(event: DomainEvent) -> None:
            deliveries.append((number, event.event_id))
            await asyncio.sleep(0)  # let the other consumer in
            if len({event_id for _, event_id in deliveries}) == len(events):
                all_arrived.set()

        return handler

    first, second = harness.make(), harness.make()
    first.consume(queue, consumer(1))
    second.consume(queue, consumer(2))
    await first.start()
    await second.start()
    for event in events:
        await first.publish(event)

    await wait(all_arrived)
    await first.stop()
    await second.stop()
    assert Counter(event_id for _, event_id in deliveries) == {e.event_id: 1 for e in events}


# --- 4. redelivery --------------------------------------------------------------------


async def test_a_failed_handler_gets_the_event_again_and_success_acks_it(
    harness: Harness,
) -> None:
    queue = harness.work_queue(JobRequested.key())
    failing, sentinel = job_requested(1), job_requested(2)
    seen: list[str] = []
    succeeded, sentinel_seen = asyncio.Event(), asyncio.Event()

    async def handler(event: DomainEvent) -> None:
        seen.append(event.event_id)
        if event.event_id == sentinel.event_id:
            sentinel_seen.set()
            return
        if seen.count(event.event_id) == 1:
            raise RuntimeError("first attempt fails")
        succeeded.set()

    bus = harness.make(concurrency=1)
    bus.consume(queue, handler)
    await bus.start()
    await bus.publish(failing)
    await wait(succeeded)

    # An unacknowledged message would come back after a restart, before the sentinel.
    await bus.stop()
    await bus.start()
    await bus.publish(sentinel)
    await wait(sentinel_seen)
    assert seen == [failing.event_id, failing.event_id, sentinel.event_id]


# --- 5. concurrency -------------------------------------------------------------------


async def test_at_most_concurrency_handlers_run_at_once(harness: Harness) -> None:
    queue = harness.work_queue(JobRequested.key())
    running, most_running, finished = 0, 0, 0
    release, two_running, third_started, all_done = (asyncio.Event() for _ in range(4))

    async def handler(event: DomainEvent) -> None:
        nonlocal running, most_running, finished
        running += 1
        most_running = max(most_running, running)
        if running == 2:
            two_running.set()
        if running > 2:
            third_started.set()
        await release.wait()
        running -= 1
        finished += 1
        if finished == 5:
            all_done.set()

    bus = harness.make(concurrency=2)
    bus.consume(queue, handler)
    await bus.start()
    for i in range(5):
        await bus.publish(job_requested(i))

    await wait(two_running)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(third_started.wait(), QUIET_WINDOW)
    assert running == 2
    release.set()
    await wait(all_done)
    assert most_running == 2


# --- 6. durability --------------------------------------------------------------------


async def test_an_event_published_while_nobody_consumes_waits_for_a_consumer(
    harness: Harness,
) -> None:
    queue = harness.work_queue(JobRequested.key())
    received: list[DomainEvent] = []
    arrived = asyncio.Event()

    async def handler(event: DomainEvent) -> None:
        received.append(event)
        arrived.set()

    consumer = harness.make()
    consumer.consume(queue, handler)
    await consumer.start()  # declares the durable queue
    await consumer.stop()

    publisher = await harness.publisher()
    sent = job_requested(5)
    await publisher.publish(sent)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(arrived.wait(), QUIET_WINDOW)

    await consumer.start()
    await wait(arrived)
    assert received == [sent]


@pytest.mark.rabbitmq
async def test_rabbit_bus_that_names_the_work_queues_keeps_events_for_their_first_consumer(
    rabbit: Harness,
) -> None:
    """A fresh installation: the api publishes a build request before any worker has
    ever run. Its bus declared the work queues, so the request waits, not dropped.
    (The in-process bus has no queues to declare: see the next test.)"""
    harness = rabbit
    queue = harness.work_queue(JobRequested.key(), ImageBuildRequested.key())
    publisher = harness.make(work_queues=[queue])
    await publisher.start()
    sent = [job_requested(6), ImageBuildRequested(image_id=6)]
    for event in sent:
        await publisher.publish(event)
    received: list[DomainEvent] = []
    arrived = asyncio.Event()

    async def handler(event: DomainEvent) -> None:
        received.append(event)
        if len(received) == len(sent):
            arrived.set()

    consumer = harness.make()
    consumer.consume(queue, handler)
    await consumer.start()
    await wait(arrived)
    assert received == sent


async def test_the_in_process_bus_keeps_events_published_before_start(memory: Harness) -> None:
    """(A RabbitMQ queue exists only once a bus declared it: see the test above.)"""
    harness = memory
    queue = harness.work_queue(JobRequested.key())
    arrived = asyncio.Event()

    async def handler(event: DomainEvent) -> None:
        arrived.set()

    bus = harness.make()
    bus.consume(queue, handler)
    await bus.publish(job_requested())
    await bus.start()
    await wait(arrived)


# --- 7. listeners ---------------------------------------------------------------------


async def test_every_listener_receives_every_event(harness: Harness) -> None:
    events: list[DomainEvent] = [
        job_requested(1),
        ImageBuildRequested(image_id=2),
        JobFinished(job_id=1, script_id=7, status="failed", exit_code=1, duration_seconds=None),
    ]
    received: dict[str, list[DomainEvent]] = {"a": [], "b": []}
    complete = {name: asyncio.Event() for name in received}

    def listener(name: str) -> EventHandler:
        async def handler(event: DomainEvent) -> None:
            received[name].append(event)
            if len(received[name]) == len(events):
                complete[name].set()

        return handler

    async def broken_listener(event: DomainEvent) -> None:
        raise RuntimeError("a failing listener must not hurt the others")

    bus = harness.make()
    bus.listen(listener("a"))
    bus.listen(broken_listener)
    bus.listen(listener("b"))
    await bus.start()
    for event in events:
        await bus.publish(event)

    for done in complete.values():
        await wait(done)
    assert received["a"] == events
    assert received["b"] == events


# --- 8. broker outage -----------------------------------------------------------------


@pytest.mark.rabbitmq
async def test_rabbit_publish_raises_when_the_broker_is_unreachable(rabbit: Harness) -> None:
    """(The in-process bus has no broker that could be unreachable.)"""
    harness = rabbit
    unstarted = harness.make()
    with pytest.raises(ConnectionError):
        await unstarted.publish(job_requested())
    with pytest.raises(ConnectionError):
        await unstarted.ping()

    nowhere = RabbitEventBus("amqp://guest:guest@127.0.0.1:1/")  # nothing listens on port 1
    with pytest.raises(ConnectionError):
        await nowhere.start()
    with pytest.raises(ConnectionError):
        await nowhere.publish(job_requested())
    with pytest.raises(ConnectionError):
        await nowhere.ping()

    stopped = harness.make()
    await stopped.start()
    await stopped.ping()
    await stopped.stop()
    with pytest.raises(ConnectionError):
        await stopped.publish(job_requested())


async def test_stop_is_quick_when_no_handler_runs(harness: Harness) -> None:
    async def handler(event: DomainEvent) -> None:
        return None

    bus = harness.make()
    bus.consume(harness.work_queue(JobRequested.key()), handler)
    bus.listen(handler)
    await bus.start()
    await bus.publish(job_requested())
    await asyncio.wait_for(bus.stop(), 2.0)


@pytest.mark.rabbitmq
async def test_rabbit_messages_are_persistent_json_keyed_by_type(rabbit: Harness) -> None:
    """What integrators binding their own queue to the exchange get."""
    bus = rabbit.make()
    await bus.start()
    assert isinstance(bus, RabbitEventBus)
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        own_queue = await channel.declare_queue(exclusive=True)
        await own_queue.bind(bus.exchange_name, routing_key="job.*")
        sent = JobFinished(job_id=1, script_id=7, status="ok", exit_code=0, duration_seconds=0.5)
        await bus.publish(sent)

        message = await own_queue.get(timeout=TIMEOUT)
        await message.ack()
    assert message.routing_key == "job.finished"
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == sent.event_id
    assert message.body == encode_event(sent)


async def test_an_event_that_does_not_serialise_fails_at_publish(harness: Harness) -> None:
    bus = harness.make()
    await bus.start()
    broken = JobFinished(job_id=1, script_id=7, status=object(), exit_code=0, duration_seconds=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await bus.publish(broken)


@pytest.mark.rabbitmq
async def test_rabbit_rejects_an_unreadable_message_instead_of_looping(rabbit: Harness) -> None:
    """(Nothing unreadable can enter the in-process bus.)"""
    harness = rabbit
    queue = harness.work_queue(JobRequested.key())
    received: list[DomainEvent] = []
    arrived = asyncio.Event()

    async def handler(event: DomainEvent) -> None:
        received.append(event)
        arrived.set()

    bus = harness.make(concurrency=1)
    bus.consume(queue, handler)
    await bus.start()
    assert isinstance(bus, RabbitEventBus)
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(bus.exchange_name, ensure=False)
        for body in (b"not json", b'{"type": "no.such_event"}'):
            await exchange.publish(aio_pika.Message(body), routing_key=JobRequested.key())
        readable = job_requested(3)
        await bus.publish(readable)
        await wait(arrived)
        await bus.stop()  # waits for the ack

        left = await channel.declare_queue(bus.queue_name(queue), passive=True)
        assert left.declaration_result.message_count == 0
    assert received == [readable]


@pytest.mark.rabbitmq
async def test_rabbit_exchange_and_work_queues_are_durable(rabbit: Harness) -> None:
    """They outlive a broker restart with what they hold (messages are persistent, see
    above). RabbitMQ refuses to declare an existing object with another durability
    (PRECONDITION_FAILED), so a non-durable declare that fails proves it durable."""
    bus = rabbit.make(work_queues=WORK_QUEUES)
    rabbit.queues.extend(WORK_QUEUES)  # removed afterwards with the harness's prefix
    await bus.start()
    assert isinstance(bus, RabbitEventBus)
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        await channel.get_exchange(bus.exchange_name, ensure=True)  # passive: it exists
        for queue in WORK_QUEUES:
            await channel.declare_queue(bus.queue_name(queue), passive=True)
        await channel.declare_exchange(bus.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        for queue in WORK_QUEUES:
            await channel.declare_queue(bus.queue_name(queue), durable=True)

        # Each refusal closes its channel: one channel per attempt.
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="durable"):
            await (await connection.channel()).declare_exchange(
                bus.exchange_name, aio_pika.ExchangeType.TOPIC, durable=False
            )
        for queue in WORK_QUEUES:
            with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="durable"):
                await (await connection.channel()).declare_queue(
                    bus.queue_name(queue), durable=False
                )
