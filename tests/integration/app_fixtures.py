"""A whole Scripter app on SQLite, the in-process bus and the real Docker engine,
driven through Litestar's test client (lifespan included)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from litestar.testing import AsyncTestClient

from scripter.adapters.db.engine import SqlDatabase, create_engine
from scripter.adapters.db.unit_of_work import SqlUnitOfWork
from scripter.bootstrap import Role, Scripter, bootstrap
from scripter.config import Config, load_config
from scripter.domain.ports import UnitOfWork
from scripter.http.app import create_app
from tests.access import auth_headers
from tests.conftest import TEST_BASE_IMAGE, require_service

BUILD_TIMEOUT = 300.0


def docker_ready() -> tuple[bool, str]:
    try:
        client = docker.from_env()
        client.ping()
        client.images.get(TEST_BASE_IMAGE)
    except Exception as exc:
        return False, str(exc)
    return True, ""


def require_docker() -> None:
    ok, why = docker_ready()
    require_service("Docker engine with the test base image", ok, why)


def make_test_config(data_dir: Path, **overrides: str) -> Config:
    env = {
        "SCRIPTER_DATA_DIRECTORY": str(data_dir),
        "SCRIPTER_IMAGES_DEFAULT_BASE_IMAGE": TEST_BASE_IMAGE,
        # No docker0 bridge on the test machines: builds use the host's network.
        "SCRIPTER_DOCKER_BUILD_NETWORK": "host",
        **overrides,
    }
    return load_config(env=env)


@dataclass
class App:
    client: AsyncTestClient[Any]
    scripter: Scripter
    data: Path
    _database: SqlDatabase | None = None

    def uow(self) -> UnitOfWork:
        """A unit of work on the app's database for the test's own setup. Not the
        app's: the test client runs the app on another event loop (a thread), and
        its connection pool must stay on that loop."""
        if self._database is None:
            self._database = SqlDatabase(create_engine(self.scripter.config.database_url))
        return SqlUnitOfWork(self._database.session_factory)

    async def close(self) -> None:
        if self._database is not None:
            await self._database.dispose()

    async def wait_while(
        self, url: str, status: str, timeout: float = BUILD_TIMEOUT
    ) -> dict[str, Any]:
        """Poll ``url`` until its ``status`` is no longer ``status`` (bounded)."""
        async with asyncio.timeout(timeout):
            while True:
                body: dict[str, Any] = (await self.client.get(url)).json()
                if body["status"] != status:
                    return body
                await asyncio.sleep(0.2)


HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
"""This machine's proxy re-signs registry traffic with a CA that this bundle trusts
(ENVIRONMENT.md): builds that pip-install need it, like users behind such a proxy."""


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with running_app(tmp_path, {Role.API, Role.WORKER}) as started:
        yield started


@pytest.fixture
async def api_only_app(tmp_path: Path) -> AsyncIterator[App]:
    """No worker: requested builds stay ``building``, so refusals can be tested."""
    async with running_app(tmp_path, {Role.API}) as started:
        yield started


@asynccontextmanager
async def running_app(tmp_path: Path, roles: set[Role]) -> AsyncIterator[App]:
    require_docker()
    data = tmp_path / "data"
    # A prefix of its own per test: its images can be found and removed, and never
    # collide with a user's (or another test's) images.
    prefix = f"scripter-test-{uuid.uuid4().hex[:8]}"
    config = make_test_config(
        data,
        SCRIPTER_DOCKER_EXTRA_CA_CERTIFICATES=HOST_CA_BUNDLE,
        SCRIPTER_DOCKER_IMAGE_PREFIX=prefix,
    )
    scripter = bootstrap(config)
    litestar_app = create_app(scripter, roles=roles, migrate=True)
    try:
        async with AsyncTestClient(litestar_app) as client:
            # The app made its token at start (auth is on by default): log in with it.
            client.headers.update(auth_headers(data))
            app = App(client=client, scripter=scripter, data=data)
            try:
                yield app
            finally:
                await app.close()
    finally:
        remove_images(prefix)


def remove_images(prefix: str) -> None:
    """Every Docker image tag under ``prefix``. By tag, not by id: an image with the
    same content built elsewhere (another test session, a benchmark) has the same id,
    and its other tags are not ours to remove."""
    client = docker.from_env()
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(prefix + "/"):
                with contextlib.suppress(docker.errors.NotFound):
                    client.images.remove(tag, force=True)
