"""Offtake agreements.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "contract",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("content", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contract")
