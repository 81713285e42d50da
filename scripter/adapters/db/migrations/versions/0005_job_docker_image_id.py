"""Jobs record the Docker image their container ran.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

``image_tag`` names the image's latest build: a rebuild moves the tag, so it cannot
say what an old job ran. The container's own image id can. Null for the jobs run
before this revision, and for jobs that never started.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases, not batch mode (see 0002): a nullable column
# needs no copy of the table, and offline SQL for a DBA stays possible.


def upgrade() -> None:
    op.add_column("jobs", sa.Column("docker_image_id", sa.String(255), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "docker_image_id")
