"""Job logs and views as the API serves them (``JobService``), with in-memory fakes:
secrets masked in every read, offsets still those of the raw file, and overrides of
secret variables hidden. The real container and HTTP: tests/integration/test_secrets.py."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripter.domain.events import encode_event
from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import JobStatus
from scripter.domain.scripts import EnvVar, Script, ScriptRevision
from scripter.services.jobs import JobService
from tests.unit.fake_files import FakeFileStore
from tests.unit.fakes import FakeOutbox, FakeStore, FixedClock

SECRET = "pa55-wörd-✓"
OTHER = "second-secret"
RAW = f"user=alice password={SECRET}\n{OTHER}{SECRET} plain\nend {SECRET[:5]}".encode()
MASKED = b"user=alice password=****\n**** plain\nend " + SECRET[:5].encode()


@dataclass
class World:
    clock: FixedClock
    store: FakeStore
    files: FakeFileStore
    jobs: JobService

    async def run(self, **env: str) -> tuple[int, Path]:
        job = await self.jobs.run_now(1, env=env)
        async with self.store.uow() as uow:
            stored = await uow.jobs.get(job.require_id)
        return job.require_id, self.files.root / str(stored.log_path)

    async def set_status(self, job_id: int, status: JobStatus) -> None:
        async with self.store.uow() as uow:
            job = await uow.jobs.get(job_id)
            job.start(self.clock.now(), container_id="c")
            if status.is_final:
                job.finish(self.clock.now(), status, exit_code=0)
            await uow.jobs.update(job)
            await uow.commit()


@pytest.fixture
async def w() -> World:
    clock = FixedClock()
    store = FakeStore(clock)
    files = FakeFileStore(clock=clock)
    world = World(clock, store, files, JobService(uow=store.uow, files=files, clock=clock))
    now = clock.now()
    async with store.uow() as uow:
        image = await uow.images.add(
            Image(name="base", status=ImageStatus.BUILT, tag="t", created_at=now, updated_at=now)
        )
        script = await uow.scripts.add(
            Script(
                name="job",
                image_id=image.require_id,
                current_revision=1,
                env=[
                    EnvVar(name="PASSWORD", value=SECRET, secret=True),
                    EnvVar(name="OTHER", value=OTHER, secret=True),
                    EnvVar(name="SHORT", value="abc", secret=True),  # too short to mask
                    EnvVar(name="PLAIN", value="plain"),
                ],
                created_at=now,
                updated_at=now,
            )
        )
        await uow.scripts.add_revision(
            ScriptRevision(
                script_id=script.require_id,
                number=1,
                content_hash="h",
                files={"main.py": base64.b64encode(b"print(1)").decode()},
                settings=script.revision_settings().to_json(),
                created_at=now,
            )
        )
        await uow.commit()
    return world


async def whole(w: World, job_id: int, offset: int = 0, chunk: int = 1 << 20) -> tuple[bytes, int]:
    log, chunks = await w.jobs.log_chunks(job_id, offset, chunk_bytes=chunk)
    return b"".join([c async for c in chunks]), log.next_offset


async def test_a_finished_job_log_is_masked_however_it_is_read(w: World):
    job_id, path = await w.run()
    w.files.logs[path] = bytearray(RAW)
    await w.set_status(job_id, JobStatus.SUCCEEDED)
    assert await whole(w, job_id) == (MASKED, len(RAW))
    assert await whole(w, job_id, chunk=3) == (MASKED, len(RAW))
    full = await w.jobs.read_log(job_id)
    assert (full.content, full.next_offset, full.size) == (MASKED, len(RAW), len(RAW))
    # Any split into two ranges joins to the whole; every range's next offset is raw.
    for cut in range(len(RAW) + 1):
        left = await w.jobs.read_log(job_id, 0, cut) if cut else None
        right, _ = await whole(w, job_id, cut)
        assert (left.content if left else b"") + right == MASKED, cut
        if left is not None:
            assert left.next_offset == cut
    for a, b in itertools.combinations(range(0, len(RAW) + 1, 4), 2):
        parts = [
            (await w.jobs.read_log(job_id, x, y - x)).content
            for x, y in ((0, a), (a, b), (b, len(RAW)))
            if y > x
        ]
        assert b"".join(parts) == MASKED, (a, b)
    assert bytes(w.files.logs[path]) == RAW  # the file stays raw


async def test_a_running_job_log_keeps_a_possible_start_of_a_secret_back(w: World):
    job_id, path = await w.run()
    await w.set_status(job_id, JobStatus.RUNNING)
    w.files.logs[path] = bytearray(b"token: " + SECRET.encode()[:6])
    first = await w.jobs.read_log(job_id)
    assert (first.content, first.next_offset, first.size) == (b"token: ", 7, 13)
    assert await whole(w, job_id) == (b"token: ", 7)
    ranged = await w.jobs.read_log(job_id, 0, 10)
    assert (ranged.content, ranged.next_offset) == (b"token: ", 7)
    w.files.logs[path] += SECRET.encode()[6:] + b"\n"
    rest = await w.jobs.read_log(job_id, first.next_offset)
    assert (rest.content, rest.next_offset) == (b"****\n", len(w.files.logs[path]))


async def test_a_finished_job_sends_a_partial_secret_at_its_end_as_it_is(w: World):
    job_id, path = await w.run()
    w.files.logs[path] = bytearray(b"x " + SECRET.encode()[:6])
    await w.set_status(job_id, JobStatus.FAILED)
    assert await whole(w, job_id) == (b"x " + SECRET.encode()[:6], 8)


async def test_overrides_of_secret_variables_are_masked_in_logs_and_hidden_in_views(w: World):
    job_id, path = await w.run(PASSWORD="override-pass", PLAIN="visible")
    w.files.logs[path] = bytearray(b"override-pass visible " + SECRET.encode())
    await w.set_status(job_id, JobStatus.SUCCEEDED)
    assert (await whole(w, job_id))[0] == b"**** visible ****"
    shown = await w.jobs.get(job_id)
    assert shown.env == {"PASSWORD": "****", "PLAIN": "visible"}
    assert [j.env for j in (await w.jobs.list())[0]] == [{"PASSWORD": "****", "PLAIN": "visible"}]
    async with w.store.uow() as uow:  # what the worker gets is the real value
        assert (await uow.jobs.get(job_id)).env["PASSWORD"] == "override-pass"


async def test_run_and_cancel_answer_with_hidden_overrides(w: World):
    job = await w.jobs.run_now(1, env={"OTHER": "override-other"})
    assert job.env == {"OTHER": "****"}
    assert (await w.jobs.cancel(job.require_id)).env == {"OTHER": "****"}


async def test_no_event_carries_a_secret_value(w: World):
    await w.run(PASSWORD="override-pass")
    events = [m.event for m in await FakeOutbox(w.store).pending(limit=1000)]
    assert events
    for event in events:
        wire = encode_event(event)
        assert SECRET.encode() not in wire and b"override-pass" not in wire
