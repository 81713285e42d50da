"""Initial schema: images, scripts, revisions, jobs, schedules, firings, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Written out with plain SQLAlchemy types (not ``tables.UtcDateTime``) so this file
keeps producing the same schema whatever happens to the application code later.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL = ("mysql", "mariadb")
TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "sqlite_autoincrement": True,
}


def utc_datetime() -> sa.DateTime:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *MYSQL)


def large_text() -> sa.Text:
    return sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def name_string() -> sa.String:
    return sa.String(100).with_variant(sa.String(100, collation="NOCASE"), "sqlite")


def id_column() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "images",
        id_column(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", name_string(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tag", sa.String(255), nullable=True),
        sa.Column("docker_image_id", sa.String(255), nullable=True),
        sa.Column("error", large_text(), nullable=True),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.Column("build_started_at", utc_datetime(), nullable=True),
        sa.Column("build_finished_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name=op.f("uq_images_name")),
        **TABLE_OPTIONS,
    )
    op.create_index(op.f("ix_images_status"), "images", ["status"])

    op.create_table(
        "scripts",
        id_column(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", name_string(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("entry_file", sa.String(255), nullable=False),
        sa.Column("env", sa.JSON(), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("network_mode", sa.String(20), nullable=False),
        sa.Column("log_limit_bytes", sa.BigInteger(), nullable=True),
        sa.Column("keep_last", sa.Integer(), nullable=True),
        sa.Column("keep_days", sa.Integer(), nullable=True),
        sa.Column("current_revision", sa.Integer(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_scripts_image_id_images")
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name=op.f("uq_scripts_name")),
        **TABLE_OPTIONS,
    )
    op.create_index(op.f("ix_scripts_image_id"), "scripts", ["image_id"])

    op.create_table(
        "script_revisions",
        id_column(),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["scripts.id"],
            name=op.f("fk_script_revisions_script_id_scripts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "script_id", "number", name=op.f("uq_script_revisions_script_id_number")
        ),
        **TABLE_OPTIONS,
    )

    op.create_table(
        "jobs",
        id_column(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("image_tag", sa.String(255), nullable=True),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("env", sa.JSON(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("started_at", utc_datetime(), nullable=True),
        sa.Column("finished_at", utc_datetime(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("log_path", sa.String(1024), nullable=True),
        sa.Column("container_id", sa.String(255), nullable=True),
        sa.Column("error", large_text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("oom_killed", sa.Boolean(), nullable=False),
        sa.Column("log_truncated", sa.Boolean(), nullable=False),
        sa.Column("engine_id", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["scripts.id"],
            name=op.f("fk_jobs_script_id_scripts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        **TABLE_OPTIONS,
    )
    op.create_index(op.f("ix_jobs_script_id_id"), "jobs", ["script_id", "id"])
    op.create_index(op.f("ix_jobs_status_id"), "jobs", ["status", "id"])

    op.create_table(
        "schedules",
        id_column(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("cron", sa.String(255), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("misfire_policy", sa.String(20), nullable=False),
        sa.Column("overlap_policy", sa.String(20), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("env", sa.JSON(), nullable=False),
        sa.Column("next_run_at", utc_datetime(), nullable=True),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["scripts.id"],
            name=op.f("fk_schedules_script_id_scripts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        **TABLE_OPTIONS,
    )
    op.create_index(op.f("ix_schedules_script_id"), "schedules", ["script_id"])
    op.create_index(
        op.f("ix_schedules_enabled_next_run_at"), "schedules", ["enabled", "next_run_at"]
    )

    op.create_table(
        "schedule_firings",
        id_column(),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("fire_time", utc_datetime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("reason", large_text(), nullable=True),
        sa.Column("recorded_at", utc_datetime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_firings_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "schedule_id", "fire_time", name=op.f("uq_schedule_firings_schedule_id_fire_time")
        ),
        **TABLE_OPTIONS,
    )

    op.create_table(
        "outbox",
        id_column(),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("routing_key", sa.String(100), nullable=False),
        sa.Column("payload", large_text(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("published_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        **TABLE_OPTIONS,
    )
    op.create_index(op.f("ix_outbox_published_at_id"), "outbox", ["published_at", "id"])


def downgrade() -> None:
    # Children first; dropping a table drops its indexes.
    for table in (
        "outbox",
        "schedule_firings",
        "schedules",
        "jobs",
        "script_revisions",
        "scripts",
        "images",
    ):
        op.drop_table(table)
