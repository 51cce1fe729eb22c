"""Offtake agreements in the store, each as its JSON."""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, delete, insert, select

from batterytrace.contracts.agreement import Agreement
from batterytrace.store import schema

C = schema.contract


def load(conn: Connection) -> list[Agreement]:
    rows = conn.execute(select(C.c.id, C.c.content).order_by(C.c.id))
    return [Agreement.from_json(orjson.loads(content), f"contract {id_}") for id_, content in rows]


def save(conn: Connection, agreements: list[Agreement], owner: str | None = None) -> int:
    for agreement in agreements:
        conn.execute(delete(C).where(C.c.id == agreement.id))
        content = orjson.dumps(agreement.to_json()).decode()
        conn.execute(insert(C).values(id=agreement.id, owner=owner, content=content))
    return len(agreements)
