"""API clients (OAuth2 client credentials) as rows: their secrets only as salted hashes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from batterytrace.store import schema

C = schema.api_client


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: str
    name: str
    scopes: tuple[str, ...]
    secret_hash: str
    created_at: int  # ms since the epoch
    revoked_at: int | None
    organisation: str | None  # None: the store's operator (decision 040)


def add(conn: Connection, row: ClientRow) -> None:
    conn.execute(
        insert(C).values(
            id=row.id,
            name=row.name,
            scopes=" ".join(row.scopes),
            secret_hash=row.secret_hash,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            organisation=row.organisation,
        )
    )


def get(conn: Connection, client_id: str) -> ClientRow | None:
    found = conn.execute(select(C).where(C.c.id == client_id)).first()
    return None if found is None else _row(found._mapping)


def every(conn: Connection) -> list[ClientRow]:
    return [_row(r._mapping) for r in conn.execute(select(C).order_by(C.c.created_at, C.c.id))]


def revoke(conn: Connection, client_id: str, at: int) -> bool:
    """Mark the client revoked at ``at``; False when there is no such active client."""
    done = conn.execute(
        update(C).where(C.c.id == client_id, C.c.revoked_at.is_(None)).values(revoked_at=at)
    )
    return done.rowcount == 1


def _row(m: object) -> ClientRow:
    r = dict(m)  # type: ignore[call-overload]
    return ClientRow(
        r["id"],
        r["name"],
        tuple(r["scopes"].split()),
        r["secret_hash"],
        r["created_at"],
        r["revoked_at"],
        r["organisation"],
    )
