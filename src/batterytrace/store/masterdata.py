"""Supply-chain master data in the store: each record as its JSON, keyed and typed."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, Table, insert, select

from batterytrace.masterdata import MasterData
from batterytrace.store import schema
from batterytrace.store.imported import Imported, Outcome, put

_TABLES: dict[str, Table] = {
    "parties": schema.party,
    "sites": schema.site,
    "materials": schema.material,
}


def load(conn: Connection) -> MasterData:
    """Every stored party, site and material, checked together."""
    obj = {
        kind: [
            orjson.loads(row[0])
            for row in conn.execute(select(table.c.content).order_by(table.c.id))
        ]
        for kind, table in _TABLES.items()
    }
    return MasterData.from_json(obj)


def save(conn: Connection, data: MasterData, owner: str | None = None) -> dict[str, Imported]:
    """Insert or replace the records of ``data`` (by id); a record stored already as given is
    left as it is. What changed, per kind."""
    records = data.to_json()
    effects = {}
    for kind, table in _TABLES.items():
        effects[kind] = Imported.of(
            put(conn, table, table.c.id == row["id"], {**_columns(kind, row), "owner": owner})
            for row in records[kind]
        )
    return effects


def save_vocabularies(conn: Connection, elements: list[dict[str, Any]]) -> dict[str, Imported]:
    """Insert or replace the EPCIS master data of document headers (§7.2): each element
    (``type``, ``id``, ``content`` as captured) by type and id, and its ``children`` links; an
    element stored already as given is left as it is. What changed."""
    E, C = schema.vocabulary_element, schema.vocabulary_child
    outcomes: list[Outcome] = []
    links = 0
    for element in elements:
        row = {"vtype": element["type"], "id": element["id"], "content": element["content"]}
        outcomes.append(put(conn, E, (E.c.vtype == row["vtype"]) & (E.c.id == row["id"]), row))
        for child in element["children"]:
            link = (C.c.parent == element["parent"]) & (C.c.child == child)
            if conn.execute(select(C.c.child).where(link)).first() is None:
                conn.execute(insert(C).values(parent=element["parent"], child=child))
                links += 1
    return {"elements": Imported.of(outcomes), "children": Imported(added=links)}


def _columns(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    content = orjson.dumps(row).decode()
    if kind == "sites":
        return {"id": row["id"], "party_id": row["party"], "role": row["role"], "content": content}
    if kind == "materials":
        return {"id": row["id"], "kind": row["kind"], "content": content}
    return {"id": row["id"], "content": content}
