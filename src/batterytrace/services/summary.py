"""What a battery passport shows from the chain, for one pack or lot, in one answer (issue 14
point 3): where each element comes from, by country; the recycled shares traced and claimed;
the claims it carries; its footprint per kWh with class and interval; the agreements it was
delivered under; the ledger version and each kept unit's watermark. Read from the kept state
and the trace indexes, never recomputed from every event; each part names its source."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, ConfigDict

from batterytrace.carbon import DRAWS, SEED
from batterytrace.custody.flows import ELEMENTS
from batterytrace.errors import FootprintError
from batterytrace.masterdata import MasterData
from batterytrace.services import carbon, contracts, custody, derived
from batterytrace.services.custody import ClaimCarried
from batterytrace.services.trace import Untraced, trace
from batterytrace.services.unit_of_work import UnitOfWork, version
from batterytrace.sharing import figures_level
from batterytrace.store import derived as kept
from batterytrace.store import masterdata as masterdata_store
from batterytrace.store import organisations, readers
from batterytrace.trace.genealogy import NOT_SHARED, Trace
from batterytrace.trace.lineage import class_of, is_lot, node_id


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class CountryShare(_Part):
    country: str | None  # None: the source lots' site or its country is not known
    share: float  # of the element in the object
    lots: int  # source lots counted


class Origin(_Part):
    """Where one element of the object comes from: the lots at the start of its chain, by the
    country of the site that made them."""

    element: str
    element_kg: float | None  # in the object; None: no figure for it
    countries: list[CountryShare]
    unknown_share: float | None  # the share no source lot accounts for (gaps); None: unknown
    gaps: list[str]


class Recycled(_Part):
    """Recycled content of one element (Regulation (EU) 2023/1542 Art. 8)."""

    element: str
    traced: float | None  # share from lots the recycled claim originated on
    claimed: float | None  # share the chain of custody backs
    unknown: list[str]  # lots whose claimed share is unknown
    meets: dict[str, bool | None]  # each Art. 8 minimum, by the date it applies from


class FootprintSummary(_Part):
    kg_co2e: float
    unit: str
    capacity_kwh: float | None
    kg_co2e_per_kwh: float | None
    performance_class: str | None
    low: float  # 95 % interval (Monte Carlo), kg CO2e per unit
    high: float
    complete: bool
    missing: int  # data missing upstream (see `footprint`)
    factor_set: str


class Delivered(_Part):
    agreement: str
    lots: list[str]  # the lots on the object's traces shipped under it


class Summary(_Part):
    id: str
    name: str | None  # of its material (master data)
    kind: str | None
    version: int  # the ledger version
    derived_at: dict[str, int | None]  # each kept unit's watermark
    origin: list[Origin]
    recycled: list[Recycled]
    claims: list[ClaimCarried]
    footprint: FootprintSummary | None
    footprint_error: str | None  # why there is no footprint (a vehicle, not a product...)
    contracts: list[Delivered]
    sources: dict[str, str]  # part -> what it is read from


SOURCES = {
    "origin": "backward traces (holdings and event figures kept at capture); each source lot's "
    "site from the kept footprints, its country from the master data",
    "recycled": "backward traces with the kept custody claims of the lots on them",
    "claims": "kept custody state (custody report)",
    "footprint": "kept footprint figures with the factor set in use (footprint)",
    "contracts": "kept contract shipments (contract status)",
}


def summary(uow: UnitOfWork, identifier: str, reader: str | None = None) -> Summary:
    """The passport's view of the chain for a pack or lot (see the module docstring), as
    ``reader`` (an organisation) may see it (decision 041): an object no event it may read
    names is unknown; origins, recycled shares and claims at custody ``claims``; the
    footprint at ``total``; the agreements it is a party of."""
    node = node_id(identifier)
    if reader is not None:
        return _shown(summary(uow, identifier), uow, identifier, reader)
    traces = [trace(uow, identifier, "backward", element) for element in ELEMENTS]
    sources = {lot for t in traces for lot in _sources(t)}
    on_trace = {o for t in traces for o in t.objects}
    made = carbon.made_at(uow, sources)
    answer, why = None, None
    try:
        answer = carbon.footprint(uow, identifier)
    except FootprintError as err:
        why = str(err)
    with uow.reading() as conn:
        data = masterdata_store.load(conn)
        now = version(conn)
        watermarks = {unit.name: kept.watermark(conn, unit.name) for unit in derived.UNITS}
    material = next((m for m in data.materials.values() if node_id(m.id) == class_of(node)), None)
    return Summary(
        id=node,
        name=material.name if material else None,
        kind=material.kind.value if material else None,
        version=now,
        derived_at=watermarks,
        origin=[_origin(t, made, data) for t in traces],
        recycled=[
            Recycled(
                element=s.element,
                traced=s.traced,
                claimed=s.claimed,
                unknown=list(s.unknown),
                meets=s.meets(),
            )
            for s in custody.shares(uow, traces)
        ],
        claims=custody.report(uow, identifier).claims,
        footprint=None if answer is None else _footprint(answer),
        footprint_error=why,
        contracts=[
            Delivered(agreement=agreement, lots=lots)
            for agreement, lots in contracts.delivered_under(uow, on_trace).items()
        ],
        sources=SOURCES,
    )


def _sources(t: Trace) -> dict[str, float | None]:
    """The lots at the start of a backward trace's chain, with their share of the element."""
    return {o.id: o.share for o in t.objects.values() if is_lot(o.id) and not t.children(o.id)}


def _origin(t: Trace, made: dict[str, str], data: MasterData) -> Origin:
    countries = {node_id(s.id): s.country for s in data.sites.values()}
    shares: dict[str | None, list[float]] = defaultdict(list)
    unknown: float | None = 0.0
    for lot, share in _sources(t).items():
        if share is None:
            unknown = None
            continue
        shares[countries.get(made.get(lot, ""))].append(share)
    counted = sum(sum(s) for s in shares.values())
    if unknown is not None and t.start_kg is not None:
        unknown = max(0.0, 1.0 - counted)
    return Origin(
        element=t.element,
        element_kg=t.start_kg,
        countries=[
            CountryShare(country=country, share=sum(s), lots=len(s))
            for country, s in sorted(shares.items(), key=lambda item: -sum(item[1]))
        ],
        unknown_share=None if t.start_kg is None else unknown,
        gaps=t.gaps,
    )


def _footprint(answer: carbon.Answer) -> FootprintSummary:
    fp = answer.footprint
    spread = answer.interval(DRAWS, SEED)
    return FootprintSummary(
        kg_co2e=fp.kg_co2e,
        unit=fp.unit,
        capacity_kwh=fp.capacity_kwh,
        kg_co2e_per_kwh=fp.per_kwh,
        performance_class=None if fp.performance is None else fp.performance.label,
        low=spread.low,
        high=spread.high,
        complete=fp.complete,
        missing=len(fp.missing),
        factor_set=fp.factor_set,
    )


def _shown(whole: Summary, uow: UnitOfWork, identifier: str, reader: str) -> Summary:
    node = node_id(identifier)
    with uow.reading() as conn:
        grants = organisations.grants(conn, reader)
        assert grants is not None
        if not readers.named_in_readable(conn, grants, [node]):
            raise Untraced(f"{identifier}: no stored event mentions this identifier")
        makers = readers.makers(conn, node)
    claims = figures_level(grants, makers, "custody") != "none"
    footprint = figures_level(grants, makers, "footprint") != "none"
    parties = contracts.parties_of(uow, reader)
    return whole.model_copy(
        update={
            "origin": whole.origin if claims else [],
            "recycled": whole.recycled if claims else [],
            "claims": whole.claims if claims else [],
            "footprint": whole.footprint if footprint else None,
            "footprint_error": whole.footprint_error if footprint else NOT_SHARED,
            "contracts": [d for d in whole.contracts if d.agreement in parties],
        }
    )
