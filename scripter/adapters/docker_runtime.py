"""``ContainerRuntime`` on the Docker engine, through the (blocking) docker SDK.

Every SDK call runs in a worker thread so the event loop never waits on Docker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import docker.types
from docker.utils import kwargs_from_env

from scripter.domain.ports import (
    BuildFailed,
    BuildResult,
    ContainerInfo,
    ContainerSpec,
    ImageInUse,
    WaitTimedOut,
)

T = TypeVar("T")

log = logging.getLogger(__name__)

_CONFLICT = 409


class DockerRuntime:
    def __init__(self, base_url: str | None = None, timeout: int = 60) -> None:
        """``timeout``: seconds for each ordinary API call (not for builds or waits)."""
        self._base_url = base_url
        self._timeout = timeout
        self._client: docker.DockerClient | None = None
        self._engine_id: str | None = None
        self._exits: _ExitWatcher | None = None
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
        if self._exits is not None:
            await asyncio.to_thread(self._exits.close)
            self._exits = None
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
            try:
                client.api.remove_image(reference)
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if exc.status_code == _CONFLICT:
                    raise ImageInUse(str(exc.explanation or exc)) from exc
                raise

        await self._call(remove)

    async def remove_untagged_image(self, image_id: str) -> bool:
        def remove(client: docker.DockerClient) -> bool:
            try:
                if client.api.inspect_image(image_id).get("RepoTags"):
                    return False
                # Not forced: the engine refuses while a container (a job) uses it.
                client.api.remove_image(image_id)
            except docker.errors.NotFound:
                return False
            except docker.errors.APIError as exc:
                if exc.status_code == _CONFLICT:
                    return False
                raise
            return True

        return await self._call(remove)

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
                tmpfs=dict(spec.tmpfs) or None,
                cap_drop=["ALL"] if spec.drop_all_capabilities else None,
                security_opt=["no-new-privileges"] if spec.no_new_privileges else None,
                user=spec.user,
                init=spec.init,
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
        # Not the blocking wait endpoint: each waiting job would hold a thread of the
        # small default pool for its whole run. One thread follows the engine's "die"
        # events for every waiter instead.
        loop = asyncio.get_running_loop()
        if self._exits is None:
            self._exits = _ExitWatcher(self._get_client, loop)
        exited = await asyncio.to_thread(self._exits.register, container_id)
        try:
            # Subscribed before looking: an exit in between cannot be missed.
            info = await self.inspect(container_id)
            if info is None:
                raise LookupError(f"No such container: {container_id}")
            if info.exit_code is not None:
                return info.exit_code
            try:
                return await asyncio.wait_for(asyncio.shield(exited), timeout)
            except TimeoutError:
                raise WaitTimedOut(container_id) from None
        finally:
            self._exits.unregister(container_id, exited)

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

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        def inspect(client: docker.DockerClient) -> ContainerInfo | None:
            try:
                return _info(client.api.inspect_container(container_id))
            except docker.errors.NotFound:
                return None

        return await self._call(inspect)

    async def engine_id(self) -> str:
        if self._engine_id is None:
            info = await self._call(lambda c: c.info())
            self._engine_id = str(info.get("ID") or info.get("Name") or "unknown")
        return self._engine_id

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
        oom_killed=bool(state.get("OOMKilled", False)),
        created_at=_timestamp(attrs.get("Created")),
        # Inspect's "Image" is the image id the container was created from (the
        # name it was asked for is Config.Image).
        image_id=str(attrs.get("Image") or "") or None,
        # FinishedAt reads 0001-01-01 before the container has ended.
        finished_at=_timestamp(state.get("FinishedAt")) if exit_code is not None else None,
    )


def _timestamp(value: object) -> datetime | None:
    """Docker's RFC 3339 times carry nanoseconds, which ``fromisoformat`` refuses."""
    if not isinstance(value, str) or not value:
        return None
    head, _, rest = value.rstrip("Z").partition(".")
    try:
        return datetime.fromisoformat(f"{head}.{rest[:6]:0<6}+00:00")
    except ValueError:
        return None


class _ExitWatcher:
    """Follows the engine's container "die" events in one thread and resolves the
    futures of whoever waits for those containers. Reconnects if the stream breaks."""

    def __init__(
        self, client: Callable[[], docker.DockerClient], loop: asyncio.AbstractEventLoop
    ) -> None:
        self._client = client
        self._loop = loop
        self._lock = threading.Lock()
        self._waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._subscribed = threading.Event()
        self._stream: Any = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def register(self, container_id: str) -> asyncio.Future[int]:
        """A future for the container's exit code. Blocks until the event stream is
        open, so exits after this call are seen."""
        future: asyncio.Future[int] = self._loop.create_future()
        with self._lock:
            self._waiters.setdefault(container_id, []).append(future)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._follow, name="docker-exit-events", daemon=True
                )
                self._thread.start()
        if not self._subscribed.wait(30):
            raise RuntimeError("the Docker engine's event stream did not open")
        return future

    def unregister(self, container_id: str, future: asyncio.Future[int]) -> None:
        with self._lock:
            waiting = self._waiters.get(container_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(container_id, None)

    def close(self) -> None:
        self._closed = True
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        while not self._closed:
            try:
                self._stream = self._client().events(
                    decode=True, filters={"type": "container", "event": "die"}
                )
                self._subscribed.set()
                for event in self._stream:
                    self._dispatch(event)
            except Exception as exc:
                if self._closed:
                    return
                # While disconnected, exits can be missed; callers that poll inspect()
                # as well (the job supervisor does) still see them.
                self._subscribed.clear()
                log.warning("docker event stream broke: %s", exc)
                time.sleep(1)

    def _dispatch(self, event: Mapping[str, Any]) -> None:
        actor = event.get("Actor") or {}
        container_id = str(actor.get("ID") or event.get("id") or "")
        code = int((actor.get("Attributes") or {}).get("exitCode", -1))
        with self._lock:
            futures = list(self._waiters.get(container_id, []))
        for future in futures:
            self._loop.call_soon_threadsafe(_resolve, future, code)


def _resolve(future: asyncio.Future[int], code: int) -> None:
    if not future.done():
        future.set_result(code)
