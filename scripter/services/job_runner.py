"""The worker's side of jobs: start a container per job, supervise it to its end,
and pick up the pieces after a restart.

Delivery is at least once, so every step is idempotent: a job that is not queued is
not started again, a container is named after its job (a second create fails), and
the state machine refuses a second start or finish.

The job's own process writes its output into the log file (the worker is not in
the data path), so a worker restart loses no output; the container outlives the
worker and the next worker re-attaches to it by label.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from scripter.domain.clock import Clock
from scripter.domain.errors import ConcurrentUpdate, Conflict, IllegalTransition, NotFound
from scripter.domain.events import DomainEvent, JobCancelRequested, JobRequested
from scripter.domain.jobs import Job, JobStatus, exit_reason
from scripter.domain.ports import (
    BuildFailed,
    ContainerInfo,
    ContainerRuntime,
    ContainerSpec,
    FileStore,
    Mount,
    UnitOfWorkFactory,
)
from scripter.domain.scripts import RevisionSettings
from scripter.services.retention import RetentionSettings, RetentionSweeper

log = logging.getLogger(__name__)

EnsureImage = Callable[[int, str, Callable[[str], None]], Awaitable[None]]
"""(image id, tag, note): make sure the tag is on this worker's engine, building the
image there from its definition if it is missing (``ImageService.ensure_built_here``);
``note`` takes lines for the job's log."""

JOB_LABEL = "scripter.job_id"
SCRIPT_LABEL = "scripter.script_id"
NAMESPACE_LABEL = "scripter.namespace"
SOURCE_MOUNT = "/scripter/src"
LOG_MOUNT = "/scripter/output.log"
ORPHAN_AFTER_SECONDS = 120.0
DISK_FULL_BELOW_BYTES = 1024 * 1024
"""A failed job whose log's disk has less room than this is reported as stopped by
the full disk (a print of a few kilobytes fails there already)."""
_RECORD_ATTEMPTS = 3
# The container's own shell sends stdout and stderr, merged, into the log file.
_LAUNCH = 'exec "$@" >>' + LOG_MOUNT + " 2>&1"


@dataclass(kw_only=True, frozen=True)
class RunnerSettings:
    namespace: str = "scripter"
    concurrency: int = 4
    log_limit_bytes: int = 100 * 1024 * 1024
    keep_last: int | None = 100
    keep_days: int | None = 30
    stop_grace_seconds: float = 10.0
    read_only_root: bool = True
    """Jobs see a read-only root file system with a writable ``/tmp``, unless their
    script says otherwise (``Script.read_only_root``)."""
    tmp_size_mb: int = 256
    host_data_directory: Path | None = None
    """The data directory as the Docker engine sees it (None: the same path)."""
    poll_seconds: float = 1.0
    """How often a supervisor looks at the log size and the clock."""
    slow_check_seconds: float = 10.0
    """How often it re-reads the cancel flag and inspects the container, in case an
    event (cancel, exit) was missed."""
    name_race_seconds: float = 5.0
    """How long a start that found its container name taken looks for the container
    another handler is creating (it holds the name before it shows in lists)."""
    slot_wait_seconds: float = 600.0
    """A request that waits longer for a free slot goes back to the queue (RabbitMQ
    closes channels whose messages stay unacknowledged for 30 minutes)."""
    retry_seconds: float = 1.0
    """First pause before a supervisor tries again after the database or the Docker
    engine failed it (a restart, a network cut); doubled each time up to
    ``retry_max_seconds``. It never gives up while the worker runs: a job must not
    stay ``running`` because its end could not be recorded at the first try."""
    retry_max_seconds: float = 30.0
    start_record_patience_seconds: float = 300.0
    """How long a started container waits for its start to be recorded (the database
    restarting) before it is stopped and the request goes back to the queue."""
    orphan_sweep_seconds: float = 60.0
    """How often a worker looks for ``running`` jobs that no worker records: on its
    own engine, those whose container ended or vanished while its worker was gone
    for good; on other engines, those long past their timeout (``lost_after_seconds``)."""
    lost_after_seconds: float = 600.0
    """A job running on another engine is recorded ``lost`` once no worker of that
    engine has reported alive for this long (and the job has run this long), or once
    it is this long past its timeout and stop grace: a live worker of that engine
    would have stopped and recorded it by then."""


@dataclass(eq=False)
class _Supervised:
    job_id: int
    container_id: str
    holds_slot: bool = True
    """Started by this worker, so it holds one of its slots. A container re-attached
    after a restart holds none (see ``_recover``)."""
    cancel: asyncio.Event = field(default_factory=asyncio.Event)


class StartInProgress(Exception):
    """Another handler holds the job's container name; the request comes back later."""


class NoFreeSlot(Exception):
    """Every slot stayed busy; the request goes back to the queue."""


class JobRunner:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        files: FileStore,
        runtime: ContainerRuntime,
        clock: Clock,
        settings: RunnerSettings,
        ensure_image: EnsureImage | None = None,
    ) -> None:
        self._uow = uow
        self._files = files
        self._runtime = runtime
        self._clock = clock
        self._settings = settings
        self._ensure_image = ensure_image
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._supervised: dict[int, _Supervised] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._recovered = asyncio.Event()
        """Handlers wait for recovery, so it never mistakes this worker's own new
        containers for leftovers."""
        self._sweeping: asyncio.Task[None] | None = None
        self._retention = RetentionSweeper(
            uow=uow,
            files=files,
            clock=clock,
            settings=RetentionSettings(keep_last=settings.keep_last, keep_days=settings.keep_days),
        )

    # --- handlers -------------------------------------------------------------------

    async def handle_job_requested(self, event: DomainEvent) -> None:
        """Start the job's container, record it running, and supervise it in the
        background (the message is acknowledged once the job is recorded running)."""
        assert isinstance(event, JobRequested)
        await self._recovered.wait()
        if not await self._is_queued(event.job_id):
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), self._settings.slot_wait_seconds)
        except TimeoutError:
            raise NoFreeSlot(f"job {event.job_id}: no free slot") from None
        try:
            started = await self._start(event.job_id)
        except BaseException:
            self._slots.release()
            raise
        if started is None:
            self._slots.release()
            return
        self._spawn(started)

    async def handle_cancel_requested(self, event: DomainEvent) -> None:
        """Every worker hears every cancel; the one supervising the job acts on it."""
        if isinstance(event, JobCancelRequested):
            supervised = self._supervised.get(event.job_id)
            if supervised is not None:
                supervised.cancel.set()

    async def _is_queued(self, job_id: int) -> bool:
        async with self._uow() as uow:
            try:
                job = await uow.jobs.get(job_id)
            except NotFound:
                return False
        return job.status == JobStatus.QUEUED

    # --- starting -------------------------------------------------------------------

    async def _start(self, job_id: int, *, built_here: bool = False) -> _Supervised | None:
        async with self._uow() as uow:
            job = await uow.jobs.get(job_id)
            if job.status != JobStatus.QUEUED:
                return None
            revision = await uow.scripts.get_revision(job.script_id, job.revision)
        run = revision.revision_settings()
        source = self._files.revision_dir(job.script_id, job.revision)
        log_path = self._files.root / (job.log_path or "")
        try:
            await self._files.materialize(source, revision.file_contents())
            await self._files.create_empty(log_path)
        except OSError as exc:
            # A full disk, a read-only or vanished data directory: say so on the job
            # rather than sending the request round the queue unseen.
            reason = f"its files could not be written to the data directory: {exc}"
            await self._record(
                job_id,
                lambda j, now: j.finish(now, JobStatus.FAILED, exit_code=None, error=reason),
                only_if=JobStatus.QUEUED,
            )
            return None
        spec = self._spec(job, run, source, log_path)
        try:
            container_id = await self._runtime.run(spec)
        except Exception as exc:
            if not built_here and await self._image_missing_here(job):
                if not await self._build_image_here(job, log_path):
                    return None
                return await self._start(job_id, built_here=True)
            existing = await self._job_container(job, patience=self._settings.name_race_seconds)
            if existing is not None and not self._is_orphan(existing):
                # A second delivery while another handler starts it, or a starter
                # that died a moment ago: ask again later (the bus redelivers) until
                # the job runs, or its container is old enough to call an orphan.
                raise StartInProgress(f"job {job_id}: its container is being started") from exc
            if existing is not None:
                # Left by a worker that died between creating it and recording the
                # start: nobody supervises it, so start afresh.
                await self._runtime.remove_container(existing.id)
                return await self._start(job_id)
            reason = f"the container could not start: {exc}"
            await self._record(
                job_id,
                lambda j, now: j.finish(now, JobStatus.FAILED, exit_code=None, error=reason),
                only_if=JobStatus.QUEUED,
            )
            return None
        try:
            await self._record_start(job_id, container_id)
        except (ConcurrentUpdate, IllegalTransition, NotFound):
            # Cancelled or deleted meanwhile, or started by someone else: ours must
            # not run.
            await self._runtime.kill(container_id)
            await self._runtime.remove_container(container_id)
            return None
        except Exception:
            # The database stayed unreachable: stop ours, so that the redelivered
            # request starts the job once, not beside a container nobody records.
            with contextlib.suppress(Exception):
                await self._runtime.kill(container_id)
                await self._runtime.remove_container(container_id)
            raise
        # Which worker ran which job, for operators of several (and the scale-out tests).
        log.info("job %s started in container %s", job_id, container_id[:12])
        return _Supervised(job_id=job_id, container_id=container_id)

    async def _record_start(self, job_id: int, container_id: str) -> None:
        """Record the job running in ``container_id``. The container runs already, so
        a database that is briefly unreachable (a restart) is waited for, within
        ``start_record_patience_seconds``; a refusal of the state machine is not."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._settings.start_record_patience_seconds
        delay = self._settings.retry_seconds
        while True:
            try:
                async with self._uow() as uow:
                    job = await uow.jobs.get(job_id)
                    job.start(self._clock.now(), container_id=container_id)
                    job.engine_id = await self._runtime.engine_id()
                    # By id: the tag it was started by moves to the next rebuild.
                    started = await self._runtime.inspect(container_id)
                    job.docker_image_id = started.image_id if started else None
                    await uow.jobs.update(job)
                    await uow.commit()
                return
            except (ConcurrentUpdate, IllegalTransition, NotFound):
                raise
            except Exception as exc:
                if loop.time() + delay > give_up:
                    raise
                log.warning(
                    "job %s: recording its start failed (%s: %s); trying again in %.0f s",
                    job_id,
                    type(exc).__name__,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.retry_max_seconds)

    async def _image_missing_here(self, job: Job) -> bool:
        """Whether the job's image is missing from this worker's engine (a worker on
        another host than the one that built it), when this worker can build it."""
        if self._ensure_image is None or not job.image_tag:
            return False
        try:
            return not await self._runtime.image_exists(job.image_tag)
        except Exception:
            return False  # the engine is unwell: the start's own error says so

    async def _build_image_here(self, job: Job, log_path: Path) -> bool:
        """Build the job's image on this engine first, saying so at the top of the
        job's log; False (the job recorded failed, with why) if it cannot be."""
        assert self._ensure_image is not None and job.image_tag
        sink = await self._files.open_log(log_path, truncate=False)
        try:
            await self._ensure_image(
                job.image_id,
                job.image_tag,
                lambda line: sink.write(f"[scripter] {line}\n".encode()),
            )
        except Exception as exc:
            message = exc.message if isinstance(exc, BuildFailed | Conflict) else str(exc)
            reason = (
                f"its image {job.image_tag} is not on this worker's Docker engine and"
                f" could not be built here: {message}"
            )
            await self._record(
                job.require_id,
                lambda j, now: j.finish(now, JobStatus.FAILED, exit_code=None, error=reason),
                only_if=JobStatus.QUEUED,
            )
            return False
        finally:
            sink.close()
        return True

    def _spec(self, job: Job, run: RevisionSettings, source: Path, log_path: Path) -> ContainerSpec:
        env = {**{v.name: v.value for v in run.env}, **job.env, "PYTHONUNBUFFERED": "1"}
        return ContainerSpec(
            image=job.image_tag or "",
            name=f"{self._settings.namespace.replace('/', '-')}-job-{job.require_id}",
            command=[
                "/bin/sh",
                "-c",
                _LAUNCH,
                "scripter-job",
                "python3",
                run.entry_file,
                *job.args,
            ],
            labels={
                JOB_LABEL: str(job.require_id),
                SCRIPT_LABEL: str(job.script_id),
                NAMESPACE_LABEL: self._settings.namespace,
            },
            env=env,
            mounts=[
                Mount(source=self._host_path(source), target=SOURCE_MOUNT, read_only=True),
                Mount(source=self._host_path(log_path), target=LOG_MOUNT, read_only=False),
            ],
            working_dir=SOURCE_MOUNT,
            network_mode=run.network_mode.value,
            memory_bytes=run.limits.memory_mb * 1024 * 1024 if run.limits.memory_mb else None,
            nano_cpus=int(run.limits.cpus * 1e9) if run.limits.cpus else None,
            pids_limit=run.limits.pids,
            read_only_rootfs=(
                self._settings.read_only_root if run.read_only_root is None else run.read_only_root
            ),
            tmpfs={"/tmp": f"rw,nosuid,nodev,size={self._settings.tmp_size_mb}m"},
        )

    def _host_path(self, path: Path) -> Path:
        host = self._settings.host_data_directory
        return path if host is None else host / path.relative_to(self._files.root)

    async def _job_container(self, job: Job, patience: float = 0.0) -> ContainerInfo | None:
        """The job's container, if any. With ``patience``, look again for that long:
        a container that another handler is creating holds its name before it shows
        in the list."""
        labels = {JOB_LABEL: str(job.require_id), NAMESPACE_LABEL: self._settings.namespace}
        # Real time, not the domain clock: this waits for the engine, not for a date.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        while True:
            found = await self._runtime.list_containers(labels)
            if found or loop.time() >= deadline:
                return found[0] if found else None
            await asyncio.sleep(0.2)

    def _is_orphan(self, container: ContainerInfo) -> bool:
        """A container of a job still queued is being started by some worker, unless
        it is older than any start takes: then its starter died."""
        created = container.created_at
        age = (self._clock.now() - created).total_seconds() if created else 0.0
        return age > ORPHAN_AFTER_SECONDS

    # --- supervising ----------------------------------------------------------------

    def _spawn(self, supervised: _Supervised) -> None:
        """Supervise in the background; the slot is released when the job ends."""
        self._supervised[supervised.job_id] = supervised
        task = asyncio.create_task(self._supervise(supervised), name=f"job-{supervised.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _supervise(self, supervised: _Supervised) -> None:
        # The worker stopping cancels this: the container runs on, the next worker
        # re-attaches. Anything else (the database or the engine unreachable) is
        # tried again: every step of _follow can be repeated, and giving up would
        # leave the job recorded ``running`` until some worker restarts.
        delay = self._settings.retry_seconds
        try:
            while True:
                try:
                    await self._follow(supervised)
                    return
                except Exception as exc:
                    log.warning(
                        "supervising job %s failed (%s: %s); trying again in %.0f s",
                        supervised.job_id,
                        type(exc).__name__,
                        exc,
                        delay,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._settings.retry_max_seconds)
        finally:
            if self._supervised.get(supervised.job_id) is supervised:
                self._supervised.pop(supervised.job_id)
            if supervised.holds_slot:
                self._slots.release()

    async def _follow(self, supervised: _Supervised) -> None:
        job = await self._load(supervised.job_id)
        if job.status.is_final:
            # Recorded already (by an earlier try whose removal failed, or another
            # worker): only the container is left to remove.
            await self._remove(supervised.container_id)
            return
        run = await self._run_settings(job)
        limit = self._log_limit(run)
        log_path = self._files.root / (job.log_path or "")
        deadline = _deadline(job, run)
        if job.cancel_requested:
            supervised.cancel.set()
        exited = asyncio.create_task(self._runtime.wait(supervised.container_id))
        last_slow_check = self._clock.now()
        try:
            while True:
                cancelled = asyncio.create_task(supervised.cancel.wait())
                done, _ = await asyncio.wait(
                    {exited, cancelled},
                    timeout=self._settings.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                cancelled.cancel()
                now = self._clock.now()
                if exited in done:
                    # The wait ended: an exit, or a failure (the container is gone, the
                    # engine's event stream broke). The engine's own record decides;
                    # inspect raises while the engine is unreachable (tried again).
                    info = await self._runtime.inspect(supervised.container_id)
                    if info is not None and info.exit_code is None:
                        if exited.exception() is not None:
                            await asyncio.sleep(self._settings.poll_seconds)
                        exited = asyncio.create_task(self._runtime.wait(supervised.container_id))
                        continue
                    await self._finish_exited(job, supervised.container_id, info, run)
                    return
                if await self._files.size(log_path) > limit:
                    # No SIGTERM grace: a script that ignores SIGTERM would write on for
                    # all of it. Cut and recorded once it is dead (_finish_exited).
                    await self._runtime.kill(supervised.container_id)
                    with contextlib.suppress(Exception):
                        await exited  # the kill is sent; the engine records the end
                    info = await self._runtime.inspect(supervised.container_id)
                    if info is not None and info.exit_code is None:
                        raise RuntimeError("its container still runs after SIGKILL")
                    await self._finish_exited(job, supervised.container_id, info, run)
                    return
                if supervised.cancel.is_set():
                    await self._stop(
                        job,
                        supervised.container_id,
                        run,
                        (JobStatus.CANCELLED, _CANCELLED),
                    )
                    return
                if deadline is not None and now >= deadline:
                    await self._stop(
                        job, supervised.container_id, run, (JobStatus.TIMED_OUT, _timed_out(run))
                    )
                    return
                if (now - last_slow_check).total_seconds() >= self._settings.slow_check_seconds:
                    last_slow_check = now
                    # Safety nets: a cancel event this worker missed, an exit event the
                    # runtime missed (its event stream broke).
                    if (await self._load(job.require_id)).cancel_requested:
                        supervised.cancel.set()
                    info = await self._runtime.inspect(supervised.container_id)
                    if info is None or info.exit_code is not None:
                        await self._finish_exited(job, supervised.container_id, info, run)
                        return
        finally:
            exited.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await exited

    async def _finish_exited(
        self,
        job: Job,
        container_id: str | None,
        info: ContainerInfo | None,
        run: RevisionSettings,
        stopped: tuple[JobStatus, str] | None = None,
    ) -> None:
        """Record the end of a job whose container is no longer running (or is gone),
        then remove the container. Every path that ends a job comes here, so the same
        rules hold after a plain exit, a stop, the log limit, and a restart:

        - the log is cut back to the limit if it passed it (``log_truncated``);
        - the status is ``stopped`` when this worker stopped it just now; else
          ``cancelled`` if a cancel was requested, ``timed_out`` if the container
          ended at or after its deadline (a worker that stopped it died before
          recording why), ``failed`` if the log passed its limit, else the exit code's.
        """
        limit = self._log_limit(run)
        truncated = await self._enforce_log_limit(job, limit)
        deadline = _deadline(job, run)
        ended_at = info.finished_at if info is not None else None
        if info is None or info.exit_code is None:
            exit_code, oom = None, False
            fallback = (JobStatus.LOST, "its container vanished")
        else:
            exit_code, oom = info.exit_code, info.oom_killed
            fallback = None
        disk_full = (
            None
            if fallback is not None or exit_code == 0 or oom or truncated
            else await self._disk_full(job)
        )

        def finish(j: Job, now: datetime) -> None:
            j.log_truncated = j.log_truncated or truncated
            j.oom_killed = oom
            status, error = stopped or fallback or (None, None)
            if status is None and j.cancel_requested:
                status, error = JobStatus.CANCELLED, _CANCELLED
            elif status is None and deadline is not None and (ended_at or now) >= deadline:
                status, error = JobStatus.TIMED_OUT, _timed_out(run)
            if status is not None:
                if truncated:
                    error = f"{error}; {_limit_error(limit, exit_code)}"
                j.finish(now, status, exit_code=exit_code, error=error)
            elif truncated:
                j.finish(
                    now, JobStatus.FAILED, exit_code=exit_code, error=_limit_error(limit, exit_code)
                )
            else:
                assert exit_code is not None
                j.finish_from_exit(now, exit_code, oom_killed=oom, memory_mb=run.limits.memory_mb)
                if disk_full is not None:
                    j.error = f"{disk_full}; {j.error}"

        await self._record(job.require_id, finish)
        if container_id is not None:
            await self._remove(container_id)

    async def _enforce_log_limit(self, job: Job, limit: int) -> bool:
        """Cut the log back to ``limit`` bytes and end it with the notice, if it passed
        the limit; True if it did (now, or an earlier try: the notice itself takes it
        past the limit, and cutting again changes nothing). Only called once nothing
        writes to the log any more."""
        log_path = self._files.root / (job.log_path or "")
        if await self._files.size(log_path) <= limit:
            return False
        await self._files.cut(log_path, limit, _cut_notice(limit))
        return True

    async def _disk_full(self, job: Job) -> str | None:
        """Why a job failed, when its log's disk is full: its writes failed (ENOSPC),
        which the job only shows as some exit code, and the log cannot say so."""
        free = await self._files.free_bytes(self._files.root / (job.log_path or ""))
        if free >= DISK_FULL_BELOW_BYTES:
            return None
        return (
            f"the disk holding its log is full ({free} bytes free), "
            "so its output could not all be written"
        )

    async def _stop(
        self,
        job: Job,
        container_id: str,
        run: RevisionSettings,
        stopped: tuple[JobStatus, str],
    ) -> None:
        """SIGTERM, the grace, SIGKILL; then record the end as ``stopped``. The log is
        watched during the grace: a script that ignores SIGTERM and writes on is killed
        as soon as its log passes the limit, not at the end of the grace."""
        limit = self._log_limit(run)
        log_path = self._files.root / (job.log_path or "")
        stopping = asyncio.create_task(
            self._runtime.stop(container_id, self._settings.stop_grace_seconds)
        )
        killed = False
        try:
            while not stopping.done():
                await asyncio.wait({stopping}, timeout=self._settings.poll_seconds)
                if not stopping.done() and not killed and await self._files.size(log_path) > limit:
                    await self._runtime.kill(container_id)
                    killed = True
            await stopping
        finally:
            stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stopping
        info = await self._runtime.inspect(container_id)
        await self._finish_exited(job, container_id, info, run, stopped)

    async def _record(
        self,
        job_id: int,
        change: Callable[[Job, datetime], None],
        *,
        only_if: JobStatus | None = None,
    ) -> None:
        """Apply ``change(job, now)`` and commit; a job that already ended (or is not
        in status ``only_if``) is left alone: another worker, or an earlier delivery,
        got there first. A job changed by someone else meanwhile (a cancel request, or
        a restarted worker that re-attached to the same container and records the same
        end) is read again and judged afresh."""
        for attempt in range(_RECORD_ATTEMPTS):
            try:
                async with self._uow() as uow:
                    job = await uow.jobs.get(job_id)
                    if job.status.is_final or (only_if is not None and job.status != only_if):
                        return
                    change(job, self._clock.now())
                    await uow.jobs.update(job)
                    await uow.commit()
            except ConcurrentUpdate:
                if attempt + 1 == _RECORD_ATTEMPTS:
                    raise
            else:
                break
        await self._prune(job.script_id)

    async def _remove(self, container_id: str) -> None:
        # Recorded first, removed second: a crash in between leaves a container that
        # the next start removes, never a finished container with an unfinished job.
        await self._runtime.remove_container(container_id)

    def _log_limit(self, run: RevisionSettings) -> int:
        return run.log_limit_bytes or self._settings.log_limit_bytes

    async def _run_settings(self, job: Job) -> RevisionSettings:
        async with self._uow() as uow:
            revision = await uow.scripts.get_revision(job.script_id, job.revision)
        return revision.revision_settings()

    async def _load(self, job_id: int) -> Job:
        async with self._uow() as uow:
            return await uow.jobs.get(job_id)

    # --- recovery and retention -------------------------------------------------------

    async def recover(self, *, requeue_before: datetime | None = None) -> None:
        """After a (re)start: re-attach to our running containers, record those that
        ended meanwhile with their real exit codes, mark jobs whose container vanished
        ``lost``, and remove leftovers. ``requeue_before``: jobs queued before then are
        requested again (the in-process queue did not survive the restart; later ones
        were requested by this process). Then sweep every ``orphan_sweep_seconds`` until
        ``stop``."""
        try:
            await self._recover(requeue_before)
        finally:
            self._recovered.set()
        if self._sweeping is None:
            self._sweeping = asyncio.create_task(self._sweep_forever(), name="job-orphan-sweep")
            self._tasks.add(self._sweeping)
            self._sweeping.add_done_callback(self._tasks.discard)

    async def _recover(self, requeue_before: datetime | None) -> None:
        engine = await self._runtime.engine_id()
        containers = await self._runtime.list_containers(
            {NAMESPACE_LABEL: self._settings.namespace, JOB_LABEL: ""}
        )
        seen: set[str] = set()
        for info in containers:
            seen.add(info.id)
            try:
                job = await self._load(int(info.labels[JOB_LABEL]))
            except (NotFound, ValueError):
                await self._remove(info.id)
                continue
            if job.require_id in self._supervised:
                continue
            if job.status == JobStatus.QUEUED:
                if self._is_orphan(info):
                    await self._remove(info.id)
                # else another worker is starting it right now: not ours to judge
            elif job.status.is_final or job.container_id != info.id:
                await self._remove(info.id)  # recorded already, or a start that lost
            elif info.status == "running":
                # Without a slot: this may be another live worker's job (several
                # workers share an engine and a namespace, and no worker's liveness is
                # recorded), which must neither stall this recovery nor keep this
                # worker from new work. Following it too does no harm: both see the
                # same end and it is recorded once.
                self._spawn(
                    _Supervised(job_id=job.require_id, container_id=info.id, holds_slot=False)
                )
            elif info.exit_code is not None:
                await self._finish_exited(job, info.id, info, await self._run_settings(job))
            else:
                await self._stop(
                    job,
                    info.id,
                    await self._run_settings(job),
                    (JobStatus.LOST, "its container never ran"),
                )
        async with self._uow() as uow:
            unfinished = await uow.jobs.list_unfinished()
        for job in unfinished:
            if job.status == JobStatus.RUNNING and job.engine_id == engine:
                # Not listed above, and not there now either (a worker sharing this
                # engine may have started the job after the listing).
                if job.container_id not in seen and (
                    job.container_id is None
                    or await self._runtime.inspect(job.container_id) is None
                ):
                    await self._finish_exited(
                        job,
                        None,
                        None,
                        await self._run_settings(job),
                        (JobStatus.LOST, "its container vanished while no worker watched it"),
                    )
            elif (
                job.status == JobStatus.QUEUED
                and requeue_before is not None
                and job.created_at < requeue_before
            ):
                async with self._uow() as uow:
                    uow.emit(JobRequested(job_id=job.require_id, script_id=job.script_id))
                    await uow.commit()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.report_alive()
            except Exception as exc:
                log.warning("reporting this engine alive failed (%s: %s)", type(exc).__name__, exc)
            await asyncio.sleep(self._settings.orphan_sweep_seconds)
            try:
                await self.sweep_orphans()
            except Exception as exc:
                log.warning("sweeping running jobs failed (%s: %s)", type(exc).__name__, exc)

    async def report_alive(self) -> None:
        """Record that a worker of this engine is alive (every ``orphan_sweep_seconds``):
        workers elsewhere call the running jobs of an engine nobody reports ``lost``."""
        engine = await self._runtime.engine_id()
        async with self._uow() as uow:
            try:
                await uow.jobs.engine_seen(engine, self._clock.now())
                await uow.commit()
            except Conflict:
                pass  # another worker of this engine reported it at this very moment

    async def sweep_orphans(self) -> None:
        """Make sure no job stays ``running`` because its worker is gone for good
        (scaled down, its host retired), which recovery alone misses: it runs only
        when a worker starts. For each ``running`` job this worker does not follow:

        - on its own engine, a container that ended is recorded (the same rules as
          any end) and one that is gone makes the job ``lost``; a container still
          running past its timeout and stop grace, or whose cancel was requested, is
          followed from now on (without a slot), which stops it;
        - on another engine, whose containers it cannot see, the job is ``lost`` once
          it is ``lost_after_seconds`` past its timeout and stop grace, or once no
          worker of that engine has reported alive (``report_alive``) for
          ``lost_after_seconds`` (and the job has run that long: a job started just
          before its engine's first report is not judged by it).
        """
        engine = await self._runtime.engine_id()
        silent_for = timedelta(seconds=self._settings.lost_after_seconds)
        async with self._uow() as uow:
            unfinished = await uow.jobs.list_unfinished()
            alive = await uow.jobs.engines_seen_since(self._clock.now() - silent_for)
        grace = timedelta(seconds=self._settings.stop_grace_seconds)
        for job in unfinished:
            if job.status != JobStatus.RUNNING or job.require_id in self._supervised:
                continue
            run = await self._run_settings(job)
            deadline = _deadline(job, run)
            now = self._clock.now()
            if job.engine_id != engine:
                overdue = silent_for + grace
                reason = None
                if deadline is not None and now >= deadline + overdue:
                    reason = (
                        f"its worker on engine {job.engine_id} did not report back "
                        f"{self._settings.lost_after_seconds:.0f} s after its timeout"
                    )
                elif (
                    job.engine_id not in alive
                    and job.started_at is not None
                    and (now >= job.started_at + silent_for)
                ):
                    reason = (
                        f"no worker of engine {job.engine_id} has reported for "
                        f"{self._settings.lost_after_seconds:.0f} s (its workers are gone)"
                    )
                if reason is not None:
                    # Its log is left as it is: the container may still be writing it.
                    await self._record_lost(job.require_id, reason)
                continue
            info = await self._runtime.inspect(job.container_id) if job.container_id else None
            if info is None or info.exit_code is not None:
                # Its follower (if one lives) records the same end: recorded once.
                await self._finish_exited(job, job.container_id, info, run)
            elif job.cancel_requested or (deadline is not None and now >= deadline + grace):
                assert job.container_id is not None
                self._spawn(
                    _Supervised(
                        job_id=job.require_id, container_id=job.container_id, holds_slot=False
                    )
                )

    async def _record_lost(self, job_id: int, reason: str) -> None:
        await self._record(
            job_id, lambda j, now: j.finish(now, JobStatus.LOST, exit_code=None, error=reason)
        )

    async def _prune(self, script_id: int) -> None:
        """Retention after each finished job: old rows and their logs go together (the
        same rules as the worker's periodic sweep, which may be deleting beside us)."""
        await self._retention.prune_script(script_id)

    async def stop(self) -> None:
        """Stop supervising (containers keep running; the next start re-attaches)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


_CANCELLED = "cancelled on request"


def _timed_out(run: RevisionSettings) -> str:
    return f"ran past its timeout of {run.timeout_seconds} s"


def _deadline(job: Job, run: RevisionSettings) -> datetime | None:
    if job.started_at is None or not run.timeout_seconds:
        return None
    return job.started_at + timedelta(seconds=run.timeout_seconds)


def _cut_notice(limit: int) -> bytes:
    return f"\n[scripter] output cut: the log reached its limit of {limit} bytes.\n".encode()


def _limit_error(limit: int, exit_code: int | None) -> str:
    error = f"output passed the log limit of {limit} bytes"
    if exit_code is None or exit_code == 0:
        return error
    return f"{error}; {exit_reason(exit_code)}"


__all__ = ["JobRunner", "NoFreeSlot", "RunnerSettings"]
