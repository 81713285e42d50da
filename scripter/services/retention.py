"""Retention: per script, finished jobs beyond its newest ``keep_last`` and finished
jobs older than ``keep_days`` go, rows and log files together. Queued and running
jobs are never touched.

The worker prunes a script right after each of its jobs ends (``JobRunner``), which
alone would never apply the age limit to a script that stopped running. So every
worker also sweeps every script every ``sweep_seconds``, and removes the log files
whose job row is gone (left by a crash between a row's delete and its file's).

Rows go first, files after the commit: a crash in between leaves a file without a
row, which the next sweep removes, never a row whose log has vanished. Several
workers may sweep at once: a row another one deleted first is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from scripter.domain.clock import Clock
from scripter.domain.errors import NotFound
from scripter.domain.jobs import Job, job_id_of_log_file
from scripter.domain.ports import FileStore, UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(kw_only=True, frozen=True)
class RetentionSettings:
    keep_last: int | None = 100
    """Finished jobs kept per script, newest first (None: no count limit); a script's
    own ``keep_last`` wins."""
    keep_days: int | None = 30
    """Finished jobs older than this many days go (None: no age limit); a script's
    own ``keep_days`` wins."""
    sweep_seconds: float = 3600.0
    """Pause between two sweeps of a worker."""
    batch: int = 200
    """Rows deleted per transaction, and job ids per existence query: SQLite has one
    writer at a time, and a long delete would hold up every other write."""


@dataclass(kw_only=True)
class SweepReport:
    scripts: int = 0
    """Scripts looked at."""
    jobs_deleted: int = 0
    orphan_logs_deleted: int = 0
    failed_scripts: int = 0
    """Scripts whose pruning failed this time (logged; the next sweep tries again)."""


class RetentionSweeper:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        files: FileStore,
        clock: Clock,
        settings: RetentionSettings,
    ) -> None:
        self._uow = uow
        self._files = files
        self._clock = clock
        self._settings = settings
        self._stopping = asyncio.Event()

    async def prune_script(self, script_id: int) -> int:
        """Delete what retention lets go of the script's jobs; how many rows went."""
        async with self._uow() as uow:
            try:
                script = await uow.scripts.get(script_id)
            except NotFound:
                return 0  # deleted meanwhile, with its jobs
            keep_last = script.keep_last or self._settings.keep_last
            keep_days = script.keep_days or self._settings.keep_days
            older_than = self._clock.now() - timedelta(days=keep_days) if keep_days else None
            doomed = await uow.jobs.prunable(script_id, keep_last=keep_last, older_than=older_than)
        deleted = 0
        for start in range(0, len(doomed), self._settings.batch):
            deleted += await self._delete(doomed[start : start + self._settings.batch])
        return deleted

    async def _delete(self, jobs: Sequence[Job]) -> int:
        # A finished job stays finished, so what prunable returned is still
        # prunable now (or already deleted by another sweeper: skipped).
        gone: list[Job] = []
        async with self._uow() as uow:
            for job in jobs:
                if not job.status.is_final:
                    continue  # prunable never returns one; never trust that with a running job
                try:
                    await uow.jobs.delete(job.require_id)
                except NotFound:
                    pass
                else:
                    gone.append(job)
            await uow.commit()
        for job in jobs:
            if job.status.is_final and job.log_path:
                await self._files.delete_path(self._files.root / job.log_path)
        return len(gone)

    async def remove_orphan_logs(self) -> int:
        """Delete the log files whose job row is gone; how many went. A job's log file
        is made only after its row was committed, so a file without a row is left
        over, never a job about to start."""
        logs: dict[int, list[Path]] = {}
        for path in await self._files.list_job_logs():
            job_id = job_id_of_log_file(path.name)
            if job_id is not None:
                logs.setdefault(job_id, []).append(path)
        ids = sorted(logs)
        removed = 0
        for start in range(0, len(ids), self._settings.batch):
            chunk = ids[start : start + self._settings.batch]
            async with self._uow() as uow:
                existing = await uow.jobs.existing_ids(chunk)
            for job_id in chunk:
                if job_id in existing:
                    continue
                for path in logs[job_id]:
                    await self._files.delete_path(path)
                    removed += 1
        return removed

    async def sweep(self) -> SweepReport:
        """One pass over every script, then the orphan log files. A script whose pruning
        fails (a lock timeout) is logged and skipped; the next sweep tries again."""
        report = SweepReport()
        async with self._uow() as uow:
            script_ids = [s.require_id for s in await uow.scripts.list()]
        for script_id in script_ids:
            if self._stopping.is_set():
                return report  # the worker stops: the next one's sweep goes on
            report.scripts += 1
            try:
                report.jobs_deleted += await self.prune_script(script_id)
            except Exception as exc:
                report.failed_scripts += 1
                log.warning(
                    "retention of script %s failed: %s: %s", script_id, type(exc).__name__, exc
                )
        report.orphan_logs_deleted = await self.remove_orphan_logs()
        return report

    async def run(self) -> None:
        """Sweep now and then every ``sweep_seconds`` until ``stop``. A failed sweep
        (the database unreachable) is logged and tried again at the next interval."""
        while not self._stopping.is_set():
            try:
                report = await self.sweep()
            except Exception as exc:
                log.warning("retention sweep failed: %s: %s", type(exc).__name__, exc)
            else:
                if report.jobs_deleted or report.orphan_logs_deleted:
                    log.info(
                        "retention: %d jobs and %d orphan log files deleted",
                        report.jobs_deleted,
                        report.orphan_logs_deleted,
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settings.sweep_seconds)

    def stop(self) -> None:
        """End ``run`` (its current sweep stops before the next script)."""
        self._stopping.set()


__all__ = ["RetentionSettings", "RetentionSweeper", "SweepReport"]
