"""Chain-of-custody rules: origins of claims with their evidence, site policies.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "custody_rule",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("claim", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("content", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("custody_rule")
