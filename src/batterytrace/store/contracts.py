"""Offtake agreements in the store, each as its JSON."""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, select

from batterytrace.contracts.agreement import Agreement
from batterytrace.store import schema
from batterytrace.store.imported import Imported, put

C = schema.contract


def load(conn: Connection) -> list[Agreement]:
    rows = conn.execute(select(C.c.id, C.c.content).order_by(C.c.id))
    return [Agreement.from_json(orjson.loads(content), f"contract {id_}") for id_, content in rows]


def save(conn: Connection, agreements: list[Agreement], owner: str | None = None) -> Imported:
    """Add or replace agreements (by id); one stored already as given is left as it is."""
    return Imported.of(
        put(conn, C, C.c.id == a.id,
            {"id": a.id, "owner": owner, "content": orjson.dumps(a.to_json()).decode()})
        for a in agreements
    )  # fmt: skip
