"""Issue 14.2: after every step of a random history (the chain's events captured in any order,
late and twice; rules imported and replaced, book and claim too; allocations and transfers,
some refused, late ones included; allocations captured unchecked, late ones leaving later ones
uncovered; shipments on any day; periods closed; carbon activity data and factor sets
imported, a set put in use and back; an agreement imported and replaced, shipments under it
and not) every kept unit (custody, footprints, contract shipments) equals a fresh
recomputation, on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import BizTransaction, Document, Event
from batterytrace.errors import CustodyError, FactorError, ImportConflict
from batterytrace.services import carbon, contracts, custody, derived, masterdata
from batterytrace.services import events as events_service
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.trace.lineage import node_id
from factories import (
    CUSTODY_RULES,
    PCAM,
    REFINERY,
    T0,
    allocation,
    at,
    custody_chain,
    custody_sites,
    empty_store,
    event_reads,
    lot,
    received,
)

PO = "urn:epcglobal:cbv:bt:6111111000009:PO-1"
# the chain, with the refinery's shipments: S1 under the agreement's purchase order, S2 (the
# agreement's product too) naming none, a finding
_SHIPPED = [
    replace(at(REFINERY, received(name, kg, day)), eventID=f"urn:uuid:s-{name}",
            bizStep="shipping", bizTransactionList=orders)
    for name, kg, day, orders in (("S1", 40, 5, (BizTransaction(PO, "po"),)),
                                  ("S2", 50, 7, ()))
]  # fmt: skip
CHAIN = [*custody_chain(), *_SHIPPED]
AGREEMENT = {
    "id": "urn:uuid:agreement-1", "buyer": "urn:epc:id:pgln:3700000.00000",
    "seller": "urn:epc:id:pgln:6111111.00000", "product": "urn:epc:idpat:sgtin:6111111.000101.*",
    "formula": "CoSO4·7H2O", "startYear": 2025, "years": 2, "deliveryTerms": "DAP",
    "deliverySite": PCAM, "purchaseOrders": [PO],
}  # fmt: skip
_FACTORS = """id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,\
gwp,source,reference
diesel,Diesel,fuel,,L,{value},GLO,2025,1.1,,,0,AR6,test,https://example.org
"""
PERIODS = ("quarter", "month", "year")


def _rules(period: str, booked: bool = False) -> CustodyRules:
    """The chain's rules, their period that given; ``booked``: the refinery's output recycled
    too, credited to the refinery and the pCAM plant under book and claim."""
    policies = [{**CUSTODY_RULES["policies"][0], "period": period}]
    origins = list(CUSTODY_RULES["origins"])
    if booked:
        origins.append({"claim": "recycled", "site": REFINERY, "evidence": {"reference": "R-1"}})
        policies += [{"site": site, "claim": "recycled", "model": "book-and-claim",
                      "period": period} for site in (REFINERY, PCAM)]  # fmt: skip
    return CustodyRules.from_json({"origins": origins, "policies": policies})


class KeptState(RuleBasedStateMachine):
    store: UnitOfWork  # set by the test: one store per backend, emptied for each history

    def __init__(self) -> None:
        super().__init__()
        empty_store(self.store)
        self.uow = unit_of_work(self.store.url, self.store.key_path)
        masterdata.import_master_data(self.store, custody_sites())

    @initialize(litres=st.one_of(st.none(), st.integers(1, 500)))
    def start(self, litres: int | None) -> None:
        """A store with carbon data from the start, or none (captures then go on from the kept
        footprints, decision 034)."""
        if litres is not None:
            self.import_activity(REFINERY, litres)

    @rule(picked=st.lists(st.sampled_from(range(len(CHAIN))), min_size=1, max_size=4))
    def capture(self, picked: list[int]) -> None:
        """Some events of the chain, in any order, again or for the first time (a late event
        is one dated before what is stored)."""
        events = [CHAIN[i] for i in picked]
        events_service.capture_document(self.store, Document(creationDate=T0, events=events))

    @rule(period=st.sampled_from(PERIODS), booked=st.booleans())
    def import_rules(self, period: str, booked: bool) -> None:
        with suppress(CustodyError):  # refused: periods closed at another length
            custody.import_rules(self.uow, _rules(period, booked))

    @rule(kg=st.floats(0.5, 9.0), day=st.integers(0, 120))
    def allocate(self, kg: float, day: int) -> None:
        command = custody.Allocate(lot=lot("P1"), claim="low-carbon", kg={"Co": kg}, site=PCAM,
                                   at=T0 + timedelta(days=day))  # fmt: skip
        with suppress(CustodyError):  # refused (no policy, an overdraft, a closed period)
            custody.allocate(self.uow, command)

    @rule(kg=st.floats(0.5, 9.0), day=st.integers(0, 120))
    def capture_allocation(self, kg: float, day: int) -> None:
        """An allocation captured as it came, not checked: late ones go on from the month they
        fall in (decision 035), and may leave later ones uncovered."""
        event = replace(allocation("P1", "low-carbon", kg, day), eventID=f"urn:uuid:a-{kg}-{day}")
        events_service.capture_document(self.store, Document(creationDate=T0, events=[event]))

    @rule(shipped=st.sampled_from(_SHIPPED), day=st.integers(0, 120))
    def capture_shipment(self, shipped: Event, day: int) -> None:
        """A shipment of S1 or S2 again, on any day: late ones go on from their month."""
        event = replace(shipped, eventID=f"{shipped.eventID}-{day}",
                        eventTime=T0 + timedelta(days=day))  # fmt: skip
        events_service.capture_document(self.store, Document(creationDate=T0, events=[event]))

    @rule(period=st.sampled_from(("2025-01", "2025-Q1", "2025")))
    def close(self, period: str) -> None:
        with suppress(CustodyError):  # another period length, closed already, no account
            custody.close(self.uow, custody.Close(site=PCAM, claim="low-carbon", period=period))

    @rule(kg=st.floats(0.5, 9.0), day=st.integers(0, 120),
          claim=st.sampled_from(("low-carbon", "recycled")))  # fmt: skip
    def transfer(self, kg: float, day: int, claim: str) -> None:
        """Credits moved at a date: low-carbon ones (mass balance: refused), recycled ones
        from the refinery (book and claim, when the rules say so), late ones included."""
        source, target = (PCAM, REFINERY) if claim == "low-carbon" else (REFINERY, PCAM)
        command = custody.Transfer(source=source, target=target, claim=claim, kg={"Co": kg},
                                   at=T0 + timedelta(days=day))  # fmt: skip
        with suppress(CustodyError):  # refused (no account, an overdraft, a closed period)
            custody.transfer(self.uow, command)

    @rule(site=st.sampled_from((REFINERY, PCAM)), litres=st.integers(1, 500))
    def import_activity(self, site: str, litres: int) -> None:
        data = {"activities": [{"site": site, "period": "2025", "kind": "fuel",
                                "factor": "diesel", "amount": litres, "unit": "L"}]}  # fmt: skip
        with suppress(ImportConflict):  # the datum stated already with another amount
            carbon.import_carbon(self.uow, from_json(data, "model.json"), "model.json")

    @rule(value=st.sampled_from((2.0, 3.0)), use=st.booleans())
    def factor_set(self, value: float, use: bool) -> None:
        """A set of one factor (the same label, the same value again: nothing changes), put in
        use or the shipped set back."""
        csv = _FACTORS.format(value=value)
        with suppress(ImportConflict):  # test@1 stored already with the other value
            carbon.import_factors(self.uow, read_csv(csv, "test", "1"))
        with suppress(FactorError):  # not stored (never happens: imported just above)
            carbon.use_factors(self.uow, "test@1" if use else "batterytrace@2026.1")

    @rule(annual_kg=st.sampled_from((1000, 2000)))
    def import_agreement(self, annual_kg: int) -> None:
        """The agreement (the same again: nothing changes), its volume replaced or not."""
        agreement = Agreement.from_json({**AGREEMENT, "annualKg": annual_kg})
        contracts.import_contracts(self.uow, [agreement])

    @invariant()
    def kept_equals_recomputed(self) -> None:
        assert derived.check(self.uow) is None

    def teardown(self) -> None:
        self.uow.close()


def test_kept_state_equals_a_recomputation_after_every_step(uow: UnitOfWork) -> None:
    KeptState.store = uow
    run_state_machine_as_test(
        KeptState,
        settings=settings(
            max_examples=12, stateful_step_count=8, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )  # fmt: skip


def test_the_kept_state_is_refreshed_by_each_write_without_a_read(uow: UnitOfWork) -> None:
    """The follow-up step runs by itself: after a capture, an import or an allocation the kept
    state is at the ledger's version, no read having asked for it."""
    masterdata.import_master_data(uow, custody_sites())
    custody.import_rules(uow, _rules("quarter"))
    assert derived.check(uow) is None
    events_service.capture_document(uow, Document(creationDate=T0, events=CHAIN))
    assert derived.check(uow) is None
    command = custody.Allocate(lot=lot("P1"), claim="low-carbon", kg={"Co": 2.0}, site=PCAM)
    custody.allocate(uow, command)
    assert derived.check(uow) is None


@pytest.mark.parametrize("period", PERIODS)
def test_rules_of_each_period_length_refresh(uow: UnitOfWork, period: str) -> None:
    masterdata.import_master_data(uow, custody_sites())
    events_service.capture_document(uow, Document(creationDate=T0, events=CHAIN))
    custody.import_rules(uow, _rules(period))
    (account,) = [a for a in custody.balances(uow, PCAM).accounts if a.element == "Co"]
    assert account.period == period and derived.check(uow) is None


def test_deliveries_go_on_from_the_kept_ones_or_from_the_month_of_a_late_event(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decisions 033 and 035 for contract shipments: events after the latest one taken are
    taken from the kept deliveries (only they are read); a late one goes on from the month it
    falls in (the events from then on read again), or, in the first month, recomputes; S1
    ships under the purchase order and is delivered at the pCAM plant, S2's shipments name no
    agreement (a finding each, in time order)."""
    masterdata.import_master_data(uow, custody_sites())
    contracts.import_contracts(uow, [Agreement.from_json({**AGREEMENT, "annualKg": 1000})])
    first, s2_shipped = CHAIN[:5], CHAIN[8]  # up to day 4
    events_service.capture_document(uow, Document(creationDate=T0, events=first))
    read = event_reads(monkeypatch, "lot_events")
    # S1 shipped (day 5), received at the plant (6), P1 made (8); S2 shipped (7)
    in_time = [CHAIN[7], CHAIN[5], CHAIN[6], s2_shipped]
    events_service.capture_document(uow, Document(creationDate=T0, events=in_time[:1]))
    state, _ = contracts.deliveries(uow)
    assert read and all(after > 0 for after, _ in read)
    (shipment,) = state.shipments[AGREEMENT["id"]].values()
    assert shipment.lot == node_id(lot("S1")) and shipment.shipped and shipment.delivered is None
    events_service.capture_document(uow, Document(creationDate=T0, events=in_time[1:3]))
    state, _ = contracts.deliveries(uow)
    assert all(after > 0 for after, _ in read)
    assert state.shipments[AGREEMENT["id"]][shipment.lot].delivered
    events_service.capture_document(uow, Document(creationDate=T0, events=in_time[3:]))
    state, _ = contracts.deliveries(uow)
    assert (0, None) in read  # S2 shipped on day 7, before P1 was made on day 8: late
    assert [f.event for f in state.findings] == ["urn:uuid:s-S2"]
    assert derived.check(uow) is None
    s2_again = [replace(s2_shipped, eventID=f"urn:uuid:s-S2-{day}",
                        eventTime=T0 + timedelta(days=day)) for day in (70, 40)]  # fmt: skip
    events_service.capture_document(uow, Document(creationDate=T0, events=s2_again[:1]))
    read.clear()
    events_service.capture_document(uow, Document(creationDate=T0, events=s2_again[1:]))
    state, _ = contracts.deliveries(uow)  # 10 February, after 12 March: from February on
    assert (0, None) not in read and {since for _, since in read if since} == {T0 + timedelta(31)}
    assert [f.event for f in state.findings] == [f"urn:uuid:s-S2{n}" for n in ("", "-40", "-70")]
    assert derived.check(uow) is None
