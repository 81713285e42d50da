"""Image use cases: define, edit, build, destroy, delete; and the build handler."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from scripter.domain.clock import Clock
from scripter.domain.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from scripter.domain.events import DomainEvent, ImageBuildRequested, ImageCreated, ImageDeleted
from scripter.domain.images import (
    DOCKERFILE,
    EXTRA_CA_FILE,
    REQUIREMENTS,
    Image,
    ImageStatus,
    default_dockerfile,
    validate_image_name,
    with_extra_ca_certificates,
)
from scripter.domain.names import validate_description
from scripter.domain.paths import validate_relative_path
from scripter.domain.ports import (
    BuildFailed,
    BuildResult,
    ContainerRuntime,
    FileInfo,
    FileStore,
    ImageInUse,
    SourceArea,
    UnitOfWorkFactory,
)
from scripter.services.paging import newest_first_page

log = logging.getLogger(__name__)

IMAGES = SourceArea.IMAGES
IMAGE_LABEL = "scripter.image_id"
DEFAULT_REQUIREMENTS = ""
"""A new image's requirements.txt: no packages beyond the base image's."""


@dataclass(kw_only=True, frozen=True)
class ImageSettings:
    default_base_image: str = "python:3.12-slim"
    max_file_bytes: int = 5 * 1024 * 1024
    build_network: str | None = None
    image_prefix: str = "scripter"
    extra_ca_pem: bytes | None = None
    """The extra CA certificates, concatenated; None when there are none."""


@dataclass(kw_only=True, frozen=True)
class ImageDefaults:
    """What a new image that names no Dockerfile and no requirements starts with."""

    base_image: str
    dockerfile: str
    requirements: str


@dataclass(kw_only=True, frozen=True)
class ImageDetail:
    image: Image
    files: list[FileInfo]


class ImageService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        files: FileStore,
        runtime: ContainerRuntime,
        clock: Clock,
        settings: ImageSettings,
    ) -> None:
        self._uow = uow
        self._files = files
        self._runtime = runtime
        self._clock = clock
        self._settings = settings
        self._building_here: dict[str, asyncio.Lock] = {}
        """One on-demand build per missing tag at a time (``ensure_built_here``)."""

    # --- reading ------------------------------------------------------------------

    async def get(self, image_id: int) -> ImageDetail:
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
        return ImageDetail(image=image, files=await self._files.list_files(IMAGES, image_id))

    async def list_files(self, image_id: int) -> builtins.list[FileInfo]:
        """The files of the image's ``src/``, sorted by path."""
        return (await self.get(image_id)).files

    async def list(
        self, *, status: ImageStatus | None = None, before_id: int | None = None, limit: int = 50
    ) -> tuple[list[Image], int | None]:
        """Newest first; returns the page and the cursor of the next one (None at the end).
        Images number in the tens, so the page is cut here rather than in SQL."""
        async with self._uow() as uow:
            images = await (
                uow.images.list_by_status(status) if status is not None else uow.images.list()
            )
        return newest_first_page(images, before_id=before_id, limit=limit)

    def defaults(self) -> ImageDefaults:
        """The files ``create`` writes when none are given (with the configured base)."""
        base = self._settings.default_base_image
        return ImageDefaults(
            base_image=base, dockerfile=default_dockerfile(base), requirements=DEFAULT_REQUIREMENTS
        )

    @property
    def max_file_bytes(self) -> int:
        return self._settings.max_file_bytes

    async def read_file(self, image_id: int, path: str) -> bytes:
        async with self._uow() as uow:
            await uow.images.get(image_id)
        return await self._files.read_file(IMAGES, image_id, validate_relative_path(path))

    async def read_build_log(
        self, image_id: int, offset: int = 0, limit: int | None = None
    ) -> tuple[bytes, int]:
        """The bytes from ``offset`` (at most ``limit``) and the log's whole size."""
        if offset < 0:
            raise InvalidInput("offset must be 0 or more", field="offset")
        async with self._uow() as uow:
            await uow.images.get(image_id)
        path = self._files.build_log(image_id)
        size = await self._files.size(path)
        return await self._files.read_range(path, offset, limit), size

    # --- defining and editing -----------------------------------------------------

    async def create(
        self,
        *,
        name: str,
        description: str = "",
        dockerfile: str | None = None,
        requirements: str = DEFAULT_REQUIREMENTS,
        files: Mapping[str, bytes] | Sequence[tuple[str, bytes]] | None = None,
    ) -> ImageDetail:
        """A new dormant image. ``files`` maps extra paths to contents, or lists (path,
        content) pairs, so that a path given twice is refused rather than the last kept."""
        validate_image_name(name)
        validate_description(description)
        sources = {
            DOCKERFILE: (
                dockerfile or default_dockerfile(self._settings.default_base_image)
            ).encode(),
            REQUIREMENTS: requirements.encode(),
        }
        extra = files or ()
        for raw_path, content in extra.items() if isinstance(extra, Mapping) else extra:
            path = str(validate_relative_path(raw_path, field=f"files.{raw_path}"))
            if path in sources:
                raise InvalidInput(f"{path} is given twice", field=f"files.{raw_path}")
            sources[path] = content
        for path, content in sources.items():
            self._check_size(content, field="dockerfile" if path == DOCKERFILE else f"files.{path}")
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.images.get_by_name(name) is not None:
                raise Conflict(f"an image named {name!r} already exists", field="name")
            image = await uow.images.add(
                Image(name=name, description=description, created_at=now, updated_at=now)
            )
            uow.emit(ImageCreated(image_id=image.require_id, name=name))
            # Files first, commit last: if writing fails nothing is committed, and if the
            # commit fails the folder is removed again.
            try:
                for path, content in sources.items():
                    await self._files.write_file(
                        IMAGES, image.require_id, PurePosixPath(path), content
                    )
                await uow.commit()
            except BaseException:
                await self._files.delete_owner(IMAGES, image.require_id)
                raise
        return await self.get(image.require_id)

    async def update(
        self, image_id: int, *, name: str | None = None, description: str | None = None
    ) -> Image:
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
            if name is not None and name != image.name:
                validate_image_name(name)
                # Names are unique regardless of case: the image itself may hold this one.
                holder = await uow.images.get_by_name(name)
                if holder is not None and holder.id != image.id:
                    raise Conflict(f"an image named {name!r} already exists", field="name")
                image.name = name
            if description is not None:
                validate_description(description)
                image.description = description
            image.updated_at = self._clock.now()
            await uow.images.update(image)
            await uow.commit()
        return image

    async def write_file(self, image_id: int, path: str, content: bytes) -> FileInfo:
        relative = validate_relative_path(path)
        self._check_size(content, field="content")
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
            _require_editable(image)
            # Save the record first: its version check (and the row lock it takes)
            # orders this edit against a build request made at the same moment.
            image.updated_at = self._clock.now()
            await uow.images.update(image)
            async with self._restoring(image_id, relative):
                await self._files.write_file(IMAGES, image_id, relative, content)
                await uow.commit()
        return FileInfo(path=str(relative), size=len(content), modified_at=image.updated_at)

    @contextlib.asynccontextmanager
    async def _restoring(self, image_id: int, path: PurePosixPath) -> AsyncIterator[None]:
        """Put the file back as it was if the block fails (the edit was not committed)."""
        try:
            before: bytes | None = await self._files.read_file(IMAGES, image_id, path)
        except NotFound:
            before = None
        try:
            yield
        except BaseException:
            if before is None:
                with contextlib.suppress(NotFound):
                    await self._files.delete_file(IMAGES, image_id, path)
            else:
                await self._files.write_file(IMAGES, image_id, path, before)
            raise

    async def delete_file(self, image_id: int, path: str) -> None:
        relative = validate_relative_path(path)
        if str(relative) == DOCKERFILE:
            raise InvalidInput("the Dockerfile cannot be deleted; edit it instead", field="path")
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
            _require_editable(image)
            image.updated_at = self._clock.now()
            await uow.images.update(image)
            async with self._restoring(image_id, relative):
                await self._files.delete_file(IMAGES, image_id, relative)
                await uow.commit()

    # --- lifecycle ----------------------------------------------------------------

    async def request_build(self, image_id: int) -> Image:
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
            image.request_build(self._clock.now())
            await uow.images.update(image)
            await uow.commit()
        return image

    async def destroy(self, image_id: int) -> Image:
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
            docker_ref = image.docker_image_id or image.tag
            image.destroy(self._clock.now())
            # Remove the Docker image before committing: if Docker refuses, the
            # record still says built, which is the truth.
            if docker_ref:
                await self._remove_docker_image(image, docker_ref)
            await uow.images.update(image)
            await uow.commit()
        return image

    async def delete(self, image_id: int) -> None:
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
            if image.status == ImageStatus.BUILDING:
                raise Conflict(f"image {image.name!r} is building; wait for the build to end")
            users = await uow.scripts.list_by_image(image_id)
            if users:
                names = ", ".join(sorted(s.name for s in users))
                raise Conflict(f"image {image.name!r} is used by scripts: {names}")
            if image.docker_image_id or image.tag:
                await self._remove_docker_image(image, image.docker_image_id or image.tag or "")
            await uow.images.delete(image_id)
            uow.emit(ImageDeleted(image_id=image_id, name=image.name))
            await uow.commit()
        await self._files.delete_owner(IMAGES, image_id)

    async def _remove_docker_image(self, image: Image, reference: str) -> None:
        try:
            await self._runtime.remove_image(reference)
        except ImageInUse:
            raise Conflict(
                f"image {image.name!r} is in use by a running job; wait for it to end or cancel it"
            ) from None

    # --- the worker's side ----------------------------------------------------------

    async def handle_build_requested(self, event: DomainEvent) -> None:
        """Build the image the event names. Idempotent: a redelivered request for a
        build that already ended is ignored; one for a build that had started means
        the worker running it died (RabbitMQ redelivers unacknowledged messages), so
        that build is marked failed with the reason."""
        assert isinstance(event, ImageBuildRequested)
        async with self._uow() as uow:
            try:
                image = await uow.images.get(event.image_id)
            except NotFound:
                log.info("build of image %s skipped: the image was deleted", event.image_id)
                return
            if image.status != ImageStatus.BUILDING:
                return
            if image.build_started_at is not None:
                image.fail_build(self._clock.now(), INTERRUPTED)
                await uow.images.update(image)
                await uow.commit()
                return
            image.start_build(self._clock.now())
            await uow.images.update(image)
            await uow.commit()
        await self._build(image)

    async def _build(self, image: Image) -> None:
        image_id = image.require_id
        tag = image.docker_tag(self._settings.image_prefix)
        try:
            sink = await self._files.open_log(self._files.build_log(image_id), truncate=True)
        except OSError as exc:
            await self._finish(image_id, error=f"the build log cannot be written: {exc}")
            return
        try:
            # Everything that can fail is inside the try: a failure fails the build (and
            # closes the log) rather than leaving it building until a redelivery.
            result = await self._stage_and_build(
                image_id, tag, lambda line: sink.write(line.encode() + b"\n")
            )
        except BuildFailed as failure:
            sink.write(f"\nBuild failed: {failure.message}\n".encode())
            await self._finish(image_id, error=failure.message)
        except Exception as exc:
            message = f"the build could not run: {type(exc).__name__}: {exc}"
            sink.write(f"\n{message}\n".encode())
            await self._finish(image_id, error=message)
        else:
            sink.write(f"\nBuilt {result.tag} ({result.image_id})\n".encode())
            await self._finish(image_id, docker_image_id=result.image_id, tag=result.tag)
        finally:
            sink.close()

    async def _stage_and_build(
        self, image_id: int, tag: str, on_line: Callable[[str], None]
    ) -> BuildResult:
        """Build the image's ``src/`` (plus the extra CA certificates) on this worker's
        engine as ``tag``; the image's record is not touched."""
        context: Path | None = None
        try:
            overrides: dict[str, bytes] = {}
            if self._settings.extra_ca_pem:
                dockerfile = await self._files.read_file(
                    IMAGES, image_id, PurePosixPath(DOCKERFILE)
                )
                overrides[DOCKERFILE] = with_extra_ca_certificates(dockerfile.decode()).encode()
                overrides[EXTRA_CA_FILE] = self._settings.extra_ca_pem
            context = await self._files.stage_copy(IMAGES, image_id, overrides)
            return await self._runtime.build_image(
                context,
                tag,
                on_line,
                labels={IMAGE_LABEL: str(image_id)},
                network_mode=self._settings.build_network,
            )
        finally:
            if context is not None:
                await self._files.discard_stage(context)

    async def ensure_built_here(self, image_id: int, tag: str, note: Callable[[str], None]) -> None:
        """Make sure ``tag`` is on this worker's Docker engine, building it from the
        image's definition if it is not. An image lives on the engine that built it: a
        worker on another host (its own engine, the shared data directory) builds its
        own copy the first time a job needs it. Only a ``built`` image whose tag is
        still ``tag`` is built (its files cannot change while it is built, so the copy
        is what was built elsewhere); ``note`` is told what happens, for the job's log.
        Jobs of one worker that need the same missing image wait for one build."""
        lock = self._building_here.setdefault(tag, asyncio.Lock())
        async with lock:
            if await self._runtime.image_exists(tag):
                return
            async with self._uow() as uow:
                image = await uow.images.get(image_id)
            if image.status != ImageStatus.BUILT or image.tag != tag:
                raise Conflict(
                    f"image {image.name!r} is {image.status}"
                    + (f" as {image.tag}" if image.tag else "")
                    + f", not {tag}: rebuild it, then run the script again",
                    field="image_id",
                )
            note(f"image {tag} is not on this worker's Docker engine: building it here")
            result = await self._stage_and_build(image_id, tag, lambda line: None)
            note(f"built {result.tag} ({result.image_id}) on this engine")

    async def _finish(
        self, image_id: int, *, error: str | None = None, docker_image_id: str = "", tag: str = ""
    ) -> None:
        async with self._uow() as uow:
            image = await uow.images.get(image_id)
            replaced = image.docker_image_id
            if error is None:
                image.finish_build(self._clock.now(), docker_image_id=docker_image_id, tag=tag)
            else:
                image.fail_build(self._clock.now(), error)
            await uow.images.update(image)
            await uow.commit()
        if error is None and replaced and replaced != docker_image_id:
            await self._drop_replaced(image_id, replaced)

    async def _drop_replaced(self, image_id: int, replaced: str) -> None:
        """The image a rebuild replaced has lost its tag: without this every rebuild
        would leave one more untagged image on the engine. It stays while a job still
        runs on it or another tag names it; the next rebuild does not come back for
        it (``docker image prune`` does)."""
        try:
            if await self._runtime.remove_untagged_image(replaced):
                log.info("image %s: removed %s, replaced by the rebuild", image_id, replaced)
        except Exception as exc:  # the build succeeded; a leftover is no reason to fail it
            log.warning("image %s: could not remove the replaced %s: %s", image_id, replaced, exc)

    async def recover_interrupted_builds(
        self, *, requeue_before: datetime | None = None
    ) -> Sequence[int]:
        """After a restart of a single-process deployment (in-process bus, whose queue
        died with the process): builds that had started are marked failed, and those
        requested before ``requeue_before`` are requested again (later ones were
        requested by this process). Returns the ids of the builds touched.
        With RabbitMQ, don't call this: waiting requests are still queued, and a
        started build's request is redelivered, which ``handle_build_requested``
        turns into the same failure."""
        touched: list[int] = []
        async with self._uow() as uow:
            for image in await uow.images.list_by_status(ImageStatus.BUILDING):
                if image.build_started_at is not None:
                    image.fail_build(self._clock.now(), INTERRUPTED)
                elif requeue_before is not None and image.updated_at < requeue_before:
                    uow.emit(ImageBuildRequested(image_id=image.require_id))
                else:
                    continue
                await uow.images.update(image)
                touched.append(image.require_id)
            await uow.commit()
        return touched

    def _check_size(self, content: bytes, *, field: str) -> None:
        limit = self._settings.max_file_bytes
        if len(content) > limit:
            raise PayloadTooLarge(
                f"the file is {len(content)} bytes; the limit is {limit} bytes", field=field
            )


INTERRUPTED = "the worker running this build stopped before it ended; build again"


def _require_editable(image: Image) -> None:
    if not image.files_editable:
        raise Conflict(
            f"image {image.name!r} is {image.status}: files can be changed only while it is "
            "dormant or failed"
            + (" (destroy it first)" if image.status == ImageStatus.BUILT else "")
        )
