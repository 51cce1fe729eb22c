"""Certificates as rows (decision 044), written only by their ledger records' applier: each
version a record stated is kept, the newest is the one in force."""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, func, insert, select

from batterytrace.certificates import Certificate
from batterytrace.store import schema
from batterytrace.store.imported import Imported, Outcome

C = schema.certificate


def save(conn: Connection, certificates: list[Certificate], seq: int) -> Imported:
    """Keep each record under the import record ``seq``: unchanged when its newest version
    says the same, else a new version (replaced) or a first one (added)."""
    outcomes: list[Outcome] = []
    for certificate in certificates:
        content = _content(certificate)
        newest = conn.execute(
            select(C.c.content).where(C.c.id == certificate.id).order_by(C.c.seq.desc()).limit(1)
        ).scalar()
        if newest == content:
            outcomes.append("unchanged")
            continue
        conn.execute(
            insert(C).values(id=certificate.id, seq=seq, holder=certificate.holder, content=content)
        )
        outcomes.append("added" if newest is None else "replaced")
    return Imported.of(outcomes)


def current(conn: Connection, holder: str | None = None) -> list[Certificate]:
    """The newest version of each record (of ``holder``'s), by id."""
    newest = select(C.c.id, func.max(C.c.seq).label("seq")).group_by(C.c.id).subquery("newest")
    query = select(C.c.content).join(newest, (C.c.id == newest.c.id) & (C.c.seq == newest.c.seq))
    if holder is not None:
        query = query.where(C.c.holder == holder)
    rows = conn.execute(query.order_by(C.c.id)).scalars()
    return [Certificate.from_json(orjson.loads(row)) for row in rows]


def history(conn: Connection, id: str) -> list[tuple[int, Certificate]]:
    """Every version of one record, oldest first, with the import record that stated it."""
    rows = conn.execute(select(C.c.seq, C.c.content).where(C.c.id == id).order_by(C.c.seq))
    return [(seq, Certificate.from_json(orjson.loads(content))) for seq, content in rows]


def _content(certificate: Certificate) -> str:
    return orjson.dumps(certificate.to_json(), option=orjson.OPT_SORT_KEYS).decode()
