"""Custody periods closed by their operators; the last recomputation shown (to report what
the next one changed).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "custody_snapshot",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("taken", sa.BigInteger, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )

    op.create_table(
        "custody_close",
        sa.Column("site", sa.Text, primary_key=True),
        sa.Column("claim", sa.Text, primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("closed_at", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(200)),
    )


def downgrade() -> None:
    op.drop_table("custody_close")
    op.drop_table("custody_snapshot")
