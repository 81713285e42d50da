"""The OpenAPI document says what the API answers: every problem response with the
``Problem`` schema, the bounds of ids and offsets, the raw body of file uploads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripter.bootstrap import bootstrap
from scripter.config import Config, DatabaseConfig
from scripter.http.app import create_app
from scripter.http.params import MAX_ID, MAX_OFFSET

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    config = Config(database=DatabaseConfig(url="sqlite+aiosqlite:///:memory:"))
    app = create_app(bootstrap(config), roles=set())
    schema: dict[str, Any] = json.loads(json.dumps(app.openapi_schema.to_schema()))
    return schema


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    ]


def test_every_error_response_is_a_problem(document: dict[str, Any]):
    assert "Problem" in document["components"]["schemas"]
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert response["content"] == PROBLEM, (method, path, status)
            assert not status.startswith("5"), (method, path, status)
            if status == "204":
                assert "content" not in response, (method, path)


def test_protected_operations_document_their_refusals(document: dict[str, Any]):
    for path, method, operation in operations(document):
        if not path.startswith("/api/") or operation.get("security") == []:
            continue
        statuses = set(operation["responses"])
        assert {"401", "429"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if method != "get":
            assert "409" in statuses, (method, path)
        if "requestBody" in operation:
            assert "413" in statuses, (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert {"400", "422"} <= statuses, (method, path)


def test_ids_and_offsets_have_bounds(document: dict[str, Any]):
    for path, method, operation in operations(document):
        for parameter in operation.get("parameters", []):
            name, schema = parameter["name"], parameter["schema"]
            if parameter["in"] == "path" and name.endswith("_id"):
                assert (schema["minimum"], schema["maximum"]) == (1, MAX_ID), (method, path)
            if parameter["in"] == "query" and name == "offset":
                assert schema["maximum"] == MAX_OFFSET, (method, path)


def test_file_uploads_document_their_raw_body(document: dict[str, Any]):
    for area in ("images", "scripts"):
        owner = "image_id" if area == "images" else "script_id"
        put = document["paths"][f"/api/{area}/{{{owner}}}/files/{{path}}"]["put"]
        body = put["requestBody"]
        assert body["required"] is False  # an empty body is an empty file
        assert body["content"]["application/octet-stream"]["schema"]["format"] == "binary"
