"""Jobs: one run of one script revision. queued -> running -> a final status."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from scripter.domain.errors import IllegalTransition
from scripter.domain.events import JobCancelRequested, JobFinished, JobRequested, JobStarted
from scripter.domain.model import Aggregate


class JobStatus(enum.StrEnum):
    """Where a job is; the last five are final."""

    QUEUED = "queued"
    """Waiting for a worker."""
    RUNNING = "running"
    """Its container runs."""
    SUCCEEDED = "succeeded"
    """Exited with code 0."""
    FAILED = "failed"
    """Exited with another code, or could not start."""
    TIMED_OUT = "timed_out"
    """Stopped because it ran past its timeout."""
    CANCELLED = "cancelled"
    """Stopped on request."""
    LOST = "lost"
    """Its container vanished; nobody knows how it ended."""

    @property
    def is_final(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class JobTrigger(enum.StrEnum):
    """Who asked for the job."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"


@dataclass(kw_only=True, eq=False)
class Job(Aggregate):
    script_id: int
    revision: int
    image_id: int
    image_tag: str | None = None
    trigger: JobTrigger = JobTrigger.MANUAL
    schedule_id: int | None = None
    status: JobStatus = JobStatus.QUEUED
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    container_id: str | None = None
    error: str | None = None
    cancel_requested: bool = False
    oom_killed: bool = False
    """The kernel killed the container for using more memory than its limit."""
    log_truncated: bool = False
    """Output past the log limit was dropped."""
    engine_id: str | None = None
    """The Docker engine that runs (ran) the container."""
    docker_image_id: str | None = None
    """The Docker image the container was created from (``sha256:...``), read from
    the container once it started: ``image_tag`` names whatever the image's latest
    build is, and a rebuild moves the tag to another image. None until the job
    starts, and for jobs that never did."""

    @property
    def log_path(self) -> str | None:
        """The log file, relative to the data directory (whose layout is fixed:
        ``scripts/<SCRIPT_ID>/logs/<YYYY-MM-DDTHH-MM-SS>__<JOB_ID>.log``); None until
        the job has an id. Derived, never stored: a job can be inserted in one
        statement with others (the scheduler's bulk firing) without a second write."""
        if self.id is None:
            return None
        return f"scripts/{self.script_id}/logs/{log_file_name(self.created_at, self.id)}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def queued(self) -> None:
        """Announce the job once it has an id (after the first save)."""
        self.raise_event(JobRequested(job_id=self.require_id, script_id=self.script_id))

    def start(self, now: datetime, *, container_id: str) -> None:
        if self.status != JobStatus.QUEUED:
            raise IllegalTransition(f"job {self.id} is {self.status}; only a queued job can start")
        self.status = JobStatus.RUNNING
        self.started_at = now
        self.container_id = container_id
        self.raise_event(JobStarted(job_id=self.require_id, script_id=self.script_id))

    def finish(
        self, now: datetime, status: JobStatus, *, exit_code: int | None, error: str | None = None
    ) -> None:
        if not status.is_final:
            raise ValueError(f"{status} is not a final status")
        if self.status.is_final:
            raise IllegalTransition(f"job {self.id} already ended as {self.status}")
        self.status = status
        self.finished_at = now
        self.exit_code = exit_code
        self.error = error
        self.raise_event(
            JobFinished(
                job_id=self.require_id,
                script_id=self.script_id,
                status=status.value,
                exit_code=exit_code,
                duration_seconds=self.duration_seconds,
            )
        )

    def request_cancel(self, now: datetime) -> None:
        """A queued job ends cancelled at once (it will never start); a running one is
        flagged, and its worker stops the container (``JobCancelRequested``)."""
        if self.status.is_final:
            raise IllegalTransition(f"job {self.id} already ended as {self.status}")
        if self.status == JobStatus.QUEUED:
            self.cancel_requested = True
            self.finish(
                now, JobStatus.CANCELLED, exit_code=None, error="cancelled before it started"
            )
            return
        if self.cancel_requested:
            return
        self.cancel_requested = True
        self.raise_event(JobCancelRequested(job_id=self.require_id))

    def finish_from_exit(
        self, now: datetime, exit_code: int, *, oom_killed: bool, memory_mb: int | None
    ) -> None:
        """End a job whose process exited by itself (not stopped by us)."""
        self.oom_killed = oom_killed
        if exit_code == 0 and not oom_killed:
            self.finish(now, JobStatus.SUCCEEDED, exit_code=0)
        elif oom_killed:
            limit = f" of {memory_mb} MB" if memory_mb else ""
            self.finish(
                now,
                JobStatus.FAILED,
                exit_code=exit_code,
                error=f"killed by the kernel: out of memory (limit{limit})",
            )
        else:
            self.finish(now, JobStatus.FAILED, exit_code=exit_code, error=exit_reason(exit_code))


_SIGNALS = {1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"}


def exit_reason(exit_code: int) -> str:
    """``exit code 3``; for the shell's 128 + N codes of a process killed by signal N,
    which signal: a Docker engine that stops (without live-restore) ends its
    containers with SIGTERM, then SIGKILL, and that is worth telling apart from a
    script's own failure."""
    signal = _SIGNALS.get(exit_code - 128)
    return f"exit code {exit_code}" + (f": killed by {signal}" if signal else "")


def log_file_name(created_at: datetime, job_id: int) -> str:
    """``<YYYY-MM-DDTHH-MM-SS>__<JOB_ID>.log``, the seed's naming, in UTC."""
    return f"{created_at:%Y-%m-%dT%H-%M-%S}__{job_id}.log"


_LOG_FILE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}__([1-9]\d{0,17})\.log$")


def job_id_of_log_file(name: str) -> int | None:
    """The job id in a name that ``log_file_name`` made; None for any other name (a
    file some other hand put in a logs folder is not a job's log)."""
    match = _LOG_FILE_NAME.fullmatch(name)
    return int(match.group(1)) if match else None
