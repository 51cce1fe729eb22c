"""Certificates, assessments, ratings and memberships (issue 17.1, decision 044): imported as
ledger records, listed per party and site with their validity at a date, and the ones EPCIS
events cite (``certificationInfo``) set beside them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from batterytrace.certificates import Certificate
from batterytrace.errors import CertificateError
from batterytrace.organisations import organisation_id, site_id
from batterytrace.references import require
from batterytrace.services import events
from batterytrace.services.masterdata import master_data
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import certificates as store
from batterytrace.store.imported import Imported
from batterytrace.trace.lineage import node_id


def import_certificates(
    uow: UnitOfWork, certificates: list[Certificate], source: str | None = None
) -> Imported:
    """Keep the records as one ledger record: each one's holder and sites must be in the
    master data, each site the holder's; a record changed since it was stored is kept as a
    new version (its history stays), one unchanged is not recorded again."""
    ids = Counter(c.id for c in certificates)
    twice = [i for i, n in ids.items() if n > 1]
    if twice:
        raise CertificateError(f"{source or 'import'}: {twice[0]} is given {ids[twice[0]]} times")
    data = master_data(uow)
    named = [("party", c.holder) for c in certificates]
    named += [("site", s) for c in certificates for s in c.sites]
    require(data, named, source or "import")
    sites = {site_id(s.id): node_id(s.party) for s in data.sites.values()}
    for c in certificates:
        foreign = [s for s in c.sites if sites[s] != c.holder]
        if foreign:
            raise CertificateError(
                f"{source or 'import'}: {c.id}: site {foreign[0]} is not a site of its holder "
                f"{c.holder}"
            )
    content = [c.to_json() for c in certificates]
    return uow.record("certificate", "import", content, source)[0]["certificates"]


@dataclass(frozen=True, slots=True)
class Listed:
    """A record as listed: whether it vouches on the day asked about, and the events (at the
    site asked about) that cite it."""

    certificate: Certificate
    valid: bool
    cited: int | None  # None: not counted (a listing by party reads no events)

    def to_json(self) -> dict[str, Any]:
        c = self.certificate
        return c.to_json() | {"kind": c.kind, "valid": self.valid, "citedByEvents": self.cited}


@dataclass(frozen=True, slots=True)
class Listing:
    on: date
    certificates: list[Listed]
    unrecorded: dict[str, int]  # certificationInfo cited by events, no record: -> events

    def to_json(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "certificates": [c.to_json() for c in self.certificates],
            "citedNotRecorded": [
                {"id": uri, "events": n} for uri, n in sorted(self.unrecorded.items())
            ],
        }


def listing(
    uow: UnitOfWork, party: str | None = None, site: str | None = None, on: date | None = None
) -> Listing:
    """The records in force of ``party`` (or of the party owning ``site``, covering it), each
    valid or not on ``on`` (today by default). For a site, the certificates its events cite
    in ``certificationInfo`` are counted: a cited one without a record is listed apart."""
    on = on or date.today()
    holder = None if party is None else organisation_id(party)
    site_key = None if site is None else site_id(site)
    if site is not None:
        owners = {site_id(s.id): node_id(s.party) for s in master_data(uow).sites.values()}
        if site_key not in owners:
            raise CertificateError(f"{site}: no such site in the master data")
        holder = holder or owners[site_key]
    with uow.reading() as conn:
        found = store.current(conn, holder)
    if site_key is not None:
        found = [c for c in found if c.covers(site_key)]
    if site_key is None:
        return Listing(on, [Listed(c, c.valid_on(on), None) for c in found], {})
    cited = _cited(uow, site_key)
    listed = [Listed(c, c.valid_on(on), cited.pop(c.id, 0)) for c in found]
    return Listing(on, listed, dict(cited))


def _cited(uow: UnitOfWork, site: str) -> Counter[str]:
    """The certificates the events at ``site`` (their bizLocation) cite, and how often."""
    found: Counter[str] = Counter()
    params = {"EQ_bizLocation": site, "EXISTS_certificationInfo": "true"}
    for event in events.query_all(uow, params):
        found.update(event.certificationInfo)
    return found


def history(uow: UnitOfWork, id: str) -> list[tuple[int, Certificate]]:
    """Every version of a record, with the ledger record that stated it (oldest first)."""
    with uow.reading() as conn:
        return store.history(conn, id)
