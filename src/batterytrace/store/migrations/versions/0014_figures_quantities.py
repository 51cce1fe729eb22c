"""Event figures keep a quantity that is not a mass (a volume, a count) as stated, beside its
null kg, so the master data can weigh it later (issue 12, points 7 and 11).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Callable

import orjson
import sqlalchemy as sa
from alembic import op

from batterytrace.store.records import figures

revision = "0014"
down_revision = "0013"

_FIGURE = sa.table("event_figure", sa.column("seq"), sa.column("figures"))
_EVENT = sa.table("event", sa.column("seq"), sa.column("content"))
_CHUNK = 2000


def _rederive(derive: Callable[[str, str], str]) -> None:
    """Replace each stored figure by ``derive(content, stored figures)`` where they differ;
    only figures with a flow of unknown kg (``[class, null…``) can."""
    conn = op.get_bind()
    seqs = [
        seq
        for (seq,) in conn.execute(
            sa.select(_FIGURE.c.seq)
            .where(_FIGURE.c.figures.like('%",null%'))
            .order_by(_FIGURE.c.seq)
        )
    ]
    for start in range(0, len(seqs), _CHUNK):
        chunk = seqs[start : start + _CHUNK]
        rows = conn.execute(
            sa.select(_EVENT.c.seq, _EVENT.c.content, _FIGURE.c.figures)
            .join(_FIGURE, _FIGURE.c.seq == _EVENT.c.seq)
            .where(_EVENT.c.seq.in_(chunk))
        )
        for seq, content, stored in rows:
            new = derive(content, stored)
            if new != stored:
                conn.execute(_FIGURE.update().where(_FIGURE.c.seq == seq).values(figures=new))


def upgrade() -> None:
    # only events with a quantity list change, and each already has its row
    _rederive(lambda content, stored: figures(orjson.loads(content)) or stored)


def _pairs(stored: str) -> str:
    """The earlier form: (class, kg or null) pairs only."""
    obj = orjson.loads(stored)
    for name, listed in obj.items():
        if name != "facts":
            obj[name] = [entry[:2] for entry in listed]
    return orjson.dumps(obj).decode()


def downgrade() -> None:
    _rederive(lambda content, stored: _pairs(stored))
