"""What each unit of kept derived state read when it was last recomputed (decision 032): the
newest event and the newest import record of the kinds it reads; a write that changes neither
moves the unit's watermark without a recomputation.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    with op.batch_alter_table("derived_state") as batch:
        batch.add_column(sa.Column("inputs", sa.String(100)))


def downgrade() -> None:
    with op.batch_alter_table("derived_state") as batch:
        batch.drop_column("inputs")
