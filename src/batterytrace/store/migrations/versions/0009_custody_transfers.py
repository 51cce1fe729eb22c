"""Book-and-claim transfers of credits between sites' accounts.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "custody_transfer",
        sa.Column("ref", sa.Text, primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("claim", sa.Text, nullable=False),
        sa.Column("kg", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
    )


def downgrade() -> None:
    op.drop_table("custody_transfer")
