"""The AsyncAPI document: generated without a broker, the contract for integrators."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from scripter.adapters.bus.asyncapi import asyncapi_document
from scripter.domain.events import (
    ALL_EVENT_TYPES,
    BUILD_QUEUE,
    RUN_QUEUE,
    DomainEvent,
    JobFinished,
    JobRequested,
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Port 1: generating the document must not need (or try) a connection.
    return asyncapi_document("amqp://guest:guest@127.0.0.1:1/")


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_document_is_json_asyncapi_3(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert json.loads(text) == document
    assert document["asyncapi"].startswith("3.")
    assert "guest" not in text  # no credentials from the URL


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    for ref in refs(document):
        resolve(document, ref)


def test_it_names_the_exchange_queues_and_routing_keys(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert '"scripter.events"' in text
    queues = {
        channel["bindings"]["amqp"]["queue"]["name"]: channel
        for channel in document["channels"].values()
        if channel["bindings"]["amqp"]["is"] == "queue"
    }
    assert set(queues) == {BUILD_QUEUE.name, RUN_QUEUE.name}
    for channel in queues.values():
        assert channel["bindings"]["amqp"]["queue"]["durable"] is True
    receive_keys = {
        resolve(document, op["channel"]["$ref"])["bindings"]["amqp"]["queue"]["name"]: op[
            "bindings"
        ]["amqp"]["cc"]
        for op in document["operations"].values()
        if op["action"] == "receive"
    }
    assert receive_keys == {
        BUILD_QUEUE.name: list(BUILD_QUEUE.routing_keys),
        RUN_QUEUE.name: list(RUN_QUEUE.routing_keys),
    }
    (exchange,) = (
        channel["bindings"]["amqp"]["exchange"]
        for channel in document["channels"].values()
        if channel["bindings"]["amqp"]["is"] == "routingKey"
    )
    assert exchange["name"] == "scripter.events"
    assert exchange["type"] == "topic"
    assert exchange["durable"] is True


@pytest.mark.parametrize("event_type", ALL_EVENT_TYPES, ids=lambda t: t.key())
def test_every_event_has_a_schema_with_its_fields(
    document: dict[str, Any], event_type: type[DomainEvent]
) -> None:
    schema = document["components"]["schemas"][event_type.__name__]
    fields = {field.encode_name for field in msgspec.structs.fields(event_type)}
    assert fields | {"type"} == set(schema["properties"])
    assert schema["properties"]["type"]["enum"] == [event_type.key()]
    assert schema["description"]
    message = document["components"]["messages"][event_type.__name__]
    assert message["name"] == event_type.key()
    assert resolve(document, message["payload"]["$ref"]) is schema


def test_job_finished_documents_its_exit_code(document: dict[str, Any]) -> None:
    properties = document["components"]["schemas"]["JobFinished"]["properties"]
    assert {"exit_code", "status", "duration_seconds", "job_id"} <= set(properties)
    assert JobFinished.key() == "job.finished"


def test_operations_carry_the_events_of_their_channel(document: dict[str, Any]) -> None:
    def message_names(operation: dict[str, Any]) -> set[str]:
        return {
            resolve(document, ref["$ref"])["$ref"].rsplit("/", 1)[1]
            for ref in operation["messages"]
        }

    by_action: dict[str, list[set[str]]] = {}
    for operation in document["operations"].values():
        by_action.setdefault(operation["action"], []).append(message_names(operation))
    assert by_action["send"] == [{t.__name__ for t in ALL_EVENT_TYPES}]
    assert sorted(by_action["receive"], key=sorted) == [
        {"ImageBuildRequested"},
        {JobRequested.__name__},
    ]
