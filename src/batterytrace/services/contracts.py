"""Offtake agreements as a service: imported, read, and their deliveries kept as the events
arrive (decision 032): the shipments of each agreement and the findings are kept rows; a
year's status, which depends on the date asked and the intensity table, is computed from them
at read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.deliveries import (
    Deliveries,
    Finding,
    Shipment,
    YearStatus,
    capacity,
    enabled,
)
from batterytrace.contracts.intensity import Intensity, intensities
from batterytrace.custody.flows import claims_only
from batterytrace.epcis.model import Event
from batterytrace.errors import ContractError, InvalidIdentifier, NoSuchResource
from batterytrace.organisations import organisation_id
from batterytrace.periods import Period, span
from batterytrace.services.unit_of_work import Unit, UnitOfWork
from batterytrace.store import contracts as contracts_store
from batterytrace.store import custody as custody_store
from batterytrace.store import derived, organisations, readers
from batterytrace.store.imported import Imported
from batterytrace.store.lineage import Decoded


def import_contracts(
    uow: UnitOfWork,
    agreements: list[Agreement],
    source: str | None = None,
    owner: str | None = None,
) -> Imported:
    """Add or replace offtake agreements (by id); one stored already as given is left as
    it is."""
    content = [a.to_json() for a in agreements]
    return uow.record("contracts", "import", content, source, owner)[0]["agreements"]


def contracts(uow: UnitOfWork) -> list[Agreement]:
    """Every stored agreement."""
    with uow.reading() as conn:
        return contracts_store.load(conn)


def deliveries_of(conn: Connection) -> Deliveries:
    """Every agreement's shipments and findings, recomputed from the stored events in
    ``conn``'s transaction."""
    return _replayed(conn)[0]


def _replayed(conn: Connection) -> tuple[Deliveries, dict[str, derived.Rows]]:
    """The deliveries from every stored event, with the rows of the months they went
    through."""
    state = Deliveries(contracts_store.load(conn))
    return state, _taken(state, custody_store.lot_events(conn))


def _taken(state: Deliveries, events: Iterable[Event]) -> dict[str, derived.Rows]:
    """Take the events (in time order) into the deliveries, writing at the end of each month
    they went through what each lot they named that month was then, and the latest event and
    the findings by then (decision 035)."""
    rows: dict[str, list[tuple[str, str, str | None]]] = {area: [] for area in _MONTHS}
    touched: set[str] = set()

    def end(month: int) -> None:
        label = Period.MONTH.label(month)
        for lot in sorted(touched):
            held = state.lot(lot)
            if held is not None:  # once something, a lot stays something
                rows[_LOT_MONTHS].append((f"{label} {lot}", lot, _json(held)))
        rows[_STATE_MONTHS].append((label, "", _json(_state(state, len(state.findings)))))
        touched.clear()

    month: int | None = None
    for event in events:
        if claims_only(event):
            continue  # never taken (Deliveries.apply)
        at = Period.MONTH.number(event.eventTime.astimezone(UTC))
        if month is not None and at != month:
            end(month)
        month = at
        touched.update(state.apply(event))
    if month is not None:
        end(month)
    return {area: written for area, written in rows.items()}


def _state(state: Deliveries, findings: int | None = None) -> dict[str, Any]:
    """The latest event taken (and, at the end of a month, the findings by then)."""
    latest = None if state.latest is None else state.latest.isoformat()
    return {"latest": latest} if findings is None else {"latest": latest, "findings": findings}


# --- kept deliveries (decision 032) ------------------------------------------------------------

# each agreement's shipments, the lot each agreement bound, the findings in the order found, the
# latest event; and, at the end of each month the events went through (decision 035), each lot
# they named that month and the latest event and findings by then, keyed "<month> <lot>"
AREA = "contracts"
_SHIPMENTS, _BOUND = "contract.shipment", "contract.bound"
_FINDINGS, _STATE = "contract.finding", "contract.state"
_LOT_MONTHS, _STATE_MONTHS = "contract.lot@month", "contract.state@month"
_MONTHS = (_LOT_MONTHS, _STATE_MONTHS)


def kept_rows(conn: Connection, decoded: Decoded) -> dict[str, derived.Rows]:
    """The kept rows a recomputation of the deliveries gives: each agreement's shipments and
    the lots bound to it (by agreement), the findings in the order found, the latest event's
    time, and the months; none, without reading an event, while no agreement is stored (every
    purchase order of plain EPCIS traffic would be a finding against nothing)."""
    if not contracts_store.load(conn):
        return {area: [] for area in (_SHIPMENTS, _BOUND, _FINDINGS, _STATE, *_MONTHS)}
    state, months = _replayed(conn)
    return {**_rows(state), **months}


def _rows(state: Deliveries, findings: int = 0) -> dict[str, derived.Rows]:
    """The kept rows of the deliveries: all of them, or, going on from kept ones, the findings
    after the ``findings`` kept."""
    shipments = [
        (f"{agreement} {lot}", agreement, _json(shipment.to_json()))
        for agreement, lots in state.shipments.items()
        for lot, shipment in lots.items()
    ]
    bound = [(lot, a.id, _json({"agreement": a.id})) for lot, a in state.bound.items()]
    found = [
        (f"{n:09d}", "", _json({"event": f.event, "text": f.text}))
        for n, f in enumerate(state.findings[findings:], start=findings)
    ]
    return {_SHIPMENTS: shipments, _BOUND: bound, _FINDINGS: found,
            _STATE: [("latest", "", _json(_state(state)))]}  # fmt: skip


def resumed_rows(
    conn: Connection, decoded: Decoded, reflected: derived.Inputs
) -> dict[str, derived.Rows] | None:
    """The kept rows that change when the deliveries go on, while no agreement changed: from
    the kept ones with the events stored since, when those come after the latest one taken
    (decision 033); else from what they were when the month of the earliest of them began,
    with every event from then on taken again (decision 035). Either gives what a
    recomputation would; None when there is nothing to go on from."""
    agreements = contracts_store.load(conn)
    if not agreements or derived.records_since(conn, reflected.record, UNIT.kinds):
        return None
    new = [e for e in custody_store.lot_events(conn, reflected.event) if not claims_only(e)]
    state = _kept(conn, agreements)
    if not new or state.latest is None or new[0].eventTime >= state.latest:
        findings = len(state.findings)
        months = _taken(state, new)
        return {**_rows(state, findings), **months}
    month = Period.MONTH.number(new[0].eventTime.astimezone(UTC))  # a late event: the earliest
    label = Period.MONTH.label(month)
    then = derived.as_of(conn, _STATE_MONTHS, label).get("")
    if then is None:
        return None  # nothing kept of the months before: recomputed from the start
    went = orjson.loads(then)
    state = Deliveries(agreements, findings=state.findings[: went["findings"]])
    state.latest = None if went["latest"] is None else datetime.fromisoformat(went["latest"])
    for lot, held in derived.as_of(conn, _LOT_MONTHS, label).items():
        state.restore_lot(lot, orjson.loads(held))
    months = _taken(state, custody_store.lot_events(conn, since=span(Period.MONTH, month)[0]))
    return derived.gone_from(conn, {**_rows(state, went["findings"]), **months}, {
        _FINDINGS: f"{len(state.findings):09d}", **dict.fromkeys(_MONTHS, label)})  # fmt: skip


def _json(content: object) -> str:
    return orjson.dumps(content).decode()


def _kept(conn: Connection, agreements: list[Agreement]) -> Deliveries:
    """The deliveries as kept."""
    state = Deliveries(agreements)
    for _, (agreement, content) in sorted(derived.stored(conn, _SHIPMENTS).items()):
        shipment = Shipment.from_json(orjson.loads(content))
        state.shipments.setdefault(agreement, {})[shipment.lot] = shipment
    by_id = {a.id: a for a in agreements}
    for lot, (agreement, _) in derived.stored(conn, _BOUND).items():
        state.bound[lot] = by_id[agreement]
    state.findings = [Finding(**orjson.loads(c)) for c in derived.contents(conn, _FINDINGS)]
    latest = orjson.loads(next(derived.contents(conn, _STATE), '{"latest": null}'))["latest"]
    state.latest = None if latest is None else datetime.fromisoformat(latest)
    return state


def deliveries(uow: UnitOfWork) -> tuple[Deliveries, int]:
    """Every agreement's shipments and findings, from the kept rows (brought up to date
    first), and the ledger version they reflect."""
    uow.refresh(UNIT)
    with uow.reading() as conn:
        return _kept(conn, contracts_store.load(conn)), derived.watermark(conn, AREA) or 0


# --- status ------------------------------------------------------------------------------------


class Year(BaseModel):
    """One contract year as of a date, kg of product unless named otherwise."""

    year: int
    committed_kg: float
    delivered_kg: float
    in_transit_kg: float
    remaining_kg: float
    element_delivered_kg: float
    forecast_kg: float | None  # None: no forecast (see forecast_basis)
    shortfall_kg: float | None
    gwh: dict[str, float]  # battery capacity the delivered element enables, per chemistry
    lots: int
    elapsed_days: float
    days: int
    forecast_basis: str

    @classmethod
    def of(cls, y: YearStatus) -> Year:
        return cls(
            year=y.year, committed_kg=y.committed, delivered_kg=y.delivered,
            in_transit_kg=y.in_transit, remaining_kg=y.remaining,
            element_delivered_kg=y.element_delivered, forecast_kg=y.forecast,
            shortfall_kg=y.shortfall, gwh=y.gwh, lots=y.lots, elapsed_days=y.elapsed_days,
            days=y.days, forecast_basis=y.basis,
        )  # fmt: skip


class Annual(BaseModel):
    """What a year's committed volume is worth in cells (contracts.deliveries.Capacity)."""

    committed_kg: float
    element_kg: float
    gwh: dict[str, float]
    matching_chemistry: str | None
    stated_gwh: float | None


class Term(BaseModel):
    """The whole term: the years' sums and the capacity the delivered element enables."""

    committed_kg: float
    delivered_kg: float
    in_transit_kg: float
    remaining_kg: float
    element_delivered_kg: float
    gwh: dict[str, float]


class ContractReport(BaseModel):
    agreement: dict[str, Any]
    annual: Annual
    intensity: dict[str, dict[str, Any]]  # chemistry -> kg Co per kWh and its source
    years: list[Year]
    term: Term


class FindingReport(BaseModel):
    event: str
    text: str


class ContractStatus(BaseModel):
    """Each chosen agreement year by year as of a date, and the findings."""

    model_config = ConfigDict(serialize_by_alias=True)

    version: int  # the ledger version the kept deliveries reflect
    unit: Literal["kg"] = "kg"
    as_of: str = Field(serialization_alias="asOf")  # ISO 8601
    as_of_source: str = Field(serialization_alias="asOfSource")  # --as-of, the latest event, or now
    contracts: list[ContractReport]
    findings: list[FindingReport]


class NoSuchContract(ContractError, NoSuchResource):
    """The agreement asked for is not stored (the API answers 404)."""


def status(
    uow: UnitOfWork,
    contract: str | None = None,
    as_of: datetime | None = None,
    intensity: Path | None = None,
    reader: str | None = None,
) -> ContractStatus:
    """Per contract year, as of a date (default: the latest event): committed, delivered, in
    transit, remaining, element contained, the GWh it enables per chemistry (the intensity
    table shipped, or the CSV at ``intensity``), the year's forecast; from the kept
    deliveries. ``reader`` (an organisation) sees the agreements it is a party of, and the
    findings about events it may read (decision 041); None: the operator, all."""
    table = intensities(intensity)
    state, at = deliveries(uow)
    chosen = [a for a in state.agreements if contract in (None, a.id) and _party(a, reader)]
    if contract is not None and not chosen:  # another's agreement answers as no agreement
        raise NoSuchContract(f"contract: {contract!r} is not a stored agreement")
    findings = state.findings
    if reader is not None:
        with uow.reading() as conn:
            grants = organisations.grants(conn, reader)
            assert grants is not None
            ok = readers.readable_keys(conn, grants, [f.event for f in findings])
        findings = [f for f in findings if f.event in ok]
    source = "--as-of" if as_of else "the latest event" if state.latest else "now"
    return ContractStatus(
        version=at,
        as_of=state.as_of(as_of).isoformat(),
        as_of_source=source,
        contracts=[report(a, state.status(a, table, as_of), table) for a in chosen],
        findings=[FindingReport(event=f.event, text=f.text) for f in findings],
    )


def parties_of(uow: UnitOfWork, reader: str) -> set[str]:
    """The ids of the stored agreements ``reader`` (an organisation) is a party of."""
    return {a.id for a in contracts(uow) if _party(a, reader)}


def _party(agreement: Agreement, reader: str | None) -> bool:
    """Whether ``reader`` is the agreement's buyer or seller (None: the operator, always)."""
    if reader is None:
        return True
    key = organisation_id(reader)
    for party in (agreement.buyer, agreement.seller):
        with suppress(InvalidIdentifier):
            if organisation_id(party) == key:
                return True
    return False


def status_json(
    uow: UnitOfWork,
    contract: str | None = None,
    as_of: datetime | None = None,
    intensity: Path | None = None,
    reader: str | None = None,
) -> dict[str, Any]:
    """:func:`status` as JSON (the command's ``--json``, the API's answer)."""
    found = status(uow, contract, as_of, intensity, reader)
    body: dict[str, Any] = found.model_dump(mode="json")
    return body


def report(
    agreement: Agreement, years: list[YearStatus], table: Mapping[str, Intensity]
) -> ContractReport:
    """An agreement's years with the term's sums and what its volumes are worth in cells."""
    annual = capacity(agreement, table)
    term = {
        name: sum(getattr(y, name) for y in years)
        for name in ("committed", "delivered", "in_transit", "remaining", "element_delivered")
    }
    return ContractReport(
        agreement=agreement.to_json(),
        annual=Annual(
            committed_kg=agreement.annual_kg,
            element_kg=annual.element_kg,
            gwh=annual.gwh,
            matching_chemistry=annual.chemistry,
            stated_gwh=annual.stated_gwh,
        ),
        intensity={
            c: {"kg_co_per_kwh": i.kg_co_per_kwh, "source": i.source} for c, i in table.items()
        },
        years=[Year.of(y) for y in years],
        term=Term(
            **{f"{k}_kg": v for k, v in term.items()},
            gwh=enabled(term["element_delivered"], agreement.element, table),
        ),
    )


def delivered_under(uow: UnitOfWork, lots: Iterable[str]) -> dict[str, list[str]]:
    """The agreements that ``lots`` were shipped under, each with those of its lots (kept
    shipments)."""
    wanted = set(lots)
    uow.refresh(UNIT)
    found: dict[str, list[str]] = {}
    with uow.reading() as conn:
        for agreement, content in derived.stored(conn, _SHIPMENTS).values():
            lot = orjson.loads(content)["lot"]
            if lot in wanted:
                found.setdefault(agreement, []).append(lot)
    return {agreement: sorted(named) for agreement, named in sorted(found.items())}


# what the kept rows are recomputed by, and the import records they read besides the events
UNIT = Unit(
    AREA,
    kept_rows,
    frozenset({"contracts", "store"}),
    resumed_rows,
    allocations=False,
    layout=2,
    inner=frozenset(_MONTHS),
)
