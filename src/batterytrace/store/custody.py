"""Chain of custody in the store: the rules as records, the events that move lots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
from sqlalchemy import Connection, delete, insert, select

from batterytrace.custody.claims import Claim, parse_claim
from batterytrace.custody.flows import Snapshot, Transfer
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Event
from batterytrace.store import schema
from batterytrace.store.imported import Imported
from batterytrace.store.records import event_from_content

R = schema.custody_rule
S = schema.custody_snapshot
CLOSE = schema.custody_close
T = schema.custody_transfer
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


def save(conn: Connection, rules: CustodyRules, owner: str | None = None) -> Imported:
    """Replace the stored rules with ``rules``, unless they are the rules stored already (then
    nothing is written). Entries counted as added, unchanged (stored as given) and removed."""
    rows = [
        {"kind": single, "site": entry["site"], "claim": entry["claim"], "owner": owner,
         "content": orjson.dumps(entry).decode()}
        for plural, single in _KINDS.items()
        for entry in rules.to_json()[plural]
    ]  # fmt: skip
    stored = Counter(
        (kind, content) for kind, content in conn.execute(select(R.c.kind, R.c.content))
    )
    given = Counter((row["kind"], row["content"]) for row in rows)
    kept = sum((stored & given).values())
    done = Imported(len(rows) - kept, 0, kept, stored.total() - kept)
    if done.changed:
        conn.execute(delete(R))
        if rows:
            conn.execute(insert(R), rows)
    return done


def closes(conn: Connection) -> dict[tuple[str, Claim], dict[str, datetime]]:
    """The periods closed, per (site, claim), with when."""
    found: dict[tuple[str, Claim], dict[str, datetime]] = {}
    for site, claim, period, ms in conn.execute(
        select(CLOSE.c.site, CLOSE.c.claim, CLOSE.c.period, CLOSE.c.closed_at)
    ):
        found.setdefault((site, parse_claim(claim)), {})[period] = datetime.fromtimestamp(
            ms / 1000, UTC
        )
    return found


def close(conn: Connection, site: str, claim: Claim, period: str, when: datetime) -> None:
    ms = int(when.timestamp() * 1000)
    conn.execute(insert(CLOSE).values(site=site, claim=str(claim), period=period, closed_at=ms))


def transfers(conn: Connection) -> list[Transfer]:
    """Every book-and-claim transfer, in time order."""
    rows = conn.execute(
        select(T.c.ref, T.c.at, T.c.source, T.c.target, T.c.claim, T.c.kg).order_by(T.c.at, T.c.ref)
    )
    return [
        Transfer(when, source, target, parse_claim(claim), orjson.loads(kg), ref, when)
        for ref, ms, source, target, claim, kg in rows
        for when in (datetime.fromtimestamp(ms / 1000, UTC),)
    ]


def keep_transfer(conn: Connection, t: Transfer) -> None:
    conn.execute(
        insert(T).values(
            ref=t.ref, at=int(t.when.timestamp() * 1000), source=t.source, target=t.target,
            claim=str(t.claim), kg=orjson.dumps(dict(t.kg)).decode(),
        )
    )  # fmt: skip


def last_snapshot(conn: Connection) -> Snapshot | None:
    content = conn.execute(select(S.c.content).where(S.c.id == 1)).scalar()
    return None if content is None else orjson.loads(content)


def keep_snapshot(conn: Connection, state: Snapshot, taken: datetime) -> None:
    conn.execute(delete(S))
    ms = int(taken.timestamp() * 1000)
    conn.execute(insert(S).values(id=1, taken=ms, content=orjson.dumps(state).decode()))


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
