"""Chain of custody in the store: the rules as records, the events that move lots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, delete, func, insert, select

from batterytrace.custody.claims import Claim, parse_claim
from batterytrace.custody.flows import CLAIM_FIELDS, Movement, Transfer
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Action, Event, EventType
from batterytrace.epcis.timestamps import local_time
from batterytrace.store import schema
from batterytrace.store.imported import Imported
from batterytrace.store.records import event_from_content
from batterytrace.trace.lineage import Flow, custody_step, kg_by_object

R = schema.custody_rule
CLOSE = schema.custody_close
T = schema.custody_transfer
E = schema.event
K = schema.event_key
F = schema.event_figure
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
    done = Imported(added=len(rows) - kept, unchanged=kept, removed=stored.total() - kept)
    if done.changed:
        conn.execute(delete(R))
        if rows:
            conn.execute(insert(R), rows)
    return done


def has_inputs(conn: Connection) -> bool:
    """Whether anything can put a claim into the custody state: rules, a transfer, a close,
    or an event carrying an allocation's fields (by the extension index). Without any, the
    state is empty whatever the events."""
    claims = select(K.c.seq).where(K.c.role == "extension", K.c.value.in_(CLAIM_FIELDS))
    return any(
        conn.execute(select(query.exists())).scalar()
        for query in (select(R), select(T), select(CLOSE), claims)
    )


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


def _moving(after: int = 0, since: datetime | None = None) -> Any:
    """The events after ledger number ``after`` (and at ``since`` or later) that can move a
    claim or deliver a lot: transformations, and events naming lots (commissioning, shipping
    and receiving, purchase orders, allocations)."""
    if not after and since is None:  # every event: the lots' keys looked up once
        lots = select(K.c.seq).where(K.c.role == "epcClass")
        return (E.c.event_type == "TransformationEvent") | E.c.seq.in_(lots)
    # some events only (the latest, or those from a time on): each looked up by its number
    named = select(K.c.seq).where((K.c.seq == E.c.seq) & (K.c.role == "epcClass")).exists()
    bound = E.c.seq > after if after else E.c.event_time >= _ms(since)
    return bound & ((E.c.event_type == "TransformationEvent") | named)


def _ms(when: datetime | None) -> int:
    return 0 if when is None else int(when.timestamp() * 1000)


def _in_time_order(conn: Connection, query: Any, after: int) -> Iterator[Any]:
    """The rows of a query of events (its first two columns their time and ledger number) in
    time order, then ledger order: every event streamed in that order; the latest ones (after
    ledger number ``after``) read by ledger number, which the store finds at once, and sorted
    here (in time order the store would scan every event)."""
    if not after:
        # streamed by this statement only: the connection may go on to write (a unit of work)
        yield from conn.execute(query.order_by(E.c.event_time, E.c.seq).execution_options(
            yield_per=2000))  # fmt: skip
        return
    yield from sorted(conn.execute(query.order_by(E.c.seq)), key=lambda row: (row[0], row[1]))


def lot_events(conn: Connection, after: int = 0, since: datetime | None = None) -> Iterator[Event]:
    """The events after ledger number ``after`` (or at ``since`` or later) that can move a
    claim or deliver a lot (``_moving``), in time order (then ledger order)."""
    query = select(E.c.event_time, E.c.seq, E.c.content).where(_moving(after, since))
    for _, _, content in _in_time_order(conn, query, after):
        yield event_from_content(content)


def movements(
    conn: Connection, after: int = 0, since: datetime | None = None
) -> Iterator[Movement]:
    """What custody reads of the same events (those after ledger number ``after``, or at
    ``since`` or later), in the same order, from the event's columns and the figures capture
    derived (records.figures), as traces read them; the content is read only for object
    events that may carry a claim's extensions (whose JSON names a claim)."""
    claims = and_(E.c.event_type == EventType.OBJECT.value, E.c.content.like("%claim%"))
    query = (
        select(
            E.c.event_time, E.c.seq, E.c.event_type, E.c.action, E.c.biz_step,
            E.c.event_time_zone_offset, E.c.record_time,
            func.coalesce(E.c.biz_location, E.c.read_point), E.c.event_id, F.c.figures,
            case((claims, E.c.content)),
        )
        .select_from(E.outerjoin(F, F.c.seq == E.c.seq))
        .where(_moving(after, since))
    )  # fmt: skip
    rows = _in_time_order(conn, query, after)
    for ms, _, kind, action, step, offset, recorded_ms, site, name, figures, content in rows:
        if content is not None:
            yield Movement.of(event_from_content(content))
            continue
        lists = orjson.loads(figures) if figures else {}
        at = datetime.fromtimestamp(ms / 1000, UTC)
        listed = lists.get("quantityList", ())
        yield Movement(
            EventType(kind), Action(action) if action else None, custody_step(step), site, at,
            local_time(at, offset), datetime.fromtimestamp(recorded_ms / 1000, UTC), name,
            _kg(listed), _kg(lists.get("inputQuantityList", ())),
            _kg(lists.get("outputQuantityList", ())),
            tuple(dict.fromkeys(flow[0] for flow in listed)), {},
        )  # fmt: skip


def first_at(conn: Connection, site: str) -> datetime | None:
    """The earliest eventTime of an event custody places at ``site`` (its bizLocation, else its
    readPoint: :func:`movements`); None without any. Each found by its column's index."""
    located = select(func.min(E.c.event_time)).where(E.c.biz_location == site)
    pointed = select(func.min(E.c.event_time)).where(
        E.c.biz_location.is_(None) & (E.c.read_point == site)
    )
    found = [ms for query in (located, pointed) if (ms := conn.execute(query).scalar()) is not None]
    return datetime.fromtimestamp(min(found) / 1000, UTC) if found else None


# the keys of the lots custody weighs (the quantity lists Movement reads)
_WEIGHED = ("epcClass", "inputEPCClass", "outputEPCClass")


def first_naming_made(conn: Connection, after: int) -> datetime | None:
    """The earliest eventTime of an event up to ledger number ``after`` that weighs a lot an
    event after it makes or commissions (their element figures then come from it too:
    store.lineage): custody took that event with the figures known then, which the new one
    may restate. None when there is none."""
    commissions = (E.c.event_type == EventType.OBJECT.value) & (E.c.action == Action.ADD.value)
    made = (
        select(K.c.value)
        .select_from(K.join(E, E.c.seq == K.c.seq))
        .where(
            (K.c.seq > after)
            & ((K.c.role == "outputEPCClass") | ((K.c.role == "epcClass") & commissions))
        )
    )
    values = sorted(set(conn.execute(made).scalars()))
    earliest: int | None = None
    for start in range(0, len(values), 500):
        query = select(func.min(E.c.event_time)).select_from(K.join(E, E.c.seq == K.c.seq))
        found = conn.execute(query.where(
            K.c.role.in_(_WEIGHED) & K.c.value.in_(values[start : start + 500])
            & (K.c.seq <= after)
        )).scalar()  # fmt: skip
        if found is not None and (earliest is None or found < earliest):
            earliest = found
    return None if earliest is None else datetime.fromtimestamp(earliest / 1000, UTC)


def _kg(flows: list[list[Any]]) -> dict[str, float]:
    """kg per object of a quantity list's figures: (Digital Link, kg or null, ...) each."""
    return kg_by_object(Flow(flow[0], flow[1]) for flow in flows)
