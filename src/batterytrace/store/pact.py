"""The PACT host's rows (decision 042): the footprints published (written only by the
``pact publish`` record's applier) and the PACT events received until they are acted on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from batterytrace.carbon.publications import Publication, footprint_id
from batterytrace.errors import ImportConflict
from batterytrace.store import schema
from batterytrace.store.imported import Imported

P, X, R = schema.pact_footprint, schema.pact_exchange, schema.pact_partner


def publications(conn: Connection, product: str | None = None) -> list[Publication]:
    """Every publication (of ``product``), in the order PACT lists them: oldest first."""
    query = select(P).order_by(P.c.created, P.c.id)
    if product is not None:
        query = query.where(P.c.product == product)
    return [_publication(row) for row in conn.execute(query)]


def publication(conn: Connection, id: str) -> Publication | None:
    row = conn.execute(select(P).where(P.c.id == id)).first()
    return None if row is None else _publication(row)


def _publication(row: Row[Any]) -> Publication:
    return Publication(
        row.id, row.product, row.number, row.created, row.status, row.updated,
        orjson.loads(row.content),
    )  # fmt: skip


def publish(
    conn: Connection, product: str, number: int, created: str, documents: Mapping[str, Any]
) -> Imported:
    """Keep ``product``'s publication ``number`` (the next one), its predecessor deprecated."""
    latest = conn.execute(
        select(P.c.id, P.c.number).where(P.c.product == product).order_by(P.c.number.desc())
    ).first()
    expected = 1 if latest is None else latest.number + 1
    if number != expected:
        raise ImportConflict(
            f"pact publish {product}: publication {number} follows none stored (next: {expected})"
        )
    id = footprint_id(product, number)
    if any(d.get("id") != id for d in documents.values()):
        raise ImportConflict(f"pact publish {product}: the documents' id must be {id}")
    if latest is not None:
        conn.execute(
            update(P).where(P.c.id == latest.id).values(status="Deprecated", updated=created)
        )
    conn.execute(
        insert(P).values(
            id=id, product=product, number=number, created=created, status="Active",
            content=orjson.dumps(documents, option=orjson.OPT_SORT_KEYS).decode(),
        )
    )  # fmt: skip
    return Imported(added=1, replaced=int(latest is not None))


# ---- PACT events received ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exchange:
    """A PACT event received: a request to answer, or a footprint update noted."""

    id: str
    client_id: str
    organisation: str | None
    event_id: str
    kind: str  # request | published
    version: str  # 2 | 3
    source: str
    data: Mapping[str, Any]
    created_at: int
    state: str  # queued | done | dead
    failures: int
    next_attempt_at: int
    outcome: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "client": self.client_id, "organisation": self.organisation,
            "eventId": self.event_id, "kind": self.kind, "version": self.version,
            "source": self.source, "data": self.data, "createdAt": self.created_at,
            "state": self.state, "failures": self.failures, "outcome": self.outcome,
        }  # fmt: skip


def receive(conn: Connection, exchange: Exchange) -> bool:
    """Keep a received event; False when its sender sent that event id before (a retried
    request is answered once)."""
    try:
        with conn.begin_nested():
            conn.execute(
                insert(X).values(
                    id=exchange.id, client_id=exchange.client_id,
                    organisation=exchange.organisation, event_id=exchange.event_id,
                    kind=exchange.kind, version=exchange.version, source=exchange.source,
                    content=orjson.dumps(exchange.data).decode(),
                    created_at=exchange.created_at, state=exchange.state,
                    failures=exchange.failures, next_attempt_at=exchange.next_attempt_at,
                    outcome=exchange.outcome,
                )
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def due(conn: Connection, now: int, limit: int = 20) -> list[Exchange]:
    """Events waiting to be acted on whose time has come, oldest first."""
    rows = conn.execute(
        select(X)
        .where(X.c.state == "queued", X.c.next_attempt_at <= now)
        .order_by(X.c.next_attempt_at, X.c.id)
        .limit(limit)
    )
    return [_exchange(row) for row in rows]


def claim(conn: Connection, exchange: Exchange, until: int) -> bool:
    """Take ``exchange`` to answer until ``until`` (ms): False when another server process
    took it first (its next attempt moved)."""
    taken = conn.execute(
        update(X)
        .where(
            X.c.id == exchange.id,
            X.c.state == "queued",
            X.c.next_attempt_at == exchange.next_attempt_at,
        )
        .values(next_attempt_at=until)
    )
    return taken.rowcount == 1


def settle(
    conn: Connection, id: str, state: str, failures: int, next_attempt_at: int, outcome: str
) -> None:
    conn.execute(
        update(X)
        .where(X.c.id == id)
        .values(state=state, failures=failures, next_attempt_at=next_attempt_at, outcome=outcome)
    )


def exchanges(conn: Connection, limit: int = 100) -> list[Exchange]:
    """The events received, newest first."""
    rows = conn.execute(select(X).order_by(X.c.created_at.desc(), X.c.id).limit(limit))
    return [_exchange(row) for row in rows]


def _exchange(row: Row[Any]) -> Exchange:
    return Exchange(
        row.id, row.client_id, row.organisation, row.event_id, row.kind, row.version,
        row.source, orjson.loads(row.content), row.created_at, row.state, row.failures,
        row.next_attempt_at, row.outcome,
    )  # fmt: skip


# ---- partners' hosts ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner's PACT host and the client credentials this store holds there."""

    base_url: str
    client_id: str
    secret: str  # sealed (encrypted with the server's token key)
    created_at: int


def save_partner(conn: Connection, partner: Partner) -> None:
    conn.execute(delete(R).where(R.c.base_url == partner.base_url))
    conn.execute(
        insert(R).values(
            base_url=partner.base_url, client_id=partner.client_id, secret=partner.secret,
            created_at=partner.created_at,
        )
    )  # fmt: skip


def remove_partner(conn: Connection, base_url: str) -> bool:
    return conn.execute(delete(R).where(R.c.base_url == base_url)).rowcount == 1


def partners(conn: Connection) -> list[Partner]:
    return [
        Partner(r.base_url, r.client_id, r.secret, r.created_at)
        for r in conn.execute(select(R).order_by(R.c.base_url))
    ]
