"""Deliveries from events: bound to the agreement, in transit, delivered, findings, and each
year's status with a forecast from the run rate; `contract status` as printed: the summary's
capacity is the table's, from one computation (issue 13.8), with hand-worked figures."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from rich.console import Console

import batterytrace.cli.contracts as cli_contracts
from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.deliveries import Deliveries, capacity
from batterytrace.contracts.intensity import Intensity, intensities
from batterytrace.epcis.model import (
    Action,
    BizTransaction,
    Event,
    EventType,
    Location,
    QuantityElement,
)
from batterytrace.services import contracts as contracts_service
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


JULY = datetime(2025, 7, 2, 12, tzinfo=UTC)  # 181 days to 1 July, +1.5: 182.5 of 365 days


def test_status_mid_year_counts_the_lots_and_days() -> None:
    y2025, y2026 = deliveries().status(AGREEMENT, intensities(), JULY)
    assert (y2025.delivered, y2025.in_transit, y2025.remaining) == (39_500, 30_000, 30_500)
    assert (y2025.lots, y2025.elapsed_days, y2025.days) == (2, 182.5, 365)
    assert y2025.element_delivered == pytest.approx(39_500 * AGREEMENT.element_fraction)
    assert y2025.gwh["NMC811"] == pytest.approx(y2025.element_delivered / 0.081 / 1e6)
    assert (y2026.delivered, y2026.forecast, y2026.shortfall) == (0, None, None)
    assert (y2026.lots, y2026.elapsed_days, y2026.basis) == (0, 0, "not begun")


def test_a_run_rate_needs_three_lots() -> None:
    """Two lots (L1 delivered, L2 at sea) by 2 July: no forecast (the old rule doubled them to
    139 t). A third, L6 (20 t shipped in April), makes the run rate: (39.5 + 30 + 20) t over
    182.5 of 365 days = 89.5 t x 2 = 179 t."""
    (two, _) = deliveries().status(AGREEMENT, intensities(), JULY)
    assert (two.forecast, two.shortfall) == (None, None)
    assert two.basis == "not enough deliveries to forecast (2 lots, 182 of 365 days)"
    state = deliveries()
    state.apply(event(10, d(4), "L6", 20_000, "shipping", SELLER_SITE, "PO-77"))
    (three, _) = state.status(AGREEMENT, intensities(), JULY)
    assert three.lots == 3 and three.forecast == pytest.approx(179_000)
    assert three.basis == "run rate of 3 lots over 182 of 365 days"
    assert three.shortfall == 0  # 179 t beats 100 t less 10 %


def test_a_run_rate_needs_a_quarter_of_the_year() -> None:
    """Three lots by 1 April (L1 received 1 March: 39.5 t; L6, 20 t, and L7, 10 t, at sea):
    90 of 365 days is less than a quarter (91.25): no forecast. On 2 April at noon, 91.5 days:
    69.5 t / 91.5 d x 365 d = 277.24 t."""
    state = deliveries()
    state.apply(event(10, d(3, 15), "L6", 20_000, "shipping", SELLER_SITE, "PO-77"))
    state.apply(event(11, d(3, 20), "L7", 10_000, "shipping", SELLER_SITE, "PO-77"))
    (early, _) = state.status(AGREEMENT, intensities(), d(4))
    assert (early.lots, early.elapsed_days, early.forecast) == (3, 90, None)
    assert early.basis == "not enough deliveries to forecast (3 lots, 90 of 365 days)"
    (later, _) = state.status(AGREEMENT, intensities(), datetime(2025, 4, 2, 12, tzinfo=UTC))
    assert later.forecast == pytest.approx(69_500 / 91.5 * 365)
    assert later.forecast == pytest.approx(277_240.44, abs=0.01)
    assert later.shortfall == 0


def test_status_after_the_year_is_final() -> None:
    y2025, y2026 = deliveries().status(AGREEMENT, intensities(), d(1, 1, 2026))
    assert (y2025.delivered, y2025.in_transit, y2025.forecast) == (69_500, 0, 69_500)
    assert y2025.basis == "final (2 lots)"
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


STATED_ID = "https://batterytrace.org/agreement/status"
STATED = Agreement.from_json({
    "id": STATED_ID, "buyer": "buyer", "seller": "seller",
    "product": "urn:epc:idpat:sgtin:6111111.000201.*", "elementFraction": 0.2,
    "annualKg": 100_000, "startYear": 2025, "years": 2, "tolerance": 0.1, "annualGWh": 0.24,
    "deliveryTerms": "CIF", "deliverySite": BUYER_SITE, "purchaseOrders": ["PO-9"],
})  # fmt: skip
# 0.2 x 100 t = 20 t Co a year: A (0.08 kg Co/kWh) 20,000 / 0.08 = 250,000 kWh = 0.25 GWh,
# B (0.1) 0.2 GWh. Stated 0.24 GWh implies 20,000 / 240,000 = 0.0833 kg/kWh: nearest A.
TABLE = {c: Intensity(c, "", kg, "hand") for c, kg in (("A", 0.08), ("B", 0.1))}


def stated_deliveries() -> Deliveries:
    """2025 delivered in full in three lots (40 + 35 + 25 t); 2026 one lot of 30 t."""
    state = Deliveries([STATED])
    lots = [("L1", 40_000, 2025), ("L2", 35_000, 2025), ("L3", 25_000, 2025), ("L4", 30_000, 2026)]
    for n, (name, kg, year) in enumerate(lots):
        state.apply(event(n, datetime(year, 3 + n, 1, tzinfo=UTC), name, kg, "shipping",
                          SELLER_SITE, "PO-9"))  # fmt: skip
        state.apply(event(10 + n, datetime(year, 3 + n, 20, tzinfo=UTC), name, kg, "receiving",
                          BUYER_SITE))  # fmt: skip
    return state


def printed(monkeypatch: pytest.MonkeyPatch, as_of: datetime) -> list[str]:
    buffer = io.StringIO()
    monkeypatch.setattr(cli_contracts, "out", Console(file=buffer, width=400, color_system=None))
    years = stated_deliveries().status(STATED, TABLE, as_of)
    report = contracts_service.report(STATED, years, TABLE)
    cli_contracts._print_contract(report, str)  # no master data
    return buffer.getvalue().splitlines()


def test_the_summary_and_the_table_print_one_computation(monkeypatch: pytest.MonkeyPatch) -> None:
    annual = capacity(STATED, TABLE)
    assert annual.element_kg == pytest.approx(20_000)
    assert annual.gwh == {"A": pytest.approx(0.25), "B": pytest.approx(0.2)}
    assert (annual.chemistry, annual.stated_gwh) == ("A", 0.24)
    lines = printed(monkeypatch, datetime(2026, 7, 2, 12, tzinfo=UTC))
    assert lines[1] == "a year: 20.000 t Co committed, enabling GWh: A 0.25, B 0.2"
    assert lines[2] == "stated: 0.24 GWh a year; the nearest chemistry, A, gives 0.25 GWh"
    rows = {cells[0]: cells[1:] for line in lines if (cells := _cells(line))}
    # 2025 delivered in full: 100 t, 20 t Co, 0.25 GWh of A (the summary's), final (3 lots)
    assert rows["2025"] == ["100.000", "100.000", "0.000", "0.000", "20.000", "100.000",
                            "0.000", "0.25", "final (3 lots)"]  # fmt: skip
    # 2026 by 2 July (182.5 days): L4, 30 t, 6 t Co = 6,000 / 0.08 = 0.075 GWh; one lot
    assert rows["2026"] == ["100.000", "30.000", "0.000", "70.000", "6.000", "-", "-", "0.075",
                            f"{NOT_ENOUGH} (1 lot, 182 of 365 days)"]  # fmt: skip
    assert rows["term"][:5] == ["200.000", "130.000", "0.000", "70.000", "26.000"]
    assert rows["term"][7] == "0.325"  # 26,000 / 0.08 / 1e6


NOT_ENOUGH = "not enough deliveries to forecast"


def _cells(line: str) -> list[str]:
    parts = [p.strip() for p in line.split("│")]
    return parts[1:-1] if len(parts) > 2 else []
