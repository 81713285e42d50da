"""A job's log path is derived from its script, creation time and id, not stored.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

The data directory's layout is fixed (``scripts/<ID>/logs/<stamp>__<JOB_ID>.log``),
so the column only repeated what the row already says, and it cost every new job
a second write (the path needs the id the insert returns).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite has DROP COLUMN since 3.35), not batch
# mode: that needs a live database to copy the table, and offline SQL for a DBA has none.


def upgrade() -> None:
    op.drop_column("jobs", "log_path")


def downgrade() -> None:
    op.add_column("jobs", sa.Column("log_path", sa.String(1024), nullable=True))
