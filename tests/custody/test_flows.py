"""Claims through events: origin with evidence, segregation ended by mixing, mass-balance
credits, yield losses and allocations, each figure worked out by hand beside the test."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from batterytrace.custody.claims import Claim
from batterytrace.custody.flows import Custody
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Event, QuantityElement
from batterytrace.errors import CustodyError
from batterytrace.trace.lineage import EventLineage, node_id
from factories import CERTIFIED_MINE as MINE
from factories import CUSTODY_RULES as RULES
from factories import PCAM, REFINERY, allocation, at, commission, lot, received, transform
from factories import custody_chain as chain

MA, LOW, RMAP = Claim("origin", "MA"), Claim("low-carbon"), Claim("certified", "RMI-RMAP")


def custody(events: list[Event]) -> Custody:
    state = Custody(CustodyRules.from_json(RULES), EventLineage(events))
    for event in sorted(events, key=lambda e: e.eventTime):
        state.apply(event)
    return state


def test_origin_claims_need_evidence_on_the_day() -> None:
    state = custody(chain())
    assert state.claimed(node_id(lot("O1"))) == {MA: {"Co": pytest.approx(10.0)}}
    (lapsed,) = [n for n in state.notes if n.claim == RMAP]
    assert lapsed.event == "urn:uuid:c-O1"
    assert "evidence RMAP-42 (RMI), … to 2025-01-01 does not cover 2025-01-02" in lapsed.text


def test_segregated_claims_stay_unmixed_and_mixing_removes_them() -> None:
    state = custody(chain())
    assert state.claimed(node_id(lot("S1")))[MA] == {"Co": pytest.approx(8.0)}
    assert MA not in state.claimed(node_id(lot("S2")))  # O1 mixed with O2
    removed = {n.event: n.text for n in state.notes if n.claim == MA}
    assert removed.keys() == {"urn:uuid:t-S2", "urn:uuid:t-P1"}  # P1: S1 with CN
    assert f"mixed with unclaimed {node_id(lot('O2'))}" in removed["urn:uuid:t-S2"]
    # the refinery's own low-carbon claim is on both of its outputs
    assert state.claimed(node_id(lot("S2")))[LOW] == {"Co": pytest.approx(10.0)}


def test_mass_balance_credits_receipts_and_books_the_yield() -> None:
    state = custody(chain())
    account = state.accounts[node_id(PCAM), LOW, "Co"]
    (quarter,) = account.statements()
    # S1's 8 kg low-carbon Co credited on receipt; the step keeps 15.2 of 16 kg Co: 0.4 lost
    assert (quarter.credits, quarter.losses) == (pytest.approx(8.0), pytest.approx(0.4))
    assert account.balance == pytest.approx(7.6)
    assert LOW not in state.claimed(node_id(lot("P1")))  # mass balance: only by allocation
    # MA is segregated at the pCAM plant (no policy): mixing S1 with CN removes it
    assert MA not in state.claimed(node_id(lot("P1")))


def test_allocations_draw_from_the_balance_and_never_twice() -> None:
    events = [
        *chain(),
        allocation("P1", "low-carbon", 5.0, 9),
        allocation("P1", "low-carbon", 5.0, 10),
    ]
    state = custody(events)
    assert state.claimed(node_id(lot("P1")))[LOW] == {"Co": pytest.approx(5.0)}
    assert state.accounts[node_id(PCAM), LOW, "Co"].balance == pytest.approx(2.6)
    (over,) = state.violations
    assert (
        over.event == "urn:uuid:a-P1-10" and "exceeds the balance of 2.6 kg by 2.4 kg" in over.text
    )
    assert any("allocation urn:uuid:a-P1-9" in b for b in state.backing[node_id(lot("P1"))][LOW])


@pytest.mark.parametrize(
    ("event", "rule"),
    [
        (allocation("S1", "origin:MA", 1.0, 9, REFINERY), "which runs origin:MA segregated"),
        (allocation("P1", "low-carbon", -1.0, 9), "allocation: Co: -1.0 kg"),
        (allocation("P1", "low-carbon", 0, 9), "allocation: Co: 0 kg"),
        (allocation("P1", "green", 1.0, 9), "allocation: claim: 'green'"),
        (allocation("P1", "low-carbon", 20.0, 9), "which holds 15.2 kg Co (0 kg claimed already)"),
    ],
)
def test_bad_allocations_are_violations(event: Event, rule: str) -> None:
    state = custody([*chain(), event])
    (violation,) = state.violations
    assert rule in violation.text
    assert state.accounts[node_id(PCAM), LOW, "Co"].balance == pytest.approx(7.6)


def test_the_same_events_give_the_same_state() -> None:
    events = [*chain(), allocation("P1", "low-carbon", 5.0, 9)]
    first, again = custody(events), custody(list(reversed(events)))
    assert first.claimed(node_id(lot("P1"))) == again.claimed(node_id(lot("P1")))
    assert [s.closing for s in first.accounts[node_id(PCAM), LOW, "Co"].statements()] == [
        s.closing for s in again.accounts[node_id(PCAM), LOW, "Co"].statements()
    ]
    assert first.notes == again.notes


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"policies": [{"site": PCAM, "claim": "low-carbon", "model": "pooled"}]},
         "policies[0].model: 'pooled' is not one of identity-preserved, segregated"),
        ({"policies": [{"site": PCAM, "claim": "low-carbon", "model": "mass-balance",
                        "expiry": 0}]},
         "policies[0].expiry: 0 is not a whole number of periods >= 1"),
        ({"origins": [{"claim": "origin:MA", "site": MINE}]}, "origins[0].evidence: required"),
        ({"origins": [{"claim": "origin:MA", "site": "mine-1", "evidence": {"reference": "x"}}]},
         "origins[0].site:"),
        ({"origins": [{"claim": "origin:MA", "site": MINE,
                       "evidence": {"reference": "x", "validFrom": "2025-02-01",
                                    "validUntil": "2025-01-01"}}]},
         "origins[0].evidence.validUntil: 2025-01-01 is before validFrom"),
        ({"policies": [{"site": PCAM, "claim": "low-carbon", "model": "segregated"},
                       {"site": PCAM, "claim": "low-carbon", "model": "mass-balance"}]},
         "policies[1]: a second policy for low-carbon"),
    ],
)  # fmt: skip
def test_bad_rules_name_the_entry_and_field(rules: dict[str, object], message: str) -> None:
    with pytest.raises(CustodyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        CustodyRules.from_json(rules)


def test_rules_round_trip() -> None:
    rules = CustodyRules.from_json(RULES)
    assert CustodyRules.from_json(rules.to_json()) == rules


def test_identity_preserved_notes_claimed_lots_mixed() -> None:
    """Two ores of the certified mine refined together at a site running origin:MA identity
    preserved: the claim holds (both claimed) but identity is lost, and a note says so."""
    rules = RULES | {"policies": [{"site": REFINERY, "claim": "origin:MA",
                                   "model": "identity-preserved"}]}  # fmt: skip
    events = [
        at(MINE, commission("O1", 1000, 0.01, 1)),
        at(MINE, commission("O3", 1000, 0.01, 1)),
        at(REFINERY, transform("S9", {"O1": 1000, "O3": 1000}, {"S9": (90, 0.2)}, 3)),
    ]
    state = Custody(CustodyRules.from_json(rules), EventLineage(events))
    for event in events:
        state.apply(event)
    assert state.claimed(node_id(lot("S9")))[MA] == {"Co": pytest.approx(18.0)}
    (note,) = [n for n in state.notes if n.claim == MA]
    assert "identity of Co not preserved" in note.text and "holds as segregated" in note.text


def test_an_entry_falls_in_the_period_of_the_events_local_time() -> None:
    """One period rule (decision 014): S1 is received at 23:30 on 31 March where the plant is
    (eventTimeZoneOffset -02:00), written in UTC as 1 April 01:30: a Q1 credit. It is used on
    2 April: the yield loss is Q2's."""
    events = [
        *(e for e in chain() if e.eventID not in ("urn:uuid:r-S1", "urn:uuid:t-P1")),
        replace(received("S1", 40, 0), eventTime=datetime(2025, 4, 1, 1, 30, tzinfo=UTC),
                eventTimeZoneOffset="-02:00"),
        replace(at(PCAM, transform("P1", {"S1": 40, "CN": 40}, {"P1": (76, 0.2)}, 0)),
                eventTime=datetime(2025, 4, 2, 8, tzinfo=UTC)),
    ]  # fmt: skip
    q1, q2 = custody(events).accounts[node_id(PCAM), LOW, "Co"].statements()
    assert (q1.period, q1.credits, q1.losses) == ("2025-Q1", pytest.approx(8.0), 0.0)
    assert (q2.period, q2.credits, q2.losses) == ("2025-Q2", 0.0, pytest.approx(0.4))
    assert q2.opening == pytest.approx(8.0)


def test_a_claimed_input_without_an_element_figure_makes_the_claim_unknown_not_zero() -> None:
    """OX, ore from the certified mine with no element figure, carries origin:MA, kg unknown.
    Refined with O1 into SX, SX's MA share of its cobalt is unknown (not 0, not removed), and a
    note names OX."""
    events = [
        *chain(),
        at(MINE, commission("OX", 300, None, 2)),
        at(REFINERY, transform("SX", {"O1": 500, "OX": 300}, {"SX": (40, 0.2)}, 4)),
    ]
    state = custody(events)
    assert state.claimed(node_id(lot("OX")))[MA] == {"Co": None, "Ni": None, "Li": None}
    assert state.claimed(node_id(lot("SX")))[MA] == {"Co": None}
    (unknown,) = [n for n in state.notes if n.event == "urn:uuid:t-SX" and n.claim == MA]
    assert unknown.lots == (node_id(lot("OX")),)
    assert f"Co or its claimed share unknown on {node_id(lot('OX'))}" in unknown.text
    assert "share of Co unknown" in unknown.text


def test_a_credit_of_unknown_kg_is_named_and_the_period_incomplete() -> None:
    """SX, low-carbon sulfate the refinery made with no element figure, received at the pCAM
    plant (mass balance): its Co credit is unknown, not 0 kg; the quarter says so."""
    events = [
        *chain(),
        at(REFINERY, transform("SX", {"O2": 100}, {"SX": (10, None)}, 4)),
        replace(received("S1", 40, 6), eventID="urn:uuid:r-SX",
                quantityList=(QuantityElement(lot("SX"), 10, "KGM"),)),
    ]  # fmt: skip
    state = custody(events)
    (quarter,) = state.accounts[node_id(PCAM), LOW, "Co"].statements()
    assert quarter.credits == pytest.approx(8.0)  # S1 only: SX's is not counted as 0 kg
    assert quarter.unknown == [f"urn:uuid:r-SX {node_id(lot('SX'))}"]
    (note,) = [n for n in state.notes if n.event == "urn:uuid:r-SX"]
    assert note.lots == (node_id(lot("SX")),) and "credit of Co, Ni, Li unknown" in note.text
