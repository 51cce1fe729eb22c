"""Checkpoints numbered and covering the import records; the import records' chain.

Existing checkpoints keep their signed message (format 1) and are numbered in their order.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("checkpoint") as batch:
        batch.add_column(sa.Column("number", sa.BigInteger))
        batch.add_column(sa.Column("imports_seq", sa.BigInteger))
        batch.add_column(sa.Column("imports_head", sa.String(64)))
    ids = [
        row[0] for row in op.get_bind().execute(sa.text("SELECT id FROM checkpoint ORDER BY id"))
    ]
    for number, id_ in enumerate(ids, start=1):
        op.execute(sa.text(f"UPDATE checkpoint SET number = {number} WHERE id = {int(id_)}"))
    with op.batch_alter_table("checkpoint") as batch:
        batch.alter_column("number", existing_type=sa.BigInteger, nullable=False)
        batch.create_unique_constraint("uq_checkpoint_number", ["number"])
    op.create_table(
        "import_record",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("recorded", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("effect", sa.Text, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_record")
    with op.batch_alter_table("checkpoint") as batch:
        batch.drop_constraint("uq_checkpoint_number", type_="unique")
        batch.drop_column("imports_head")
        batch.drop_column("imports_seq")
        batch.drop_column("number")
