"""The ports: what services need from the outside world, with their contracts.

Adapters in ``scripter.adapters`` implement them for real (SQLAlchemy, RabbitMQ,
Docker); ``tests/unit/fakes.py`` implements them in memory for unit tests. One
contract test suite per port runs against every adapter.
"""

from __future__ import annotations

# Repositories have a method named ``list``; inside their class bodies the builtin
# must be spelled ``builtins.list``.
import builtins
import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Protocol, Self

from scripter.domain.events import DomainEvent, WorkQueue
from scripter.domain.images import Image
from scripter.domain.jobs import Job, JobStatus
from scripter.domain.schedules import ArmedFiring, Schedule, ScheduleFiring
from scripter.domain.scripts import Script, ScriptRevision

# --- persistence --------------------------------------------------------------------


class ImageRepository(Protocol):
    async def add(self, image: Image) -> Image:
        """Insert a new image; sets ``id``. Raises ``Conflict(field='name')`` on a taken name."""
        ...

    async def get(self, image_id: int) -> Image:
        """The image, or raises ``NotFound``."""
        ...

    async def get_by_name(self, name: str) -> Image | None: ...

    async def get_many(self, image_ids: Iterable[int]) -> dict[int, Image]:
        """Those of ``image_ids`` that exist, by id (one query)."""
        ...

    async def list(self) -> builtins.list[Image]:
        """All images, ordered by id."""
        ...

    async def update(self, image: Image) -> None:
        """Save changes. Raises ``ConcurrentUpdate`` if the stored version moved on."""
        ...

    async def delete(self, image_id: int) -> None: ...

    async def list_by_status(self, status: str) -> builtins.list[Image]: ...


class ScriptRepository(Protocol):
    async def add(self, script: Script) -> Script:
        """Insert; sets ``id``. Raises ``Conflict(field='name')`` on a taken name."""
        ...

    async def get(self, script_id: int) -> Script:
        """The script, or raises ``NotFound``."""
        ...

    async def get_many(self, script_ids: Iterable[int]) -> dict[int, Script]:
        """Those of ``script_ids`` that exist, by id (one query)."""
        ...

    async def list(self) -> builtins.list[Script]: ...

    async def list_by_image(self, image_id: int) -> builtins.list[Script]: ...

    async def update(self, script: Script) -> None:
        """Save changes; raises ``ConcurrentUpdate`` on a stale version."""
        ...

    async def delete(self, script_id: int) -> None: ...

    async def add_revision(self, revision: ScriptRevision) -> ScriptRevision:
        """Insert a revision; (script_id, number) is unique (``Conflict`` otherwise)."""
        ...

    async def get_revision(self, script_id: int, number: int) -> ScriptRevision:
        """The revision, or raises ``NotFound``."""
        ...

    async def list_revisions(self, script_id: int) -> builtins.list[ScriptRevision]:
        """Newest first."""
        ...


class JobRepository(Protocol):
    async def add(self, job: Job) -> Job:
        """Insert; sets ``id``."""
        ...

    async def add_many(self, jobs: Sequence[Job]) -> None:
        """Insert them all at once; sets each ``id`` (in order, ids ascending)."""
        ...

    async def get(self, job_id: int) -> Job:
        """The job, or raises ``NotFound``."""
        ...

    async def update(self, job: Job) -> None:
        """Save changes; raises ``ConcurrentUpdate`` on a stale version."""
        ...

    async def list(
        self,
        *,
        script_id: int | None = None,
        status: JobStatus | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> builtins.list[Job]:
        """Newest first; ``before_id`` is the cursor (ids below it)."""
        ...

    async def list_unfinished(self) -> builtins.list[Job]:
        """Queued and running jobs, oldest first (for recovery after a restart)."""
        ...

    async def has_unfinished(self, script_id: int) -> bool:
        """Whether the script has a queued or running job."""
        ...

    async def unfinished_of_schedule(self, schedule_id: int) -> builtins.list[Job]:
        """The queued and running jobs a schedule started, oldest first (for its
        overlap policy)."""
        ...

    async def prunable(
        self, script_id: int, *, keep_last: int | None, older_than: datetime | None
    ) -> builtins.list[Job]:
        """Finished jobs of the script that retention lets go: those beyond its
        ``keep_last`` newest finished jobs, and those created before ``older_than``
        (a limit that is None does not apply). Unfinished jobs are never returned."""
        ...

    async def delete(self, job_id: int) -> None:
        """Remove the row; a missing one is ``NotFound``."""
        ...

    async def existing_ids(self, job_ids: Iterable[int]) -> set[int]:
        """Those of ``job_ids`` that have a row (one query; the retention sweep asks
        which log files still belong to a job)."""
        ...

    async def engine_seen(self, engine_id: str, at: datetime) -> None:
        """A worker of ``engine_id`` is alive at ``at`` (later times only move it on)."""
        ...

    async def engines_seen_since(self, since: datetime) -> set[str]:
        """The engines some worker reported at or after ``since``."""
        ...


class ScheduleRepository(Protocol):
    async def add(self, schedule: Schedule) -> Schedule: ...

    async def get(self, schedule_id: int) -> Schedule:
        """The schedule, or raises ``NotFound``."""
        ...

    async def list_by_script(self, script_id: int) -> builtins.list[Schedule]: ...

    async def update(self, schedule: Schedule) -> None:
        """Save changes; raises ``ConcurrentUpdate`` on a stale version."""
        ...

    async def delete(self, schedule_id: int) -> None: ...

    async def due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        """Enabled schedules whose ``next_run_at`` is at or before ``now``, earliest first."""
        ...

    async def lock_due(self, now: datetime, limit: int = 100) -> builtins.list[Schedule]:
        """Like ``due``, for a unit of work that will claim them: where the database
        has row locks, the rows stay locked until it ends, and rows another unit of
        work holds are skipped (not waited for)."""
        ...

    async def next_due_time(self) -> datetime | None:
        """The earliest ``next_run_at`` of any enabled schedule."""
        ...

    async def upcoming(self, limit: int = 10) -> builtins.list[Schedule]:
        """The next ``limit`` enabled schedules that have a ``next_run_at``, soonest
        first (ties by id), over all scripts; due ones included."""
        ...

    async def claim(self, schedule: Schedule, seen_next_run_at: datetime) -> bool:
        """Move ``schedule`` to its new ``next_run_at`` only if the stored value is still
        ``seen_next_run_at`` (one conditional UPDATE). False: someone else claimed it."""
        ...

    async def claim_many(self, claims: Sequence[tuple[Schedule, datetime | None]]) -> bool:
        """Move each schedule from its ``next_run_at`` (as read) to the paired new one,
        all or nothing: False when any was moved or changed by someone else since it
        was read (the caller then rolls back). On True each schedule carries its new
        ``next_run_at`` and version."""
        ...

    async def add_firings(self, firings: Sequence[ScheduleFiring]) -> None:
        """Record several firings at once; ``Conflict`` if any fire time is taken."""
        ...

    async def add_firing(self, firing: ScheduleFiring) -> ScheduleFiring:
        """Record a firing; (schedule_id, fire_time) is unique (``Conflict`` otherwise)."""
        ...

    async def list_firings(
        self, schedule_id: int, limit: int = 100, before: datetime | None = None
    ) -> builtins.list[ScheduleFiring]:
        """Newest fire time first; ``before`` is the cursor (fire times before it).
        Armed firings are not part of the history."""
        ...

    # --- arming ahead (see ``ArmedFiring``) -------------------------------------------

    async def arm(self, firings: Sequence[tuple[ScheduleFiring, Job]]) -> None:
        """Write each firing with its job, armed: no read of jobs or firings sees
        them until ``fire_armed``. Ids are set on both; ``Conflict`` if a fire time is
        taken (armed or not)."""
        ...

    async def due_armed(self, now: datetime, limit: int) -> builtins.list[ArmedFiring]:
        """Armed firings due at ``now``, earliest first (read, not locked)."""
        ...

    async def fire_armed(
        self, armed: Sequence[ArmedFiring], now: datetime
    ) -> builtins.list[ArmedFiring]:
        """Flip those that can run as armed (the script at the same revision, the
        image built under the same tag): each job queued as created at ``now``, each
        firing fired at ``now``. Returns the ones flipped. ``ConcurrentUpdate`` if any
        of them is no longer armed (flipped by another, or disarmed): the caller
        rolls back."""
        ...

    async def disarm(self, schedule_ids: Iterable[int]) -> dict[int, datetime]:
        """Remove every armed firing (and its job) of these schedules, and move each
        enabled one back to its earliest armed fire time, so that time fires as if it
        had never been armed. Returns that earliest time per schedule disarmed."""
        ...

    async def next_armed_time(self) -> datetime | None:
        """The earliest fire time of any armed firing."""
        ...

    async def armed_times(
        self, schedule_ids: Iterable[int] | None = None, *, limit: int | None = None
    ) -> dict[int, datetime]:
        """The earliest armed fire time of each of these schedules that has one (all
        schedules: None), soonest first, at most ``limit`` of them. An armed time is
        the schedule's real next run: arming moved ``next_run_at`` past it."""
        ...


class UnitOfWork(Protocol):
    """One transaction over all repositories.

    On ``commit`` the events raised by every aggregate the repositories have seen,
    and any passed to ``emit``, are written to the outbox in the same transaction;
    the relay publishes them after commit. Leaving the block without ``commit``
    rolls back and drops the events.
    """

    images: ImageRepository
    scripts: ScriptRepository
    jobs: JobRepository
    schedules: ScheduleRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def emit(self, event: DomainEvent) -> None:
        """Queue an event that belongs to no aggregate; written on commit."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(kw_only=True)
class OutboxMessage:
    id: int
    event: DomainEvent


class Outbox(Protocol):
    """The events committed but not yet published, read by the relay."""

    async def pending(self, limit: int = 100) -> builtins.list[OutboxMessage]:
        """Unpublished messages in commit order, from at most ``limit`` stored rows.
        Events stored together (one commit's) share their message id: marking the id
        marks them all, so mark it only once every one of them is published."""
        ...

    async def mark_published(self, message_ids: Sequence[int]) -> None: ...

    def relay_lock(self) -> AbstractAsyncContextManager[bool]:
        """Held by a relay while it drains, so that of the processes sharing this
        outbox only one at a time reads and publishes the pending messages (else two
        publish the same message). Yields False when the lock could not be had in a
        reasonable time: then skip this drain."""
        ...


class Database(Protocol):
    async def ping(self) -> None:
        """Raises if the database cannot answer a trivial query."""
        ...


# --- messaging ----------------------------------------------------------------------

EventHandler = Callable[[DomainEvent], Awaitable[None]]


class EventBus(Protocol):
    """Carries domain events between processes, at least once.

    Register consumers and listeners before ``start``.
    """

    def consume(self, queue: WorkQueue, handler: EventHandler) -> None:
        """Competing consumers of a durable work queue: each message reaches one handler.
        The message is acknowledged after the handler returns; if it raises, the
        message is delivered again (so handlers must be idempotent). At most
        ``concurrency`` handlers run at once per process."""
        ...

    def listen(self, handler: EventHandler) -> None:
        """Every event published from now on, in this process (fan-out, not durable)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Stop consuming; waits for running handlers."""
        ...

    async def publish(self, event: DomainEvent) -> None:
        """Hand the event to the bus; durable once this returns. Raises if the broker is
        unreachable (the outbox keeps the event and the relay retries)."""
        ...

    async def ping(self) -> None:
        """Raises if the broker is unreachable."""
        ...


# --- containers ---------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class Mount:
    source: Path
    """The path on the Docker host (see ``data.host_directory``)."""
    target: str
    read_only: bool = True


@dataclass(kw_only=True, frozen=True)
class ContainerSpec:
    image: str
    command: Sequence[str]
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    mounts: Sequence[Mount] = ()
    working_dir: str | None = None
    network_mode: str = "none"
    memory_bytes: int | None = None
    nano_cpus: int | None = None
    pids_limit: int | None = None
    read_only_rootfs: bool = False
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    """Writable in-memory folders, path -> mount options (e.g. ``size=256m``)."""
    drop_all_capabilities: bool = True
    no_new_privileges: bool = True
    user: str | None = None
    init: bool = True
    """Run a tiny init as PID 1 that forwards signals and reaps zombies: a program
    that is PID 1 itself ignores SIGTERM unless it installs a handler."""


@dataclass(kw_only=True, frozen=True)
class ContainerInfo:
    id: str
    status: str
    """Docker's status word: created, running, exited, ..."""
    labels: Mapping[str, str]
    exit_code: int | None
    oom_killed: bool = False
    """The kernel killed it for exceeding its memory limit."""
    created_at: datetime | None = None
    image_id: str | None = None
    """The id of the image it was created from (``sha256:...``), whatever tag named it."""
    finished_at: datetime | None = None
    """When it ended (None while it runs): tells a job that ended before its deadline
    from one that ran past it, when its end is recorded later (after a restart)."""


@dataclass(kw_only=True, frozen=True)
class BuildResult:
    image_id: str
    tag: str


class ImageInUse(Exception):
    """The engine refused to remove an image because a container (a job) uses it."""


class BuildFailed(Exception):
    """The build ran but Dockerfile or context was wrong; ``message`` is the error line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WaitTimedOut(Exception):
    """The container still runs after the wait's timeout."""


class ContainerRuntime(Protocol):
    """Docker behind a port. Every call is safe to make from the event loop."""

    async def ping(self) -> None:
        """Raises if the engine is unreachable."""
        ...

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
        """Build ``context`` (a folder with a Dockerfile), calling ``on_line`` with each
        output line as it arrives. Raises ``BuildFailed`` with the error line."""
        ...

    async def remove_image(self, reference: str) -> None:
        """Remove an image by id or tag; a missing image is not an error. Raises
        ``ImageInUse`` while a container of it exists (a job runs on it)."""
        ...

    async def remove_untagged_image(self, image_id: str) -> bool:
        """Remove the image ``image_id`` only if no tag names it any more (a rebuild
        moved its tag to the new image) and no container uses it; True if removed.
        An image still tagged (another image definition built the same content) or
        in use stays, and so does a missing one (False)."""
        ...

    async def image_exists(self, reference: str) -> bool: ...

    async def run(self, spec: ContainerSpec) -> str:
        """Create and start a detached container; returns its id."""
        ...

    async def wait(self, container_id: str, timeout: float | None = None) -> int:
        """The exit code once the container stops. Raises ``WaitTimedOut``."""
        ...

    async def stop(self, container_id: str, grace_seconds: float = 10) -> None:
        """SIGTERM, then SIGKILL after the grace period. A stopped or missing
        container is not an error."""
        ...

    async def kill(self, container_id: str) -> None:
        """SIGKILL now; a stopped or missing container is not an error."""
        ...

    async def remove_container(self, container_id: str) -> None:
        """Remove (forcefully); a missing container is not an error."""
        ...

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        """The container's state, or None if it does not exist."""
        ...

    async def engine_id(self) -> str:
        """A stable id of the Docker engine (jobs remember where they ran)."""
        ...

    async def list_containers(self, labels: Mapping[str, str]) -> builtins.list[ContainerInfo]:
        """All containers (running or not) carrying every given label; a label with an
        empty value matches any value."""
        ...


# --- files --------------------------------------------------------------------------


class SourceArea(enum.StrEnum):
    """The two kinds of owners of a ``src/`` folder in the data directory."""

    IMAGES = "images"
    SCRIPTS = "scripts"


@dataclass(kw_only=True, frozen=True)
class FileInfo:
    path: str
    size: int
    modified_at: datetime


class FileStore(Protocol):
    """Sources and logs in the data directory (layout in ARCHITECTURE.md section 4).

    Paths given to it have passed ``validate_relative_path``; the store itself
    refuses any that would pass through a symlink (``InvalidInput``).
    """

    root: Path
    """The data directory; paths stored in the database are relative to it."""

    def source_dir(self, area: SourceArea, owner_id: int) -> Path:
        """``<data>/<area>/<id>/src``: the build context of an image, a script's files."""
        ...

    def build_log(self, image_id: int) -> Path:
        """``<data>/images/<id>/build.log``."""
        ...

    async def list_files(self, area: SourceArea, owner_id: int) -> builtins.list[FileInfo]:
        """Every regular file under ``src/``, sorted by path; empty if there is none."""
        ...

    async def read_file(self, area: SourceArea, owner_id: int, path: PurePosixPath) -> bytes:
        """The content, or ``NotFound``."""
        ...

    async def write_file(
        self, area: SourceArea, owner_id: int, path: PurePosixPath, content: bytes
    ) -> None:
        """Create or replace atomically (readers see the old or the new content)."""
        ...

    async def delete_file(self, area: SourceArea, owner_id: int, path: PurePosixPath) -> None:
        """Remove, or ``NotFound``; folders left empty are removed too."""
        ...

    async def delete_owner(self, area: SourceArea, owner_id: int) -> None:
        """Remove ``<area>/<id>/`` with everything in it; a missing folder is fine."""
        ...

    async def read_range(self, path: Path, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of a log from ``offset``; empty past the end or if the file is missing."""
        ...

    async def stage_copy(
        self, area: SourceArea, owner_id: int, overrides: Mapping[str, bytes]
    ) -> Path:
        """A private copy of ``src/`` with ``overrides`` written over it (e.g. a build
        context with extra files); remove it with ``discard_stage``."""
        ...

    async def discard_stage(self, staged: Path) -> None: ...

    async def open_log(self, path: Path, *, truncate: bool) -> LogSink:
        """A sink appending to ``path`` (created, with its folder, if missing)."""
        ...

    def job_log(self, script_id: int, file_name: str) -> Path:
        """``<data>/scripts/<id>/logs/<file_name>``."""
        ...

    def revision_dir(self, script_id: int, number: int) -> Path:
        """``<data>/scripts/<id>/revisions/<number>``: a revision's files, read-only
        for jobs, so editing the script never changes what a running job sees."""
        ...

    async def materialize(self, folder: Path, files: Mapping[str, bytes]) -> None:
        """Write ``files`` into ``folder`` once: if it exists it is left as it is; else
        it appears whole (written aside, then renamed) or not at all."""
        ...

    async def create_empty(self, path: Path) -> None:
        """Create an empty file that anyone may append to (a job's log, written by
        the container's own user)."""
        ...

    async def size(self, path: Path) -> int:
        """Bytes in the file; 0 if it is missing."""
        ...

    async def cut(self, path: Path, limit: int, notice: bytes) -> None:
        """Truncate to ``limit`` bytes, then append ``notice``."""
        ...

    async def free_bytes(self, path: Path) -> int:
        """Bytes that can still be written on the file system holding ``path``."""
        ...

    async def delete_path(self, path: Path) -> None:
        """Remove a file or a folder tree; missing is fine."""
        ...

    async def list_job_logs(self) -> builtins.list[Path]:
        """Every file in the logs folder of any script (``<data>/scripts/<ID>/logs/``),
        whether or not the script still exists; sorted."""
        ...


class LogSink(Protocol):
    def write(self, data: bytes) -> None:
        """Append; cheap enough to call from the event loop for each line."""
        ...

    def close(self) -> None: ...


# --- live logs ----------------------------------------------------------------------


class LogReader(Protocol):
    """Reads one log file from any offset; the file may not exist yet."""

    async def read(self, offset: int, limit: int) -> bytes:
        """``limit`` bytes from ``offset``, fewer only when the file ends before (so
        a short read means "that was the end, for now"); empty at the end or while
        the file does not exist. Raises
        ``scripter.domain.logs.LogTruncated`` when the file is shorter than
        ``offset``. Never blocks the event loop for more than a bounded read."""
        ...

    def close(self) -> None: ...


class LogTailer(Protocol):
    """Notices log files grow. Followers pull the bytes themselves (``open``), each
    at its own pace: a notification only says "this file changed", so a slow follower
    costs no memory and never holds up a fast one."""

    def open(self, path: Path) -> LogReader: ...

    def watch(self, path: Path, on_change: Callable[[], None]) -> AbstractContextManager[None]:
        """Call ``on_change`` (on the event loop) soon after ``path`` changes, until
        the block ends; it may also be called when nothing changed. Every follower of
        files in one folder shares one watcher, released when the last one leaves."""
        ...

    @property
    def watcher_count(self) -> int:
        """Watchers running now (one per watched folder)."""
        ...


# --- access -------------------------------------------------------------------------


class TokenUnavailable(Exception):
    """There is no usable access token (its file is missing, empty or unreadable)."""


class AccessTokenStore(Protocol):
    """The one access token that lets clients in (``<data>/auth-token``), shared by
    every process that serves the API."""

    def current(self) -> str:
        """The token as it is now. Another process may replace it at any time (a
        rotation): the store notices, cheaply enough to ask on every request.
        Raises ``TokenUnavailable``."""
        ...

    def ensure(self) -> tuple[str, bool]:
        """The token, made first if there is none; ``True`` when this call made it.
        Of several processes starting together exactly one makes it."""
        ...

    def rotate(self) -> str:
        """Replace the token with a new random one (atomically) and return it."""
        ...
