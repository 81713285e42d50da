"""The retention sweep on the real file system, over every persistence backend (the
in-memory fake, SQLite, MariaDB): rows and log files go together, running jobs and
files that are no job's log stay, and nothing outside the data directory is reached."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scripter.adapters.files import LocalFileStore
from scripter.domain.images import Image
from scripter.domain.jobs import Job, JobStatus, log_file_name
from scripter.domain.scripts import Script
from scripter.services.retention import RetentionSettings, RetentionSweeper
from tests.integration.db_fixtures import (  # noqa: F401 (fixtures)
    Backend,
    backend_fixture,
    mariadb_session_url_fixture,
)

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


async def test_list_job_logs_sees_only_files_in_script_log_folders(tmp_path: Path):
    files = LocalFileStore(tmp_path / "data")
    logs = files.root / "scripts" / "1" / "logs"
    logs.mkdir(parents=True)
    (logs / "a.log").write_bytes(b"")
    (logs / "sub").mkdir()  # a folder is not a log
    (files.root / "scripts" / "1" / "src").mkdir()
    (files.root / "scripts" / "1" / "src" / "main.py").write_bytes(b"")
    (files.root / "scripts" / "stray-file").write_bytes(b"")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.log").write_bytes(b"")
    (logs / "link.log").symlink_to(outside / "b.log")
    (files.root / "scripts" / "2").mkdir()
    (files.root / "scripts" / "2" / "logs").symlink_to(outside)
    (outside / "logs").mkdir()
    (outside / "logs" / "c.log").write_bytes(b"")
    (files.root / "scripts" / "3").symlink_to(outside)  # its logs/c.log is not ours

    assert await files.list_job_logs() == [logs / "a.log"]
    assert await LocalFileStore(tmp_path / "empty").list_job_logs() == []


async def test_the_sweep_removes_old_jobs_with_their_logs_and_orphan_logs(
    backend: Backend, tmp_path: Path
):
    files = LocalFileStore(tmp_path / "data")
    async with backend.uow() as uow:
        image = await uow.images.add(Image(name="base", created_at=NOW, updated_at=NOW))
        script = await uow.scripts.add(
            Script(name="idle", image_id=image.require_id, created_at=NOW, updated_at=NOW)
        )
        await uow.commit()
    script_id = script.require_id

    async def add_job(status: JobStatus, age_days: int) -> tuple[int, Path]:
        created = NOW - timedelta(days=age_days)
        async with backend.uow() as uow:
            job = await uow.jobs.add(
                Job(script_id=script_id, revision=1, image_id=1, created_at=created)
            )
            job.start(created, container_id="c")
            if status.is_final:
                job.finish(created, status, exit_code=0)
            await uow.jobs.update(job)
            await uow.commit()
        path = files.root / str(job.log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"output\n")
        return job.require_id, path

    old_id, old_log = await add_job(JobStatus.SUCCEEDED, 10)
    young_id, young_log = await add_job(JobStatus.FAILED, 1)
    running_id, running_log = await add_job(JobStatus.RUNNING, 99)
    # Left by a crash between a row's delete and its file's, and by a deleted script.
    orphan = files.job_log(script_id, log_file_name(NOW, old_id + 1000))
    gone_script = files.job_log(script_id + 1000, log_file_name(NOW, old_id + 2000))
    not_a_log = files.job_log(script_id, "keep-me.txt")
    outside = tmp_path / "outside" / log_file_name(NOW, old_id + 3000)
    outside.parent.mkdir()
    linked = files.job_log(script_id, outside.name)
    for path in (orphan, gone_script, not_a_log, outside):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    os.symlink(outside, linked)

    sweeper = RetentionSweeper(
        uow=backend.uow,
        files=files,
        clock=Clock(),
        settings=RetentionSettings(keep_last=None, keep_days=7),
    )
    report = await sweeper.sweep()

    assert (report.jobs_deleted, report.orphan_logs_deleted) == (1, 2)
    async with backend.uow() as uow:
        assert await uow.jobs.existing_ids([old_id, young_id, running_id]) == {
            young_id,
            running_id,
        }
    assert not old_log.exists() and not orphan.exists() and not gone_script.exists()
    assert young_log.exists() and running_log.exists() and not_a_log.exists()
    # A symlink in a logs folder is not followed: its target outside stays.
    assert outside.exists() and linked.is_symlink()
    assert (await sweeper.sweep()).jobs_deleted == 0  # nothing more to do
