"""EPCIS events as a service: capture (all or nothing), SimpleEventQuery pages and counts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select

from batterytrace.epcis import documents
from batterytrace.epcis.hash import event_hash
from batterytrace.epcis.json_ld import EPCIS_CONTEXT
from batterytrace.epcis.model import Document, DocumentKind, Event
from batterytrace.epcis.timestamps import format_timestamp
from batterytrace.errors import BatteryTraceError, InvalidDocument
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import events as store_events
from batterytrace.store import organisations, schema
from batterytrace.store import query as event_query
from batterytrace.store.events import CaptureResult
from batterytrace.store.query import ParamValue, QueryPage, SimpleEventQuery

QUERY_NAME = "SimpleEventQuery"


def capture(
    uow: UnitOfWork,
    path: Path,
    owner: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> CaptureResult:
    """Capture every event of the file at ``path`` (JSON-LD or XML), or none
    (:meth:`Writing.capture`)."""
    with uow.writing("capture") as w:
        return w.capture(
            documents.stream(path, schema=uow.settings.epcis_schema),
            source=path.name,
            owner=owner,
            progress=progress,
        )


class Head(BaseModel):
    seq: int
    hash: str


class Captured(BaseModel):
    """What capturing one file did, as `capture --json` reports it (a rejection is a result:
    the file stored whole or not at all, ``error`` naming why)."""

    file: str
    rejected: bool
    error: str | None = None
    captured: int = 0
    duplicates: int = 0
    master_data_elements: int = 0
    declarations_not_applied: int = 0  # duplicates carrying an errorDeclaration (decision 011)
    ledger_head: Head | None = None
    fallback: str | None = None  # why the events were prepared without the capture workers


def capture_file(
    uow: UnitOfWork,
    path: Path,
    progress: Callable[[int], None] | None = None,
    owner: str | None = None,
) -> Captured:
    """:func:`capture` of one file, its refusal (a BatteryTraceError) reported as a result."""
    try:
        done = capture(uow, path, owner, progress)
    except BatteryTraceError as exc:
        return Captured(file=str(path), rejected=True, error=str(exc))
    return Captured(
        file=str(path), rejected=False, captured=done.captured, duplicates=done.duplicates,
        master_data_elements=done.master_data_elements,
        declarations_not_applied=done.declarations_not_applied,
        ledger_head=Head(seq=done.head_seq, hash=done.head), fallback=done.fallback,
    )  # fmt: skip


def capture_document(
    uow: UnitOfWork, document: Document, owner: str | None = None
) -> CaptureResult:
    """Capture an already parsed document (its events are checked first)."""
    with uow.writing("capture") as w:
        return w.capture(documents.EventStream.of(document), owner=owner)


def query(
    uow: UnitOfWork, params: Mapping[str, ParamValue], reader: str | None = None
) -> QueryPage:
    """One page of a SimpleEventQuery (EPCIS 2.0 §8.2.7.1) as ``reader`` (an organisation)
    may read it: its own events and what others share with it, without the fields they
    withhold (decision 041); None: as the store's operator, everything."""
    with uow.reading() as conn:
        return SimpleEventQuery(params, organisations.grants(conn, reader)).page(conn)


def query_all(
    uow: UnitOfWork, params: Mapping[str, ParamValue], reader: str | None = None
) -> Iterator[Event]:
    """Every matching event ``reader`` may read (:func:`query`), in the query's order, read a
    page of at most :data:`~batterytrace.store.query.MAX_PER_PAGE` events at a time."""
    params = {k: v for k, v in params.items() if k != "perPage"}
    while True:
        page = query(uow, params | {"perPage": str(event_query.MAX_PER_PAGE)}, reader)
        yield from page.events
        if page.next_page_token is None:
            return
        params["nextPageToken"] = page.next_page_token


def query_document(
    uow: UnitOfWork, params: Mapping[str, ParamValue]
) -> tuple[Document, str | None]:
    """The page as an EPCISQueryDocument, and the next-page token."""
    page = query(uow, params)
    doc = Document(
        kind=DocumentKind.QUERY,
        creationDate=datetime.now(UTC),
        events=page.events,
        queryName=QUERY_NAME,
    )
    return doc, page.next_page_token


def event_counts(uow: UnitOfWork) -> list[tuple[str, str | None, int]]:
    """How many events of each type and business step are stored."""
    e = schema.event
    stmt = (
        select(e.c.event_type, e.c.biz_step, func.count())
        .group_by(e.c.event_type, e.c.biz_step)
        .order_by(e.c.event_type, e.c.biz_step)
    )
    with uow.reading() as conn:
        return [(kind, step, int(n)) for kind, step, n in conn.execute(stmt)]


def count(uow: UnitOfWork, params: Mapping[str, ParamValue], reader: str | None = None) -> int:
    """How many events ``reader`` may read match (``eventCountLimit`` caps it; paging
    parameters are ignored)."""
    with uow.reading() as conn:
        return SimpleEventQuery(params, organisations.grants(conn, reader)).count(conn)


def capture_event(
    uow: UnitOfWork, event: Mapping[str, object], owner: str | None = None
) -> tuple[str, bool]:
    """Capture one event given as its JSON-LD object (the REST binding's ``POST /events``) as
    ``owner``'s: the eventID it is stored under, and whether it is new (False: the same event
    was stored already, under that eventID)."""
    if not isinstance(event, Mapping):
        raise InvalidDocument("event: must be a JSON object")
    body = {k: v for k, v in event.items() if k != "@context"}
    context = event.get("@context", EPCIS_CONTEXT)
    document = {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_timestamp(datetime.now(UTC)),
        "epcisBody": {"eventList": [body]},
    }
    # the standard library writes any integer the request held; the document reader judges it
    parsed = documents.parse_bytes(json.dumps(document).encode())
    done = capture_document(uow, parsed, owner)
    with uow.reading() as conn:
        stored = store_events.stored_id(conn, event_hash(parsed.events[0]))
    assert stored is not None
    return stored, done.captured == 1


def resource_members(
    uow: UnitOfWork, resource: str, after: str | None, size: int, reader: str | None = None
) -> list[str]:
    """The values of a top-level resource (``epcs``, ``bizSteps``…) in the events ``reader``
    may read, in order, after ``after`` (:func:`batterytrace.store.query.resource_members`)."""
    with uow.reading() as conn:
        grants = organisations.grants(conn, reader)
        return event_query.resource_members(conn, resource, after, size, grants)


def resource_parameter(
    uow: UnitOfWork, resource: str, value: str, reader: str | None = None
) -> str | None:
    """The query parameter selecting the events ``reader`` may read that hold ``value`` in
    the resource's field; None when none does."""
    with uow.reading() as conn:
        grants = organisations.grants(conn, reader)
        return event_query.resource_parameter(conn, resource, value, grants)
