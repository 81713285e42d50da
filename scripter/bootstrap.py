"""The composition root: the only module that knows every adapter.

``bootstrap(config)`` builds the adapters the configuration names and wires them to
the services; tests pass their own adapters as keyword arguments. Nothing connects
at import or construction time: ``Scripter.start`` does, for the roles asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import gc
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scripter.adapters.access_token import TokenFile, token_path
from scripter.adapters.bus.memory import InProcessEventBus
from scripter.adapters.bus.rabbit import RabbitEventBus
from scripter.adapters.db.engine import SqlDatabase, create_engine
from scripter.adapters.db.migrate import upgrade_to_head
from scripter.adapters.db.unit_of_work import SqlOutbox, SqlUnitOfWork
from scripter.adapters.docker_runtime import DockerRuntime
from scripter.adapters.files import LocalFileStore
from scripter.adapters.log_tailer import WatchfilesLogTailer
from scripter.config import Config
from scripter.domain.clock import Clock
from scripter.domain.events import BUILD_QUEUE, RUN_QUEUE, WORK_QUEUES, DomainEvent
from scripter.domain.ports import (
    AccessTokenStore,
    ContainerRuntime,
    EventBus,
    FileStore,
    LogTailer,
    Outbox,
    UnitOfWork,
)
from scripter.domain.scripts import NetworkMode
from scripter.services.auth import Authenticator, AuthSettings
from scripter.services.health import HealthReport, check_health
from scripter.services.images import ImageService, ImageSettings
from scripter.services.job_runner import JobRunner, RunnerSettings
from scripter.services.jobs import JobService
from scripter.services.live_events import EventFeed
from scripter.services.live_logs import LiveLogs, LiveSettings
from scripter.services.relay import OutboxRelay
from scripter.services.retention import RetentionSettings, RetentionSweeper
from scripter.services.scheduler import Scheduler, SchedulerSettings
from scripter.services.schedules import ScheduleService, ScheduleSettings
from scripter.services.scripts import ScriptService, ScriptServiceSettings

log = logging.getLogger(__name__)


STOP_GRACE_SECONDS = 5.0
"""How long stopping waits for the scheduler and relay to end their current pass."""


class Role(enum.StrEnum):
    API = "api"
    WORKER = "worker"
    SCHEDULER = "scheduler"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(kw_only=True, eq=False)
class Scripter:
    """The wired application: adapters, services and their background tasks."""

    config: Config
    database: SqlDatabase
    outbox: Outbox
    bus: EventBus
    runtime: ContainerRuntime
    files: FileStore
    clock: Clock
    relay: OutboxRelay
    tailer: LogTailer
    live_settings: LiveSettings = field(default_factory=LiveSettings)
    auth: Authenticator | None = None
    """None when ``auth.enabled`` is off: every client is let in."""
    images: ImageService = field(init=False)
    scripts: ScriptService = field(init=False)
    jobs: JobService = field(init=False)
    runner: JobRunner = field(init=False)
    retention: RetentionSweeper = field(init=False)
    live_feed: EventFeed = field(init=False)
    live_logs: LiveLogs = field(init=False)
    schedules: ScheduleService = field(init=False)
    scheduler: Scheduler = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _bus_started: bool = False
    _builds_recovered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.images = ImageService(
            uow=self.unit_of_work,
            files=self.files,
            runtime=self.runtime,
            clock=self.clock,
            settings=image_settings(self.config),
        )
        self.scripts = ScriptService(
            uow=self.unit_of_work,
            files=self.files,
            clock=self.clock,
            # Script files follow the same size limit as image files.
            settings=ScriptServiceSettings(
                max_file_bytes=self.config.images.max_file_bytes,
                default_network=NetworkMode(self.config.docker.job_network),
            ),
        )
        self.jobs = JobService(uow=self.unit_of_work, files=self.files, clock=self.clock)
        self.runner = JobRunner(
            uow=self.unit_of_work,
            files=self.files,
            runtime=self.runtime,
            clock=self.clock,
            settings=runner_settings(self.config),
            ensure_image=self.images.ensure_built_here,
        )
        self.retention = RetentionSweeper(
            uow=self.unit_of_work,
            files=self.files,
            clock=self.clock,
            settings=retention_settings(self.config),
        )
        self.live_feed = EventFeed(
            queue_limit=self.live_settings.event_queue_limit,
            heartbeat_seconds=self.live_settings.heartbeat_seconds,
        )
        self.live_logs = LiveLogs(
            uow=self.unit_of_work,
            files=self.files,
            tailer=self.tailer,
            feed=self.live_feed,
            settings=self.live_settings,
        )
        self.scheduler = Scheduler(
            uow=self.unit_of_work,
            clock=self.clock,
            settings=SchedulerSettings(
                misfire_grace_seconds=self.config.scheduler.misfire_grace_seconds,
                recheck_seconds=self.config.scheduler.recheck_seconds,
                arm_ahead_seconds=self.config.scheduler.arm_ahead_seconds,
                # SQLite has one writer at a time: concurrent firings would only queue.
                concurrency=1 if self.config.database_url.startswith("sqlite") else 8,
            ),
            flip_lock=lambda: self.database.exclusive("flip"),
        )
        self.schedules = ScheduleService(
            uow=self.unit_of_work,
            clock=self.clock,
            settings=ScheduleSettings(default_timezone=self.config.scheduler.timezone),
            # Wakes this process's scheduler (if it runs one) to re-read the next due time.
            on_change=self.scheduler.wake,
        )

    def unit_of_work(self) -> UnitOfWork:
        return SqlUnitOfWork(self.database.session_factory, on_commit=self.relay.notify)

    async def migrate(self) -> None:
        # Alembic's async env calls asyncio.run(): give it a thread of its own.
        await asyncio.to_thread(upgrade_to_head, self.config.database_url)

    async def start(self, roles: set[Role], *, migrate: bool = False) -> None:
        """Connect and start the background work of ``roles``. The broker may be
        down: then its start is retried in the background and health says so."""
        if migrate:
            await self.migrate()
        if Role.API in roles and self.auth is not None:
            # Usually made already by the command line (which prints it); an app
            # started some other way must not serve without one.
            self.auth.tokens.ensure()
        if Role.API in roles:
            # Live status and the ends of live logs: every event this process hears.
            self.bus.listen(self.live_feed.publish)
        if Role.WORKER in roles:
            self.bus.consume(BUILD_QUEUE, self._build_after_recovery)
            self.bus.consume(RUN_QUEUE, self.runner.handle_job_requested)
            self.bus.listen(self.runner.handle_cancel_requested)
            self._tasks.append(asyncio.create_task(self._recover(), name="worker-recovery"))
            self._tasks.append(asyncio.create_task(self.retention.run(), name="retention-sweep"))
        if Role.SCHEDULER in roles:
            self._tasks.append(asyncio.create_task(self.scheduler.run(), name="scheduler"))
        self._tasks.append(asyncio.create_task(self._start_bus(), name="bus-start"))
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        # What start-up made lives as long as the process: keep the collector's full
        # passes from walking it again and again. One such pass, over the tens of
        # thousands of objects of the libraries, took 70-90 ms in the middle of a
        # scheduler's flip of 10,000 armed firings (docs/benchmarks.md).
        gc.freeze()
        log.info("started: %s", ", ".join(sorted(roles)))

    async def _recover(self) -> None:
        """Pick up what the last worker left: interrupted builds, running containers.
        The in-process queue died with the last process, so what it held is asked
        for again (RabbitMQ keeps and redelivers it by itself)."""
        in_process = isinstance(self.bus, InProcessEventBus)
        started = self.clock.now()
        delay = 1.0
        while True:
            try:
                if in_process:
                    # Not with RabbitMQ: another worker may be building right now. A
                    # build whose worker died fails when RabbitMQ redelivers its request.
                    try:
                        await self.images.recover_interrupted_builds(requeue_before=started)
                    finally:
                        self._builds_recovered.set()
                else:
                    self._builds_recovered.set()
                await self.runner.recover(requeue_before=started if in_process else None)
            except Exception as exc:
                log.warning("worker recovery failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
            else:
                return

    async def _build_after_recovery(self, event: DomainEvent) -> None:
        # Until recovery has run, a build this process starts could be mistaken for
        # one its predecessor left behind.
        await self._builds_recovered.wait()
        await self.images.handle_build_requested(event)

    async def _start_bus(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.bus.start()
            except Exception as exc:
                log.warning("event bus unreachable (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
            else:
                self._bus_started = True
                self.relay.notify()
                return

    def end_live_streams(self) -> None:
        """End every SSE stream now: the server is stopping (uvicorn waits for open
        connections before it runs the app's shutdown)."""
        self.live_feed.close()

    async def stop(self) -> None:
        self.end_live_streams()
        self.relay.stop()
        self.scheduler.stop()
        self.retention.stop()
        await self.runner.stop()
        # The loops told to stop end their pass (a scheduler's firing transaction, a
        # relay's drain, a retention sweep's current script) instead of being
        # cancelled in the middle of a database round trip, which tears the
        # connection down with a traceback in the log.
        stoppable = [
            t
            for t in self._tasks
            if t.get_name() in ("scheduler", "outbox-relay", "retention-sweep")
        ]
        if stoppable:
            await asyncio.wait(stoppable, timeout=STOP_GRACE_SECONDS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._bus_started:
            await self.bus.stop()
            self._bus_started = False
        close_tailer = getattr(self.tailer, "close", None)
        if close_tailer is not None:
            await close_tailer()
        close_runtime = getattr(self.runtime, "close", None)
        if close_runtime is not None:
            await close_runtime()
        await self.database.dispose()

    async def health(self) -> HealthReport:
        return await check_health(
            {"db": self.database.ping, "broker": self.bus.ping, "docker": self.runtime.ping}
        )


def image_settings(config: Config) -> ImageSettings:
    pems = [Path(p).read_bytes() for p in config.docker.extra_ca_certificates]
    return ImageSettings(
        default_base_image=config.images.default_base_image,
        max_file_bytes=config.images.max_file_bytes,
        build_network=config.docker.build_network or None,
        image_prefix=config.docker.image_prefix,
        extra_ca_pem=b"\n".join(pems) if pems else None,
    )


def runner_settings(config: Config) -> RunnerSettings:
    host = config.host_data_directory
    return RunnerSettings(
        namespace=config.docker.image_prefix,
        concurrency=config.worker.concurrency,
        log_limit_bytes=config.jobs.log_limit_bytes,
        keep_last=config.jobs.keep_last or None,
        keep_days=config.jobs.keep_days or None,
        stop_grace_seconds=config.jobs.stop_grace_seconds,
        read_only_root=config.jobs.read_only_root,
        tmp_size_mb=config.jobs.tmp_size_mb,
        host_data_directory=None if host == config.data_directory else host,
    )


def retention_settings(config: Config) -> RetentionSettings:
    return RetentionSettings(
        keep_last=config.jobs.keep_last or None,
        keep_days=config.jobs.keep_days or None,
        sweep_seconds=config.jobs.retention_sweep_seconds,
    )


def bootstrap(
    config: Config,
    *,
    bus: EventBus | None = None,
    runtime: ContainerRuntime | None = None,
    clock: Clock | None = None,
    live_settings: LiveSettings | None = None,
    access_tokens: AccessTokenStore | None = None,
) -> Scripter:
    database = SqlDatabase(create_engine(config.database_url))
    outbox = SqlOutbox(database.session_factory)
    if bus is None:
        if config.broker.url:
            bus = RabbitEventBus(
                config.broker.url,
                concurrency=config.worker.concurrency,
                exchange=config.broker.exchange,
                queue_prefix=config.broker.queue_prefix,
                # Every role declares them: the api may publish before any worker ran.
                work_queues=WORK_QUEUES,
            )
        else:
            bus = InProcessEventBus(concurrency=config.worker.concurrency)
    clock = clock or SystemClock()
    auth = None
    if config.auth.enabled:
        auth = Authenticator(
            access_tokens or TokenFile(token_path(config.data_directory)),
            clock,
            AuthSettings(
                max_failures=config.auth.max_failed_logins,
                window_seconds=config.auth.failed_login_window_seconds,
            ),
        )
    return Scripter(
        config=config,
        database=database,
        outbox=outbox,
        bus=bus,
        runtime=runtime or DockerRuntime(base_url=config.docker.host or None),
        files=LocalFileStore(config.data_directory),
        clock=clock,
        relay=OutboxRelay(outbox, bus),
        tailer=WatchfilesLogTailer(),
        live_settings=live_settings or LiveSettings(),
        auth=auth,
    )
