"""An in-memory ``ContainerRuntime`` for unit tests of services.

Builds replay a script of output lines (``runtime.next_build = BuildScript(...)``,
used by the next build only); each build is recorded as a ``BuildCall`` with the
files of its context as the ``FakeFileStore`` had staged them at that moment.
Images are kept as Docker keeps them: an id with its tags; a new build under a
tag takes the tag from the image that had it. Containers are minimal: ``run``
starts one, ``exit`` ends it with a code, ``wait``/``stop``/``kill`` behave like
the engine's. ``down = True`` makes every call fail as an unreachable engine.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scripter.domain.ports import (
    BuildFailed,
    BuildResult,
    ContainerInfo,
    ContainerSpec,
    ImageInUse,
    WaitTimedOut,
)
from tests.unit.fake_files import FakeFileStore


class EngineDown(ConnectionError):
    pass


class ImageMissing(LookupError):
    """``run`` named an image the engine does not have."""


@dataclass(kw_only=True)
class BuildScript:
    """What the next build does: emit ``lines``, then fail with ``fail`` (emitted as the
    last line, as the engine does), raise ``raises``, or succeed with ``image_id``."""

    lines: Sequence[str] = ("Step 1/1 : FROM python:3.12-slim",)
    fail: str | None = None
    raises: BaseException | None = None
    image_id: str | None = None


@dataclass(kw_only=True)
class BuildCall:
    context: Path
    tag: str
    labels: dict[str, str]
    network_mode: str | None
    build_args: dict[str, str]
    files: dict[str, bytes] | None
    """The context's files when the build ran (None without a file store)."""


@dataclass(kw_only=True)
class FakeContainer:
    id: str
    spec: ContainerSpec
    status: str = "running"
    exit_code: int | None = None
    oom_killed: bool = False
    image_id: str | None = None
    """The image ``spec.image`` named when the container was created."""
    finished_at: datetime | None = None
    """When it ended, as the engine says (a test sets it; None: not known)."""
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


class FakeContainerRuntime:
    def __init__(self, files: FakeFileStore | None = None) -> None:
        self._files = files
        self.down = False
        self.next_build: BuildScript | None = None
        self.builds: list[BuildCall] = []
        self.images: dict[str, set[str]] = {}
        """Image id -> its tags."""
        self.removed: list[str] = []
        """References given to ``remove_image``, in order."""
        self.containers: dict[str, FakeContainer] = {}
        self._ids = itertools.count(1)

    def _check_up(self) -> None:
        if self.down:
            raise EngineDown("Cannot connect to the Docker daemon")

    async def ping(self) -> None:
        self._check_up()

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
        self._check_up()
        script, self.next_build = self.next_build or BuildScript(), None
        files = None
        if self._files is not None:
            staged = self._files.staged.get(context)
            files = dict(staged) if staged is not None else None
            if files is None or "Dockerfile" not in files:
                raise BuildFailed(f"no Dockerfile in the build context {context}")
        self.builds.append(
            BuildCall(
                context=context,
                tag=tag,
                labels=dict(labels or {}),
                network_mode=network_mode,
                build_args=dict(build_args or {}),
                files=files,
            )
        )
        for line in script.lines:
            on_line(line)
        if script.raises is not None:
            raise script.raises
        if script.fail is not None:
            on_line(script.fail)
            raise BuildFailed(script.fail)
        image_id = script.image_id or (
            "sha256:" + hashlib.sha256(f"{tag}#{next(self._ids)}".encode()).hexdigest()
        )
        for tags in self.images.values():
            tags.discard(tag)
        self.images.setdefault(image_id, set()).add(tag)
        return BuildResult(image_id=image_id, tag=tag)

    def add_image(self, image_id: str, *tags: str) -> None:
        """An image that exists before the test (as if built earlier)."""
        self.images.setdefault(image_id, set()).update(tags)

    def _find(self, reference: str) -> str | None:
        if reference in self.images:
            return reference
        return next((i for i, tags in self.images.items() if reference in tags), None)

    async def remove_image(self, reference: str) -> None:
        self._check_up()
        self.removed.append(reference)
        image_id = self._find(reference)
        if image_id is None:
            return
        if any(self._find(c.spec.image) == image_id for c in self.containers.values()):
            raise ImageInUse(f"image {reference} is being used by a container")
        tags = self.images[image_id]
        if reference != image_id and len(tags) > 1:
            tags.discard(reference)  # untag only, like `docker rmi` of one of several tags
        else:
            del self.images[image_id]

    async def remove_untagged_image(self, image_id: str) -> bool:
        self._check_up()
        if self.images.get(image_id, {"missing"}):
            return False  # still tagged, or not there
        if any(self._find(c.spec.image) == image_id for c in self.containers.values()):
            return False
        self.removed.append(image_id)
        del self.images[image_id]
        return True

    async def image_exists(self, reference: str) -> bool:
        self._check_up()
        return self._find(reference) is not None

    # --- containers ---------------------------------------------------------------

    async def run(self, spec: ContainerSpec) -> str:
        self._check_up()
        image_id = self._find(spec.image)
        if image_id is None:
            raise ImageMissing(f"No such image: {spec.image}")
        container_id = f"container-{next(self._ids)}"
        self.containers[container_id] = FakeContainer(id=container_id, spec=spec, image_id=image_id)
        return container_id

    def exit(self, container_id: str, code: int) -> None:
        """The container's process ends with ``code``."""
        container = self.containers[container_id]
        if container.status == "running":
            container.status = "exited"
            container.exit_code = code
            container.stopped.set()

    async def wait(self, container_id: str, timeout: float | None = None) -> int:
        self._check_up()
        container = self.containers.get(container_id)
        if container is None:
            raise LookupError(f"No such container: {container_id}")
        try:
            await asyncio.wait_for(container.stopped.wait(), timeout)
        except TimeoutError as e:
            raise WaitTimedOut(container_id) from e
        assert container.exit_code is not None
        return container.exit_code

    async def stop(self, container_id: str, grace_seconds: float = 10) -> None:
        self._check_up()
        if container_id in self.containers:
            self.exit(container_id, 143)

    async def kill(self, container_id: str) -> None:
        self._check_up()
        if container_id in self.containers:
            self.exit(container_id, 137)

    async def remove_container(self, container_id: str) -> None:
        self._check_up()
        self.containers.pop(container_id, None)

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        self._check_up()
        container = self.containers.get(container_id)
        return None if container is None else _info(container)

    async def engine_id(self) -> str:
        self._check_up()
        return "fake-engine"

    async def list_containers(self, labels: Mapping[str, str]) -> list[ContainerInfo]:
        self._check_up()
        return [
            _info(c)
            for c in self.containers.values()
            if all(
                key in c.spec.labels and (not value or c.spec.labels[key] == value)
                for key, value in labels.items()
            )
        ]


def _info(container: FakeContainer) -> ContainerInfo:
    return ContainerInfo(
        id=container.id,
        status=container.status,
        labels=dict(container.spec.labels),
        exit_code=container.exit_code,
        oom_killed=container.oom_killed,
        image_id=container.image_id,
        finished_at=container.finished_at,
    )
