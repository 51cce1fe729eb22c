"""Named queries, their subscriptions and the deliveries that failed for good, as rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, or_, select, update

from batterytrace.store import schema

Q = schema.named_query
S = schema.subscription
D = schema.dead_letter


@dataclass(frozen=True, slots=True)
class QueryRow:
    name: str
    client_id: str
    query: dict[str, Any]
    created_at: int


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: str
    query_name: str
    client_id: str
    dest: str
    secret: str | None  # sealed
    stream: bool
    schedule: dict[str, str] | None
    report_if_empty: bool
    initial_record_time: int | None
    created_at: int
    last_notified_at: int | None
    cursor: int
    failures: int
    next_attempt_at: int
    next_run_at: int | None


def add_query(conn: Connection, row: QueryRow) -> bool:
    """Keep the named query; False when the name is taken."""
    if conn.execute(select(Q.c.name).where(Q.c.name == row.name)).first() is not None:
        return False
    conn.execute(
        insert(Q).values(
            name=row.name,
            client_id=row.client_id,
            query=orjson.dumps(row.query).decode(),
            created_at=row.created_at,
        )
    )
    return True


def get_query(conn: Connection, name: str) -> QueryRow | None:
    r = conn.execute(select(Q).where(Q.c.name == name)).first()
    return None if r is None else QueryRow(r.name, r.client_id, orjson.loads(r.query), r.created_at)


def queries(conn: Connection, after: str | None, size: int) -> list[QueryRow]:
    stmt = select(Q).order_by(Q.c.name).limit(size)
    if after is not None:
        stmt = stmt.where(Q.c.name > after)
    return [
        QueryRow(r.name, r.client_id, orjson.loads(r.query), r.created_at)
        for r in conn.execute(stmt)
    ]


def delete_query(conn: Connection, name: str) -> bool:
    """Remove the query and its subscriptions; False when there was none."""
    ids = list(conn.execute(select(S.c.id).where(S.c.query_name == name)).scalars())
    conn.execute(delete(S).where(S.c.query_name == name))
    conn.execute(delete(D).where(D.c.subscription_id.in_(ids)))
    return conn.execute(delete(Q).where(Q.c.name == name)).rowcount == 1


def add_subscription(conn: Connection, row: SubscriptionRow) -> None:
    conn.execute(
        insert(S).values(
            id=row.id,
            query_name=row.query_name,
            client_id=row.client_id,
            dest=row.dest,
            secret=row.secret,
            stream=int(row.stream),
            schedule=None if row.schedule is None else orjson.dumps(row.schedule).decode(),
            report_if_empty=int(row.report_if_empty),
            initial_record_time=row.initial_record_time,
            created_at=row.created_at,
            last_notified_at=None,
            cursor=row.cursor,
            failures=0,
            next_attempt_at=row.next_attempt_at,
            next_run_at=row.next_run_at,
        )
    )


def get_subscription(conn: Connection, query_name: str, sid: str) -> SubscriptionRow | None:
    r = conn.execute(select(S).where(S.c.id == sid, S.c.query_name == query_name)).first()
    return None if r is None else _subscription(r)


def subscriptions(
    conn: Connection, query_name: str, after: str | None, size: int
) -> list[SubscriptionRow]:
    stmt = select(S).where(S.c.query_name == query_name).order_by(S.c.id).limit(size)
    if after is not None:
        stmt = stmt.where(S.c.id > after)
    return [_subscription(r) for r in conn.execute(stmt)]


def delete_subscription(conn: Connection, query_name: str, sid: str) -> bool:
    done = conn.execute(delete(S).where(S.c.id == sid, S.c.query_name == query_name))
    conn.execute(delete(D).where(D.c.subscription_id == sid))
    return done.rowcount == 1


def lease(conn: Connection, worker: str, now: int, until: int) -> list[SubscriptionRow]:
    """The subscriptions this worker delivers until ``until``: those it holds already and
    those whose lease ran out (their holder stopped)."""
    conn.execute(
        update(S)
        .where(or_(S.c.lease_owner == worker, S.c.lease_until.is_(None), S.c.lease_until < now))
        .values(lease_owner=worker, lease_until=until)
    )
    rows = conn.execute(select(S).where(S.c.lease_owner == worker).order_by(S.c.id))
    return [_subscription(r) for r in rows]


def release(conn: Connection, worker: str) -> None:
    """Give up the worker's leases (a server stopping)."""
    conn.execute(
        update(S).where(S.c.lease_owner == worker).values(lease_owner=None, lease_until=None)
    )


def delivered(conn: Connection, sid: str, cursor: int, at: int, next_run_at: int | None) -> None:
    conn.execute(
        update(S)
        .where(S.c.id == sid)
        .values(
            cursor=cursor,
            last_notified_at=at,
            failures=0,
            next_attempt_at=at,
            next_run_at=next_run_at,
        )
    )


def failed(conn: Connection, sid: str, failures: int, next_attempt_at: int) -> None:
    conn.execute(
        update(S).where(S.c.id == sid).values(failures=failures, next_attempt_at=next_attempt_at)
    )


def dead_letter(
    conn: Connection,
    sid: str,
    first: int,
    last: int,
    events: int,
    attempts: int,
    reason: str,
    at: int,
    next_run_at: int | None,
) -> None:
    """Set a batch aside after its last failed attempt; delivery goes on after it."""
    conn.execute(
        insert(D).values(
            subscription_id=sid,
            first_seq=first,
            last_seq=last,
            events=events,
            attempts=attempts,
            reason=reason,
            failed_at=at,
        )
    )
    conn.execute(
        update(S)
        .where(S.c.id == sid)
        .values(
            cursor=last,
            failures=0,
            next_attempt_at=at,
            next_run_at=next_run_at,
        )
    )


def dead_letters(conn: Connection, sid: str) -> list[dict[str, Any]]:
    shown = (D.c.first_seq, D.c.last_seq, D.c.events, D.c.attempts, D.c.reason, D.c.failed_at)
    rows = conn.execute(select(*shown).where(D.c.subscription_id == sid).order_by(D.c.id))
    return [{c.name: value for c, value in zip(shown, r, strict=True)} for r in rows]


def dead_letter_count(conn: Connection, sid: str) -> int:
    stmt = select(func.count()).select_from(D).where(D.c.subscription_id == sid)
    return int(conn.execute(stmt).scalar_one())


def _subscription(r: Any) -> SubscriptionRow:
    return SubscriptionRow(
        r.id,
        r.query_name,
        r.client_id,
        r.dest,
        r.secret,
        bool(r.stream),
        None if r.schedule is None else orjson.loads(r.schedule),
        bool(r.report_if_empty),
        r.initial_record_time,
        r.created_at,
        r.last_notified_at,
        r.cursor,
        r.failures,
        r.next_attempt_at,
        r.next_run_at,
    )
