"""Organisations as a service (decisions 040, 041): registered, given sites, delegating
capture rights, sharing with one another; each act a ledger record."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from batterytrace.errors import InvalidIdentifier
from batterytrace.organisations import organisation_id, site_id
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.sharing import Share, share_of_json
from batterytrace.store import organisations as store
from batterytrace.store.imported import Imported


class Organisation(BaseModel):
    id: str  # canonical party GLN Digital Link
    name: str
    sites: list[str]  # canonical location GLN Digital Links
    delegated_to_it: list[str]  # sites of others where it may capture


def create(uow: UnitOfWork, organisation: str, name: str) -> Imported:
    """Register ``organisation`` (a party GLN in any of its forms) as ``name``; a name given
    again replaces the one stored."""
    if not name.strip():
        raise InvalidIdentifier("name: an organisation needs a name")
    content = {"id": organisation_id(organisation), "name": name.strip()}
    return uow.record("organisation", "create", content)[0]["organisations"]


def assign(uow: UnitOfWork, site: str, organisation: str) -> Imported:
    """Give ``site`` (a location GLN in any form; an SGLN's extension names a part of it) to
    ``organisation``, which must be registered; capture rights its former owner gave end."""
    content = {"site": site_id(site), "organisation": organisation_id(organisation)}
    return uow.record("site", "assign", content)[0]["sites"]


def delegate(uow: UnitOfWork, site: str, organisation: str, granted: bool = True) -> Imported:
    """Let ``organisation`` capture events at ``site`` for its owner (``granted`` False: no
    longer)."""
    content = {"site": site_id(site), "organisation": organisation_id(organisation)}
    action = "delegate" if granted else "undelegate"
    return uow.record("site", action, content)[0]["delegations"]


def every(uow: UnitOfWork) -> list[Organisation]:
    with uow.reading() as conn:
        registry = store.load(conn)
    return [
        Organisation(
            id=key,
            name=name,
            sites=sorted(s for s, owner in registry.owners.items() if owner == key),
            delegated_to_it=sorted(s for s, org in registry.delegated if org == key),
        )
        for key, name in sorted(registry.names.items())
    ]


def grant(uow: UnitOfWork, share: dict[str, Any]) -> Share:
    """Record a sharing agreement given as its JSON (owner, grantee, scope, withheld,
    footprint, custody: :func:`batterytrace.sharing.share_of_json`), checked before anything
    is written; the share as kept, its id the ledger record of the grant. The same share
    granted again is the one in force: nothing is recorded."""
    asked = share_of_json(share, 0)  # ShareError naming the field, before the store is touched
    _, record = uow.record("share", "grant", share)
    with uow.reading() as conn:
        held = store.shares(conn, asked.grantee)
    if record is None:
        return next(s for s in held if store.same_terms(s, asked))
    return next(s for s in held if s.id == record.seq)


def revoke(uow: UnitOfWork, share_id: int) -> None:
    """End the share ``share_id``: from the next request on, nothing more is read through it."""
    uow.record("share", "revoke", {"id": share_id})


def shares(uow: UnitOfWork, organisation: str | None = None) -> list[Share]:
    """The shares in force; with ``organisation``, those it granted or was granted."""
    with uow.reading() as conn:
        found = store.shares(conn)
    if organisation is None:
        return found
    key = organisation_id(organisation)
    return [s for s in found if key in (s.owner, s.grantee)]
