"""Workers say, per Docker engine, that they are alive.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

A job running on an engine whose workers are all gone for good (a host retired)
would otherwise stay ``running``: no worker elsewhere can see its container. Each
worker records the time it last saw its engine; a job on an engine no worker has
reported for a while is ``lost``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain types, as in 0001: this file keeps producing the same schema.
def upgrade() -> None:
    op.create_table(
        "engine_heartbeats",
        sa.Column("engine_id", sa.String(128), primary_key=True),
        sa.Column(
            "seen_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("engine_heartbeats")
