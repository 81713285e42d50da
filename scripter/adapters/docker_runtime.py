"""``ContainerRuntime`` on the Docker engine, through the (blocking) docker SDK.

Every SDK call runs in a worker thread so the event loop never waits on Docker.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import docker.types
import requests.exceptions
from docker.utils import kwargs_from_env

from scripter.domain.ports import (
    BuildFailed,
    BuildResult,
    ContainerInfo,
    ContainerSpec,
    WaitTimedOut,
)

T = TypeVar("T")

_CONFLICT = 409


class DockerRuntime:
    def __init__(self, base_url: str | None = None, timeout: int = 60) -> None:
        """``timeout``: seconds for each ordinary API call (not for builds or waits)."""
        self._base_url = base_url
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        # Creating the client talks to the engine (API version negotiation), and two
        # worker threads may race to create it.
        self._client_lock = threading.Lock()

    def _get_client(self) -> docker.DockerClient:
        with self._client_lock:
            if self._client is None:
                # Not from_env(): since 7.2 it follows the CLI's current context, and 7.1
                # has no use_context switch. Our rule is simpler: an explicit URL, else
                # DOCKER_HOST (with its TLS variables), else the default socket. No
                # version given: the SDK negotiates it (a pinned one ages badly).
                if self._base_url:
                    self._client = docker.DockerClient(
                        base_url=self._base_url, timeout=self._timeout
                    )
                else:
                    self._client = docker.DockerClient(timeout=self._timeout, **kwargs_from_env())
            return self._client

    async def _call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        return await asyncio.to_thread(lambda: fn(self._get_client()))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    async def ping(self) -> None:
        if not await self._call(lambda c: c.ping()):
            raise RuntimeError("the Docker engine did not answer the ping")

    # --- images -------------------------------------------------------------------

    async def build_image(
        self,
        context: Path,
        tag: str,
        on_line: Callable[[str], None],
        *,
        labels: Mapping[str, str] | None = None,
        network_mode: str | None = None,
        build_args: Mapping[str, str] | None = None,
    ) -> BuildResult:
        if not (context / "Dockerfile").is_file():
            raise BuildFailed(f"no Dockerfile in the build context {context}")
        loop = asyncio.get_running_loop()

        def emit(line: str) -> None:
            # on_line runs on the loop thread, so callers need no locking. These
            # callbacks are queued before the thread's result is, so every line has
            # been delivered by the time build_image returns.
            loop.call_soon_threadsafe(on_line, line)

        def build(client: docker.DockerClient) -> BuildResult:
            try:
                chunks: Iterator[dict[str, Any]] = client.api.build(
                    path=str(context),
                    tag=tag,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    labels=dict(labels or {}),
                    network_mode=network_mode,
                    buildargs=dict(build_args or {}),
                )
                return _follow_build(chunks, tag, emit)
            except docker.errors.APIError as e:
                # The engine refused the build itself (bad Dockerfile path, bad option).
                message = f"the build was refused: {e.explanation or e}"
                emit(message)
                raise BuildFailed(message) from e

        return await self._call(build)

    async def remove_image(self, reference: str) -> None:
        def remove(client: docker.DockerClient) -> None:
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_image(reference)

        await self._call(remove)

    async def image_exists(self, reference: str) -> bool:
        def exists(client: docker.DockerClient) -> bool:
            try:
                client.images.get(reference)
            except docker.errors.NotFound:
                return False
            return True

        return await self._call(exists)

    # --- containers ---------------------------------------------------------------

    async def run(self, spec: ContainerSpec) -> str:
        def run(client: docker.DockerClient) -> str:
            mounts = [
                docker.types.Mount(m.target, str(m.source), type="bind", read_only=m.read_only)
                for m in spec.mounts
            ]
            container = client.containers.create(
                spec.image,
                list(spec.command),
                name=spec.name,
                labels=dict(spec.labels),
                environment=dict(spec.env),
                mounts=mounts,
                working_dir=spec.working_dir,
                network_mode=spec.network_mode,
                # mem_limit alone lets the container use as much again in swap.
                mem_limit=spec.memory_bytes,
                memswap_limit=spec.memory_bytes,
                nano_cpus=spec.nano_cpus,
                pids_limit=spec.pids_limit,
                read_only=spec.read_only_rootfs,
                cap_drop=["ALL"] if spec.drop_all_capabilities else None,
                security_opt=["no-new-privileges"] if spec.no_new_privileges else None,
                user=spec.user,
                # Never auto_remove: wait() and logs would then race the removal.
            )
            try:
                container.start()
            except BaseException:
                # Do not leave a created-but-never-started container behind.
                container.remove(force=True)
                raise
            return str(container.id)

        return await self._call(run)

    async def wait(self, container_id: str, timeout: float | None = None) -> int:
        def wait(client: docker.DockerClient) -> int:
            try:
                # The stubs say int; requests takes any number of seconds.
                result = client.api.wait(container_id, timeout=timeout)  # type: ignore[arg-type]
            except requests.exceptions.ReadTimeout as e:
                raise WaitTimedOut(container_id) from e
            except requests.exceptions.ConnectionError as e:
                # Over the unix socket a read timeout arrives as a ConnectionError
                # (PITFALLS); an unreachable engine must still surface as itself.
                if timeout is not None and "timed out" in str(e).lower():
                    raise WaitTimedOut(container_id) from e
                raise
            return int(result["StatusCode"])

        return await self._call(wait)

    async def stop(self, container_id: str, grace_seconds: float = 10) -> None:
        # The API takes whole seconds; round up so the grace is never shortened.
        grace = max(0, math.ceil(grace_seconds))
        await self._call(lambda c: _ignore_gone(lambda: c.api.stop(container_id, timeout=grace)))

    async def kill(self, container_id: str) -> None:
        await self._call(lambda c: _ignore_gone(lambda: c.api.kill(container_id)))

    async def remove_container(self, container_id: str) -> None:
        # 409 here means a removal is already in progress: the container is going.
        await self._call(
            lambda c: _ignore_gone(lambda: c.api.remove_container(container_id, force=True))
        )

    async def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        # "key" alone filters on the label's presence, "key=value" on its value.
        label_filter = [f"{k}={v}" if v else k for k, v in labels.items()]

        def list_(client: docker.DockerClient) -> list[ContainerInfo]:
            # The list endpoint has no exit code, so the high-level list inspects each
            # container; ignore_removed skips those that vanish in between.
            found = client.containers.list(
                all=True, filters={"label": label_filter}, ignore_removed=True
            )
            return [_info(c.attrs) for c in found]

        return await self._call(list_)


def _follow_build(
    chunks: Iterator[dict[str, Any]], tag: str, emit: Callable[[str], None]
) -> BuildResult:
    """Read the build's JSON stream: ``stream`` text comes in arbitrary pieces, so it is
    buffered and cut at newlines. A failed build does not raise; it sends ``error``."""
    pending = ""
    image_id: str | None = None
    error: str | None = None
    for chunk in chunks:
        if "stream" in chunk:
            pending += chunk["stream"]
            *lines, pending = pending.split("\n")
            for line in lines:
                emit(line.rstrip("\r"))
        if "status" in chunk:
            emit(str(chunk["status"]))
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail") or {}
            error = str(chunk.get("error") or detail.get("message") or "the build failed")
            emit(error)
        if isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
            image_id = str(chunk["aux"]["ID"])
    if pending:
        emit(pending.rstrip("\r"))
    if error is not None:
        raise BuildFailed(error)
    if image_id is None:
        raise BuildFailed("the build ended without an image id")
    return BuildResult(image_id=image_id, tag=tag)


def _ignore_gone(action: Callable[[], object]) -> None:
    """Run a stop/kill/remove; a missing container, or one already stopped or being
    removed (409 Conflict), is the outcome the caller wanted anyway."""
    try:
        action()
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        if e.status_code != _CONFLICT:
            raise


def _info(attrs: Mapping[str, Any]) -> ContainerInfo:
    state = attrs.get("State") or {}
    status = str(state.get("Status", "unknown"))
    # ExitCode reads 0 while a container runs; only report it once it has ended.
    exit_code = int(state["ExitCode"]) if status in ("exited", "dead") else None
    return ContainerInfo(
        id=str(attrs["Id"]),
        status=status,
        labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        exit_code=exit_code,
    )
