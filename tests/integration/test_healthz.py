"""``GET /healthz`` with one dependency down: 503, the failing check named with its
error, the others ``ok``. The whole app with its lifespan, on SQLite, the in-process
bus and the real Docker engine, but for the one part pointed at nothing."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from scripter.bootstrap import Role, bootstrap
from scripter.http.app import create_app
from tests.integration.app_fixtures import make_test_config, require_docker


def closed_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def api(data: Path, **settings: str) -> AsyncIterator[AsyncTestClient[Any]]:
    """An api (its lifespan started) with ``settings``; /healthz needs no token."""
    scripter = bootstrap(make_test_config(data, **settings))
    async with AsyncTestClient(create_app(scripter, roles={Role.API}, migrate=True)) as client:
        yield client


async def health(client: AsyncTestClient[Any]) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return response.status_code, body


@pytest.mark.docker
async def test_healthz_is_200_when_every_check_is_ok(tmp_path: Path) -> None:
    """The baseline of the tests below: the same app with nothing pointed away."""
    require_docker()
    async with api(tmp_path / "data") as client:
        status, body = await health(client)
    assert status == 200, body
    assert body == {
        "status": "ok",
        "checks": {"db": {"status": "ok"}, "broker": {"status": "ok"}, "docker": {"status": "ok"}},
    }


async def test_healthz_is_503_naming_docker_when_its_socket_is_missing(tmp_path: Path) -> None:
    socket_path = tmp_path / "no-docker.sock"
    async with api(tmp_path / "data", SCRIPTER_DOCKER_HOST=f"unix://{socket_path}") as client:
        status, body = await health(client)
    assert status == 503, body
    assert body["status"] == "error", body
    assert body["checks"]["db"] == {"status": "ok"}, body
    assert body["checks"]["broker"] == {"status": "ok"}, body
    docker = body["checks"]["docker"]
    assert docker["status"] == "error", body
    # The error itself: the engine's socket file is not there.
    assert "No such file or directory" in docker["detail"], docker


@pytest.mark.docker
async def test_healthz_is_503_naming_the_broker_when_rabbitmq_is_unreachable(
    tmp_path: Path,
) -> None:
    require_docker()
    broker_url = f"amqp://guest:guest@127.0.0.1:{closed_loopback_port()}/"
    async with api(tmp_path / "data", SCRIPTER_BROKER_URL=broker_url) as client:
        status, body = await health(client)
    assert status == 503, body
    assert body["status"] == "error", body
    assert body["checks"]["db"] == {"status": "ok"}, body
    assert body["checks"]["docker"] == {"status": "ok"}, body
    broker = body["checks"]["broker"]
    assert broker["status"] == "error", body
    # The api keeps retrying in the background; meanwhile the check says why.
    assert broker["detail"] == "BrokerUnavailable: the event bus is not started", broker
