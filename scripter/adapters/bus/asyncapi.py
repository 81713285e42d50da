"""The AsyncAPI document of the event bus: the contract for integrators.

FastStream generates the topology (exchange, work queues, bindings) from a
``RabbitEventBus`` that never connects. It cannot describe the payloads itself:
its schemas come from pydantic, which rejects ``msgspec.Struct`` types
(faststream#2101), so the bus declares its handlers on raw bytes and this module
puts msgspec's JSON schema of every event into the document afterwards, one
AsyncAPI message per event type.
"""

from __future__ import annotations

import inspect
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import msgspec
from faststream.specification import AsyncAPI

from scripter.adapters.bus.rabbit import RabbitEventBus
from scripter.domain.events import ALL_EVENT_TYPES, WORK_QUEUES, DomainEvent

_DEFAULT_URL = "amqp://localhost:5672/"
_SCHEMA_REF = "#/components/schemas/{name}"
_DESCRIPTION = (
    "Scripter's domain events. Every event is published, persistent and as JSON tagged "
    "with its `type`, to one durable topic exchange with its type as routing key "
    "(e.g. `job.finished`), so integrators can bind their own queues by pattern. "
    "Delivery is at least once: `event_id` (also the AMQP message-id) identifies "
    "redeliveries. Work queues are consumed with manual acks."
)


def asyncapi_document(bus_url: str | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the events exchange and the work queues."""
    bus = RabbitEventBus(bus_url or _DEFAULT_URL)
    for queue in WORK_QUEUES:
        bus.consume(queue, _never_called)
    specification = AsyncAPI(
        bus.broker,
        title="Scripter events",
        version=_package_version(),
        description=_DESCRIPTION,
        schema_version="3.0.0",
    ).to_specification()
    document: dict[str, Any] = json.loads(specification.to_json())
    queue_keys = {bus.queue_name(queue): queue.routing_keys for queue in WORK_QUEUES}
    _document_events(document, bus.exchange_name, queue_keys)
    return document


async def _never_called(event: DomainEvent) -> None:
    raise AssertionError("the AsyncAPI bus never consumes")


def _package_version() -> str:
    try:
        return version("scripter")
    except PackageNotFoundError:
        return "0.0.0"


def _describe(event_type: type[DomainEvent]) -> str:
    # Only a docstring of the event class itself: the inherited one describes DomainEvent.
    own = event_type.__dict__.get("__doc__")
    if own:
        return inspect.cleandoc(own)
    return f"Published with routing key `{event_type.key()}`."


def _document_events(
    document: dict[str, Any], exchange: str, queue_keys: dict[str, tuple[str, ...]]
) -> None:
    """Replace FastStream's bytes payloads with one message per event type."""
    by_key = {event_type.key(): event_type for event_type in ALL_EVENT_TYPES}
    _, schemas = msgspec.json.schema_components(ALL_EVENT_TYPES, ref_template=_SCHEMA_REF)
    messages: dict[str, Any] = {}
    for event_type in ALL_EVENT_TYPES:
        name, description = event_type.__name__, _describe(event_type)
        schemas[name].setdefault("description", description)
        messages[name] = {
            "name": event_type.key(),
            "title": name,
            "summary": description,
            "contentType": "application/json",
            "payload": {"$ref": _SCHEMA_REF.format(name=name)},
        }
    document["components"] = {"schemas": schemas, "messages": messages}

    channel_keys: dict[str, tuple[str, ...]] = {}
    for channel_id, channel in document["channels"].items():
        amqp = channel.get("bindings", {}).get("amqp", {})
        if amqp.get("is") == "queue":
            keys = queue_keys[amqp["queue"]["name"]]
        elif amqp.get("exchange", {}).get("name") == exchange:
            keys = tuple(by_key)
        else:
            continue
        channel_keys[channel_id] = keys
        channel["messages"] = {
            by_key[key].__name__: {"$ref": f"#/components/messages/{by_key[key].__name__}"}
            for key in keys
        }

    # In AsyncAPI 3 an operation with several messages carries one of them.
    for operation in document["operations"].values():
        channel_id = operation["channel"]["$ref"].removeprefix("#/channels/")
        if channel_id not in channel_keys:
            continue
        operation["messages"] = [
            {"$ref": f"#/channels/{channel_id}/messages/{name}"}
            for name in document["channels"][channel_id]["messages"]
        ]
        if operation["action"] == "receive":
            # FastStream lists only the first binding; the queue has one per key.
            operation.setdefault("bindings", {}).setdefault("amqp", {})["cc"] = list(
                channel_keys[channel_id]
            )
