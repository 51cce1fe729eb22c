"""Due-diligence checks over the genealogy of a lot or pack (issue 17.2, decision 045): the
backward trace, the events of its steps, the certificates on record, the element balances
of its transformations, as the reader may see them."""

from __future__ import annotations

from collections import Counter

from batterytrace import diligence
from batterytrace.diligence import Diligence, PathEvent
from batterytrace.epcis.model import Event, EventType
from batterytrace.organisations import located_site, organisation_id, site_id
from batterytrace.services import trace as trace_service
from batterytrace.services.masterdata import master_data
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import certificates as certificates_store
from batterytrace.store import organisations, readers
from batterytrace.store.lineage import StoreLineage
from batterytrace.trace.balance import check as balance_of
from batterytrace.trace.genealogy import NOT_SHARED
from batterytrace.trace.lineage import transformation_steps

# What the checks cannot look at yet, and why (decision 045): never reported as passed
NOT_YET = {
    "areas": "origin in a conflict-affected or high-risk area: no list of areas is loaded "
    "(decision 045)",
    "artisanal": "artisanal mining: the ILMD property that records it is not decided yet "
    "(decision 045)",
    "claims": "claims without backing credits: not built yet",
    "ledger": "ledger verification of the events relied on: not built yet (run `verify`)",
}


def check(uow: UnitOfWork, identifier: str, reader: str | None = None) -> Diligence:
    """The red flags of ``identifier``'s backward genealogy, as ``reader`` (an organisation;
    None: the operator) may see it: suppliers without a valid assurance on the events'
    dates, certificates cited and not backed, element-mass violations, and the steps not
    shared with the reader, named by who holds them."""
    if reader is not None:  # an object it may not see is unknown to it (Untraced)
        trace_service.trace(uow, identifier, "backward", reader=reader)
    whole = trace_service.trace(uow, identifier, "backward")
    steps = {link.step for link in whole.links if link.step != NOT_SHARED}
    # the lots the genealogy starts from (backward: a link's target is an input of its source)
    origins = {link.target for link in whole.links} - {link.source for link in whole.links}
    hops = {
        hop.event
        for node in origins | ({whole.start} if not whole.links else set())
        for hop in whole.objects[node].custody
        if hop.step == "shipping"
    }
    sites = {site_id(s.id): organisation_id(s.party) for s in master_data(uow).sites.values()}
    with uow.reading() as conn:
        grants = organisations.grants(conn, reader)
        found = readers.events_of(conn, steps | hops)
        readable = (
            {key for key, _, _ in found}
            if grants is None
            else readers.readable_keys(conn, grants, steps | hops)
        )
        records = certificates_store.current(conn)
        transformed = [
            (event.eventID or key, event)
            for key, _, event in found
            if key in steps & readable and event.type is EventType.TRANSFORMATION
        ]
        report = balance_of(StoreLineage(conn), transformation_steps(transformed))
    events = [_path_event(key, owner, event, sites) for key, owner, event in found
              if key in readable]  # fmt: skip
    hidden = Counter(owner for _, owner in {(k, o) for k, o, _ in found if k not in readable})
    result = Diligence(identifier, len(events))
    result.flags += diligence.assurance(events, records)
    result.flags += diligence.citations(events, {r.id: r for r in records})
    result.flags += diligence.balances(report)
    result.flags += diligence.unshared(hidden)
    result.checked = ["assurance", "citations", "element mass", "shared"]
    result.not_checked = dict(NOT_YET)
    return result


def _path_event(key: str, owner: str | None, event: Event, sites: dict[str, str]) -> PathEvent:
    location = event.bizLocation or event.readPoint
    site = located_site(location.id) if location else None
    return PathEvent(
        key, event.eventID or key, event.eventTime, site, sites.get(site or ""), owner,
        tuple(event.certificationInfo),
    )  # fmt: skip
