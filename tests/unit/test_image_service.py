"""``ImageService`` on in-memory fakes: assertions on the state left behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pytest

from scripter.domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from scripter.domain.events import (
    DomainEvent,
    ImageBuildFailed,
    ImageBuildRequested,
    ImageBuildStarted,
    ImageBuilt,
    ImageCreated,
    ImageDeleted,
    ImageDestroyed,
)
from scripter.domain.images import (
    DOCKERFILE,
    EXTRA_CA_FILE,
    EXTRA_CA_TARGET,
    Image,
    ImageStatus,
    default_dockerfile,
)
from scripter.domain.ports import (
    ContainerRuntime,
    ContainerSpec,
    FileStore,
    SourceArea,
    UnitOfWorkFactory,
    WaitTimedOut,
)
from scripter.domain.scripts import Script
from scripter.services.images import INTERRUPTED, ImageService, ImageSettings
from tests.unit.fake_files import FakeFileStore
from tests.unit.fake_runtime import BuildScript, EngineDown, FakeContainerRuntime
from tests.unit.fakes import FakeOutbox, FakeStore, FixedClock

IMAGES = SourceArea.IMAGES
BASE = "python:3.12-slim"
BUILD_EVENTS = (
    ImageBuildRequested,
    ImageBuildStarted,
    ImageBuilt,
    ImageBuildFailed,
    ImageDestroyed,
)
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@dataclass
class World:
    clock: FixedClock
    store: FakeStore
    files: FakeFileStore
    runtime: FakeContainerRuntime
    service: ImageService

    async def image(self, image_id: int) -> Image:
        async with self.store.uow() as uow:
            return await uow.images.get(image_id)

    async def events(self) -> list[DomainEvent]:
        return [m.event for m in await FakeOutbox(self.store).pending(limit=1000)]

    async def events_of(self, image_id: int) -> list[type[DomainEvent]]:
        """The types of the build-lifecycle events about the image, in commit order."""
        return [
            type(e)
            for e in await self.events()
            if isinstance(e, BUILD_EVENTS) and e.image_id == image_id
        ]

    async def change(self, image_id: int, **fields: Any) -> Image:
        """Set fields of the stored image directly (to arrange a state)."""
        async with self.store.uow() as uow:
            image = await uow.images.get(image_id)
            for name, value in fields.items():
                setattr(image, name, value)
            await uow.images.update(image)
            await uow.commit()
        return image

    async def create(self, name: str = "etl", **kwargs: Any) -> int:
        detail = await self.service.create(name=name, **kwargs)
        return detail.image.require_id

    async def request(self, image_id: int) -> ImageBuildRequested:
        await self.service.request_build(image_id)
        requests = [
            e
            for e in await self.events()
            if isinstance(e, ImageBuildRequested) and e.image_id == image_id
        ]
        return requests[-1]

    async def build(self, image_id: int, script: BuildScript | None = None) -> Image:
        """Request a build and run it as the worker would."""
        event = await self.request(image_id)
        self.runtime.next_build = script
        await self.service.handle_build_requested(event)
        return await self.image(image_id)

    def log(self, image_id: int) -> str:
        return self.files.log_text(self.files.build_log(image_id))

    def stored_files(self, image_id: int) -> dict[str, bytes]:
        return self.files.files_of(IMAGES, image_id)


def make_world(**settings: Any) -> World:
    clock = FixedClock()
    store = FakeStore(clock)
    files = FakeFileStore(clock=clock)
    runtime = FakeContainerRuntime(files)
    # Typed as the ports: mypy checks that the fakes satisfy them.
    uow: UnitOfWorkFactory = store.uow
    file_port: FileStore = files
    runtime_port: ContainerRuntime = runtime
    service = ImageService(
        uow=uow,
        files=file_port,
        runtime=runtime_port,
        clock=clock,
        settings=ImageSettings(**{"default_base_image": BASE, **settings}),
    )
    return World(clock=clock, store=store, files=files, runtime=runtime, service=service)


@pytest.fixture
def w() -> World:
    return make_world()


# --- create -------------------------------------------------------------------------


async def test_create_writes_the_default_dockerfile_from_the_base_image(w: World):
    detail = await w.service.create(name="etl", description="nightly loads")
    image = detail.image
    assert image.status == ImageStatus.DORMANT and image.description == "nightly loads"
    assert w.stored_files(image.require_id) == {
        "Dockerfile": default_dockerfile(BASE).encode(),
        "requirements.txt": b"",
    }
    assert f"FROM {BASE}" in default_dockerfile(BASE)
    assert [f.path for f in detail.files] == ["Dockerfile", "requirements.txt"]


async def test_create_keeps_the_given_dockerfile_requirements_and_extra_files(w: World):
    detail = await w.service.create(
        name="etl",
        dockerfile="FROM alpine\n",
        requirements="requests\n",
        files={"pkg/b.py": b"b", "a.txt": b"a"},
    )
    assert w.stored_files(detail.image.require_id) == {
        "Dockerfile": b"FROM alpine\n",
        "requirements.txt": b"requests\n",
        "pkg/b.py": b"b",
        "a.txt": b"a",
    }
    assert [f.path for f in detail.files] == [
        "Dockerfile",
        "a.txt",
        "pkg/b.py",
        "requirements.txt",
    ]


async def test_create_publishes_image_created(w: World):
    image_id = await w.create("etl")
    created = [e for e in await w.events() if isinstance(e, ImageCreated)]
    assert [(e.image_id, e.name) for e in created] == [(image_id, "etl")]


async def test_create_refuses_an_extra_file_given_twice_writing_nothing(w: World):
    with pytest.raises(InvalidInput, match="given twice") as caught:
        await w.service.create(name="etl", files=[("conf.ini", b"first"), ("conf.ini", b"last")])
    assert caught.value.field == "files.conf.ini"
    assert w.store.commits == 0 and w.files.sources == {}
    assert await w.events() == []


async def test_create_refuses_a_taken_name_regardless_of_case(w: World):
    await w.create("etl")
    with pytest.raises(Conflict) as caught:
        await w.service.create(name="ETL")
    assert caught.value.field == "name"
    assert [i.name for i in (await w.service.list())[0]] == ["etl"]


@pytest.mark.parametrize("name", ["", "-leading-dash", "has space", "x" * 101, "sl/ash"])
async def test_create_refuses_a_bad_name(w: World, name: str):
    with pytest.raises(InvalidInput) as caught:
        await w.service.create(name=name)
    assert caught.value.field == "name"
    assert w.store.commits == 0


@pytest.mark.parametrize("path", ["../escape", "/etc/passwd", "a//b", "a\\b", "./x", ""])
async def test_create_refuses_a_bad_extra_file_path_naming_it(w: World, path: str):
    with pytest.raises(InvalidInput) as caught:
        await w.service.create(name="etl", files={path: b"x"})
    assert caught.value.field == f"files.{path}"
    assert w.store.commits == 0 and w.files.sources == {}


async def test_create_refuses_an_extra_file_that_repeats_the_dockerfile(w: World):
    with pytest.raises(InvalidInput, match="given twice") as caught:
        await w.service.create(name="etl", files={"Dockerfile": b"FROM x\n"})
    assert caught.value.field == "files.Dockerfile"


async def test_create_refuses_an_oversize_dockerfile():
    w = make_world(max_file_bytes=10)
    with pytest.raises(PayloadTooLarge) as caught:
        await w.service.create(name="etl", dockerfile="FROM " + "x" * 10)
    assert caught.value.field == "dockerfile"
    assert w.store.commits == 0


async def test_create_refuses_an_oversize_extra_file():
    w = make_world(max_file_bytes=10)
    with pytest.raises(PayloadTooLarge) as caught:
        await w.service.create(name="etl", dockerfile="FROM x", files={"big.bin": b"0" * 11})
    assert caught.value.field == "files.big.bin"
    assert w.store.commits == 0 and w.files.sources == {}


async def test_create_refuses_an_overlong_description(w: World):
    with pytest.raises(InvalidInput) as caught:
        await w.service.create(name="etl", description="d" * 2001)
    assert caught.value.field == "description"


async def test_create_commits_nothing_when_writing_files_fails(w: World):
    w.files.fail_writes = True
    with pytest.raises(OSError):
        await w.service.create(name="etl")
    assert w.store.commits == 0
    assert w.store.tables["images"] == {}
    assert await w.events() == []
    assert not w.files.owner_exists(IMAGES, 1)


async def test_create_removes_the_files_already_written_when_a_later_one_fails(w: World):
    # requirements.txt is written first, so "requirements.txt/x" cannot become a folder.
    with pytest.raises(InvalidInput, match="not a folder"):
        await w.service.create(name="etl", files={"requirements.txt/x": b"x"})
    assert w.store.tables["images"] == {}
    assert not w.files.owner_exists(IMAGES, 1)
    # The name is free again.
    assert (await w.service.create(name="etl")).image.name == "etl"


# --- reading ------------------------------------------------------------------------


async def test_get_and_read_file_of_a_missing_image_are_not_found(w: World):
    with pytest.raises(NotFound):
        await w.service.get(42)
    with pytest.raises(NotFound):
        await w.service.read_file(42, "Dockerfile")


async def test_read_file_returns_the_content_or_not_found(w: World):
    image_id = await w.create(dockerfile="FROM alpine\n")
    assert await w.service.read_file(image_id, "Dockerfile") == b"FROM alpine\n"
    with pytest.raises(NotFound):
        await w.service.read_file(image_id, "nope.txt")
    with pytest.raises(InvalidInput):
        await w.service.read_file(image_id, "../secret")


# --- update -------------------------------------------------------------------------


async def test_update_changes_name_and_description(w: World):
    image_id = await w.create("etl")
    w.clock.advance(minutes=5)
    image = await w.service.update(image_id, name="loader", description="new")
    stored = await w.image(image_id)
    assert (stored.name, stored.description) == ("loader", "new")
    assert stored.updated_at == w.clock.now() == image.updated_at


@pytest.mark.parametrize("status", list(ImageStatus))
async def test_update_is_allowed_in_every_status(w: World, status: ImageStatus):
    image_id = await w.create("etl")
    await w.change(image_id, status=status)
    await w.service.update(image_id, name="renamed", description="still fine")
    stored = await w.image(image_id)
    assert (stored.name, stored.description, stored.status) == (
        "renamed",
        "still fine",
        status,
    )


async def test_update_refuses_a_name_another_image_has(w: World):
    await w.create("etl")
    other = await w.create("loader")
    with pytest.raises(Conflict) as caught:
        await w.service.update(other, name="Etl", description="ignored")
    assert caught.value.field == "name"
    stored = await w.image(other)
    assert (stored.name, stored.description) == ("loader", "")


async def test_update_can_change_only_the_case_of_the_name(w: World):
    image_id = await w.create("etl")
    await w.service.update(image_id, name="ETL")
    assert (await w.image(image_id)).name == "ETL"


async def test_update_refuses_a_bad_name(w: World):
    image_id = await w.create("etl")
    with pytest.raises(InvalidInput) as caught:
        await w.service.update(image_id, name="bad name")
    assert caught.value.field == "name"
    assert (await w.image(image_id)).name == "etl"


async def test_update_of_a_missing_image_is_not_found(w: World):
    with pytest.raises(NotFound):
        await w.service.update(9, name="x")


# --- files --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [ImageStatus.DORMANT, ImageStatus.FAILED])
async def test_write_file_adds_and_replaces_while_editable(w: World, status: ImageStatus):
    image_id = await w.create()
    await w.change(image_id, status=status)
    w.clock.advance(minutes=1)
    info = await w.service.write_file(image_id, "src/main.py", b"print(1)")
    await w.service.write_file(image_id, "requirements.txt", b"httpx\n")
    files = w.stored_files(image_id)
    assert files["src/main.py"] == b"print(1)"
    assert files["requirements.txt"] == b"httpx\n"
    assert (info.path, info.size) == ("src/main.py", 8)
    assert (await w.image(image_id)).updated_at == w.clock.now()


@pytest.mark.parametrize("status", [ImageStatus.BUILDING, ImageStatus.BUILT])
async def test_write_file_is_refused_unless_dormant_or_failed(w: World, status: ImageStatus):
    image_id = await w.create()
    await w.change(image_id, status=status)
    before = w.stored_files(image_id)
    with pytest.raises(Conflict, match="dormant or failed"):
        await w.service.write_file(image_id, "requirements.txt", b"httpx\n")
    assert w.stored_files(image_id) == before


async def test_write_file_on_a_built_image_says_to_destroy_it_first(w: World):
    image_id = await w.create()
    await w.change(image_id, status=ImageStatus.BUILT)
    with pytest.raises(Conflict, match="destroy it first"):
        await w.service.write_file(image_id, "x.txt", b"x")


async def test_write_file_refuses_oversize_content():
    w = make_world(max_file_bytes=100)
    image_id = await w.create(dockerfile="FROM x\n")
    with pytest.raises(PayloadTooLarge) as caught:
        await w.service.write_file(image_id, "big.bin", b"0" * 101)
    assert caught.value.field == "content"
    assert "big.bin" not in w.stored_files(image_id)


async def test_write_file_refuses_a_bad_path(w: World):
    image_id = await w.create()
    with pytest.raises(InvalidInput) as caught:
        await w.service.write_file(image_id, "../outside", b"x")
    assert caught.value.field == "path"


@pytest.mark.parametrize("status", [ImageStatus.DORMANT, ImageStatus.FAILED])
async def test_delete_file_removes_it_while_editable(w: World, status: ImageStatus):
    image_id = await w.create(files={"pkg/util.py": b"x"})
    await w.change(image_id, status=status)
    await w.service.delete_file(image_id, "pkg/util.py")
    assert "pkg/util.py" not in w.stored_files(image_id)


@pytest.mark.parametrize("status", [ImageStatus.BUILDING, ImageStatus.BUILT])
async def test_delete_file_is_refused_unless_dormant_or_failed(w: World, status: ImageStatus):
    image_id = await w.create(files={"pkg/util.py": b"x"})
    await w.change(image_id, status=status)
    with pytest.raises(Conflict):
        await w.service.delete_file(image_id, "pkg/util.py")
    assert w.stored_files(image_id)["pkg/util.py"] == b"x"


async def test_the_dockerfile_cannot_be_deleted(w: World):
    image_id = await w.create()
    with pytest.raises(InvalidInput, match="Dockerfile cannot be deleted") as caught:
        await w.service.delete_file(image_id, "Dockerfile")
    assert caught.value.field == "path"
    assert DOCKERFILE in w.stored_files(image_id)


async def test_delete_of_a_missing_file_is_not_found(w: World):
    image_id = await w.create()
    with pytest.raises(NotFound):
        await w.service.delete_file(image_id, "nope.txt")


# --- requesting a build ---------------------------------------------------------------


async def test_request_build_marks_the_image_building_and_queues_the_request(w: World):
    image_id = await w.create()
    image = await w.service.request_build(image_id)
    stored = await w.image(image_id)
    assert image.status == stored.status == ImageStatus.BUILDING
    assert stored.build_started_at is None
    requests = [e for e in await w.events() if isinstance(e, ImageBuildRequested)]
    assert [e.image_id for e in requests] == [image_id]


async def test_request_build_clears_the_error_of_a_failed_build(w: World):
    image_id = await w.create()
    await w.build(image_id, BuildScript(fail="pip exploded"))
    await w.service.request_build(image_id)
    assert (await w.image(image_id)).error is None


async def test_request_build_while_building_is_refused(w: World):
    image_id = await w.create()
    await w.service.request_build(image_id)
    with pytest.raises(IllegalTransition, match="already building"):
        await w.service.request_build(image_id)
    assert (await w.events_of(image_id)).count(ImageBuildRequested) == 1


# --- building (the worker's side) -------------------------------------------------------


async def test_a_successful_build_logs_each_line_and_marks_the_image_built(w: World):
    image_id = await w.create("ETL")
    lines = ["Step 1/3 : FROM python:3.12-slim", "Step 2/3 : RUN pip install", "done"]
    image = await w.build(image_id, BuildScript(lines=lines, image_id="sha256:abc"))
    assert image.status == ImageStatus.BUILT
    assert image.docker_image_id == "sha256:abc"
    assert image.tag == f"scripter/etl:{image_id}"
    assert image.error is None and image.build_finished_at == w.clock.now()
    log = w.log(image_id).splitlines()
    assert log[:3] == lines
    assert log[-1] == f"Built scripter/etl:{image_id} (sha256:abc)"
    assert await w.runtime.image_exists(f"scripter/etl:{image_id}")


async def test_a_build_raises_started_then_built(w: World):
    image_id = await w.create()
    await w.build(image_id)
    assert await w.events_of(image_id) == [ImageBuildRequested, ImageBuildStarted, ImageBuilt]
    built = [e for e in await w.events() if isinstance(e, ImageBuilt)]
    assert built[0].tag == f"scripter/etl:{image_id}"


async def test_a_build_passes_prefix_labels_and_network_to_the_runtime():
    w = make_world(image_prefix="acme", build_network="host")
    image_id = await w.create("Loader")
    image = await w.build(image_id)
    (call,) = w.runtime.builds
    assert call.tag == image.tag == f"acme/loader:{image_id}"
    assert call.labels == {"scripter.image_id": str(image_id)}
    assert call.network_mode == "host"


async def test_a_build_sees_the_stored_files_and_its_staged_copy_is_discarded(w: World):
    image_id = await w.create(files={"pkg/a.py": b"a"})
    await w.build(image_id)
    (call,) = w.runtime.builds
    assert call.files == w.stored_files(image_id)
    assert call.context in w.files.discarded
    assert w.files.staged == {}
    assert all(sink.closed for sink in w.files.sinks)


async def test_a_failed_build_records_the_error_and_ends_the_log_with_it(w: World):
    image_id = await w.create()
    script = BuildScript(lines=["Step 1/2 : FROM x"], fail="pip: no matching distribution")
    image = await w.build(image_id, script)
    assert image.status == ImageStatus.FAILED
    assert image.error == "pip: no matching distribution"
    assert image.docker_image_id is None
    log = w.log(image_id).splitlines()
    assert log[0] == "Step 1/2 : FROM x"
    assert log[-1] == "Build failed: pip: no matching distribution"
    assert await w.events_of(image_id) == [
        ImageBuildRequested,
        ImageBuildStarted,
        ImageBuildFailed,
    ]
    assert w.files.staged == {} and w.runtime.builds[0].context in w.files.discarded


async def test_an_unexpected_runtime_error_fails_the_build_as_could_not_run(w: World):
    image_id = await w.create()
    image = await w.build(image_id, BuildScript(raises=RuntimeError("socket closed")))
    assert image.status == ImageStatus.FAILED
    assert image.error == "the build could not run: RuntimeError: socket closed"
    assert w.log(image_id).splitlines()[-1] == image.error
    assert w.files.staged == {}
    assert all(sink.closed for sink in w.files.sinks)


async def test_an_unreachable_engine_fails_the_build_as_could_not_run(w: World):
    image_id = await w.create()
    w.runtime.down = True
    image = await w.build(image_id)
    assert image.status == ImageStatus.FAILED
    assert (image.error or "").startswith("the build could not run: EngineDown")


async def test_a_build_that_cannot_stage_its_context_fails_and_closes_its_log(w: World):
    image_id = await w.create()
    w.files.fail_stage = True
    image = await w.build(image_id)
    assert image.status == ImageStatus.FAILED
    assert (image.error or "").startswith("the build could not run: OSError")
    assert w.runtime.builds == []
    assert all(sink.closed for sink in w.files.sinks)


async def test_a_rebuild_after_a_failure_succeeds_and_clears_the_error(w: World):
    image_id = await w.create()
    await w.build(image_id, BuildScript(fail="boom"))
    image = await w.build(image_id)
    assert image.status == ImageStatus.BUILT and image.error is None
    assert "boom" not in w.log(image_id)  # the log starts afresh


async def test_a_rebuild_removes_the_image_it_replaced(w: World):
    image_id = await w.create()
    await w.build(image_id, BuildScript(image_id="sha256:old"))
    image = await w.build(image_id, BuildScript(image_id="sha256:new"))
    assert image.docker_image_id == "sha256:new"
    # The old one lost its tag to the new build: left, it would be a dangling image.
    assert not await w.runtime.image_exists("sha256:old")
    assert await w.runtime.image_exists(image.tag or "")


async def test_a_replaced_image_stays_while_tagged_elsewhere_or_in_use(w: World):
    first, second = await w.create("first"), await w.create("second")
    await w.build(first, BuildScript(image_id="sha256:shared"))
    w.runtime.add_image("sha256:shared", "someone/else:1")  # same content, another tag
    await w.build(first, BuildScript(image_id="sha256:first-2"))
    assert await w.runtime.image_exists("sha256:shared")

    await w.build(second, BuildScript(image_id="sha256:busy"))
    await w.runtime.run(ContainerSpec(image="sha256:busy", command=["python3"]))  # a job
    rebuilt = await w.build(second, BuildScript(image_id="sha256:second-2"))
    assert rebuilt.status == ImageStatus.BUILT
    assert await w.runtime.image_exists("sha256:busy")


async def test_a_rebuild_to_the_same_image_removes_nothing(w: World):
    image_id = await w.create()
    await w.build(image_id, BuildScript(image_id="sha256:same"))
    image = await w.build(image_id, BuildScript(image_id="sha256:same"))  # the layer cache
    assert await w.runtime.image_exists("sha256:same") and image.status == ImageStatus.BUILT


async def test_extra_ca_certificates_go_into_the_staged_context_only():
    w = make_world(extra_ca_pem=PEM)
    dockerfile = "FROM python:3.12 AS build\nRUN make\nfrom python:3.12-slim\nCMD run\n"
    image_id = await w.create(dockerfile=dockerfile)
    await w.build(image_id)
    (call,) = w.runtime.builds
    assert call.files is not None
    assert call.files[EXTRA_CA_FILE] == PEM
    staged = call.files[DOCKERFILE].decode().splitlines()
    copy = f"COPY {EXTRA_CA_FILE} {EXTRA_CA_TARGET}"
    env = (
        f"ENV PIP_CERT={EXTRA_CA_TARGET} REQUESTS_CA_BUNDLE={EXTRA_CA_TARGET} "
        f"SSL_CERT_FILE={EXTRA_CA_TARGET}"
    )
    assert staged == [
        "FROM python:3.12 AS build",
        copy,
        env,
        "RUN make",
        "from python:3.12-slim",
        copy,
        env,
        "CMD run",
    ]
    stored = w.stored_files(image_id)
    assert stored[DOCKERFILE] == dockerfile.encode()
    assert EXTRA_CA_FILE not in stored


async def test_without_extra_ca_certificates_the_context_is_the_stored_files(w: World):
    image_id = await w.create(dockerfile="FROM alpine\n")
    await w.build(image_id)
    assert w.runtime.builds[0].files == {
        "Dockerfile": b"FROM alpine\n",
        "requirements.txt": b"",
    }


async def test_a_second_delivery_after_the_build_ended_does_nothing(w: World):
    image_id = await w.create()
    event = await w.request(image_id)
    await w.service.handle_build_requested(event)
    before = (await w.image(image_id), await w.events(), w.log(image_id))
    await w.service.handle_build_requested(event)
    after = (await w.image(image_id), await w.events(), w.log(image_id))
    assert len(w.runtime.builds) == 1
    assert after[0].status == ImageStatus.BUILT and after[0].version == before[0].version
    assert after[1:] == before[1:]


async def test_a_delivery_for_a_build_that_started_but_never_ended_fails_it(w: World):
    image_id = await w.create()
    event = await w.request(image_id)
    await w.change(image_id, build_started_at=w.clock.now())
    await w.service.handle_build_requested(event)
    image = await w.image(image_id)
    assert image.status == ImageStatus.FAILED
    assert image.error == INTERRUPTED and "worker" in INTERRUPTED and "stopped" in INTERRUPTED
    assert w.runtime.builds == []
    assert (await w.events_of(image_id))[-1] is ImageBuildFailed


async def test_a_request_for_a_deleted_image_is_ignored(w: World):
    image_id = await w.create()
    event = await w.request(image_id)
    await w.change(image_id, status=ImageStatus.DORMANT)
    await w.service.delete(image_id)
    await w.service.handle_build_requested(event)
    assert w.runtime.builds == []
    assert not w.files.owner_exists(IMAGES, image_id)


async def test_a_request_for_an_image_no_longer_building_is_ignored(w: World):
    image_id = await w.create()
    event = await w.request(image_id)
    await w.change(image_id, status=ImageStatus.DORMANT)
    await w.service.handle_build_requested(event)
    assert w.runtime.builds == []
    assert (await w.image(image_id)).status == ImageStatus.DORMANT


# --- destroy ------------------------------------------------------------------------


async def test_destroy_removes_the_docker_image_and_keeps_the_files(w: World):
    image_id = await w.create(files={"a.txt": b"a"})
    built = await w.build(image_id)
    files = w.stored_files(image_id)
    image = await w.service.destroy(image_id)
    stored = await w.image(image_id)
    assert image.status == stored.status == ImageStatus.DORMANT
    assert stored.docker_image_id is None
    assert built.tag and stored.tag is None  # it named the Docker image just removed
    assert w.runtime.images == {}
    assert not await w.runtime.image_exists(built.tag)
    assert w.stored_files(image_id) == files
    assert (await w.events_of(image_id))[-1] is ImageDestroyed


@pytest.mark.parametrize("status", [ImageStatus.DORMANT, ImageStatus.BUILDING, ImageStatus.FAILED])
async def test_destroy_is_refused_unless_built(w: World, status: ImageStatus):
    image_id = await w.create()
    await w.change(image_id, status=status)
    with pytest.raises(IllegalTransition, match="only a built image"):
        await w.service.destroy(image_id)
    assert (await w.image(image_id)).status == status
    assert w.runtime.removed == []


async def test_destroy_leaves_the_image_built_when_docker_refuses(w: World):
    image_id = await w.create()
    await w.build(image_id)
    w.runtime.down = True
    with pytest.raises(EngineDown):
        await w.service.destroy(image_id)
    assert (await w.image(image_id)).status == ImageStatus.BUILT
    w.runtime.down = False
    assert await w.runtime.image_exists(f"scripter/etl:{image_id}")


async def test_destroy_is_a_conflict_while_a_job_runs_on_the_image(w: World):
    image_id = await w.create()
    built = await w.build(image_id)
    await w.runtime.run(ContainerSpec(image=built.tag or "", command=["python3"]))
    with pytest.raises(Conflict, match="in use by a running job"):
        await w.service.destroy(image_id)
    assert (await w.image(image_id)).status == ImageStatus.BUILT
    assert await w.runtime.image_exists(built.tag or "")


# --- delete -------------------------------------------------------------------------


async def add_script(w: World, name: str, image_id: int) -> None:
    now = w.clock.now()
    async with w.store.uow() as uow:
        await uow.scripts.add(Script(name=name, image_id=image_id, created_at=now, updated_at=now))
        await uow.commit()


async def test_delete_is_refused_while_building(w: World):
    image_id = await w.create()
    await w.service.request_build(image_id)
    with pytest.raises(Conflict, match="is building"):
        await w.service.delete(image_id)
    assert (await w.image(image_id)).status == ImageStatus.BUILDING
    assert w.files.owner_exists(IMAGES, image_id)


async def test_delete_is_refused_while_scripts_use_it_naming_them_sorted(w: World):
    image_id = await w.create()
    await w.build(image_id)
    for name in ("zeta", "Alpha", "mid"):
        await add_script(w, name, image_id)
    with pytest.raises(Conflict, match=r"used by scripts: Alpha, mid, zeta$"):
        await w.service.delete(image_id)
    assert (await w.image(image_id)).status == ImageStatus.BUILT
    assert await w.runtime.image_exists(f"scripter/etl:{image_id}")
    assert w.files.owner_exists(IMAGES, image_id)


async def test_delete_removes_the_record_the_files_the_log_and_the_docker_image(w: World):
    image_id = await w.create()
    await w.build(image_id)
    await w.service.delete(image_id)
    with pytest.raises(NotFound):
        await w.image(image_id)
    assert not w.files.owner_exists(IMAGES, image_id)
    assert w.files.build_log(image_id) not in w.files.logs
    assert w.runtime.images == {}


async def test_delete_publishes_image_deleted(w: World):
    image_id = await w.create("etl")
    await w.service.delete(image_id)
    deleted = [e for e in await w.events() if isinstance(e, ImageDeleted)]
    assert [(e.image_id, e.name) for e in deleted] == [(image_id, "etl")]


async def test_a_refused_delete_publishes_nothing(w: World):
    image_id = await w.create()
    await add_script(w, "report", image_id)
    with pytest.raises(Conflict):
        await w.service.delete(image_id)
    assert not [e for e in await w.events() if isinstance(e, ImageDeleted)]


async def test_delete_after_destroy_asks_docker_for_nothing(w: World):
    image_id = await w.create()
    built = await w.build(image_id)
    await w.service.destroy(image_id)
    assert w.runtime.removed == [built.docker_image_id]
    await w.service.delete(image_id)
    assert w.runtime.removed == [built.docker_image_id]


async def test_a_name_docker_refuses_builds_under_a_tag_docker_accepts(w: World):
    image_id = await w.create("Nightly..ETL-")
    image = await w.build(image_id)
    assert image.status == ImageStatus.BUILT
    assert image.tag == w.runtime.builds[0].tag == f"scripter/nightly.etl:{image_id}"


async def test_delete_of_a_never_built_image_leaves_docker_alone(w: World):
    image_id = await w.create()
    await w.service.delete(image_id)
    assert w.runtime.removed == []
    assert w.store.tables["images"] == {}
    assert not w.files.owner_exists(IMAGES, image_id)


async def test_delete_of_a_missing_image_is_not_found(w: World):
    with pytest.raises(NotFound):
        await w.service.delete(5)


# --- recovery -----------------------------------------------------------------------


async def arrange_interrupted(w: World) -> tuple[int, int, int]:
    """One build started, one waiting, one image built (untouchable)."""
    started, waiting, built = [await w.create(n) for n in ("started", "waiting", "built")]
    await w.build(built)
    await w.service.request_build(started)
    await w.change(started, build_started_at=w.clock.now())
    await w.service.request_build(waiting)
    return started, waiting, built


async def test_recovery_fails_started_builds_and_requeues_waiting_ones(w: World):
    started, waiting, built = await arrange_interrupted(w)
    requests_before = (await w.events_of(waiting)).count(ImageBuildRequested)
    touched = await w.service.recover_interrupted_builds(requeue_before=w.clock.advance(seconds=1))
    assert sorted(touched) == [started, waiting]
    image = await w.image(started)
    assert image.status == ImageStatus.FAILED and image.error == INTERRUPTED
    assert (await w.image(waiting)).status == ImageStatus.BUILDING
    assert (await w.events_of(waiting)).count(ImageBuildRequested) == requests_before + 1
    assert (await w.image(built)).status == ImageStatus.BUILT


async def test_recovery_without_requeue_leaves_waiting_builds_untouched(w: World):
    started, waiting, _ = await arrange_interrupted(w)
    before = await w.image(waiting)
    events_before = await w.events_of(waiting)
    touched = await w.service.recover_interrupted_builds(requeue_before=None)
    assert list(touched) == [started]
    after = await w.image(waiting)
    assert (after.status, after.version) == (ImageStatus.BUILDING, before.version)
    assert await w.events_of(waiting) == events_before
    assert (await w.image(started)).status == ImageStatus.FAILED


async def test_requests_made_after_the_restart_are_not_requeued(w: World):
    _, waiting, _ = await arrange_interrupted(w)
    events_before = await w.events_of(waiting)
    # The process (re)started before this build was requested: it is this process's.
    await w.service.recover_interrupted_builds(requeue_before=w.clock.now())
    assert await w.events_of(waiting) == events_before


async def test_a_requeued_request_builds_the_waiting_image(w: World):
    _, waiting, _ = await arrange_interrupted(w)
    await w.service.recover_interrupted_builds(requeue_before=w.clock.advance(seconds=1))
    last = [e for e in await w.events() if isinstance(e, ImageBuildRequested)][-1]
    await w.service.handle_build_requested(last)
    assert (await w.image(waiting)).status == ImageStatus.BUILT


# --- listing ------------------------------------------------------------------------


async def test_list_pages_newest_first_with_a_cursor(w: World):
    ids = [await w.create(f"img{n}") for n in range(5)]
    page, cursor = await w.service.list(limit=2)
    assert [i.require_id for i in page] == [ids[4], ids[3]] and cursor == ids[3]
    page, cursor = await w.service.list(limit=2, before_id=cursor)
    assert [i.require_id for i in page] == [ids[2], ids[1]] and cursor == ids[1]
    page, cursor = await w.service.list(limit=2, before_id=cursor)
    assert [i.require_id for i in page] == [ids[0]] and cursor is None


async def test_list_has_no_cursor_when_the_page_is_exactly_full(w: World):
    for n in range(2):
        await w.create(f"img{n}")
    page, cursor = await w.service.list(limit=2)
    assert len(page) == 2 and cursor is None


async def test_list_filters_by_status(w: World):
    dormant = await w.create("a")
    built = await w.create("b")
    await w.build(built)
    failed = await w.create("c")
    await w.build(failed, BuildScript(fail="no"))
    assert [i.require_id for i in (await w.service.list(status=ImageStatus.BUILT))[0]] == [built]
    page, _ = await w.service.list(status=ImageStatus.DORMANT)
    assert [i.require_id for i in page] == [dormant]
    page, _ = await w.service.list()
    assert [i.require_id for i in page] == [failed, built, dormant]


# --- build log ----------------------------------------------------------------------


async def test_read_build_log_refuses_a_negative_offset(w: World):
    image_id = await w.create()
    with pytest.raises(InvalidInput) as caught:
        await w.service.read_build_log(image_id, offset=-1)
    assert caught.value.field == "offset"


async def test_read_build_log_reads_from_an_offset(w: World):
    image_id = await w.create()
    await w.build(image_id, BuildScript(lines=["first", "second"]))
    whole, size = await w.service.read_build_log(image_id)
    assert whole.startswith(b"first\nsecond\n") and size == len(whole)
    assert await w.service.read_build_log(image_id, offset=6) == (whole[6:], size)
    assert await w.service.read_build_log(image_id, offset=6, limit=6) == (b"second", size)
    assert await w.service.read_build_log(image_id, offset=len(whole)) == (b"", size)


async def test_read_build_log_is_empty_before_any_build(w: World):
    image_id = await w.create()
    assert await w.service.read_build_log(image_id) == (b"", 0)


async def test_read_build_log_of_a_missing_image_is_not_found(w: World):
    with pytest.raises(NotFound):
        await w.service.read_build_log(3)


# --- the fakes themselves -------------------------------------------------------------


async def test_fake_file_store_keeps_the_local_store_contracts():
    files = FakeFileStore()
    await files.write_file(IMAGES, 1, PurePosixPath("b/x.py"), b"x")
    await files.write_file(IMAGES, 1, PurePosixPath("a.txt"), b"aa")
    assert [(f.path, f.size) for f in await files.list_files(IMAGES, 1)] == [
        ("a.txt", 2),
        ("b/x.py", 1),
    ]
    with pytest.raises(InvalidInput, match="is a folder"):
        await files.write_file(IMAGES, 1, PurePosixPath("b"), b"x")
    with pytest.raises(InvalidInput, match="not a folder"):
        await files.write_file(IMAGES, 1, PurePosixPath("a.txt/y"), b"x")
    with pytest.raises(NotFound):
        await files.delete_file(IMAGES, 1, PurePosixPath("nope"))
    sink = await files.open_log(files.build_log(1), truncate=True)
    sink.write(b"0123456789")
    sink.close()
    again = await files.open_log(files.build_log(1), truncate=False)
    again.write(b"ab")
    assert await files.read_range(files.build_log(1), 8, 3) == b"89a"
    await files.delete_owner(IMAGES, 1)
    await files.delete_owner(IMAGES, 1)
    assert await files.list_files(IMAGES, 1) == []
    assert await files.read_range(files.build_log(1)) == b""


async def test_fake_runtime_removes_a_tag_or_the_whole_image():
    runtime = FakeContainerRuntime()
    runtime.add_image("sha256:1", "a:1", "b:1")
    await runtime.remove_image("a:1")
    assert await runtime.image_exists("sha256:1") and not await runtime.image_exists("a:1")
    await runtime.remove_image("sha256:1")
    await runtime.remove_image("sha256:1")  # missing is fine
    assert runtime.images == {}
    runtime.down = True
    with pytest.raises(EngineDown):
        await runtime.ping()


async def test_fake_runtime_containers_run_wait_and_stop():
    runtime = FakeContainerRuntime()
    runtime.add_image("sha256:1", "py:1")
    spec = ContainerSpec(image="py:1", command=["python"], labels={"job": "7"})
    container_id = await runtime.run(spec)
    with pytest.raises(WaitTimedOut):
        await runtime.wait(container_id, timeout=0.01)
    assert [c.id for c in await runtime.list_containers({"job": ""})] == [container_id]
    assert await runtime.list_containers({"job": "8"}) == []
    await runtime.stop(container_id)
    assert await runtime.wait(container_id) == 143
    await runtime.remove_container(container_id)
    await runtime.remove_container(container_id)
    assert await runtime.list_containers({}) == []
