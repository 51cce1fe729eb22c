"""Deliveries against offtake agreements, read from the events, and each contract year's
status: committed, delivered, in transit, remaining, element contained, the battery capacity
it enables, and a shortfall forecast from the run rate.

A lot belongs to an agreement once an event names both (a TransactionEvent binding it to a
purchase order, a shipment carrying the despatch advice). It is *in transit* from its first
shipping event and *delivered* when received at the agreement's delivery site; its kg are
those of that receipt. Events naming business transactions of no known agreement, lots that
are not the agreement's product, and shipments of an agreement's product naming no agreement
are findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.intensity import Intensity
from batterytrace.custody.flows import claims_only
from batterytrace.epcis.model import Event, EventType
from batterytrace.epcis.timestamps import local_time
from batterytrace.masterdata import BT
from batterytrace.trace.lineage import class_of, custody_step, kg_by_object, node_id, quantity_flows


@dataclass(slots=True)
class Shipment:
    """A lot of an agreement: kg, when it first shipped and when it was received at the
    agreement's delivery site (local times, whose year is the contract year's)."""

    lot: str
    kg: float
    shipped: datetime | None = None
    delivered: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"lot": self.lot, "kg": self.kg, "shipped": _iso(self.shipped),
                "delivered": _iso(self.delivered)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Shipment:
        return cls(data["lot"], data["kg"], _moment(data["shipped"]), _moment(data["delivered"]))


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Finding:
    event: str
    text: str


@dataclass(slots=True)
class YearStatus:
    """One contract year, kg of product unless named otherwise."""

    year: int
    committed: float
    delivered: float
    in_transit: float
    remaining: float
    element_delivered: float  # kg of the agreement's element in what was delivered
    forecast: float | None  # the year's total: final, or at the run rate (None: no forecast)
    shortfall: float | None  # below the committed volume less the tolerance, if forecast
    gwh: dict[str, float]  # battery capacity the delivered element enables, per chemistry
    lots: int  # lots counted (delivered or in transit in the year, as of the date)
    elapsed_days: float  # of the year, as of the date
    days: int  # in the year
    basis: str  # what the forecast is, or why there is none (decision 022)


@dataclass(slots=True)
class Deliveries:
    """The shipments of every agreement, built from events applied in time order."""

    agreements: list[Agreement]
    shipments: dict[str, dict[str, Shipment]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    latest: datetime | None = None
    bound: dict[str, Agreement] = field(default_factory=dict)  # the agreement of each lot

    def apply(self, event: Event) -> dict[str, float]:
        """Take an event (in time order): the lots it names, with kg (none for an allocation
        only)."""
        if claims_only(event):  # a custody allocation: no delivery, nor the latest event
            return {}
        name = event.eventID or ""
        self.latest = max(self.latest or event.eventTime, event.eventTime)
        lots = kg_by_object(quantity_flows(event.quantityList)) or dict.fromkeys(
            (node_id(q.epcClass) for q in event.quantityList), 0.0
        )
        refs = [b.bizTransaction for b in event.bizTransactionList]
        refs += [str(e.value) for e in event.extensions if e.namespace + e.name == f"{BT}agreement"]
        for named in self._named(refs, name):
            for lot in lots:
                if class_of(lot) != named.product:
                    self.findings.append(Finding(name, (
                        f"{lot} is not {named.id}'s product {named.product}")))  # fmt: skip
                else:
                    self.bound[lot] = named
        step = custody_step(event.bizStep) if event.type is EventType.OBJECT else None
        if step is None:
            return lots
        place = event.bizLocation or event.readPoint
        site = node_id(place.id) if place else None
        for lot, kg in lots.items():
            bound = self.bound.get(lot)
            if bound is None:
                products = {a.product: a.id for a in self.agreements}
                if step == "shipping" and class_of(lot) in products and not refs:
                    self.findings.append(Finding(name, (
                        f"shipment of {lot}, {products[class_of(lot)]}'s product, names no "
                        "agreement")))  # fmt: skip
                continue
            shipment = self.shipments.setdefault(bound.id, {}).setdefault(lot, Shipment(lot, kg))
            when = local_time(event.eventTime, event.eventTimeZoneOffset)  # its year: decision 014
            if step == "shipping" and shipment.shipped is None:
                shipment.shipped = when
            elif step == "receiving" and site == bound.delivery_site and not shipment.delivered:
                shipment.delivered, shipment.kg = when, kg
                shipment.shipped = shipment.shipped or when
        return lots

    def lot(self, lot: str) -> dict[str, Any] | None:
        """What the deliveries hold of a lot, as JSON (None: nothing): the agreement it is
        bound to and its shipment under each agreement."""
        bound = self.bound.get(lot)
        shipped = {a: lots[lot].to_json() for a, lots in self.shipments.items() if lot in lots}
        if bound is None and not shipped:
            return None
        return {"bound": None if bound is None else bound.id, "shipments": shipped}

    def restore_lot(self, lot: str, held: Mapping[str, Any]) -> None:
        """Take back what :meth:`lot` gave of a lot."""
        if held["bound"] is not None:
            self.bound[lot] = next(a for a in self.agreements if a.id == held["bound"])
        for agreement, shipment in held["shipments"].items():
            self.shipments.setdefault(agreement, {})[lot] = Shipment.from_json(shipment)

    def _named(self, refs: list[str], name: str) -> list[Agreement]:
        """The agreements business transactions name (a finding when they name none)."""
        if not refs:
            return []
        named = [a for a in self.agreements if any(r == a.id or a.names(r) for r in refs)]
        if not named:
            self.findings.append(Finding(name, f"names {', '.join(refs)}: no known agreement"))
        return named

    def status(
        self,
        agreement: Agreement,
        intensities: Mapping[str, Intensity],
        as_of: datetime | None = None,
    ) -> list[YearStatus]:
        """Each contract year as of a date (default: the latest event)."""
        now = self.as_of(as_of)
        # in lot order: sums do not depend on the order the events named the lots
        shipments = sorted(self.shipments.get(agreement.id, {}).values(), key=lambda s: s.lot)
        return [_year(agreement, y, shipments, now, intensities) for y in agreement.term]

    def as_of(self, when: datetime | None = None) -> datetime:
        """The date a status is for: ``when``, else the latest event, else now."""
        return when or self.latest or datetime.now(UTC)


MIN_LOTS = 3  # lots counted in a year before its run rate is extrapolated (decision 022)
MIN_ELAPSED = 0.25  # and the share of the year that must be gone


def _year(
    agreement: Agreement,
    year: int,
    shipments: Iterable[Shipment],
    now: datetime,
    intensities: Mapping[str, Intensity],
) -> YearStatus:
    delivered_lots = [
        s for s in shipments if s.delivered and s.delivered <= now and s.delivered.year == year
    ]
    transit_lots = [
        s
        for s in shipments
        if s.shipped and s.shipped <= now and s.shipped.year == year
        and not (s.delivered and s.delivered <= now)
    ]  # fmt: skip
    delivered = sum(s.kg for s in delivered_lots)
    in_transit = sum(s.kg for s in transit_lots)
    lots = len(delivered_lots) + len(transit_lots)
    committed = agreement.annual_kg
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    days = (end - start).days
    elapsed = min(max((now - start).total_seconds() / 86400, 0.0), float(days))
    forecast, basis = _forecast(delivered + in_transit, lots, elapsed, days)
    floor = committed * (1 - agreement.tolerance)
    element = delivered * agreement.element_fraction
    return YearStatus(
        year, committed, delivered, in_transit, max(0.0, committed - delivered - in_transit),
        element, forecast, None if forecast is None else max(0.0, floor - forecast),
        enabled(element, agreement.element, intensities), lots, elapsed, days, basis,
    )  # fmt: skip


def _forecast(counted: float, lots: int, elapsed: float, days: int) -> tuple[float | None, str]:
    """The year's expected total and what it rests on: what was delivered or is in transit
    once the year is over; before that, the run rate (kg counted over the days gone, times
    the year's days) only from MIN_LOTS lots and MIN_ELAPSED of the year, since a year
    delivered in a few lots extrapolates to nonsense (its one lot, counted in September: 146 %)."""
    counted_lots = f"{lots} lot{'' if lots == 1 else 's'}"
    if elapsed >= days:
        return counted, f"final ({counted_lots})"
    if elapsed == 0:
        return None, "not begun"
    gone = f"{elapsed:.0f} of {days} days"
    if lots < MIN_LOTS or elapsed < MIN_ELAPSED * days:
        return None, f"not enough deliveries to forecast ({counted_lots}, {gone})"
    return counted / elapsed * days, f"run rate of {counted_lots} over {gone}"


def enabled(
    element_kg: float, element: str, intensities: Mapping[str, Intensity]
) -> dict[str, float]:
    """GWh of cells the element enables per chemistry (cobalt only: the table is kg Co/kWh)."""
    if element != "Co":
        return {}
    return {c: element_kg / i.kg_co_per_kwh / 1e6 for c, i in intensities.items()}


@dataclass(frozen=True, slots=True)
class Capacity:
    """What a year's committed volume is worth in cells: the one computation the summary and
    the table's GWh columns print (``enabled``), beside what the parties state."""

    element_kg: float  # of the agreement's element, committed a year
    gwh: dict[str, float]  # per chemistry
    chemistry: str | None  # the chemistry the stated capacity points to (nearest intensity)
    stated_gwh: float | None


def capacity(agreement: Agreement, intensities: Mapping[str, Intensity]) -> Capacity:
    element = agreement.annual_kg * agreement.element_fraction
    return Capacity(
        element,
        enabled(element, agreement.element, intensities),
        matching_chemistry(agreement, intensities),
        agreement.annual_gwh,
    )


def matching_chemistry(agreement: Agreement, intensities: Mapping[str, Intensity]) -> str | None:
    """The chemistry whose intensity turns the committed element into the capacity the parties
    state (the nearest, by kg per kWh), when they state one."""
    if not agreement.annual_gwh or agreement.element != "Co" or not intensities:
        return None
    implied = agreement.annual_kg * agreement.element_fraction / (agreement.annual_gwh * 1e6)
    return min(intensities.values(), key=lambda i: abs(i.kg_co_per_kwh - implied)).chemistry
