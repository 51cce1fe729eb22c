"""Carbon footprint: imported models, user factor sets, supplier PACT footprints.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "carbon_model",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("imported", sa.BigInteger, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
    )
    op.create_table(
        "factor_set",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("version", sa.String(50), primary_key=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
    )
    op.create_table(
        "supplier_footprint",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("product", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
    )


def downgrade() -> None:
    op.drop_table("supplier_footprint")
    op.drop_table("factor_set")
    op.drop_table("carbon_model")
