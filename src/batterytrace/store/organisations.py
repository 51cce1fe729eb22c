"""Organisations, site owners and capture delegations as rows (decision 040); written only by
their ledger records' appliers."""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from batterytrace.organisations import Organisations, organisation_id
from batterytrace.sharing import Grants, Share, share_of_json
from batterytrace.store import schema
from batterytrace.store.imported import Imported

ORG, S, D, SH = schema.organisation, schema.site_owner, schema.capture_delegation, schema.share


def load(conn: Connection) -> Organisations:
    return Organisations(
        names={r.id: r.name for r in conn.execute(select(ORG))},
        owners={r.site: r.organisation for r in conn.execute(select(S))},
        delegated=frozenset((r.site, r.organisation) for r in conn.execute(select(D))),
    )


def create(conn: Connection, key: str, name: str) -> Imported:
    stored = conn.execute(select(ORG.c.name).where(ORG.c.id == key)).scalar()
    if stored == name:
        return Imported(unchanged=1)
    if stored is None:
        conn.execute(insert(ORG).values(id=key, name=name))
        return Imported(added=1)
    conn.execute(update(ORG).where(ORG.c.id == key).values(name=name))
    return Imported(replaced=1)


def assign(conn: Connection, site: str, organisation: str) -> Imported:
    stored = conn.execute(select(S.c.organisation).where(S.c.site == site)).scalar()
    if stored == organisation:
        return Imported(unchanged=1)
    conn.execute(delete(S).where(S.c.site == site))
    conn.execute(insert(S).values(site=site, organisation=organisation))
    # capture rights were the former owner's to give: they end with its ownership
    conn.execute(delete(D).where(D.c.site == site))
    return Imported(added=1) if stored is None else Imported(replaced=1)


def delegate(conn: Connection, site: str, organisation: str, granted: bool) -> Imported:
    key = (D.c.site == site) & (D.c.organisation == organisation)
    held = conn.execute(select(D.c.site).where(key)).first() is not None
    if held == granted:
        return Imported(unchanged=1)
    if granted:
        conn.execute(insert(D).values(site=site, organisation=organisation))
        return Imported(added=1)
    conn.execute(delete(D).where(key))
    return Imported(removed=1)


def shares(conn: Connection, grantee: str | None = None) -> list[Share]:
    """The shares in force (to ``grantee`` alone when given), in the order they were granted."""
    stmt = select(SH.c.id, SH.c.content).order_by(SH.c.id)
    if grantee is not None:
        stmt = stmt.where(SH.c.grantee == grantee)
    return [share_of_json(orjson.loads(content), id_) for id_, content in conn.execute(stmt)]


def grant(conn: Connection, share: Share) -> Imported:
    """Keep ``share``; one in force already with the same terms is left as it is."""
    if any(same_terms(held, share) for held in shares(conn, share.grantee)):
        return Imported(unchanged=1)
    body = share.to_json()
    content = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    conn.execute(
        insert(SH).values(id=share.id, owner=share.owner, grantee=share.grantee, content=content)
    )
    return Imported(added=1)


def revoke(conn: Connection, share_id: int) -> Imported:
    done = conn.execute(delete(SH).where(SH.c.id == share_id))
    return Imported(removed=done.rowcount)


def grants(conn: Connection, reader: str | None) -> Grants | None:
    """What ``reader`` (an organisation, any spelling of its GLN) may read, from the shares
    in force now; None for the operator."""
    if reader is None:
        return None
    key = organisation_id(reader)
    return Grants.of(key, shares(conn, key))


def same_terms(one: Share, other: Share) -> bool:
    """Whether two shares grant the same (their ids aside)."""
    return one.to_json() | {"id": 0} == other.to_json() | {"id": 0}
