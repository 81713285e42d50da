"""The relational schema, as SQLAlchemy Core tables that work on SQLite and MariaDB.

Migrations (``migrations/versions``) must produce exactly this schema;
``tests/integration/test_migrations.py`` compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

MYSQL = ("mysql", "mariadb")
"""Dialect names of MariaDB: ``mysql+asyncmy://`` URLs report "mysql"."""

# Named constraints: Alembic's batch mode on SQLite recreates tables and can only
# carry over (or drop) constraints that have names; MariaDB error messages name them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}
# No "pk" entry: MariaDB ignores primary key names and logs a warning for each.

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# MariaDB: utf8mb4 whatever the server's default; InnoDB for transactions and foreign
# keys. SQLite: AUTOINCREMENT so a deleted row's id is never handed out again (ids
# name the data folders and log files).
TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "sqlite_autoincrement": True,
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored as naive UTC.

    MariaDB's plain DATETIME drops the microseconds, so it gets ``DATETIME(6)``.
    SQLite stores a fixed-width ISO string, so comparisons in SQL stay correct.
    Naive input is taken to be UTC (as ``scripter.domain.clock.utc`` does).
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in MYSQL:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def large_text() -> Text:
    """Unbounded text: MariaDB's TEXT stops at 64 KiB, so LONGTEXT there."""
    return Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def name_string() -> String:
    """A name that is unique regardless of case on both databases.

    MariaDB's default utf8mb4 collation ignores case; SQLite's BINARY does not, so
    SQLite gets NOCASE to make "Foo" and "foo" the same name there too.
    """
    return String(100).with_variant(String(100, collation="NOCASE"), "sqlite")


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _version() -> Column[int]:
    """Optimistic locking: every UPDATE checks and bumps it."""
    return Column("version", Integer, nullable=False)


images = Table(
    "images",
    metadata,
    _id(),
    _version(),
    Column("name", name_string(), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("tag", String(255)),
    Column("docker_image_id", String(255)),
    Column("error", large_text()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("build_started_at", UtcDateTime),
    Column("build_finished_at", UtcDateTime),
    Index(None, "status"),
    **TABLE_OPTIONS,
)

scripts = Table(
    "scripts",
    metadata,
    _id(),
    _version(),
    Column("name", name_string(), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    # No cascade: deleting an image that scripts use must fail, not take them along.
    Column("image_id", Integer, ForeignKey("images.id"), nullable=False, index=True),
    Column("entry_file", String(255), nullable=False),
    Column("env", JSON, nullable=False),
    Column("args", JSON, nullable=False),
    Column("limits", JSON, nullable=False),
    Column("timeout_seconds", Integer),
    Column("network_mode", String(20), nullable=False),
    Column("log_limit_bytes", BigInteger),
    # Null: the configured default (jobs.read_only_root).
    Column("read_only_root", Boolean),
    Column("keep_last", Integer),
    Column("keep_days", Integer),
    Column("current_revision", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    **TABLE_OPTIONS,
)

script_revisions = Table(
    "script_revisions",
    metadata,
    _id(),
    Column("script_id", Integer, ForeignKey("scripts.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("content_hash", String(128), nullable=False),
    Column("files", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("script_id", "number"),
    **TABLE_OPTIONS,
)

jobs = Table(
    "jobs",
    metadata,
    _id(),
    _version(),
    Column("script_id", Integer, ForeignKey("scripts.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    # No foreign keys on image_id and schedule_id: a job is history and keeps
    # naming the image and schedule it ran with after they are gone.
    Column("image_id", Integer, nullable=False),
    Column("image_tag", String(255)),
    Column("trigger", String(20), nullable=False),
    Column("schedule_id", Integer),
    Column("status", String(20), nullable=False),
    Column("args", JSON, nullable=False),
    Column("env", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("exit_code", Integer),
    Column("container_id", String(255)),
    Column("error", large_text()),
    Column("cancel_requested", Boolean, nullable=False),
    Column("oom_killed", Boolean, nullable=False),
    Column("log_truncated", Boolean, nullable=False),
    # The Docker engine the container ran on: recovery after a restart judges only
    # the jobs of its own engine (other hosts' workers own theirs).
    Column("engine_id", String(128)),
    # The Docker image the container ran (image_tag moves to each rebuild).
    Column("docker_image_id", String(255)),
    # Written ahead of its fire time by the scheduler, not a job yet: no read sees
    # it (``repositories.jobs.VISIBLE``). No index: the flip clears it for thousands
    # of jobs at once, and an index would double that work.
    Column("armed", Boolean, nullable=False, server_default="0"),
    # The job list pages newest first, per script or per status, or both: without
    # the third, a script's page of a status it has few jobs in walks all its jobs.
    Index(None, "script_id", "id"),
    Index(None, "status", "id"),
    Index(None, "script_id", "status", "id"),
    **TABLE_OPTIONS,
)

schedules = Table(
    "schedules",
    metadata,
    _id(),
    _version(),
    Column(
        "script_id",
        Integer,
        ForeignKey("scripts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("cron", String(255), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("misfire_policy", String(20), nullable=False),
    Column("overlap_policy", String(20), nullable=False),
    Column("args", JSON, nullable=False),
    Column("env", JSON, nullable=False),
    Column("next_run_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The scheduler's one hot query: enabled schedules due by now, earliest first.
    Index(None, "enabled", "next_run_at"),
    **TABLE_OPTIONS,
)

schedule_firings = Table(
    "schedule_firings",
    metadata,
    _id(),
    Column("schedule_id", Integer, ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False),
    Column("fire_time", UtcDateTime, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("job_id", Integer),
    Column("reason", large_text()),
    Column("recorded_at", UtcDateTime, nullable=False),
    # A fire time happens once, whatever the number of schedulers or redeliveries.
    UniqueConstraint("schedule_id", "fire_time"),
    # The scheduler's armed firings due by now, earliest first (few rows are armed;
    # without it every tick would scan the whole history).
    Index(None, "outcome", "fire_time"),
    **TABLE_OPTIONS,
)

engine_heartbeats = Table(
    "engine_heartbeats",
    metadata,
    # One row per Docker engine, written by its workers: a job on an engine no worker
    # has reported for a while is lost (see JobRunner.sweep_orphans).
    Column("engine_id", String(128), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("routing_key", String(100), nullable=False),
    Column("payload", large_text(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    # The relay asks for "published_at IS NULL ORDER BY id".
    Index(None, "published_at", "id"),
    **TABLE_OPTIONS,
)
