"""Deliveries from events: bound to the agreement, in transit, delivered, findings, and each
year's status with a forecast from the run rate."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.deliveries import Deliveries
from batterytrace.contracts.intensity import intensities
from batterytrace.epcis.model import (
    Action,
    BizTransaction,
    Event,
    EventType,
    Location,
    QuantityElement,
)
from batterytrace.trace.lineage import node_id

ID = "https://batterytrace.org/agreement/test"
SELLER_SITE, PORT, BUYER_SITE = (f"urn:epc:id:sgln:6111111.00{n}00.0" for n in (2, 5, 3))
AGREEMENT = Agreement.from_json({
    "id": ID, "buyer": "buyer", "seller": "seller",
    "product": "urn:epc:idpat:sgtin:6111111.000201.*", "formula": "CoSO4·7H2O",
    "annualKg": 100_000, "startYear": 2025, "years": 2, "tolerance": 0.1,
    "deliveryTerms": "CIF", "deliverySite": BUYER_SITE, "purchaseOrders": ["PO-77"],
})  # fmt: skip


def lot(name: str) -> str:
    return f"urn:epc:class:lgtin:6111111.000201.{name}"


def event(
    n: int, day: datetime, name: str, kg: float, step: str | None, site: str, *refs: str
) -> Event:
    return Event(
        type=EventType.TRANSACTION if step is None else EventType.OBJECT,
        eventTime=day, eventTimeZoneOffset="+00:00", eventID=f"urn:uuid:e-{n}",
        action=Action.ADD if step is None else Action.OBSERVE, bizStep=step or "accepting",
        quantityList=(QuantityElement(lot(name), kg, "KGM"),), bizLocation=Location(site),
        bizTransactionList=tuple(BizTransaction(r, "po") for r in refs),
    )  # fmt: skip


def d(month: int, day: int = 1, year: int = 2025) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


EVENTS = [
    event(1, d(2), "L1", 40_000, None, SELLER_SITE, f"{ID}/po/2025"),  # bound by its PO
    event(2, d(2, 2), "L1", 40_000, "shipping", SELLER_SITE),
    event(3, d(2, 5), "L1", 40_000, "receiving", PORT),  # not the delivery site
    event(4, d(3), "L1", 39_500, "receiving", BUYER_SITE),  # delivered: 39.5 t
    event(5, d(6), "L2", 30_000, "shipping", SELLER_SITE, "PO-77"),  # still at sea on 1 July
    event(6, d(7, 10), "L2", 30_000, "receiving", BUYER_SITE),
    event(7, d(5), "L3", 10_000, "shipping", SELLER_SITE, "PO-unknown"),
    event(8, d(5), "L4", 5_000, "shipping", SELLER_SITE),  # the product, no agreement named
]


def deliveries() -> Deliveries:
    state = Deliveries([AGREEMENT])
    for e in EVENTS:
        state.apply(e)
    return state


def test_a_lot_is_delivered_when_received_at_the_delivery_site() -> None:
    state = deliveries()
    l1 = state.shipments[ID][node_id(lot("L1"))]
    assert (l1.kg, l1.shipped, l1.delivered) == (39_500, d(2, 2), d(3))
    assert node_id(lot("L3")) not in state.shipments[ID]


def test_events_naming_no_or_an_unknown_agreement_are_findings() -> None:
    texts = {f.event: f.text for f in deliveries().findings}
    assert texts["urn:uuid:e-7"] == "names PO-unknown: no known agreement"
    assert texts["urn:uuid:e-8"].endswith(f"{ID}'s product, names no agreement")
    assert texts["urn:uuid:e-8"].startswith(f"shipment of {node_id(lot('L4'))}")


def test_status_mid_year_forecasts_from_the_run_rate() -> None:
    july = datetime(2025, 7, 2, 12, tzinfo=UTC)  # half of 2025 gone (182.5 of 365 days)
    y2025, y2026 = deliveries().status(AGREEMENT, intensities(), july)
    assert (y2025.delivered, y2025.in_transit, y2025.remaining) == (39_500, 30_000, 30_500)
    share = (july - d(1)).total_seconds() / (365 * 86400)
    assert y2025.forecast == pytest.approx(69_500 / share)
    assert y2025.shortfall == 0  # the run rate beats 90 t
    assert y2025.element_delivered == pytest.approx(39_500 * AGREEMENT.element_fraction)
    assert y2025.gwh["NMC811"] == pytest.approx(y2025.element_delivered / 0.081 / 1e6)
    assert (y2026.delivered, y2026.forecast, y2026.shortfall) == (0, None, None)


def test_status_after_the_year_is_final() -> None:
    y2025, y2026 = deliveries().status(AGREEMENT, intensities(), d(1, 1, 2026))
    assert (y2025.delivered, y2025.in_transit, y2025.forecast) == (69_500, 0, 69_500)
    assert y2025.shortfall == pytest.approx(90_000 - 69_500)  # committed less 10 % tolerance
    assert (y2026.forecast, y2026.shortfall) == (None, None)  # not begun on its first instant


def test_a_delivery_counts_in_the_year_of_its_local_time() -> None:
    """One period rule (decision 014): received at 23:30 on New Year's Eve at the buyer's site
    (-02:00), 01:30 on 1 January in UTC: a 2025 delivery."""
    state = deliveries()
    late = event(9, datetime(2026, 1, 1, 1, 30, tzinfo=UTC), "L5", 20_000, "receiving",
                 BUYER_SITE, "PO-77")  # fmt: skip
    state.apply(replace(late, eventTimeZoneOffset="-02:00"))
    y2025, y2026 = state.status(AGREEMENT, intensities(), d(2, 1, 2026))
    assert (y2025.delivered, y2026.delivered) == (69_500 + 20_000, 0)
