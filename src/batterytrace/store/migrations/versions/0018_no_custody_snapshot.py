"""The custody snapshot goes: what the kept derived state's refreshes changed is recorded row
by row (``derived_change``) and told by `batterytrace changes`, which replaces `custody
changes` (decision 034).

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.drop_table("custody_snapshot")


def downgrade() -> None:
    op.create_table(
        "custody_snapshot",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("taken", sa.BigInteger, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )
