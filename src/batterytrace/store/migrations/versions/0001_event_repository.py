"""EPCIS event repository: events, key index, ledger checkpoints, master data.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "capture",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_time", sa.BigInteger, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("owner", sa.String(200)),
        sa.Column("captured", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("namespaces", sa.Text, nullable=False),
    )
    op.create_table(
        "event",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("hash_id", sa.String(100), nullable=False),
        sa.Column("content_digest", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(20), nullable=False),
        sa.Column("event_time", sa.BigInteger, nullable=False),
        sa.Column("record_time", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(8)),
        sa.Column("biz_step", sa.Text),
        sa.Column("disposition", sa.Text),
        sa.Column("read_point", sa.Text),
        sa.Column("biz_location", sa.Text),
        sa.Column("transformation_id", sa.Text),
        sa.Column("owner", sa.String(200)),
        sa.Column("capture_id", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    for name, columns in {
        "ix_event_hash_id": ["hash_id"],
        "ix_event_event_time": ["event_time"],
        "ix_event_record_time": ["record_time"],
        "ix_event_biz_step": ["biz_step", "event_time"],
        "ix_event_disposition": ["disposition"],
        "ix_event_read_point": ["read_point"],
        "ix_event_biz_location": ["biz_location"],
        "ix_event_transformation_id": ["transformation_id"],
    }.items():
        op.create_index(name, "event", columns)
    op.create_table(
        "event_key",
        sa.Column("role", sa.String(120), primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_event_key_seq", "event_key", ["seq"])
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_table(
        "vocabulary_element",
        sa.Column("vtype", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("content", sa.Text, nullable=False),
    )
    op.create_table(
        "vocabulary_child",
        sa.Column("parent", sa.Text, primary_key=True),
        sa.Column("child", sa.Text, primary_key=True),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in ("vocabulary_child", "vocabulary_element", "checkpoint", "event_key", "event"):
        op.drop_table(table)
    op.drop_table("capture")
