"""The PACT host (decision 042): the footprints this store publishes, the PACT events
received until they are acted on, the partners' hosts and this store's credentials there.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    op.create_table(
        "pact_footprint",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("updated", sa.String(20)),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_index("ix_pact_footprint_product", "pact_footprint", ["product"])
    op.create_table(
        "pact_partner",
        sa.Column("base_url", sa.Text(), primary_key=True),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "pact_exchange",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("organisation", sa.Text()),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("version", sa.String(1), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.Text()),
        sa.UniqueConstraint("client_id", "event_id", name="uq_pact_exchange_event"),
    )
    op.create_index("ix_pact_exchange_state", "pact_exchange", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_pact_exchange_state", table_name="pact_exchange")
    op.drop_table("pact_exchange")
    op.drop_table("pact_partner")
    op.drop_index("ix_pact_footprint_product", table_name="pact_footprint")
    op.drop_table("pact_footprint")
