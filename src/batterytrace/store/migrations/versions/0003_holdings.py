"""Holdings: containers holding serialised items, per event that made them (derived).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from batterytrace.store import holdings

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "holding",
        sa.Column("source", sa.BigInteger, primary_key=True),
        sa.Column("container_class", sa.Text, primary_key=True),
        sa.Column("container", sa.Text, primary_key=True),
        sa.Column("items", sa.BigInteger, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_holding_container", "holding", ["container"])
    holdings.rebuild(op.get_bind())  # a store that has events: derive them once


def downgrade() -> None:
    op.drop_table("holding")
