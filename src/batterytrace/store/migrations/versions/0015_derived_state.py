"""Kept derived state (decision 029): the rows readers ask for, at the ledger version they
reflect, and what each refresh changed; filled by the first refresh (or ``batterytrace
rebuild``).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_table(
        "derived_state",
        sa.Column("area", sa.String(40), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("refreshed", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "derived_row",
        sa.Column("area", sa.String(40), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_index("ix_derived_row_scope", "derived_row", ["area", "scope"])
    op.create_table(
        "derived_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("area", sa.String(40), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("before", sa.Text()),
        sa.Column("after", sa.Text()),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_derived_change_version", "derived_change", ["version"])


def downgrade() -> None:
    op.drop_index("ix_derived_change_version", table_name="derived_change")
    op.drop_table("derived_change")
    op.drop_index("ix_derived_row_scope", table_name="derived_row")
    op.drop_table("derived_row")
    op.drop_table("derived_state")
