"""Event figures: the quantities and element figures genealogy reads (derived).

Revision ID: 0004
Revises: 0003
"""

import orjson
import sqlalchemy as sa
from alembic import op

from batterytrace.store.records import figures

revision = "0004"
down_revision = "0003"

# Events with a quantity list, ILMD or extension fields: the only ones that can have figures.
_CANDIDATES = """
SELECT DISTINCT seq FROM event_key WHERE role IN ('epcClass', 'childEPCClass', 'inputEPCClass',
    'outputEPCClass', 'ilmd', 'extension') ORDER BY seq
"""


def upgrade() -> None:
    op.create_table(
        "event_figure",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("figures", sa.Text, nullable=False),
    )
    conn = op.get_bind()
    seqs = [seq for (seq,) in conn.exec_driver_sql(_CANDIDATES)]
    event, figure = (
        sa.table("event", sa.column("seq"), sa.column("content")),
        sa.table("event_figure", sa.column("seq"), sa.column("figures")),
    )
    for start in range(0, len(seqs), 2000):
        chunk = seqs[start : start + 2000]
        rows = conn.execute(sa.select(event.c.seq, event.c.content).where(event.c.seq.in_(chunk)))
        derived = [{"seq": s, "figures": f} for s, c in rows if (f := figures(orjson.loads(c)))]
        if derived:
            conn.execute(figure.insert(), derived)


def downgrade() -> None:
    op.drop_table("event_figure")
