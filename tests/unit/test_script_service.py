"""``ScriptService`` on in-memory fakes: assertions on the state left behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pytest

from scripter.domain.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from scripter.domain.events import DomainEvent, ScriptDeleted, ScriptSaved
from scripter.domain.images import Image
from scripter.domain.jobs import Job, JobStatus
from scripter.domain.ports import FileStore, SourceArea, UnitOfWork, UnitOfWorkFactory
from scripter.domain.scripts import (
    HELLO_WORLD,
    EnvVar,
    NetworkMode,
    ResourceLimits,
    Script,
    ScriptRevision,
    content_hash,
)
from scripter.services.script_changes import EnvInput, LimitsPatch, ScriptPatch
from scripter.services.scripts import ScriptService, ScriptServiceSettings
from tests.unit.fake_files import FakeFileStore
from tests.unit.fakes import FakeOutbox, FakeStore, FakeUnitOfWork, FixedClock

SCRIPTS = SourceArea.SCRIPTS


class FlakyFileStore(FakeFileStore):
    """Fails the next ``fail_next_writes`` writes, then works again (a full disk that
    someone cleaned up)."""

    fail_next_writes = 0

    async def write_file(
        self, area: SourceArea, owner_id: int, path: PurePosixPath, content: bytes
    ) -> None:
        if self.fail_next_writes > 0:
            self.fail_next_writes -= 1
            raise OSError(28, "No space left on device")
        await super().write_file(area, owner_id, path, content)


class CommitFails(FakeUnitOfWork):
    """A unit of work whose commit fails, as a database that went away would."""

    async def commit(self) -> None:
        raise ConnectionError("the database went away")


@dataclass
class World:
    clock: FixedClock
    store: FakeStore
    files: FlakyFileStore
    service: ScriptService
    fail_commits: bool = False

    def uow(self) -> UnitOfWork:
        return CommitFails(self.store) if self.fail_commits else self.store.uow()

    async def image(self, name: str = "py") -> int:
        now = self.clock.now()
        async with self.store.uow() as uow:
            image = await uow.images.add(Image(name=name, created_at=now, updated_at=now))
            await uow.commit()
        return image.require_id

    async def create(self, name: str = "etl", **kwargs: Any) -> int:
        if "image_id" not in kwargs:
            kwargs["image_id"] = await self.image(f"img-{name}")
        detail = await self.service.create(name=name, **kwargs)
        return detail.script.require_id

    async def script(self, script_id: int) -> Script:
        async with self.store.uow() as uow:
            return await uow.scripts.get(script_id)

    async def revisions(self, script_id: int) -> list[ScriptRevision]:
        async with self.store.uow() as uow:
            return await uow.scripts.list_revisions(script_id)

    async def current(self, script_id: int) -> ScriptRevision:
        return (await self.revisions(script_id))[0]

    async def events(self) -> list[DomainEvent]:
        return [m.event for m in await FakeOutbox(self.store).pending(limit=1000)]

    async def saved(self, script_id: int) -> list[int]:
        """The revision numbers announced by ScriptSaved, in commit order."""
        return [
            e.revision
            for e in await self.events()
            if isinstance(e, ScriptSaved) and e.script_id == script_id
        ]

    async def add_job(self, script_id: int, status: JobStatus) -> int:
        async with self.store.uow() as uow:
            job = await uow.jobs.add(
                Job(
                    script_id=script_id,
                    revision=1,
                    image_id=1,
                    status=status,
                    created_at=self.clock.now(),
                )
            )
            await uow.commit()
        return job.require_id

    def on_disk(self, script_id: int) -> dict[str, bytes]:
        return self.files.files_of(SCRIPTS, script_id)

    def snapshot(self) -> tuple[Any, ...]:
        """Everything stored, to compare before and after a refusal."""
        tables = {name: dict(rows) for name, rows in self.store.tables.items()}
        sources = {owner: sorted(files.items()) for owner, files in self.files.sources.items()}
        return (repr(tables), len(self.store.outbox), repr(sorted(sources.items())))


def make_world(**settings: Any) -> World:
    clock = FixedClock()
    store = FakeStore(clock)
    files = FlakyFileStore(clock=clock)
    world = World(clock=clock, store=store, files=files, service=None)  # type: ignore[arg-type]
    # Typed as the ports: mypy checks that the fakes satisfy them.
    uow: UnitOfWorkFactory = world.uow
    file_port: FileStore = files
    world.service = ScriptService(
        uow=uow, files=file_port, clock=clock, settings=ScriptServiceSettings(**settings)
    )
    return world


@pytest.fixture
def w() -> World:
    return make_world()


# --- create -------------------------------------------------------------------------------


async def test_create_with_nothing_but_a_name_and_an_image_gets_hello_world(w: World):
    image_id = await w.image()
    detail = await w.service.create(name="etl", image_id=image_id)
    script = detail.script
    assert (script.entry_file, script.current_revision) == ("main.py", 1)
    assert (script.limits, script.timeout_seconds, script.network_mode) == (
        ResourceLimits(memory_mb=512, cpus=1.0, pids=256),
        3600,
        NetworkMode.NONE,
    )
    assert w.on_disk(script.require_id) == {"main.py": HELLO_WORLD.encode()}
    assert b"print(" in HELLO_WORLD.encode()
    assert [f.path for f in detail.files] == ["main.py"]
    [revision] = await w.revisions(script.require_id)
    assert revision.number == 1
    assert revision.file_contents() == {"main.py": HELLO_WORLD.encode()}
    assert revision.content_hash == content_hash({"main.py": HELLO_WORLD.encode()})
    assert await w.saved(script.require_id) == [1]


async def test_create_keeps_every_setting_and_snapshots_them_in_revision_1(w: World):
    image_id = await w.image()
    files = {"run.py": b"import sys\n", "data/blob.bin": b"\x00\xff\xfe"}
    detail = await w.service.create(
        name="etl",
        image_id=image_id,
        description="nightly",
        entry_file="run.py",
        files=files,
        env=[EnvInput(name="TOKEN", value="s3cret", secret=True), EnvInput(name="A", value="1")],
        args=["--all"],
        limits=LimitsPatch(memory_mb=64, pids=None),
        timeout_seconds=None,
        network_mode=NetworkMode.BRIDGE,
        log_limit_bytes=2048,
        read_only_root=False,
        keep_last=3,
        keep_days=7,
    )
    script = await w.script(detail.script.require_id)
    assert script.env == [
        EnvVar(name="TOKEN", value="s3cret", secret=True),
        EnvVar(name="A", value="1", secret=False),
    ]
    # Limits not given keep their defaults.
    assert script.limits == ResourceLimits(memory_mb=64, cpus=1.0, pids=None)
    assert (script.keep_last, script.keep_days, script.description) == (3, 7, "nightly")
    revision = await w.current(script.require_id)
    assert revision.file_contents() == files
    assert revision.settings == {
        "image_id": image_id,
        "entry_file": "run.py",
        "env": [
            {"name": "TOKEN", "value": "s3cret", "secret": True},
            {"name": "A", "value": "1", "secret": False},
        ],
        "args": ["--all"],
        "limits": {"memory_mb": 64, "cpus": 1.0, "pids": None},
        "timeout_seconds": None,
        "network_mode": "bridge",
        "log_limit_bytes": 2048,
        "read_only_root": False,
    }
    assert w.on_disk(script.require_id) == files


async def test_create_refuses_a_taken_name_regardless_of_case(w: World):
    await w.create("etl")
    image_id = await w.image("other")
    before = w.snapshot()
    with pytest.raises(Conflict) as caught:
        await w.service.create(name="ETL", image_id=image_id)
    assert caught.value.field == "name"
    assert w.snapshot() == before


async def test_create_refuses_an_unknown_image_as_invalid_input(w: World):
    with pytest.raises(InvalidInput) as caught:
        await w.service.create(name="etl", image_id=99)
    assert caught.value.field == "image_id"
    assert w.store.commits == 0 and w.files.sources == {}


CREATE_REFUSALS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"name": "has space"}, InvalidInput, "name"),
    ({"description": "d" * 2001}, InvalidInput, "description"),
    ({"entry_file": "run.py"}, InvalidInput, "entry_file"),
    ({"entry_file": "../x.py"}, InvalidInput, "entry_file"),
    ({"files": {"../up.py": b""}}, InvalidInput, "files.../up.py"),
    ({"files": {"/abs.py": b""}}, InvalidInput, "files./abs.py"),
    ({"files": [("main.py", b"1"), ("main.py", b"2")]}, InvalidInput, "files.main.py"),
    ({"files": {"main.py": b"x" * 11}}, PayloadTooLarge, "files.main.py"),
    ({"env": [EnvInput(name="9A", value="x")]}, InvalidInput, "env[0].name"),
    (
        {"env": [EnvInput(name="A", value="x"), EnvInput(name="A", value="y")]},
        InvalidInput,
        "env[1].name",
    ),
    ({"env": [EnvInput(name="A", value=None)]}, InvalidInput, "env[0].value"),
    ({"env": [EnvInput(name="A", value=None, secret=True)]}, InvalidInput, "env[0].value"),
    ({"env": [EnvInput(name=f"V{i}", value="") for i in range(201)]}, InvalidInput, "env"),
    ({"args": ["a\x00"]}, InvalidInput, "args[0]"),
    ({"limits": LimitsPatch(memory_mb=5)}, InvalidInput, "limits.memory_mb"),
    ({"limits": LimitsPatch(cpus=0)}, InvalidInput, "limits.cpus"),
    ({"limits": LimitsPatch(pids=0)}, InvalidInput, "limits.pids"),
    ({"timeout_seconds": 0}, InvalidInput, "timeout_seconds"),
    ({"timeout_seconds": 7 * 24 * 3600 + 1}, InvalidInput, "timeout_seconds"),
    ({"network_mode": "overlay"}, InvalidInput, "network_mode"),
    ({"log_limit_bytes": 1000}, InvalidInput, "log_limit_bytes"),
    ({"keep_last": 0}, InvalidInput, "keep_last"),
    ({"keep_days": -1}, InvalidInput, "keep_days"),
]


@pytest.mark.parametrize(("changes", "error", "field"), CREATE_REFUSALS)
async def test_create_refuses_bad_input_naming_the_field(
    changes: dict[str, Any], error: type[Exception], field: str
):
    w = make_world(max_file_bytes=10)
    image_id = await w.image()
    before = w.snapshot()
    with pytest.raises(error) as caught:
        await w.service.create(**{"name": "etl", "image_id": image_id, **changes})
    assert getattr(caught.value, "field", None) == field
    assert w.snapshot() == before


async def test_create_commits_nothing_when_writing_files_fails(w: World):
    image_id = await w.image()
    commits = w.store.commits
    w.files.fail_writes = True
    with pytest.raises(OSError):
        await w.service.create(name="etl", image_id=image_id)
    assert w.store.commits == commits
    assert w.store.tables["scripts"] == {} and w.store.tables["revisions"] == {}
    assert not [e for e in await w.events() if isinstance(e, ScriptSaved)]
    assert w.files.sources == {}


async def test_create_removes_its_files_when_the_commit_fails(w: World):
    image_id = await w.image()
    w.fail_commits = True
    with pytest.raises(ConnectionError):
        await w.service.create(name="etl", image_id=image_id, files={"main.py": b"x"})
    assert w.store.tables["scripts"] == {}
    assert not w.files.owner_exists(SCRIPTS, 1)


# --- reading ------------------------------------------------------------------------------


async def test_list_is_newest_first_paged_and_filtered_by_image(w: World):
    image_a, image_b = await w.image("a"), await w.image("b")
    ids = [
        await w.create(f"s{i}", image_id=image) for i, image in enumerate([image_a, image_b] * 3)
    ]
    page, cursor = await w.service.list(limit=4)
    assert [s.id for s in page] == ids[::-1][:4] and cursor == ids[2]
    page, cursor = await w.service.list(before_id=cursor, limit=4)
    assert [s.id for s in page] == [ids[1], ids[0]] and cursor is None
    page, _ = await w.service.list(image_id=image_a)
    assert [s.id for s in page] == [ids[4], ids[2], ids[0]]


async def test_get_read_file_and_revisions_of_a_missing_script_are_not_found(w: World):
    for call in (
        w.service.get(9),
        w.service.read_file(9, "main.py"),
        w.service.list_revisions(9),
        w.service.get_revision(9, 1),
        w.service.restore(9, 1),
        w.service.update(9, ScriptPatch(name="x")),
        w.service.write_file(9, "a.py", b""),
        w.service.delete_file(9, "a.py"),
        w.service.delete(9),
    ):
        with pytest.raises(NotFound):
            await call


async def test_read_file_returns_the_content_or_not_found(w: World):
    script_id = await w.create(files={"main.py": b"x"})
    assert await w.service.read_file(script_id, "main.py") == b"x"
    with pytest.raises(NotFound):
        await w.service.read_file(script_id, "other.py")
    with pytest.raises(InvalidInput):
        await w.service.read_file(script_id, "../main.py")


# --- update -------------------------------------------------------------------------------


async def test_changing_a_run_setting_makes_a_revision_with_the_same_files(w: World):
    script_id = await w.create(files={"main.py": b"x"})
    w.clock.advance(minutes=1)
    detail = await w.service.update(script_id, ScriptPatch(args=["--fast"], timeout_seconds=None))
    assert detail.script.current_revision == 2
    assert (detail.script.args, detail.script.timeout_seconds) == (["--fast"], None)
    second, first = await w.revisions(script_id)
    assert second.number == 2 and second.created_at == w.clock.now()
    assert second.content_hash == first.content_hash and second.files == first.files
    assert second.revision_settings().args == ("--fast",)
    assert second.revision_settings().timeout_seconds is None
    assert await w.saved(script_id) == [1, 2]


async def test_changing_only_name_description_or_retention_makes_no_revision(w: World):
    script_id = await w.create()
    detail = await w.service.update(
        script_id, ScriptPatch(name="renamed", description="d", keep_last=5, keep_days=2)
    )
    script = await w.script(script_id)
    assert (script.name, script.description, script.keep_last, script.keep_days) == (
        "renamed",
        "d",
        5,
        2,
    )
    assert detail.script.current_revision == 1
    assert [r.number for r in await w.revisions(script_id)] == [1]


async def test_a_patch_that_changes_nothing_commits_nothing(w: World):
    script_id = await w.create(args=["a"])
    commits = w.store.commits
    await w.service.update(script_id, ScriptPatch())
    await w.service.update(script_id, ScriptPatch(name="etl", args=["a"], timeout_seconds=3600))
    assert w.store.commits == commits


async def test_limits_change_only_the_limits_named(w: World):
    script_id = await w.create(limits=LimitsPatch(memory_mb=64))
    await w.service.update(script_id, ScriptPatch(limits=LimitsPatch(cpus=None)))
    script = await w.script(script_id)
    assert script.limits == ResourceLimits(memory_mb=64, cpus=None, pids=256)


async def test_env_replaces_the_whole_list_and_a_secret_without_value_keeps_its_value(w: World):
    script_id = await w.create(
        env=[
            EnvInput(name="TOKEN", value="s3cret", secret=True),
            EnvInput(name="PLAIN", value="p"),
        ]
    )
    await w.service.update(
        script_id,
        ScriptPatch(
            env=[EnvInput(name="TOKEN", value=None, secret=True), EnvInput(name="NEW", value="n")]
        ),
    )
    script = await w.script(script_id)
    assert script.env == [
        EnvVar(name="TOKEN", value="s3cret", secret=True),
        EnvVar(name="NEW", value="n", secret=False),
    ]
    # Sending back what was stored changes nothing and makes no revision.
    commits = w.store.commits
    await w.service.update(
        script_id,
        ScriptPatch(
            env=[EnvInput(name="TOKEN", value=None, secret=True), EnvInput(name="NEW", value="n")]
        ),
    )
    assert w.store.commits == commits
    # Making a plain variable secret keeps its value too.
    await w.service.update(
        script_id, ScriptPatch(env=[EnvInput(name="NEW", value=None, secret=True)])
    )
    assert (await w.script(script_id)).env == [EnvVar(name="NEW", value="n", secret=True)]


async def test_a_secret_without_value_and_nothing_stored_is_refused(w: World):
    script_id = await w.create(env=[EnvInput(name="A", value="1")])
    before = w.snapshot()
    with pytest.raises(InvalidInput) as caught:
        await w.service.update(
            script_id,
            ScriptPatch(
                env=[EnvInput(name="A", value="1"), EnvInput(name="B", value=None, secret=True)]
            ),
        )
    assert caught.value.field == "env[1].value"
    assert w.snapshot() == before


UPDATE_REFUSALS: list[tuple[ScriptPatch, type[Exception], str]] = [
    (ScriptPatch(name="taken"), Conflict, "name"),
    (ScriptPatch(name="TAKEN"), Conflict, "name"),
    (ScriptPatch(name=""), InvalidInput, "name"),
    (ScriptPatch(image_id=999), InvalidInput, "image_id"),
    (ScriptPatch(entry_file="missing.py"), InvalidInput, "entry_file"),
    (ScriptPatch(limits=LimitsPatch(memory_mb=1)), InvalidInput, "limits.memory_mb"),
    (ScriptPatch(env=[EnvInput(name="A B", value="")]), InvalidInput, "env[0].name"),
    (ScriptPatch(args=["x"] * 201), InvalidInput, "args"),
    (ScriptPatch(timeout_seconds=-5), InvalidInput, "timeout_seconds"),
    (ScriptPatch(keep_last=0), InvalidInput, "keep_last"),
]


@pytest.mark.parametrize(("patch", "error", "field"), UPDATE_REFUSALS)
async def test_update_refuses_bad_input_and_changes_nothing(
    w: World, patch: ScriptPatch, error: type[Exception], field: str
):
    await w.create("taken")
    script_id = await w.create("etl")
    before = w.snapshot()
    with pytest.raises(error) as caught:
        await w.service.update(script_id, patch)
    assert getattr(caught.value, "field", None) == field
    assert w.snapshot() == before


async def test_update_can_move_the_script_to_another_image_and_entry_file(w: World):
    script_id = await w.create(files={"main.py": b"1", "other.py": b"2"})
    other_image = await w.image("other")
    detail = await w.service.update(
        script_id, ScriptPatch(image_id=other_image, entry_file="other.py")
    )
    assert (detail.script.image_id, detail.script.entry_file) == (other_image, "other.py")
    settings = (await w.current(script_id)).revision_settings()
    assert (settings.image_id, settings.entry_file) == (other_image, "other.py")


# --- files --------------------------------------------------------------------------------


async def test_writing_files_makes_revisions_numbered_one_up(w: World):
    script_id = await w.create(files={"main.py": b"v1"})
    w.clock.advance(seconds=5)
    info = await w.service.write_file(script_id, "main.py", b"v2")
    assert (info.path, info.size, info.modified_at) == ("main.py", 2, w.clock.now())
    await w.service.write_file(script_id, "lib/util.py", b"u")
    assert w.on_disk(script_id) == {"main.py": b"v2", "lib/util.py": b"u"}
    revisions = await w.revisions(script_id)
    assert [r.number for r in revisions] == [3, 2, 1]
    assert revisions[0].file_contents() == {"main.py": b"v2", "lib/util.py": b"u"}
    assert revisions[1].file_contents() == {"main.py": b"v2"}
    assert revisions[0].content_hash == content_hash({"lib/util.py": b"u", "main.py": b"v2"})
    assert (await w.script(script_id)).current_revision == 3
    assert await w.saved(script_id) == [1, 2, 3]


async def test_writing_the_same_content_makes_no_revision(w: World):
    script_id = await w.create(files={"main.py": b"same"})
    commits = w.store.commits
    info = await w.service.write_file(script_id, "main.py", b"same")
    assert (info.path, info.size) == ("main.py", 4)
    assert w.store.commits == commits


async def test_write_file_refuses_oversize_content_and_bad_paths():
    w = make_world(max_file_bytes=4)
    script_id = await w.create(files={"main.py": b"x"})
    before = w.snapshot()
    with pytest.raises(PayloadTooLarge) as too_big:
        await w.service.write_file(script_id, "main.py", b"12345")
    assert too_big.value.field == "content"
    for path in ("../x", "/etc/passwd", "a\\b", "a\x00b", ""):
        with pytest.raises(InvalidInput) as bad:
            await w.service.write_file(script_id, path, b"x")
        assert bad.value.field == "path"
    # A file cannot become a folder (the store refuses after the rows were written).
    with pytest.raises(InvalidInput):
        await w.service.write_file(script_id, "main.py/inner.py", b"x")
    assert w.snapshot() == before


async def test_a_failing_file_write_commits_nothing_and_leaves_the_file(w: World):
    script_id = await w.create(files={"main.py": b"v1"})
    before = w.snapshot()
    w.files.fail_next_writes = 1
    with pytest.raises(OSError):
        await w.service.write_file(script_id, "main.py", b"v2")
    assert w.snapshot() == before


async def test_a_failing_commit_puts_the_files_back(w: World):
    script_id = await w.create(files={"main.py": b"v1", "old.py": b"o"})
    before = w.snapshot()
    w.fail_commits = True
    with pytest.raises(ConnectionError):
        await w.service.write_file(script_id, "main.py", b"v2")
    with pytest.raises(ConnectionError):
        await w.service.write_file(script_id, "new.py", b"n")
    with pytest.raises(ConnectionError):
        await w.service.delete_file(script_id, "old.py")
    assert w.snapshot() == before
    assert w.on_disk(script_id) == {"main.py": b"v1", "old.py": b"o"}


async def test_delete_file_makes_a_revision_without_it(w: World):
    script_id = await w.create(files={"main.py": b"m", "lib/a.py": b"a"})
    await w.service.delete_file(script_id, "lib/a.py")
    assert w.on_disk(script_id) == {"main.py": b"m"}
    current = await w.current(script_id)
    assert current.number == 2 and current.file_contents() == {"main.py": b"m"}


async def test_the_entry_file_cannot_be_deleted(w: World):
    script_id = await w.create(files={"main.py": b"m", "b.py": b"b"})
    before = w.snapshot()
    with pytest.raises(InvalidInput, match="entry file") as caught:
        await w.service.delete_file(script_id, "main.py")
    assert caught.value.field == "path"
    with pytest.raises(NotFound):
        await w.service.delete_file(script_id, "missing.py")
    assert w.snapshot() == before
    # Once another file is the entry file, the old one can go.
    await w.service.update(script_id, ScriptPatch(entry_file="b.py"))
    await w.service.delete_file(script_id, "main.py")
    assert w.on_disk(script_id) == {"b.py": b"b"}


async def test_files_can_be_edited_while_a_job_runs(w: World):
    script_id = await w.create(files={"main.py": b"v1"})
    await w.add_job(script_id, JobStatus.RUNNING)
    await w.service.write_file(script_id, "main.py", b"v2")
    # The job keeps its revision: revision 1 still holds what it runs.
    async with w.store.uow() as uow:
        first = await uow.scripts.get_revision(script_id, 1)
    assert first.file_contents() == {"main.py": b"v1"}


# --- revisions and restore ------------------------------------------------------------------


async def test_revisions_are_listed_newest_first_and_read_one_by_one(w: World):
    script_id = await w.create(files={"main.py": b"1"})
    await w.service.write_file(script_id, "main.py", b"2")
    await w.service.update(script_id, ScriptPatch(args=["x"]))
    listed = await w.service.list_revisions(script_id)
    assert [r.number for r in listed] == [3, 2, 1]
    one = await w.service.get_revision(script_id, 1)
    assert one.file_contents() == {"main.py": b"1"}
    with pytest.raises(NotFound):
        await w.service.get_revision(script_id, 4)


async def test_restore_makes_a_new_revision_with_the_old_files_and_settings(w: World):
    script_id = await w.create(
        files={"main.py": b"v1", "lib": b"a file"},
        env=[EnvInput(name="TOKEN", value="old", secret=True)],
        args=["--old"],
    )
    await w.service.write_file(script_id, "main.py", b"v2")
    await w.service.delete_file(script_id, "lib")
    await w.service.write_file(script_id, "lib/a.py", b"now a folder")
    await w.service.update(
        script_id,
        ScriptPatch(
            name="renamed",
            args=["--new"],
            env=[EnvInput(name="TOKEN", value="new", secret=True)],
            limits=LimitsPatch(memory_mb=64),
        ),
    )
    w.clock.advance(hours=1)
    detail = await w.service.restore(script_id, 1)
    assert detail.script.current_revision == 6
    assert w.on_disk(script_id) == {"main.py": b"v1", "lib": b"a file"}
    script = await w.script(script_id)
    assert script.name == "renamed"  # not part of revisions
    assert script.args == ["--old"] and script.limits.memory_mb == 512
    assert script.env == [EnvVar(name="TOKEN", value="old", secret=True)]
    newest, *_, first = await w.revisions(script_id)
    assert newest.number == 6 and newest.created_at == w.clock.now()
    assert newest.content_hash == first.content_hash and newest.settings == first.settings
    assert (await w.saved(script_id))[-1] == 6


async def test_restoring_the_current_revision_changes_nothing(w: World):
    script_id = await w.create()
    commits = w.store.commits
    detail = await w.service.restore(script_id, 1)
    assert detail.script.current_revision == 1 and w.store.commits == commits


async def test_restore_of_a_missing_revision_is_not_found(w: World):
    script_id = await w.create()
    with pytest.raises(NotFound):
        await w.service.restore(script_id, 2)


async def test_restore_refuses_a_revision_whose_image_is_gone(w: World):
    script_id = await w.create()
    other = await w.image("other")
    await w.service.update(script_id, ScriptPatch(image_id=other))
    first_image = (await w.service.get_revision(script_id, 1)).revision_settings().image_id
    async with w.store.uow() as uow:
        await uow.images.delete(first_image)
        await uow.commit()
    before = w.snapshot()
    with pytest.raises(Conflict) as caught:
        await w.service.restore(script_id, 1)
    assert caught.value.field == "image_id"
    assert w.snapshot() == before


async def test_a_restore_whose_commit_fails_puts_the_whole_folder_back(w: World):
    script_id = await w.create(files={"main.py": b"v1", "lib": b"file"})
    await w.service.delete_file(script_id, "lib")
    await w.service.write_file(script_id, "lib/a.py", b"a")
    await w.service.write_file(script_id, "extra.txt", b"e")
    before = w.snapshot()
    w.fail_commits = True
    with pytest.raises(ConnectionError):
        await w.service.restore(script_id, 1)
    assert w.snapshot() == before
    assert w.on_disk(script_id) == {"main.py": b"v1", "lib/a.py": b"a", "extra.txt": b"e"}


async def test_a_restore_whose_file_write_fails_puts_the_whole_folder_back(w: World):
    script_id = await w.create(files={"main.py": b"v1"})
    await w.service.write_file(script_id, "main.py", b"v2")
    await w.service.write_file(script_id, "b.py", b"b")
    before = w.snapshot()
    w.files.fail_next_writes = 1  # b.py is deleted first, then main.py cannot be written
    with pytest.raises(OSError):
        await w.service.restore(script_id, 1)
    assert w.snapshot() == before


# --- delete -------------------------------------------------------------------------------


async def test_delete_removes_record_revisions_jobs_files_and_logs(w: World):
    script_id = await w.create()
    await w.service.write_file(script_id, "b.py", b"b")
    await w.add_job(script_id, JobStatus.SUCCEEDED)
    sink = await w.files.open_log(
        w.files.owner_dir(SCRIPTS, script_id) / "logs" / "x.log", truncate=True
    )
    sink.write(b"old output")
    sink.close()
    await w.service.delete(script_id)
    assert w.store.tables["scripts"] == {}
    assert w.store.tables["revisions"] == {} and w.store.tables["jobs"] == {}
    assert not w.files.owner_exists(SCRIPTS, script_id)
    deleted = [e for e in await w.events() if isinstance(e, ScriptDeleted)]
    assert [(e.script_id, e.name) for e in deleted] == [(script_id, "etl")]


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
async def test_delete_is_refused_while_a_job_is_queued_or_running(w: World, status: JobStatus):
    script_id = await w.create()
    job_id = await w.add_job(script_id, status)
    before = w.snapshot()
    with pytest.raises(Conflict, match="queued or running"):
        await w.service.delete(script_id)
    assert w.snapshot() == before
    async with w.store.uow() as uow:
        job = await uow.jobs.get(job_id)
        job.finish(w.clock.now(), JobStatus.CANCELLED, exit_code=None)
        await uow.jobs.update(job)
        await uow.commit()
    await w.service.delete(script_id)
    assert w.store.tables["scripts"] == {}


async def test_another_scripts_job_does_not_block_delete(w: World):
    busy = await w.create("busy")
    idle = await w.create("idle")
    await w.add_job(busy, JobStatus.RUNNING)
    await w.service.delete(idle)
    assert list(w.store.tables["scripts"]) == [busy]
