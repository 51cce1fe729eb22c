"""Supply-chain master data: parties, sites, materials.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "party",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("party_id", sa.Text, nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_index("ix_site_party", "site", ["party_id"])
    op.create_table(
        "material",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("content", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("material", "site", "party"):
        op.drop_table(table)
