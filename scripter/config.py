"""Configuration: typed msgspec structs read from TOML, overridden by environment.

Where the file comes from, first match wins: ``--config PATH``, ``$SCRIPTER_CONFIG``,
``./config.toml``; none at all is fine (the defaults serve one machine).

Every key can be overridden by an environment variable named
``SCRIPTER_<SECTION>_<KEY>`` in upper case, e.g. ``SCRIPTER_SERVER_PORT=9000`` or
``SCRIPTER_DOCKER_BUILD_NETWORK=host``. Section names contain no underscore, so the
first underscore after the section ends it. List values are comma-separated.
An unknown ``SCRIPTER_*`` variable is an error, like an unknown key in the file:
a typo should not be silently ignored.

Values in the file must have their key's type (``port = "8001"`` is an error: TOML
has integers); only environment variables, which are strings by nature, are
converted (``SCRIPTER_SERVER_PORT=8001``, ``SCRIPTER_AUTH_ENABLED=false``).
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

ENV_PREFIX = "SCRIPTER_"
CONFIG_ENV = "SCRIPTER_CONFIG"
DEFAULT_FILE = Path("config.toml")


class ConfigError(Exception):
    """A bad configuration value; the message names the key and the problem."""


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = 8000
    ui_directory: str = ""
    """Folder of the built UI; empty means ``ui/dist`` beside the package."""
    public_url: str = ""
    """The address users open (e.g. ``https://scripter.example.com``) when a proxy
    stands in front; only used in the login link printed at start. Empty means
    ``http://<host>:<port>``."""
    shutdown_grace_seconds: float = 30.0
    """On SIGTERM, how long requests in flight (a slow download of a whole log) may
    take to finish before they are cut. Live streams end at once regardless."""


class DataConfig(_Section):
    directory: str = "./data"
    host_directory: str = ""
    """The data directory's path on the Docker host, when Scripter itself runs in a
    container (bind mounts of job containers are resolved by the host's engine).
    Empty means the same as ``directory``."""


class DatabaseConfig(_Section):
    url: str = ""
    """SQLAlchemy async URL. Empty means SQLite at ``<data.directory>/scripter.db``.
    MariaDB/MySQL: ``mysql+asyncmy://user:password@host:3306/scripter?charset=utf8mb4``."""


class BrokerConfig(_Section):
    url: str = ""
    """RabbitMQ URL (``amqp://user:password@host:5672/``). Empty means the in-process
    bus, which only works when api, worker and scheduler share one process (serve)."""
    exchange: str = "scripter.events"
    queue_prefix: str = ""
    """Prepended to the work queues' names (scripter.build, scripter.run), so that
    several installations can share one RabbitMQ virtual host."""


class DockerConfig(_Section):
    host: str = ""
    """Docker engine URL; empty means ``$DOCKER_HOST`` or the default socket."""
    build_network: str = ""
    """Network mode of image builds (empty: Docker's default)."""
    job_network: str = "none"
    """Network mode of new scripts that name none: none, bridge or host."""
    extra_ca_certificates: list[str] = msgspec.field(default_factory=list)
    """PEM files added to every image build, for TLS-intercepting proxies."""
    image_prefix: str = "scripter"
    """Names this installation's Docker objects: images are tagged
    ``<image_prefix>/<name>:<id>``; job containers are named ``<image_prefix>-job-<id>``
    and labelled ``scripter.namespace=<image_prefix>`` (a worker recovers only those)."""


class WorkerConfig(_Section):
    concurrency: int = 4
    """Builds and jobs run at once by one worker (also the broker prefetch)."""


class JobsConfig(_Section):
    log_limit_bytes: int = 100 * 1024 * 1024
    """Most output a job keeps (a script may set its own). Past it the job is stopped
    and its log ends with a line saying it was cut."""
    keep_last: int = 100
    """Retention: per script, finished jobs beyond the newest ``keep_last`` (0: no
    count limit) ..."""
    keep_days: int = 30
    """... and those older than ``keep_days`` (0: no age limit) are deleted with their
    logs."""
    retention_sweep_seconds: float = 3600.0
    """Each worker applies retention to every script this often (also at its start),
    not only when a script's job ends: else a script that stopped running would keep
    its old jobs forever. The sweep also removes log files whose job is gone."""
    stop_grace_seconds: float = 10.0
    """Cancel and timeout: SIGTERM, this long to exit, then SIGKILL."""
    read_only_root: bool = True
    """Job containers get a read-only root file system; ``/tmp`` stays writable. The
    default of scripts whose own ``read_only_root`` is null."""
    tmp_size_mb: int = 256
    """Size of the in-memory ``/tmp`` of a job container."""


class ImagesConfig(_Section):
    default_base_image: str = "python:3.12-slim"
    max_file_bytes: int = 5 * 1024 * 1024


class SchedulerConfig(_Section):
    timezone: str = "UTC"
    """Timezone of schedules that name none."""
    misfire_grace_seconds: float = 60.0
    """A fire time due longer than this before the scheduler started (none was
    running) is a misfire, handled by the schedule's misfire policy; others fire."""
    recheck_seconds: float = 1.0
    """Longest sleep of a scheduler. Changes made in its own process wake it at once;
    changes made through another process (``scripter api``) are seen within this."""
    arm_ahead_seconds: float = 10.0
    """Firings due within this many seconds are written ahead, armed, and flipped at
    their fire time (0: off). See docs/scheduling.md."""


class AuthConfig(_Section):
    enabled: bool = True
    """Every endpoint but /healthz wants the access token (``<data>/auth-token``).
    Off only when set so explicitly."""
    max_failed_logins: int = 10
    """Wrong tokens one client address may send per window; then 429 until the
    oldest failure leaves the window."""
    failed_login_window_seconds: float = 60.0


class LoggingConfig(_Section):
    level: str = "INFO"


class Config(_Section):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    data: DataConfig = msgspec.field(default_factory=DataConfig)
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    broker: BrokerConfig = msgspec.field(default_factory=BrokerConfig)
    docker: DockerConfig = msgspec.field(default_factory=DockerConfig)
    worker: WorkerConfig = msgspec.field(default_factory=WorkerConfig)
    jobs: JobsConfig = msgspec.field(default_factory=JobsConfig)
    images: ImagesConfig = msgspec.field(default_factory=ImagesConfig)
    scheduler: SchedulerConfig = msgspec.field(default_factory=SchedulerConfig)
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)

    @property
    def data_directory(self) -> Path:
        return Path(self.data.directory).resolve()

    @property
    def host_data_directory(self) -> Path:
        return Path(self.data.host_directory or self.data.directory).resolve()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_directory / 'scripter.db'}"


_SECTIONS: dict[str, type[_Section]] = {
    name: info.type
    for name, info in zip(Config.__struct_fields__, msgspec.structs.fields(Config), strict=True)
}
_LOCATION = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """The file to read, or None when there is none (defaults apply)."""
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def load_config(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, override and validate; raises ``ConfigError`` naming the key at fault."""
    env = os.environ if env is None else env
    path = find_config_file(explicit, env)
    raw: dict[str, Any] = {}
    source = "the defaults"
    if path is not None:
        source = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    from_env = _apply_env(raw, env)
    try:
        # Strict: the environment's strings are converted already (_apply_env).
        config = msgspec.convert(raw, Config, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe(exc, source, from_env)) from None
    _check_values(config)
    return config


def is_setting_variable(name: str) -> bool:
    """Whether the configuration reads the environment variable ``name``. Any other
    ``SCRIPTER_*`` variable stops start-up."""
    return name == CONFIG_ENV or _setting_of(name) is not None


def _setting_of(name: str) -> tuple[str, str] | None:
    """(section, key) that ``SCRIPTER_<SECTION>_<KEY>`` sets, or None."""
    if not name.startswith(ENV_PREFIX):
        return None
    section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
    section_type = _SECTIONS.get(section)
    if section_type is None or key not in section_type.__struct_fields__:
        return None
    return section, key


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Merge ``SCRIPTER_*`` variables into ``raw``, converted to their keys' types;
    returns key path -> variable name."""
    applied: dict[str, str] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        setting = _setting_of(name)
        if setting is None:
            raise ConfigError(
                f"{name}: unknown setting (expected SCRIPTER_<SECTION>_<KEY>, "
                f"sections: {', '.join(_SECTIONS)})"
            )
        section, key = setting
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{section}: expected a table")
        section_type = _SECTIONS[section]
        field_type = msgspec.structs.fields(section_type)[section_type.__struct_fields__.index(key)]
        text: str | list[str] = value
        if field_type.type == list[str]:
            text = [item.strip() for item in value.split(",") if item.strip()]
        try:
            # Loose: a variable is always a string, "8001" and "false" are meant as values.
            target[key] = msgspec.convert(text, field_type.type, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{section}.{key}: {exc} (from {name})") from None
        applied[f"{section}.{key}"] = name
    return applied


def _describe(exc: msgspec.ValidationError, source: str, from_env: dict[str, str]) -> str:
    message = str(exc)
    match = _LOCATION.search(message)
    if match:
        key = match.group("path")
        problem = message[: match.start()]
        unknown = re.fullmatch(r"Object contains unknown field `(?P<f>[^`]+)`", problem)
        if unknown:
            key = f"{key}.{unknown.group('f')}" if key else unknown.group("f")
            problem = "unknown key"
        origin = f"from {from_env[key]}" if key in from_env else f"in {source}"
        return f"{key}: {problem} ({origin})"
    unknown = re.fullmatch(r"Object contains unknown field `(?P<f>[^`]+)`", message)
    if unknown:
        return f"{unknown.group('f')}: unknown section (in {source})"
    return f"{message} (in {source})"


def _check_values(config: Config) -> None:
    if not 0 < config.server.port < 65536:
        raise ConfigError(f"server.port: {config.server.port} is not a TCP port (1-65535)")
    ui = config.server.ui_directory
    if ui and not (Path(ui) / "index.html").is_file():
        # Else every page would be a 404 while the API works: fail at start instead.
        raise ConfigError(
            f"server.ui_directory: {ui} has no index.html (a built UI: cd ui && npm run build)"
        )
    if config.worker.concurrency < 1:
        raise ConfigError("worker.concurrency: must be at least 1")
    if config.jobs.log_limit_bytes < 1024:
        raise ConfigError("jobs.log_limit_bytes: must be at least 1024")
    if config.jobs.keep_last < 0 or config.jobs.keep_days < 0:
        raise ConfigError("jobs.keep_last and jobs.keep_days: must be 0 or more")
    if not 0 < config.jobs.retention_sweep_seconds < float("inf"):
        raise ConfigError("jobs.retention_sweep_seconds: must be more than 0 (and finite)")
    if config.jobs.tmp_size_mb < 1:
        raise ConfigError("jobs.tmp_size_mb: must be at least 1")
    if config.jobs.stop_grace_seconds < 0:
        raise ConfigError("jobs.stop_grace_seconds: must be 0 or more")
    if config.images.max_file_bytes < 1:
        raise ConfigError("images.max_file_bytes: must be at least 1")
    url = config.database.url
    if url and not url.startswith(
        ("sqlite+aiosqlite://", "mysql+asyncmy://", "mariadb+asyncmy://")
    ):
        raise ConfigError(
            "database.url: must start with sqlite+aiosqlite:// or mysql+asyncmy:// "
            f"(got {url.split('://')[0]}://...)"
        )
    if config.broker.url and not config.broker.url.startswith(("amqp://", "amqps://")):
        raise ConfigError("broker.url: must start with amqp:// or amqps://")
    if config.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("logging.level: must be DEBUG, INFO, WARNING or ERROR")
    if not re.fullmatch(
        r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*",
        config.docker.image_prefix,
    ):
        raise ConfigError(
            "docker.image_prefix: must be a Docker repository path in lower case "
            f"(got {config.docker.image_prefix!r})"
        )
    if config.docker.job_network not in ("none", "bridge", "host"):
        raise ConfigError("docker.job_network: must be none, bridge or host")
    if config.server.shutdown_grace_seconds <= 0:
        raise ConfigError("server.shutdown_grace_seconds: must be more than 0")
    if config.scheduler.misfire_grace_seconds < 1:
        raise ConfigError("scheduler.misfire_grace_seconds: must be at least 1")
    if config.auth.max_failed_logins < 1:
        raise ConfigError("auth.max_failed_logins: must be at least 1")
    if config.auth.failed_login_window_seconds <= 0:
        raise ConfigError("auth.failed_login_window_seconds: must be more than 0")
    if config.server.public_url and not config.server.public_url.startswith(
        ("http://", "https://")
    ):
        raise ConfigError("server.public_url: must start with http:// or https://")
    if not 0.05 <= config.scheduler.recheck_seconds <= 60:
        raise ConfigError("scheduler.recheck_seconds: must be between 0.05 and 60")
    if not 0 <= config.scheduler.arm_ahead_seconds <= 3600:
        raise ConfigError("scheduler.arm_ahead_seconds: must be between 0 and 3600")
    try:
        ZoneInfo(config.scheduler.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"scheduler.timezone: {config.scheduler.timezone!r} is not an IANA timezone"
        ) from None
    for index, pem in enumerate(config.docker.extra_ca_certificates):
        if not Path(pem).is_file():
            raise ConfigError(f"docker.extra_ca_certificates[{index}]: {pem} is not a file")


def prepare_data_directory(config: Config) -> Path:
    """Create the data folders; raises ``ConfigError`` when the path is unusable."""
    root = config.data_directory
    try:
        for sub in ("images", "scripts"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        # A probe of its own: processes sharing the folder (api, workers) start together,
        # and one's unlink must not remove the other's probe.
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ConfigError(f"data.directory: {root} is not usable: {exc.strerror}") from None
    return root
