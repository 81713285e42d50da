"""Arming ahead: a flag for jobs written before their fire time, and an index to
find armed firings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

The scheduler writes the firings and jobs of schedules due within a few seconds
ahead of time, armed, and flips them at the fire time (``ArmedFiring``). An armed
job is stored ``queued`` with ``armed`` set, which every read of jobs excludes; the
flip clears the flag, an unindexed column, so it rewrites no index entry of the
job. Armed firings are stored with the outcome ``armed``; the scheduler looks for
those due by now on every tick, and the (outcome, fire_time) index keeps that a
range scan over the few armed rows instead of a scan of the whole history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("armed", sa.Boolean(), nullable=False, server_default="0"))
    op.create_index(
        "ix_schedule_firings_outcome_fire_time", "schedule_firings", ["outcome", "fire_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_schedule_firings_outcome_fire_time", table_name="schedule_firings")
    # Armed rows are not jobs or firings yet: without the flag they would be taken
    # for queued jobs.
    op.execute("DELETE FROM schedule_firings WHERE outcome = 'armed'")
    op.execute("DELETE FROM jobs WHERE armed")
    op.drop_column("jobs", "armed")
