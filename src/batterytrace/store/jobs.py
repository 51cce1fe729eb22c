"""Capture jobs as rows: the document as received until the job is done, then what it did."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, and_, insert, or_, select, update

from batterytrace.store import schema

J = schema.capture_job


@dataclass(frozen=True, slots=True)
class JobRow:
    id: str
    client_id: str
    organisation: str | None  # the events' owner (None: the operator's)
    created_at: int  # ms since the epoch
    finished_at: int | None
    state: str  # queued, running, done
    success: bool
    behaviour: str
    errors: list[dict[str, object]]
    result: dict[str, object] | None


_SHOWN = (
    J.c.id,
    J.c.client_id,
    J.c.organisation,
    J.c.created_at,
    J.c.finished_at,
    J.c.state,
    J.c.success,
    J.c.behaviour,
    J.c.errors,
    J.c.result,
)


def add(
    conn: Connection,
    job_id: str,
    client_id: str,
    organisation: str | None,
    at: int,
    behaviour: str,
    body: bytes,
) -> None:
    conn.execute(
        insert(J).values(
            id=job_id,
            client_id=client_id,
            organisation=organisation,
            created_at=at,
            state="queued",
            success=1,
            behaviour=behaviour,
            document=body,
            errors="[]",
        )
    )


def get(conn: Connection, job_id: str) -> JobRow | None:
    found = conn.execute(select(*_SHOWN).where(J.c.id == job_id)).first()
    return None if found is None else _row(found)


def page(
    conn: Connection, client_id: str | None, after: tuple[int, str] | None, size: int
) -> list[JobRow]:
    """Jobs newest first (of ``client_id``, or every client's), after the position ``after``."""
    stmt = select(*_SHOWN)
    if client_id is not None:
        stmt = stmt.where(J.c.client_id == client_id)
    if after is not None:
        at, job_id = after
        stmt = stmt.where(or_(J.c.created_at < at, and_(J.c.created_at == at, J.c.id < job_id)))
    stmt = stmt.order_by(J.c.created_at.desc(), J.c.id.desc()).limit(size)
    return [_row(r) for r in conn.execute(stmt)]


def claim(conn: Connection, worker: str) -> tuple[str, bytes] | None:
    """The oldest queued job, marked running by ``worker``, with its document; None if none."""
    found = conn.execute(
        select(J.c.id, J.c.document)
        .where(J.c.state == "queued")
        .order_by(J.c.created_at, J.c.id)
        .limit(1)
    ).first()
    if found is None:
        return None
    taken = conn.execute(
        update(J)
        .where(J.c.id == found[0], J.c.state == "queued")
        .values(state="running", claimed_by=worker)
    )
    return (found[0], bytes(found[1])) if taken.rowcount == 1 else None


def finish(
    conn: Connection,
    job_id: str,
    at: int,
    success: bool,
    errors: list[dict[str, object]],
    result: dict[str, object] | None,
) -> None:
    """The job done: its outcome kept, its document dropped."""
    conn.execute(
        update(J)
        .where(J.c.id == job_id)
        .values(
            state="done",
            finished_at=at,
            success=int(success),
            errors=orjson.dumps(errors).decode(),
            result=None if result is None else orjson.dumps(result).decode(),
            document=None,
        )
    )


def running(conn: Connection) -> list[tuple[str, str | None]]:
    """(job, worker) of the jobs marked running."""
    rows = conn.execute(select(J.c.id, J.c.claimed_by).where(J.c.state == "running"))
    return [(r[0], r[1]) for r in rows]


def requeue(conn: Connection, job_id: str) -> None:
    conn.execute(
        update(J)
        .where(J.c.id == job_id, J.c.state == "running")
        .values(state="queued", claimed_by=None)
    )


def _row(r: object) -> JobRow:
    m = r._mapping  # type: ignore[attr-defined]
    return JobRow(
        m["id"],
        m["client_id"],
        m["organisation"],
        m["created_at"],
        m["finished_at"],
        m["state"],
        bool(m["success"]),
        m["behaviour"],
        orjson.loads(m["errors"]),
        None if m["result"] is None else orjson.loads(m["result"]),
    )
