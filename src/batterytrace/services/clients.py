"""API clients of the HTTP server (OAuth2 client credentials, RFC 6749 §4.4): created with
their scopes, listed, revoked, and checked when they ask for a token. A secret is shown once,
when it is made, and kept only as a salted scrypt hash (decision 039)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from functools import cache

from pydantic import BaseModel

from batterytrace.errors import AuthenticationError, BatteryTraceError, NoSuchResource
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import clients as store
from batterytrace.store import organisations
from batterytrace.store.clients import ClientRow

# capture: write events, allocations, transfers; query: read everything, hold named queries
# and subscriptions; admin: all of it and the master data.
SCOPES = ("capture", "query", "admin")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # RFC 7914 parameters: about 50 ms a check


class Client(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    organisation: str | None  # the organisation it acts for; None: the store's operator
    created_at: datetime
    revoked_at: datetime | None = None


class NewClient(Client):
    """A client as created: its secret, shown this once."""

    client_secret: str


def create(uow: UnitOfWork, name: str, scopes: list[str], *, organisation: str | None) -> NewClient:
    """A new client named ``name`` with ``scopes`` (each one of :data:`SCOPES`), acting for
    ``organisation`` (registered; None: for the store's operator, decision 040)."""
    unknown = [s for s in scopes if s not in SCOPES]
    if not scopes or unknown:
        raise BatteryTraceError(
            f"scopes: {', '.join(map(repr, unknown)) or 'none given'}: "
            f"each must be one of {', '.join(SCOPES)}"
        )
    if not name.strip():
        raise BatteryTraceError("name: needs a name for the client")
    if organisation is not None:
        with uow.reading() as conn:
            organisation = organisations.load(conn).known(organisation)
    secret = secrets.token_urlsafe(32)
    row = ClientRow(
        id="bt-" + secrets.token_hex(8),
        name=name.strip(),
        scopes=tuple(dict.fromkeys(scopes)),
        secret_hash=hash_secret(secret),
        created_at=_now_ms(),
        revoked_at=None,
        organisation=organisation,
    )
    with uow.keeping("client create") as conn:
        store.add(conn, row)
    return NewClient(**_client(row).model_dump(), client_secret=secret)


def every(uow: UnitOfWork) -> list[Client]:
    with uow.reading() as conn:
        return [_client(r) for r in store.every(conn)]


def revoke(uow: UnitOfWork, client_id: str) -> Client:
    """Revoke the client: its tokens are refused from the next request on."""
    with uow.keeping("client revoke") as conn:
        if not store.revoke(conn, client_id, _now_ms()):
            raise NoSuchResource(f"client {client_id!r}: no such active client")
        row = store.get(conn, client_id)
    assert row is not None
    return _client(row)


def authenticate(uow: UnitOfWork, client_id: str, secret: str) -> Client:
    """The active client these credentials name; AuthenticationError otherwise (one message
    for every cause: an unknown id and a wrong secret look alike)."""
    with uow.reading() as conn:
        row = store.get(conn, client_id)
    # hash even for an unknown id, so the answer takes as long either way
    ok = secret_matches(secret, row.secret_hash if row else _decoy())
    if row is None or row.revoked_at is not None or not ok:
        raise AuthenticationError("client credentials: unknown client, wrong secret or revoked")
    return _client(row)


def active(uow: UnitOfWork, client_id: str) -> Client | None:
    """The client, unless it is unknown or revoked: checked at every request."""
    with uow.reading() as conn:
        row = store.get(conn, client_id)
    return None if row is None or row.revoked_at is not None else _client(row)


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def secret_matches(secret: str, stored: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    again = hashlib.scrypt(
        secret.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(again, base64.b64decode(digest))


@cache
def _decoy() -> str:
    return hash_secret("", b"\0" * 16)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _client(row: ClientRow) -> Client:
    return Client(
        client_id=row.id,
        name=row.name,
        scopes=list(row.scopes),
        organisation=row.organisation,
        created_at=_time(row.created_at),
        revoked_at=None if row.revoked_at is None else _time(row.revoked_at),
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
