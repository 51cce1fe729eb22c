"""Chain of custody over the store: rules kept, claims and accounts recomputed from the
stored events equal to the same events in memory, allocations checked then captured."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from batterytrace.custody.claims import Claim
from batterytrace.custody.flows import Custody
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Document, Event
from batterytrace.errors import CustodyError, PeriodClosed
from batterytrace.masterdata import read_master_data
from batterytrace.scenario.generator import generate
from batterytrace.services import custody as custody_service
from batterytrace.services import derived, masterdata
from batterytrace.services import events as events_service
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import custody as custody_store
from batterytrace.store.imported import Imported
from batterytrace.store.lineage import StoreLineage
from batterytrace.trace.lineage import EventLineage, node_id
from factories import (
    CERTIFIED_MINE,
    CUSTODY_RULES,
    PCAM,
    REFINERY,
    T0,
    allocate,
    close_period,
    custody_chain,
    custody_sites,
    lot,
    received,
    transfer,
)

LOW = Claim("low-carbon")


@pytest.fixture
def uow(uow: UnitOfWork) -> UnitOfWork:
    """The store with the master data of the sites the custody rules name."""
    masterdata.import_master_data(uow, custody_sites())
    return uow


def capture(uow: UnitOfWork, events: list[Event]) -> None:
    events_service.capture_document(uow, Document(creationDate=T0, events=events))


def in_memory(events: list[Event]) -> Custody:
    state = Custody(CustodyRules.from_json(CUSTODY_RULES), EventLineage(events))
    for event in sorted(events, key=lambda e: e.eventTime):
        state.apply(event)
    return state


def test_rules_are_kept_and_replaced(uow: UnitOfWork) -> None:
    rules = CustodyRules.from_json(CUSTODY_RULES)
    assert custody_service.import_rules(uow, rules) == Imported(added=4)
    assert custody_service.rules(uow) == rules
    assert custody_service.import_rules(uow, CustodyRules()) == Imported(removed=4)
    assert custody_service.rules(uow) == CustodyRules()


def test_the_store_recomputes_what_memory_computes(uow: UnitOfWork) -> None:
    events = custody_chain()
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    capture(uow, events)
    stored, memory = custody_service.state(uow), in_memory(events)
    assert {lot: stored.claimed(lot) for lot in stored.lots} == {
        lot: memory.claimed(lot) for lot in memory.lots
    }
    assert {key: a.statements() for key, a in stored.accounts.items()} == {
        key: a.statements() for key, a in memory.accounts.items()
    }
    assert stored.notes == memory.notes
    assert stored.accounts[node_id(PCAM), LOW, "Co"].balance == pytest.approx(7.6)


def test_allocations_are_checked_then_captured(uow: UnitOfWork) -> None:
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    capture(uow, custody_chain())
    count = events_service.count(uow, {})
    allocate(uow, lot("P1"), LOW, {"Co": 5.0}, PCAM)
    assert events_service.count(uow, {}) == count + 1
    assert custody_service.state(uow).claimed(node_id(lot("P1")))[LOW] == {"Co": pytest.approx(5.0)}
    with pytest.raises(CustodyError, match=r"exceeds the balance of 2\.6 kg by 2\.4 kg"):
        allocate(uow, lot("P1"), LOW, {"Co": 5.0}, PCAM)  # the same credit a second time
    assert events_service.count(uow, {}) == count + 1  # nothing captured
    with pytest.raises(ValidationError, match="'Fe' is not one of Co, Ni, Li"):
        allocate(uow, lot("P1"), LOW, {"Fe": 1.0}, PCAM)


def test_a_late_receipt_recomputes_the_periods_it_falls_in(uow: UnitOfWork) -> None:
    """The pCAM step runs in the second quarter; its input's receipt, dated in the first, is
    captured after it: the credit moves to the first quarter, and the change is reported."""
    events = custody_chain()
    receipt = next(e for e in events if e.bizStep == "receiving")
    late_step = [
        replace(e, eventTime=T0 + timedelta(days=100)) if e.eventID == "urn:uuid:t-P1" else e
        for e in events
        if e is not receipt
    ]
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    capture(uow, late_step)
    before = derived.changes(uow).version
    capture(uow, [receipt])
    found = derived.changes(uow, since=before)
    (account,) = [c for c in found.changes if c.area == "custody.account"]
    assert account.key == f"{node_id(PCAM)} low-carbon Co"
    assert account.summary() == (
        "statements[2025-Q1]: new; statements[2025-Q2].credits: 8.0 -> 0.0; "
        "statements[2025-Q2].opening: 0.0 -> 8.0"
    )
    assert derived.changes(uow, since=found.version).changes == []  # nothing new since
    q1, q2 = custody_service.state(uow).accounts[node_id(PCAM), LOW, "Co"].statements()
    assert (q1.credits, q2.opening, q2.credits, q2.closing) == (8, 8, 0, pytest.approx(7.6))


def test_a_closed_period_refuses_what_is_recorded_later(uow: UnitOfWork) -> None:
    events = custody_chain()
    receipt = next(e for e in events if e.bizStep == "receiving")
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    capture(uow, [e for e in events if e is not receipt])
    close_period(uow, PCAM, LOW, "2025-Q1")
    with pytest.raises(PeriodClosed, match="period 2025-Q1 is closed already"):
        close_period(uow, PCAM, LOW, "2025-Q1")
    with pytest.raises(CustodyError, match="runs origin:MA segregated: it keeps no account"):
        close_period(uow, PCAM, Claim("origin", "MA"), "2025-Q1")
    with pytest.raises(CustodyError, match="period 2099-Q1 has not ended"):
        close_period(uow, PCAM, LOW, "2099-Q1")
    capture(uow, [receipt])  # dated in the closed quarter, recorded after it closed
    state = custody_service.state(uow)
    (late,) = state.violations
    assert late.event == receipt.eventID and "falls in period 2025-Q1, closed at" in late.text
    (q1,) = state.accounts[node_id(PCAM), LOW, "Co"].statements()[:1]
    assert q1.closed and q1.credits == pytest.approx(8.0)  # credited when the pCAM step used S1


BOOKED = {
    "origins": [{"claim": "recycled", "site": REFINERY, "evidence": {"reference": "R-1"}}],
    "policies": [
        {"site": site, "claim": "recycled", "model": model, "period": "year"}
        for site, model in ((REFINERY, "book-and-claim"), (PCAM, "book-and-claim"),
                            (CERTIFIED_MINE, "mass-balance"))
    ],
}  # fmt: skip


def test_book_and_claim_credits_move_apart_from_the_material(uow: UnitOfWork) -> None:
    """The refinery's output is recycled (its rules say so) and it runs the claim book and
    claim: S1's 8 kg and S2's 10 kg of cobalt become credits there, not claims on the lots.
    It sells 3 kg of them to the pCAM plant, which claims them on a lot it never handled."""
    recycled = Claim("recycled")
    custody_service.import_rules(uow, CustodyRules.from_json(BOOKED))
    capture(uow, custody_chain())
    assert recycled not in custody_service.state(uow).claimed(node_id(lot("S1")))
    assert custody_service.state(uow).accounts[
        node_id(REFINERY), recycled, "Co"
    ].balance == pytest.approx(18)
    transfer(uow, REFINERY, PCAM, recycled, {"Co": 3.0})
    state = custody_service.state(uow)
    assert state.accounts[node_id(REFINERY), recycled, "Co"].balance == pytest.approx(15)
    assert state.accounts[node_id(PCAM), recycled, "Co"].balance == pytest.approx(3)
    allocate(uow, lot("O2"), recycled, {"Co": 3.0}, PCAM)  # no physical link needed
    assert custody_service.state(uow).claimed(node_id(lot("O2")))[recycled] == {
        "Co": pytest.approx(3)
    }
    with pytest.raises(CustodyError, match=r"exceeds the balance of 15 kg by 5 kg"):
        transfer(uow, REFINERY, PCAM, recycled, {"Co": 20.0})
    with pytest.raises(CustodyError, match="runs it mass-balance, not book-and-claim"):
        transfer(uow, REFINERY, CERTIFIED_MINE, recycled, {"Co": 1.0})
    with pytest.raises(ValidationError, match="greater than 0"):
        transfer(uow, REFINERY, PCAM, recycled, {"Co": -1.0})


def test_mass_balance_claims_only_the_sites_own_material(uow: UnitOfWork) -> None:
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    capture(uow, custody_chain())
    with pytest.raises(CustodyError, match="which neither made nor received it"):
        allocate(uow, lot("O2"), LOW, {"Co": 1.0}, PCAM)


def test_the_scenario_recompute_reads_what_decoding_each_event_reads(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """The recompute reads the event columns, the figures capture derived and the index, not
    each event's JSON (issue 13, point 14): on the scenario, allocations included, its
    accounts, balances, claims per lot, notes and violations are those of every event decoded
    into the model and applied, as the recompute did before."""
    out = tmp_path / "scenario"
    generate(out, 0.0003, seed=7)
    for path in sorted(out.glob("events-*.jsonld")):
        events_service.capture(uow, path)
    masterdata.import_master_data(uow, read_master_data(out / "masterdata.json"))
    rules = CustodyRules.from_json(orjson.loads((out / "custody.json").read_bytes()))
    custody_service.import_rules(uow, rules)
    state = custody_service.state(uow)
    with uow.engine.connect() as conn:
        decoded = Custody(rules, StoreLineage(conn), custody_store.closes(conn))
        for event in custody_store.lot_events(conn):
            decoded.apply(event)
        decoded.finish()
    allocations = [n for n in decoded.notes + decoded.violations if "allocation" in n.text]
    claimed = [lot for lot in decoded.lots if decoded.claimed(lot)]
    assert decoded.accounts and claimed and not allocations  # something to compare
    assert any(s.debits for a in decoded.accounts.values() for s in a.statements())
    assert state.accounts.keys() == decoded.accounts.keys()
    for key, account in decoded.accounts.items():
        assert state.accounts[key].balance == account.balance, key
        assert state.accounts[key].statements() == account.statements(), key
        assert state.accounts[key].statements() == account.statements(), key
    assert {lot: state.claimed(lot) for lot in state.lots} == {
        lot: decoded.claimed(lot) for lot in decoded.lots
    }
    assert (state.notes, state.violations) == (decoded.notes, decoded.violations)


def _with_a_late_receipt(uow: UnitOfWork) -> None:
    """The custody chain (S1's 8 kg Co credited at the pCAM plant in 2025-Q1, 0.4 kg lost by
    the P1 step: 7.6 kg) and S2 (50 kg at 20 % = 10 kg Co) received there in 2099-Q1, so the
    account runs to a period after today (as the scenario's run to 2031)."""
    late = (datetime(2099, 1, 10, tzinfo=UTC) - T0).days
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    capture(uow, [*custody_chain(), received("S2", 50, late)])


def _debits(uow: UnitOfWork) -> dict[str, float]:
    statements = custody_service.state(uow).accounts[node_id(PCAM), LOW, "Co"].statements()
    return {s.period: s.debits for s in statements if s.debits}


def test_an_allocation_at_a_date_debits_that_period(uow: UnitOfWork) -> None:
    """Issue 13.7: allocating at a date inside a period books it there, whatever periods the
    account has after it (the old code refused every allocation once a later period began)."""
    _with_a_late_receipt(uow)
    count = events_service.count(uow, {})
    allocate(uow, lot("P1"), LOW, {"Co": 5.0}, PCAM, at=T0 + timedelta(days=20))
    assert events_service.count(uow, {}) == count + 1
    assert _debits(uow) == {"2025-Q1": 5.0}
    account = custody_service.state(uow).accounts[node_id(PCAM), LOW, "Co"]
    assert account.balance == pytest.approx(7.6 - 5.0 + 10.0)
    assert custody_service.state(uow).claimed(node_id(lot("P1")))[LOW] == {"Co": pytest.approx(5.0)}


def test_an_allocation_without_a_date_is_dated_now(uow: UnitOfWork) -> None:
    _with_a_late_receipt(uow)
    before = datetime.now(UTC)
    event = allocate(uow, lot("P1"), LOW, {"Co": 2.0}, PCAM)
    after = datetime.now(UTC)
    (stored,) = events_service.query_all(uow, {"EQ_eventID": [event]})
    assert before - timedelta(milliseconds=1) <= stored.eventTime <= after
    period = f"{stored.eventTime.year}-Q{(stored.eventTime.month - 1) // 3 + 1}"
    assert _debits(uow) == {period: 2.0}


def test_a_backdated_allocation_may_not_overdraw_a_later_one(uow: UnitOfWork) -> None:
    """7.6 kg in 2025-Q1; 5 kg allocated in Q2 leaves 2.6 kg. Another 5 kg dated in Q1 would
    leave the Q2 allocation 2.4 kg short: refused, naming it, nothing captured."""
    _with_a_late_receipt(uow)
    later = allocate(uow, lot("P1"), LOW, {"Co": 5.0}, PCAM, at=T0 + timedelta(days=100))
    count = events_service.count(uow, {})
    with pytest.raises(CustodyError, match=rf"{later}: .*exceeds the balance of 2\.6 kg by 2\.4"):
        allocate(uow, lot("P1"), LOW, {"Co": 5.0}, PCAM, at=T0 + timedelta(days=20))
    assert events_service.count(uow, {}) == count
    assert _debits(uow) == {"2025-Q2": 5.0}


def test_an_allocation_in_a_closed_period_is_refused(uow: UnitOfWork) -> None:
    _with_a_late_receipt(uow)
    close_period(uow, PCAM, LOW, "2025-Q1")
    count = events_service.count(uow, {})
    with pytest.raises(CustodyError, match=r"on 2025-01-21 falls in period 2025-Q1, closed at"):
        allocate(uow, lot("P1"), LOW, {"Co": 1.0}, PCAM, at=T0 + timedelta(days=20))
    assert events_service.count(uow, {}) == count
    allocate(uow, lot("P1"), LOW, {"Co": 1.0}, PCAM, at=T0 + timedelta(days=100))
    assert _debits(uow) == {"2025-Q2": 1.0}


def test_a_transfer_at_a_date_moves_credits_then(uow: UnitOfWork) -> None:
    """The refinery's 18 kg of recycled credits (2025, yearly accounts): 3 kg moved on
    2025-06-01 leave 15 kg there, 3 kg at the pCAM plant, both in 2025; once 2025 is closed at
    the refinery, a transfer dated in it is refused, one dated in 2026 is not."""
    recycled = Claim("recycled")
    custody_service.import_rules(uow, CustodyRules.from_json(BOOKED))
    capture(uow, custody_chain())
    transfer(uow, REFINERY, PCAM, recycled, {"Co": 3.0}, at=datetime(2025, 6, 1, tzinfo=UTC))
    state = custody_service.state(uow)
    (source,) = state.accounts[node_id(REFINERY), recycled, "Co"].statements()
    (target,) = state.accounts[node_id(PCAM), recycled, "Co"].statements()
    assert (source.period, source.debits, source.closing) == ("2025", 3.0, pytest.approx(15))
    assert (target.period, target.credits, target.closing) == ("2025", 3.0, 3.0)
    close_period(uow, REFINERY, recycled, "2025")
    with pytest.raises(CustodyError, match=r"on 2025-07-01 falls in period 2025, closed at"):
        transfer(uow, REFINERY, PCAM, recycled, {"Co": 1.0}, at=datetime(2025, 7, 1, tzinfo=UTC))
    transfer(uow, REFINERY, PCAM, recycled, {"Co": 1.0}, at=datetime(2026, 1, 2, tzinfo=UTC))
    state = custody_service.state(uow)
    assert state.accounts[node_id(PCAM), recycled, "Co"].balance == pytest.approx(4.0)
    assert state.accounts[node_id(REFINERY), recycled, "Co"].balance == pytest.approx(14.0)


def test_streamed_reads_leave_the_connection_unstreamed(uow: UnitOfWork) -> None:
    """Custody and lineage stream their long reads per statement: the connection they were
    given keeps its options, so a later statement on it is neither streamed nor held open."""
    capture(uow, custody_chain())
    with uow.engine.connect() as conn:
        list(custody_store.lot_events(conn))
        list(custody_store.movements(conn))
        list(StoreLineage(conn).transformations())
        assert "yield_per" not in conn.get_execution_options()
        assert "stream_results" not in conn.get_execution_options()
