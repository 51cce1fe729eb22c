"""Offtake agreements in the store, each as its JSON."""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, delete, insert, select

from batterytrace.contracts.agreement import Agreement
from batterytrace.store import schema
from batterytrace.store.imported import Imported

C = schema.contract


def load(conn: Connection) -> list[Agreement]:
    rows = conn.execute(select(C.c.id, C.c.content).order_by(C.c.id))
    return [Agreement.from_json(orjson.loads(content), f"contract {id_}") for id_, content in rows]


def save(conn: Connection, agreements: list[Agreement], owner: str | None = None) -> Imported:
    """Add or replace agreements (by id); one stored already as given is left as it is."""
    added = replaced = unchanged = 0
    for agreement in agreements:
        content = orjson.dumps(agreement.to_json()).decode()
        stored = conn.execute(select(C.c.content).where(C.c.id == agreement.id)).scalar()
        if stored == content:
            unchanged += 1
            continue
        if stored is None:
            added += 1
        else:
            replaced += 1
            conn.execute(delete(C).where(C.c.id == agreement.id))
        conn.execute(insert(C).values(id=agreement.id, owner=owner, content=content))
    return Imported(added, replaced, unchanged)
