"""Holding contents: the container index covers what a backward trace reads of it.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_index("ix_holding_contents", "holding", ["container", "level", "source", "items"])
    op.drop_index("ix_holding_container", "holding")


def downgrade() -> None:
    op.create_index("ix_holding_container", "holding", ["container"])
    op.drop_index("ix_holding_contents", "holding")
