"""Shared test plumbing.

Integration tests that need a service (MariaDB, RabbitMQ, the Docker engine,
Chromium) call ``require_service``: when the service is missing they FAIL under
``CI=true`` (so CI can never pass by skipping) and skip elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import socket
from urllib.parse import urlsplit

import docker
import pytest
from docker.models.containers import Container

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

MARIADB_URL = os.environ.get(
    "SCRIPTER_TEST_MARIADB_URL", "mysql+asyncmy://root@127.0.0.1:3306/test?charset=utf8mb4"
)
RABBITMQ_URL = os.environ.get("SCRIPTER_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
TEST_BASE_IMAGE = os.environ.get("SCRIPTER_TEST_BASE_IMAGE", "scripter-test-base:bookworm")
TEST_LABEL = "scripter.test"
"""Every Docker object a test makes carries this label, so leftovers can be swept."""


def require_service(name: str, available: bool, why: str = "") -> None:
    """Fail under CI, skip elsewhere, when a service a test needs is missing."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if IN_CI:
        pytest.fail(message + " (CI=true: integration tests must not skip)")
    pytest.skip(message)


def tcp_port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_rabbitmq() -> None:
    """The broker of ``SCRIPTER_TEST_RABBITMQ_URL`` listens (fail under CI, skip elsewhere)."""
    url = urlsplit(RABBITMQ_URL)
    host, port = url.hostname or "127.0.0.1", url.port or 5672
    require_service("RabbitMQ", tcp_port_open(host, port), f"nothing listens on {host}:{port}")


def namespace_containers(namespace: str) -> list[Container]:
    """The job containers of a Scripter namespace (``docker.image_prefix``), stopped
    ones too. The job runner removes containers at any moment: the high-level list
    inspects each one it found, so one removed in between must be skipped, not raise."""
    client = docker.from_env()
    return list(
        client.containers.list(
            all=True, filters={"label": f"scripter.namespace={namespace}"}, ignore_removed=True
        )
    )


def remove_namespace_containers(namespace: str) -> None:
    """Every job container of ``namespace`` (left by a test that failed midway)."""
    for container in namespace_containers(namespace):
        # The job runner may remove it between the listing and here.
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
