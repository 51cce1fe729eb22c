"""Organisations, the sites they own and the capture rights they delegate (decision 040); the
organisation an API client and a capture job act for; sharing agreements (decision 041).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
    )
    op.create_table(
        "site_owner",
        sa.Column("site", sa.Text(), primary_key=True),
        sa.Column("organisation", sa.Text(), nullable=False),
    )
    op.create_table(
        "capture_delegation",
        sa.Column("site", sa.Text(), primary_key=True),
        sa.Column("organisation", sa.Text(), primary_key=True),
    )
    op.create_table(
        "share",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("grantee", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_index("ix_share_grantee", "share", ["grantee"])
    with op.batch_alter_table("api_client") as batch:
        batch.add_column(sa.Column("organisation", sa.Text()))
    with op.batch_alter_table("capture_job") as batch:
        batch.add_column(sa.Column("organisation", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("capture_job") as batch:
        batch.drop_column("organisation")
    with op.batch_alter_table("api_client") as batch:
        batch.drop_column("organisation")
    op.drop_index("ix_share_grantee", table_name="share")
    op.drop_table("share")
    op.drop_table("capture_delegation")
    op.drop_table("site_owner")
    op.drop_table("organisation")
