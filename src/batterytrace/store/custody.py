"""Chain of custody in the store: the rules as records, the events that move lots."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from sqlalchemy import Connection, delete, insert, select

from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Event
from batterytrace.store import schema
from batterytrace.store.records import event_from_content

R = schema.custody_rule
E = schema.event
K = schema.event_key
_KINDS = {"origins": "origin", "policies": "policy"}


def load(conn: Connection) -> CustodyRules:
    rows = conn.execute(select(R.c.kind, R.c.content).order_by(R.c.id)).all()
    return CustodyRules.from_json(
        {
            plural: [orjson.loads(content) for kind, content in rows if kind == single]
            for plural, single in _KINDS.items()
        }
    )


def save(conn: Connection, rules: CustodyRules, owner: str | None = None) -> int:
    """Replace the stored rules with ``rules``; how many entries were written."""
    conn.execute(delete(R))
    rows = [
        {"kind": single, "site": entry["site"], "claim": entry["claim"], "owner": owner,
         "content": orjson.dumps(entry).decode()}
        for plural, single in _KINDS.items()
        for entry in rules.to_json()[plural]
    ]  # fmt: skip
    if rows:
        conn.execute(insert(R), rows)
    return len(rows)


def lot_events(conn: Connection) -> Iterator[Event]:
    """The events that can move a claim or deliver a lot, in time order (then ledger order):
    transformations, and events naming lots (commissioning, shipping and receiving, purchase
    orders, allocations)."""
    lots = select(K.c.seq).where(K.c.role == "epcClass")
    query = (
        select(E.c.content)
        .where((E.c.event_type == "TransformationEvent") | E.c.seq.in_(lots))
        .order_by(E.c.event_time, E.c.seq)
    )
    for (content,) in conn.execution_options(yield_per=2000).execute(query):
        yield event_from_content(content)
