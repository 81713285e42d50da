"""Scripts choose whether their jobs get a read-only root file system.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Null (every existing script) means the configured default, ``jobs.read_only_root``.
A revision keeps the setting in its ``settings`` JSON, which needs no change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scripts") as batch:
        batch.add_column(sa.Column("read_only_root", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scripts") as batch:
        batch.drop_column("read_only_root")
