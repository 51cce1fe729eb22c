"""A carbon import is kept under its import record's position (decision 017): `carbon remove`
names the record, not the row's surrogate id, which differs between backends and verify's replay.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.add_column("carbon_model", sa.Column("record", sa.Integer()))
    op.create_index("ix_carbon_model_record", "carbon_model", ["record"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_carbon_model_record", table_name="carbon_model")
    with op.batch_alter_table("carbon_model") as batch:
        batch.drop_column("record")
