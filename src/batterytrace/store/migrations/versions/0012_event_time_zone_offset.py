"""Events keep their eventTimeZoneOffset beside the UTC eventTime: the local time periods are
counted in (decision 014), read without parsing event contents.

Revision ID: 0012
Revises: 0011
"""

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

_CHUNK = 2000


def upgrade() -> None:
    op.add_column("event", sa.Column("event_time_zone_offset", sa.String(6)))
    conn = op.get_bind()
    event = sa.table(
        "event", sa.column("seq"), sa.column("content"), sa.column("event_time_zone_offset")
    )
    update = (
        event.update()
        .where(event.c.seq == sa.bindparam("s"))
        .values(event_time_zone_offset=sa.bindparam("o"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(event.c.seq, event.c.content)
            .where(event.c.seq > last)
            .order_by(event.c.seq)
            .limit(_CHUNK)
        ).all()
        if not rows:
            break
        conn.execute(
            update, [{"s": s, "o": orjson.loads(c)["eventTimeZoneOffset"]} for s, c in rows]
        )
        last = rows[-1][0]
    with op.batch_alter_table("event") as batch:
        batch.alter_column("event_time_zone_offset", existing_type=sa.String(6), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("event_time_zone_offset")
