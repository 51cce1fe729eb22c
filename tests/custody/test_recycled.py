"""Recycled content of a pack: traced through the genealogy and claimed through custody,
against Art. 8; the figures worked out by hand in each test."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from batterytrace.custody.claims import Claim
from batterytrace.custody.flows import Custody
from batterytrace.custody.recycled import share
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Action, Event, EventType, Extension, QuantityElement
from batterytrace.masterdata import BT
from batterytrace.trace.genealogy import backward
from batterytrace.trace.lineage import EventLineage, node_id
from factories import PCAM, T0, allocation, at, commission, item, lot, transform

RECYCLER = "urn:epc:id:sgln:3019999.00100.0"
CAM_PLANT = "urn:epc:id:sgln:3012345.00200.0"
PACK = "urn:epc:id:sgtin:3700000.030001.P9"


def chain(pcam_model: str | None, allocate: float | None) -> tuple[list[Event], dict[str, Any]]:
    """Sulfate S (40 kg at 20 % Co: 8 kg) and recycled sulfate RS (10 kg at 20 %: 2 kg, made
    by the recycler from black mass) make P1 at the pCAM plant: 9.5 kg Co out of 10 (95 %).
    Lithium hydroxide (no Co) and 5 kg of P1 make the cathode C at another plant, which makes
    4 cells; the cells go in a pack. Recycled share of the pack's cobalt, traced: 2/10."""
    cells = tuple(item(i) for i in range(1, 5))
    events = [
        commission("S", 40, 0.2, 1),
        commission("BM", 20, 0.11, 1),
        at(RECYCLER, transform("RS", {"BM": 20}, {"RS": (10, 0.2)}, 2)),
        at(PCAM, transform("P1", {"S": 40, "RS": 10}, {"P1": (50, 0.19)}, 3)),
        commission("LI", 20, 0.0, 3),
        at(CAM_PLANT, transform("C", {"P1": 5, "LI": 2}, {"C": (6.5, 0.95 / 6.5)}, 5)),
        Event(
            type=EventType.TRANSFORMATION, eventTime=T0 + timedelta(days=6),
            eventTimeZoneOffset="+00:00", eventID="urn:uuid:t-cells",
            inputQuantityList=(QuantityElement(lot("C"), 6.5, "KGM"),), outputEPCList=cells,
            ilmd=(Extension(BT, "cobaltMassKg", 0.95 / 4),),
        ),
        Event(
            type=EventType.AGGREGATION, eventTime=T0 + timedelta(days=7),
            eventTimeZoneOffset="+00:00", eventID="urn:uuid:pack", parentID=PACK,
            childEPCs=cells, action=Action.ADD,
        ),
    ]  # fmt: skip
    if allocate is not None:
        events.append(allocation("P1", "recycled", allocate, 4))
    policies = [] if pcam_model is None else [
        {"site": PCAM, "claim": "recycled", "model": pcam_model, "period": "year"}
    ]  # fmt: skip
    rules = {
        "origins": [{"claim": "recycled", "site": RECYCLER, "evidence": {"reference": "R-1"}}],
        "policies": policies,
    }
    return events, rules


def shares(events: list[Event], rules: dict[str, Any]) -> tuple[float | None, float | None]:
    lineage = EventLineage(events)
    state = Custody(CustodyRules.from_json(rules), lineage)
    for event in sorted(events, key=lambda e: e.eventTime):
        state.apply(event)
    result = share(backward(lineage, PACK, "Co"), state)
    assert result.element_kg == pytest.approx(0.95)
    return result.traced, result.claimed


def test_mass_balance_with_an_allocation_claims_what_was_credited() -> None:
    """RS's 2 kg credited, 5 % lost in P1's step: 1.9 kg may be claimed. Allocated to P1 (9.5
    kg Co), it is a 20 % share, kept by the cathode plant (P1 is its only cobalt)."""
    traced, claimed = shares(*chain("mass-balance", 1.9))
    assert traced == pytest.approx(0.2) and claimed == pytest.approx(0.2)


def test_mass_balance_without_allocation_claims_nothing() -> None:
    traced, claimed = shares(*chain("mass-balance", None))
    assert traced == pytest.approx(0.2) and claimed == 0


def test_segregation_ends_where_recycled_sulfate_is_mixed() -> None:
    traced, claimed = shares(*chain(None, None))  # the default: segregated
    assert traced == pytest.approx(0.2) and claimed == 0


def test_shares_are_compared_with_article_8() -> None:
    events, rules = chain("mass-balance", 1.9)
    lineage = EventLineage(events)
    state = Custody(CustodyRules.from_json(rules), lineage)
    for event in sorted(events, key=lambda e: e.eventTime):
        state.apply(event)
    cobalt = share(backward(lineage, PACK, "Co"), state)
    assert cobalt.meets() == {"2031-08-18": True, "2036-08-18": False}  # 20 %: 16 % yes, 26 % no
    nickel = share(backward(lineage, PACK, "Ni"), state)
    assert (nickel.element_kg, nickel.claimed) == (None, None)  # no nickel figures at all
    assert nickel.meets() == {"2031-08-18": None, "2036-08-18": None}
    assert Claim("recycled") in state.originated and state.originated[Claim("recycled")]


def test_a_share_over_an_unknown_content_is_unknown_and_names_the_lot() -> None:
    """Segregated at the pCAM plant, RS mixed with sulfate S2 of no element figure: P1's
    recycled share of its cobalt is unknown, not 0 %; so is the cathode C's, made of P1, and
    the pack's share is unknown and names C, the nearest lot whose share is unknown."""
    events, rules = chain("segregated", None)
    s2 = commission("S2", 40, None, 1)
    events = [
        s2 if e.eventID == "urn:uuid:c-S" else
        replace(e, inputQuantityList=(QuantityElement(lot("S2"), 40, "KGM"),
                                      QuantityElement(lot("RS"), 10, "KGM")))
        if e.eventID == "urn:uuid:t-P1" else e
        for e in events
    ]  # fmt: skip
    lineage = EventLineage(events)
    state = Custody(CustodyRules.from_json(rules), lineage)
    for event in sorted(events, key=lambda e: e.eventTime):
        state.apply(event)
    result = share(backward(lineage, PACK, "Co"), state)
    assert result.claimed is None
    assert result.unknown == (node_id(lot("C")),)
    assert state.lots[node_id(lot("P1"))][Claim("recycled")] == {"Co": None}
    assert any(node_id(lot("S2")) in n.lots and "unknown" in n.text for n in state.notes)
