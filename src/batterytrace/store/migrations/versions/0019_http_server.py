"""The HTTP server's own tables (decision 039): API clients, capture jobs, named queries,
their subscriptions and the deliveries that failed for good.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger()),
    )
    op.create_table(
        "capture_job",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger()),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("success", sa.Integer(), nullable=False),
        sa.Column("behaviour", sa.String(10), nullable=False),
        sa.Column("document", sa.LargeBinary()),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("result", sa.Text()),
        sa.Column("claimed_by", sa.String(100)),
    )
    op.create_index("ix_capture_job_state", "capture_job", ["state"])
    op.create_table(
        "named_query",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "subscription",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("query_name", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("dest", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text()),
        sa.Column("stream", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.Text()),
        sa.Column("report_if_empty", sa.Integer(), nullable=False),
        sa.Column("initial_record_time", sa.BigInteger()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_notified_at", sa.BigInteger()),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("next_run_at", sa.BigInteger()),
        sa.Column("lease_owner", sa.String(100)),
        sa.Column("lease_until", sa.BigInteger()),
    )
    op.create_index("ix_subscription_query_name", "subscription", ["query_name"])
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_dead_letter_subscription_id", "dead_letter", ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_dead_letter_subscription_id", table_name="dead_letter")
    op.drop_table("dead_letter")
    op.drop_index("ix_subscription_query_name", table_name="subscription")
    op.drop_table("subscription")
    op.drop_table("named_query")
    op.drop_index("ix_capture_job_state", table_name="capture_job")
    op.drop_table("capture_job")
    op.drop_table("api_client")
