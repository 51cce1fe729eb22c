"""Named queries and their subscriptions (EPCIS 2.0 REST binding, ``/queries``): a query
kept under a name, run on demand or delivered as new events match it, in capture order, to a
webhook or a WebSocket (decision 039).

A subscription keeps a cursor: the ledger entry of the last event its receiver acknowledged.
Delivery reads the matching events after it, a batch at a time; a batch acknowledged moves
the cursor, a failed one is tried again after a doubling back-off, and after the last attempt
is set aside as a dead letter (the events stay in the store; the letter names them) while
delivery goes on. The cursor is in the store, so a restarted server resumes where the
receiver last acknowledged: at least once, in order, nothing skipped.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from batterytrace.epcis.model import Event
from batterytrace.epcis.schedule import Schedule, ScheduleError
from batterytrace.epcis.timestamps import parse_timestamp, utc_millis
from batterytrace.errors import (
    AlreadyExists,
    FieldError,
    Forbidden,
    NoSuchName,
    QueryError,
    SubscriptionError,
)
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import clients as clients_store
from batterytrace.store import organisations
from batterytrace.store import subscriptions as store
from batterytrace.store.query import ParamValue, SimpleEventQuery, last_entry_before
from batterytrace.store.subscriptions import QueryRow, SubscriptionRow

_NAME = re.compile(r"[A-Za-z0-9._~-]{1,200}")  # unreserved URI characters (RFC 3986 §2.3)
BATCH = 500  # events in one delivery


class NamedQuery(BaseModel):
    name: str
    query: dict[str, Any]


class Subscription(BaseModel):
    """A subscription as the binding shows it (never its signature token)."""

    subscriptionID: str
    queryName: str
    dest: str
    createdAt: datetime
    lastNotifiedAt: datetime | None = None
    initialRecordTime: datetime | None = None
    reportIfEmpty: bool
    stream: bool | None = None
    schedule: dict[str, str] | None = None
    deadLetters: int = 0  # batches set aside after their last failed attempt


def parameters(query: Mapping[str, Any]) -> dict[str, list[str]]:
    """A query body's values (strings, numbers, arrays of them) as query parameters."""
    params: dict[str, list[str]] = {}
    for name, value in query.items():
        items = value if isinstance(value, list) else [value]
        if not items or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in items
        ):
            raise QueryError(f"{name}: a string, a number or a non-empty array of them")
        params[name] = [str(v) for v in items]
    return params


def create(uow: UnitOfWork, client_id: str, name: str, query: Mapping[str, Any]) -> NamedQuery:
    """Keep ``query`` under ``name`` (checked as a SimpleEventQuery first)."""
    if not _NAME.fullmatch(name):
        raise QueryError(
            f"name: {name[:100]!r} must be 1 to 200 letters, digits, '.', '_', '~' or '-'"
        )
    if not isinstance(query, Mapping):
        raise QueryError("query: must be a JSON object of query parameters")
    SimpleEventQuery(parameters(query))
    row = QueryRow(name, client_id, dict(query), _now_ms())
    with uow.keeping("named query") as conn:
        if not store.add_query(conn, row):
            raise AlreadyExists(f"query {name!r}: a query has this name already")
    return NamedQuery(name=name, query=dict(query))


def get(uow: UnitOfWork, name: str) -> NamedQuery:
    with uow.reading() as conn:
        row = store.get_query(conn, name)
    if row is None:
        raise NoSuchName(f"query {name!r}: no such named query")
    return NamedQuery(name=row.name, query=row.query)


def page(uow: UnitOfWork, after: str | None, size: int) -> list[NamedQuery]:
    with uow.reading() as conn:
        return [NamedQuery(name=r.name, query=r.query) for r in store.queries(conn, after, size)]


def delete(uow: UnitOfWork, name: str, client_id: str, admin: bool) -> None:
    """Remove the query and its subscriptions (its creator or an admin only)."""
    with uow.keeping("named query delete") as conn:
        row = store.get_query(conn, name)
        if row is None:
            raise NoSuchName(f"query {name!r}: no such named query")
        if row.client_id != client_id and not admin:
            raise Forbidden(
                f"query {name!r}: only the client that made it, or an admin, may delete it"
            )
        store.delete_query(conn, name)


def subscribe(
    uow: UnitOfWork,
    client_id: str,
    query_name: str,
    dest: str,
    sealed_secret: str | None,
    stream: bool | None,
    schedule: Mapping[str, object] | None,
    report_if_empty: bool,
    initial_record_time: str | None,
) -> Subscription:
    """Subscribe ``dest`` to the named query: ``stream`` (each new matching event) or
    ``schedule``, exactly one; from ``initial_record_time`` (default: now)."""
    get(uow, query_name)
    plan = controls(stream, schedule)
    now = _now_ms()
    start = _initial(initial_record_time)
    next_run = _next_run(plan, now)
    with uow.keeping("subscribe") as conn:
        row = SubscriptionRow(
            id=secrets.token_hex(12),
            query_name=query_name,
            client_id=client_id,
            dest=dest,
            secret=sealed_secret,
            stream=plan is None,
            schedule=None if schedule is None else {k: str(v) for k, v in schedule.items()},
            report_if_empty=report_if_empty,
            initial_record_time=start,
            created_at=now,
            last_notified_at=None,
            cursor=last_entry_before(conn, start),
            failures=0,
            next_attempt_at=now,
            next_run_at=next_run,
        )
        store.add_subscription(conn, row)
    return _subscription(row, 0)


def controls(stream: bool | None, schedule: Mapping[str, object] | None) -> Schedule | None:
    """The schedule, None for a stream; SubscriptionError unless exactly one is asked for."""
    if (stream is True) == (schedule is not None):
        raise SubscriptionError("stream or schedule: give exactly one (stream must be true)")
    if schedule is None:
        return None
    try:
        return Schedule.parse(schedule)
    except ScheduleError as exc:
        raise SubscriptionError(str(exc)) from None


def subscription(uow: UnitOfWork, query_name: str, sid: str) -> Subscription:
    with uow.reading() as conn:
        row = store.get_subscription(conn, query_name, sid)
        if row is None:
            raise NoSuchName(f"subscription {sid!r} of query {query_name!r}: no such subscription")
        return _subscription(row, store.dead_letter_count(conn, sid))


def subscriptions(
    uow: UnitOfWork, query_name: str, after: str | None, size: int
) -> list[Subscription]:
    get(uow, query_name)
    with uow.reading() as conn:
        rows = store.subscriptions(conn, query_name, after, size)
        return [_subscription(r, store.dead_letter_count(conn, r.id)) for r in rows]


def unsubscribe(uow: UnitOfWork, query_name: str, sid: str, client_id: str, admin: bool) -> None:
    with uow.keeping("unsubscribe") as conn:
        row = store.get_subscription(conn, query_name, sid)
        if row is None:
            raise NoSuchName(f"subscription {sid!r} of query {query_name!r}: no such subscription")
        if row.client_id != client_id and not admin:
            raise Forbidden(f"subscription {sid!r}: only its subscriber, or an admin, may end it")
        store.delete_subscription(conn, query_name, sid)


class DeadLetter(BaseModel):
    """A batch set aside: the ledger entries of its first and last events (the store keeps
    the events), how often it was tried, the last failure."""

    first_seq: int
    last_seq: int
    events: int
    attempts: int
    reason: str
    failed_at: datetime


def dead_letters(uow: UnitOfWork, query_name: str, sid: str) -> list[DeadLetter]:
    subscription(uow, query_name, sid)
    with uow.reading() as conn:
        rows = store.dead_letters(conn, sid)
    return [DeadLetter(**(r | {"failed_at": _time(r["failed_at"])})) for r in rows]


# -- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batch:
    """The next events a subscription delivers: (entry, event) in capture order."""

    subscription: SubscriptionRow
    events: list[tuple[int, Event]]

    @property
    def last(self) -> int:
        return self.events[-1][0] if self.events else self.subscription.cursor


def start_entry(uow: UnitOfWork, initial_record_time: str | None) -> int:
    """The ledger entry a subscription starting at ``initial_record_time`` (default: now)
    delivers after."""
    start = _initial(initial_record_time)
    with uow.reading() as conn:
        return last_entry_before(conn, start)


def current(uow: UnitOfWork, row: SubscriptionRow) -> SubscriptionRow | None:
    """The subscription as stored now (None: it was ended)."""
    with uow.reading() as conn:
        return store.get_subscription(conn, row.query_name, row.id)


def leased(uow: UnitOfWork, worker: str, lease_ms: int) -> list[SubscriptionRow]:
    """The subscriptions ``worker`` delivers for the next ``lease_ms``."""
    now = _now_ms()
    with uow.keeping("subscription lease") as conn:
        return store.lease(conn, worker, now, now + lease_ms)


def release(uow: UnitOfWork, worker: str) -> None:
    """The worker stops: others may deliver its subscriptions at once (a crashed worker's
    leases run out after their time instead)."""
    with uow.keeping("subscription release") as conn:
        store.release(conn, worker)


def due(row: SubscriptionRow, now: int) -> bool:
    """Whether the subscription is to be delivered now: past its back-off, and a stream or
    past its scheduled run."""
    if now < row.next_attempt_at:
        return False
    return row.stream or (row.next_run_at is not None and now >= row.next_run_at)


def next_batch(uow: UnitOfWork, row: SubscriptionRow, size: int = BATCH) -> Batch | None:
    """The matching events after the subscription's cursor that its client's organisation may
    read at delivery time (decision 041); None when there are none and none is to be reported
    (a stream, or a schedule without reportIfEmpty), or when its client was revoked."""
    query = get(uow, row.query_name)
    with uow.reading() as conn:
        client = clients_store.get(conn, row.client_id)
        if client is None or client.revoked_at is not None:
            return None  # its client was revoked: nothing delivered, the cursor stays
        reader = organisations.grants(conn, client.organisation)
        found = SimpleEventQuery(parameters(query.query), reader).after(conn, row.cursor, size)
    if not found and (row.stream or not row.report_if_empty):
        return None
    return Batch(row, found)


def after(
    uow: UnitOfWork, params: Mapping[str, ParamValue], cursor: int, reader: str | None
) -> list[tuple[int, Event]]:
    """The next batch of a WebSocket subscription: what ``reader`` may read now (the shares
    in force at each delivery) of the events after ledger entry ``cursor``."""
    with uow.reading() as conn:
        grants = organisations.grants(conn, reader)
        return SimpleEventQuery(params, grants).after(conn, cursor, BATCH)


def acknowledged(uow: UnitOfWork, batch: Batch) -> None:
    """The receiver took the batch: the cursor moves past it."""
    row = batch.subscription
    now = _now_ms()
    with uow.keeping("subscription delivered") as conn:
        store.delivered(conn, row.id, batch.last, now, _next_run_of(row, now, batch))


def refused(uow: UnitOfWork, batch: Batch, reason: str, attempts: int, backoff_s: float) -> bool:
    """The receiver did not take the batch: tried again after ``backoff_s`` doubled at each
    failure, set aside as a dead letter at the ``attempts``-th. True when set aside."""
    row = batch.subscription
    now = _now_ms()
    failures = row.failures + 1
    with uow.keeping("subscription failed") as conn:
        if failures < attempts:
            store.failed(conn, row.id, failures, now + int(backoff_s * 1000 * 2 ** (failures - 1)))
            return False
        first = batch.events[0][0] if batch.events else row.cursor
        store.dead_letter(
            conn,
            row.id,
            first,
            batch.last,
            len(batch.events),
            failures,
            reason[:500],
            now,
            _next_run_of(row, now, batch),
        )
    return True


def _next_run_of(row: SubscriptionRow, now: int, batch: Batch) -> int | None:
    """A scheduled subscription runs again at its next time once it has caught up (a full
    batch: more events wait, so it goes on now)."""
    if row.schedule is None:
        return None
    if len(batch.events) >= BATCH:
        return row.next_run_at
    return _next_run(Schedule.parse(row.schedule), now)


def _next_run(plan: Schedule | None, now: int) -> int | None:
    if plan is None:
        return None
    after = plan.next_after(datetime.fromtimestamp(now / 1000, UTC))
    return None if after is None else int(after.timestamp() * 1000)


def _initial(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return utc_millis(parse_timestamp(text, "initialRecordTime"))
    except FieldError as exc:
        raise SubscriptionError(str(exc)) from None


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _subscription(row: SubscriptionRow, dead: int) -> Subscription:
    return Subscription(
        subscriptionID=row.id,
        queryName=row.query_name,
        dest=row.dest,
        createdAt=_time(row.created_at),
        lastNotifiedAt=None if row.last_notified_at is None else _time(row.last_notified_at),
        initialRecordTime=None
        if row.initial_record_time is None
        else _time(row.initial_record_time),
        reportIfEmpty=row.report_if_empty,
        stream=True if row.stream else None,
        schedule=row.schedule,
        deadLetters=dead,
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
