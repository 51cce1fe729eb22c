"""Certificates, assessments, ratings and memberships, each version kept (decision 044).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.create_table(
        "certificate",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_index("ix_certificate_holder", "certificate", ["holder"])


def downgrade() -> None:
    op.drop_index("ix_certificate_holder", table_name="certificate")
    op.drop_table("certificate")
