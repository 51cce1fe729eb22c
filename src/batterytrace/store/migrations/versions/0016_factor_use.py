"""The factor set the kept footprints are figured with (decision 032): no row, the shipped
set.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.create_table("factor_use", sa.Column("label", sa.String(160), primary_key=True))


def downgrade() -> None:
    op.drop_table("factor_use")
