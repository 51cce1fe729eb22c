"""What a reader may read of the stored events, as SQL (decision 041): its own events, and
those in the scope of a share it holds; a field shown where some covering share does not
withhold it. The same rules as :class:`batterytrace.sharing.Grants`, which judges each event
read (a test holds the two equal)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, Connection, and_, exists, or_, select

from batterytrace.epcis.model import Action, Event, EventType
from batterytrace.epcis.timestamps import utc_millis
from batterytrace.sharing import Grants, Scope
from batterytrace.store import schema
from batterytrace.store.patterns import escape
from batterytrace.store.records import event_from_content

E = schema.event
K = schema.event_key.alias("shared_key")  # its own name: never correlated with a caller's keys
_CHUNK = 500  # identifiers per IN list
# the event_key roles of the EPCs and classes an event names (a share's products)
PRODUCT_ROLES = ("parentID", "epc", "childEPC", "inputEPC", "outputEPC", "epcClass",
                 "childEPCClass", "inputEPCClass", "outputEPCClass")  # fmt: skip


def visible(grants: Grants, field: str | None = None) -> ColumnElement[bool]:
    """The events ``grants.reader`` may read; with ``field`` (one of
    :data:`batterytrace.sharing.WITHHELD`), those whose ``field`` it may see too."""
    clauses: list[ColumnElement[bool]] = [E.c.owner == grants.reader]
    for owner, shares in grants.by_owner.items():
        for share in shares:
            if field is None or field not in share.withheld:
                clauses.append(and_(E.c.owner == owner, *_scope(share.scope)))
    return or_(*clauses)


def _scope(scope: Scope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.event_types:
        where.append(E.c.event_type.in_(sorted(scope.event_types)))
    if scope.biz_steps:
        where.append(E.c.biz_step.in_(sorted(scope.biz_steps)))
    if scope.since is not None:
        where.append(E.c.event_time >= utc_millis(scope.since))
    if scope.until is not None:
        where.append(E.c.event_time < utc_millis(scope.until))
    if scope.sites:
        places = [(c, site) for c in (E.c.read_point, E.c.biz_location) for site in scope.sites]
        where.append(or_(*(_in_site(column, site) for column, site in sorted(places, key=str))))
    if scope.products:
        named = or_(*(_under(K.c.value, p) for p in scope.products))
        where.append(exists().where(K.c.seq == E.c.seq, K.c.role.in_(PRODUCT_ROLES), named))
    return where


def _in_site(column: ColumnElement[str | None], site: str) -> ColumnElement[bool]:
    """The location is the site, or a part of it (its GLN with an extension, AI 254)."""
    return or_(column == site, column.like(escape(site) + "/254/%", escape="\\"))


def _under(column: ColumnElement[str], link: str) -> ColumnElement[bool]:
    """The key is ``link`` or extends it by whole path segments (a lot or serial of a GTIN)."""
    return or_(column == link, column.like(escape(link) + "/%", escape="\\"))


def readable_keys(conn: Connection, grants: Grants, keys: Iterable[str]) -> set[str]:
    """The keys ``grants.reader`` may read of those given: an eventID, or a transformationID
    whose every event it may read (a trace's steps and custody hops)."""
    judged: dict[str, list[bool]] = {}
    for key, owner, event in events_of(conn, keys):
        judged.setdefault(key, []).append(grants.withheld(owner, event) is not None)
    return {key for key, oks in judged.items() if all(oks)}


def events_of(conn: Connection, keys: Iterable[str]) -> list[tuple[str, str | None, Event]]:
    """The events of ``keys`` (eventIDs, or transformationIDs joining several events), each
    with the key it was asked by and its owner."""
    wanted = sorted(set(keys))
    found = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        asked = set(chunk)
        rows = conn.execute(
            select(E.c.event_id, E.c.transformation_id, E.c.owner, E.c.content).where(
                or_(E.c.event_id.in_(chunk), E.c.transformation_id.in_(chunk))
            )
        )
        for event_id, transformation, owner, content in rows:
            event = event_from_content(content, event_id)
            found += [(key, owner, event) for key in {event_id, transformation} & asked]
    return found


def named_in_readable(conn: Connection, grants: Grants, ids: Sequence[str]) -> set[str]:
    """The identifiers (canonical links) some event ``grants.reader`` may read names."""
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        named = select(K.c.value).where(K.c.seq == E.c.seq, K.c.value.in_(chunk), visible(grants))
        found.update(conn.execute(named.distinct()).scalars())
    return found


# The event_key roles naming what an event made: a transformation's outputs, an aggregation's
# parent, an ObjectEvent's EPCs and classes (those of an ADD, checked on the event).
_MADE_ROLES = ("outputEPC", "outputEPCClass", "parentID", "epc", "epcClass")


def makers(conn: Connection, link: str) -> list[tuple[str | None, Event]]:
    """The events that made the object ``link`` (a canonical Digital Link), with their
    owners: a transformation's output, an aggregation's parent added, an object added."""
    rows = conn.execute(
        select(E.c.owner, E.c.content, E.c.event_id)
        .where(K.c.seq == E.c.seq, K.c.role.in_(_MADE_ROLES), K.c.value == link)
        .distinct()
    )
    found = []
    for owner, content, event_id in rows:
        event = event_from_content(content, event_id)
        if event.type is EventType.TRANSFORMATION or event.action is Action.ADD:
            found.append((owner, event))
    return found
