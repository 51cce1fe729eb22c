"""services.derived: the kept custody state is what a recomputation gives, at the version it
says; a refresh is one transaction; a tampered row is named (decision 029)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from batterytrace.carbon.activity import from_json
from batterytrace.custody import flows
from batterytrace.custody.claims import Claim
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Action, BizTransaction, Document, Event, Extension, Location
from batterytrace.errors import BatteryTraceError, CustodyError
from batterytrace.masterdata import BT, Site, SiteRole
from batterytrace.services import carbon, custody, derived, events, masterdata
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import Unit, UnitOfWork, version
from batterytrace.store import custody as custody_store
from batterytrace.store import derived as kept_rows
from batterytrace.store import schema
from batterytrace.trace.lineage import node_id
from factories import (
    CUSTODY_RULES,
    PCAM,
    REFINERY,
    T0,
    allocation,
    at,
    commission,
    custody_chain,
    custody_sites,
    event_reads,
    lot,
    received,
)

ACCOUNT = f"{node_id(PCAM)} low-carbon Co"


@pytest.fixture
def stocked(uow: UnitOfWork) -> UnitOfWork:
    masterdata.import_master_data(uow, custody_sites())
    custody.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))
    return uow


def _allocate(uow: UnitOfWork, kg: float) -> custody.Allocated:
    command = custody.Allocate(lot=lot("P1"), claim="low-carbon", kg={"Co": kg}, site=PCAM)
    return custody.allocate(uow, command)


def _watermark(uow: UnitOfWork) -> int | None:
    with uow.reading() as conn:
        return kept_rows.watermark(conn, custody.AREA)


def test_kept_rows_are_the_recomputed_state_at_the_ledger_version(stocked: UnitOfWork) -> None:
    """Each write was followed by a refresh: the kept state is at the ledger's version and
    equals a recomputation row for row; an answer carries that version."""
    read = custody.balances(stocked, PCAM)
    with stocked.reading() as conn:
        assert read.version == version(conn) == kept_rows.watermark(conn, custody.AREA)
    assert derived.check(stocked) is None
    (low,) = [a for a in read.accounts if a.claim == "low-carbon" and a.element == "Co"]
    assert low.balance == pytest.approx(7.6)  # the chain's low-carbon Co credits at PCAM
    state = custody.state(stocked)
    account = state.accounts[node_id(PCAM), Claim("low-carbon"), "Co"]
    assert low.balance == account.balance
    assert [s.closing for s in low.statements] == [s.closing for s in account.statements()]


def test_a_write_without_its_follow_up_is_caught_up_by_the_next_read(
    stocked: UnitOfWork,
) -> None:
    """A write whose refresh did not run (a crash between the two, or a unit of work built
    without it) leaves the kept state behind: verify says so, and the next read catches up."""
    bare = UnitOfWork(stocked.url, stocked.key_path)  # no follow-up
    before = _watermark(stocked)
    done = custody.allocate(bare, custody.Allocate(
        lot=lot("P1"), claim="low-carbon", kg={"Co": 2.0}, site=PCAM))  # fmt: skip
    behind = derived.check(stocked)
    assert behind is not None and behind.area == ""
    assert (behind.kept_version, behind.version) == (before, done.version)
    report = custody.report(bare, lot("P1"))
    assert report.version == done.version == _watermark(stocked)
    waiting = derived.check(stocked)  # the other units catch up at their next read
    assert waiting is not None and waiting.unit != custody.AREA
    derived.refresh(stocked)
    assert derived.check(stocked) is None
    bare.close()


def test_a_write_moves_the_ledger_and_the_next_read_catches_up(stocked: UnitOfWork) -> None:
    custody.balances(stocked)
    before = _watermark(stocked)
    done = _allocate(stocked, 2.0)
    assert done.version > (before or 0)
    report = custody.report(stocked, lot("P1"))
    assert report.version == done.version == _watermark(stocked)
    (carried,) = [c for c in report.claims if c.claim == "low-carbon"]
    assert carried.elements["Co"].kg == pytest.approx(2.0)
    assert derived.check(stocked) is None


def test_a_tampered_or_missing_row_is_named(stocked: UnitOfWork) -> None:
    derived.refresh(stocked)
    with stocked.engine.begin() as conn:
        conn.execute(
            update(schema.derived_row)
            .where(schema.derived_row.c.key == ACCOUNT)
            .values(content=schema.derived_row.c.content + " ")
        )
    found = derived.check(stocked)
    assert found is not None and (found.area, found.key) == ("custody.account", ACCOUNT)
    assert found.kept is not None and found.recomputed is not None
    rebuilt = derived.refresh(stocked, every=True)
    assert rebuilt.changed == [("custody.account", ACCOUNT)]
    assert derived.check(stocked) is None
    with stocked.engine.begin() as conn:
        conn.execute(delete(schema.derived_row).where(schema.derived_row.c.key == ACCOUNT))
    missing = derived.check(stocked)
    assert missing is not None and missing.key == ACCOUNT and missing.kept is None


def test_rows_an_older_version_laid_out_are_recomputed_never_read(stocked: UnitOfWork) -> None:
    """A store kept by a version whose rows were laid out otherwise (before decision 034 the
    footprints were figures per product): `verify --derived` says so, and the next read
    recomputes them before reading."""
    derived.refresh(stocked)
    with stocked.engine.begin() as conn:
        conn.execute(
            update(schema.derived_row)
            .where(schema.derived_row.c.area == "custody.account")
            .values(content='{"laid out": "otherwise"}')
        )
        (text,) = conn.execute(
            select(schema.derived_state.c.inputs).where(schema.derived_state.c.area == custody.AREA)
        ).one()
        old = " ".join(text.split()[:4])  # "event N import M": written before layouts
        conn.execute(
            update(schema.derived_state)
            .where(schema.derived_state.c.area == custody.AREA)
            .values(inputs=old)
        )
    found = derived.check(stocked)
    assert found is not None and str(found) == (
        "kept custody rows are laid out by an older version of batterytrace: run "
        "`batterytrace rebuild`"
    )
    balances = custody.balances(stocked, PCAM)  # recomputed, then read
    assert [a.balance for a in balances.accounts] == [pytest.approx(7.6)]
    assert derived.check(stocked) is None


def test_a_refresh_that_fails_half_way_leaves_the_state_before(
    stocked: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The allocation commits, then its refresh writes the rows of one area and dies: nothing
    of the refresh stays (rows and watermark are of the version before), the allocation does,
    and the next read brings the kept state up to date."""
    with stocked.reading() as conn:
        rows_before = conn.execute(select(schema.derived_row).order_by("area", "key")).all()
    before = _watermark(stocked)
    write = kept_rows.replace  # what both a recomputation and a resumption write through

    def dies(conn, unit, areas, *rest, **named):  # type: ignore[no-untyped-def]
        write(conn, unit, dict(list(areas.items())[:1]), *rest, **named)
        raise RuntimeError("killed")

    monkeypatch.setattr(kept_rows, "replace", dies)
    with pytest.raises(RuntimeError, match="killed"):
        _allocate(stocked, 2.0)
    with stocked.reading() as conn:
        assert conn.execute(select(schema.derived_row).order_by("area", "key")).all() == rows_before
        assert version(conn) == (before or 0) + 1  # the allocation was kept
    assert _watermark(stocked) == before
    monkeypatch.undo()
    report = custody.report(stocked, lot("P1"))
    assert report.version == _watermark(stocked) == (before or 0) + 1
    derived.refresh(stocked)  # the other units, which no read caught up yet
    assert derived.check(stocked) is None


def test_a_write_recomputes_only_the_units_that_read_what_it_wrote(
    stocked: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custody transfer and close are custody import records: the footprints and contract
    shipments, which read neither, move their watermark without a recomputation; a carbon
    import leaves custody alone the same way; a capture (events) recomputes every unit. The
    kept state equals a recomputation after each."""
    counted: dict[str, int] = dict.fromkeys((u.name for u in derived.UNITS), 0)

    def counting(unit: Unit) -> Unit:
        def recompute(conn: Any, decoded: Any) -> Any:
            counted[unit.name] += 1
            return unit.recompute(conn, decoded)

        return dataclasses.replace(unit, recompute=recompute, resume=None)

    def recomputed() -> dict[str, int]:
        found = dict(counted)
        counted.update(dict.fromkeys(counted, 0))
        return found

    monkeypatch.setattr(derived, "UNITS", tuple(counting(u) for u in derived.UNITS))
    move = custody.Transfer(source=PCAM, target=REFINERY,
                            claim="low-carbon", kg={"Co": 1.0}, at=T0.replace(month=3))  # fmt: skip
    with contextlib.suppress(BatteryTraceError):  # refused or kept: a custody record either way
        custody.transfer(stocked, move)
    custody.close(stocked, custody.Close(site=PCAM, claim="low-carbon", period="2025-Q1"))
    assert recomputed() == {"custody": 1, "carbon": 0, "contracts": 0}
    assert derived.check(stocked) is None
    recomputed()  # check recomputes every unit
    model = {"activities": [{"site": PCAM, "period": "2025", "kind": "fuel", "factor": "diesel",
                             "amount": 5, "unit": "L"}]}  # fmt: skip
    carbon.import_carbon(stocked, from_json(model, "m.json"), "m.json")
    assert recomputed() == {"custody": 0, "carbon": 1, "contracts": 0}
    later = allocation("P1", "low-carbon", 0.5, 9)  # an allocation only: custody's
    events.capture_document(stocked, Document(creationDate=T0, events=[later]))
    assert recomputed() == {"custody": 1, "carbon": 0, "contracts": 0}
    assert derived.check(stocked) is None
    recomputed()
    events.capture_document(stocked, Document(creationDate=T0, events=[received("S2", 10, 30)]))
    assert recomputed() == {"custody": 1, "carbon": 1, "contracts": 1}
    assert derived.check(stocked) is None


_ALLOCATION = allocation("P1", "low-carbon", 0.5, 40)


@pytest.mark.parametrize(
    ("event", "claims_only"),
    [
        (_ALLOCATION, True),
        (dataclasses.replace(_ALLOCATION, bizStep="shipping"), False),
        (dataclasses.replace(_ALLOCATION, action=Action.ADD), False),
        (dataclasses.replace(_ALLOCATION, extensions=(
            *_ALLOCATION.extensions, Extension(BT, "activity", "x"))), False),
        (dataclasses.replace(_ALLOCATION, extensions=()), False),
        (dataclasses.replace(_ALLOCATION, bizTransactionList=(
            BizTransaction("urn:epcglobal:cbv:bt:0614141000005:PO-1", "po"),)), False),
        (dataclasses.replace(_ALLOCATION, epcList=("urn:epc:id:sgtin:0614141.107346.2017",)),
         False),
    ],
)  # fmt: skip
def test_an_allocation_only_is_told_alike_in_the_store_and_the_domain(
    stocked: UnitOfWork, event: Event, claims_only: bool
) -> None:
    """The units that never read an allocation-only event (footprints, contract shipments)
    fingerprint the events without them: the store's SQL and custody.flows.claims_only must
    tell the same events apart."""
    assert flows.claims_only(event) is claims_only
    with stocked.reading() as conn:
        before = kept_rows.inputs_of(conn, (), allocations=False).event
    events.capture_document(stocked, Document(creationDate=T0, events=[event]))
    with stocked.reading() as conn:
        newest = kept_rows.inputs_of(conn, ()).event
        assert newest > before
        after = kept_rows.inputs_of(conn, (), allocations=False).event
    assert after == (before if claims_only else newest)


def test_what_comes_after_the_kept_state_goes_on_from_it(
    stocked: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 033: an allocation dated after every event it took is checked on, and kept
    by, the custody state gone on from the kept one, without reading an event again; equal to
    a recomputation."""
    derived.refresh(stocked)
    read = event_reads(monkeypatch, "movements")
    before = custody.balances(stocked, PCAM)
    done = _allocate(stocked, 2.0)  # dated now: after the chain
    after = custody.balances(stocked, PCAM)
    assert read and all(after > 0 and since is None for after, since in read), read
    assert after.version == done.version
    (was,), (now,) = ([a for a in r.accounts if a.claim == "low-carbon" and a.element == "Co"]
                      for r in (before, after))  # fmt: skip
    assert now.balance == pytest.approx(was.balance - 2.0)
    assert derived.check(stocked) is None


def test_a_late_entry_is_taken_again_from_the_month_it_falls_in(
    stocked: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 035: the state at the end of each month is kept; an entry dated inside what
    the state took (an allocation checked, then kept; an event captured) goes on from the
    month it falls in: the events from that month on are read again (and the new ones), not
    those before. One in the first month has nothing before it: recomputed from the start.
    Each equals a recomputation, down to later allocations the late one leaves uncovered."""
    for day in (40, 70, 100):  # February, March, April: after the chain (January)
        _allocate_on(stocked, 1.0, day)
    read = event_reads(monkeypatch, "movements")
    _allocate_on(stocked, 0.5, 65)  # 7 March
    march = datetime(2025, 3, 1, tzinfo=UTC)
    assert (0, None) not in read and {since for _, since in read if since} == {march}, read
    assert derived.check(stocked) is None
    read.clear()
    # 15 February, captured as it came (not checked): the later allocations are uncovered
    events.capture_document(stocked, Document(creationDate=T0, events=[
        allocation("P1", "low-carbon", 6.0, 45)]))  # fmt: skip
    february = datetime(2025, 2, 1, tzinfo=UTC)
    assert (0, None) not in read and {since for _, since in read if since} == {february}
    assert derived.check(stocked) is None
    violations = custody.balances(stocked, PCAM).violations  # the March and April debits
    assert len(violations) == 2
    assert all("exceeds the balance of 0.1 kg by 0.9 kg" in v.text for v in violations)
    read.clear()
    late = allocation("P1", "low-carbon", 0.1, 9)  # January: the first month kept
    events.capture_document(stocked, Document(creationDate=T0, events=[late]))
    assert (0, None) in read
    assert derived.check(stocked) is None


@pytest.mark.parametrize("current", [True, False])
def test_a_late_allocation_that_uncovers_a_later_one_is_refused(
    stocked: UnitOfWork, current: bool
) -> None:
    """Decision 022 on the state taken again from the month of the allocation (035): dated in
    February, before a March debit it would leave uncovered, it is refused; a smaller one is
    taken. Alike whether the kept state is current (the violations it adds are those beyond
    the kept ones) or behind the ledger (a unit of work without its refresh: found again
    without it)."""
    uow = stocked if current else UnitOfWork(stocked.url, stocked.key_path)
    _allocate_on(uow, 7.0, 70)  # 12 March: 0.6 kg of the quarter's 7.6 left
    with pytest.raises(CustodyError, match=r"debit of 7 kg .* exceeds the balance of 6\.6"):
        _allocate_on(uow, 1.0, 40)
    _allocate_on(uow, 0.5, 40)
    if current:  # else the kept state waits for the next read or refresh
        assert derived.check(stocked) is None
    derived.refresh(stocked)
    assert derived.check(stocked) is None


def test_a_late_transfer_is_taken_again_from_its_month(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Book and claim (decision 035): the refinery's recycled credits moved to the pCAM plant
    in February, March and April, then one dated in March between them: checked and kept on
    the state taken again from March (accounts as they were when it began), equal to a
    recomputation."""
    masterdata.import_master_data(uow, custody_sites())
    booked = {**CUSTODY_RULES, "origins": [*CUSTODY_RULES["origins"], {
        "claim": "recycled", "site": REFINERY, "evidence": {"reference": "R-1"}}],
        "policies": [{"site": site, "claim": "recycled", "model": "book-and-claim",
                      "period": "month"} for site in (REFINERY, PCAM)]}  # fmt: skip
    custody.import_rules(uow, CustodyRules.from_json(booked))
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))

    def move(kg: float, day: int) -> None:
        custody.transfer(
            uow,
            custody.Transfer(
                source=REFINERY,
                target=PCAM,
                claim="recycled",
                kg={"Co": kg},
                at=T0 + timedelta(days=day),
            ),
        )

    for day in (40, 70, 100):
        move(2.0, day)
    read = event_reads(monkeypatch, "movements")
    move(1.0, 65)
    assert (0, None) not in read
    assert {since for _, since in read if since} == {datetime(2025, 3, 1, tzinfo=UTC)}
    assert derived.check(uow) is None
    accounts = {(a.site, a.claim): a.balance for a in custody.balances(uow).accounts}
    assert accounts[node_id(PCAM), "recycled"] == pytest.approx(7.0)


def test_an_origin_stated_after_the_lot_was_taken_is_taken_again_from_then(
    stocked: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lot received and allocated in February (its cobalt content unknown then), whose
    commissioning stating 20 % Co comes later in time and in the ledger: custody took the
    February events with the figures known then, so the state is taken again from February,
    not gone on from the end; equal to a recomputation, where the allocation covers a share of
    known content."""
    z = dataclasses.replace(received("Z", 10, 40), eventID="urn:uuid:r-Z-feb")
    events.capture_document(stocked, Document(creationDate=T0, events=[
        z, allocation("Z", "low-carbon", 1.0, 41)]))  # fmt: skip
    before = custody.report(stocked, lot("Z")).claims
    read = event_reads(monkeypatch, "movements")
    made = dataclasses.replace(commission("Z", 10, 0.2, 60), bizLocation=Location(PCAM))
    events.capture_document(stocked, Document(creationDate=T0, events=[made]))
    assert {since for _, since in read if since} == {datetime(2025, 2, 1, tzinfo=UTC)}
    assert derived.check(stocked) is None
    after = custody.report(stocked, lot("Z")).claims
    assert before != after


def test_rules_and_closes_are_taken_again_from_the_first_entry_they_rule(
    stocked: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision 037, after allocations in February, March and April and a recycler's first
    lot on 11 March: an origin added at the recycler is taken again from March (nothing before
    then is ruled otherwise); a policy of another period at the pCAM plant, whose first entry
    is in January, from the start; a close of April, from March (a day before the period, for
    the entries' own clocks). Each equal to a recomputation."""
    recycler = "urn:epc:id:sgln:6111111.00400.0"
    data = custody_sites()
    data.add_site(Site(recycler, "recycler", "urn:epc:id:pgln:6111111.00000", SiteRole.RECYCLER,
                       "MA"))  # fmt: skip
    masterdata.import_master_data(stocked, data)
    events.capture_document(stocked, Document(creationDate=T0, events=[
        at(recycler, commission("R1", 100, 0.1, 69))]))  # fmt: skip
    for day in (40, 70, 100):
        _allocate_on(stocked, 1.0, day)
    march = datetime(2025, 3, 1, tzinfo=UTC)
    read = event_reads(monkeypatch, "movements")
    recycled = {"claim": "recycled", "site": recycler, "evidence": {"reference": "PERMIT-9"}}
    rules = {**CUSTODY_RULES, "origins": [*CUSTODY_RULES["origins"], recycled]}
    custody.import_rules(stocked, CustodyRules.from_json(rules))
    assert (0, None) not in read and {since for _, since in read if since} == {march}, read
    assert derived.check(stocked) is None
    assert "recycled" in {c.claim for c in custody.report(stocked, lot("R1")).claims}
    read.clear()
    monthly = [{**CUSTODY_RULES["policies"][0], "period": "month"}]
    custody.import_rules(stocked, CustodyRules.from_json({**rules, "policies": monthly}))
    assert (0, None) in read
    assert derived.check(stocked) is None
    read.clear()
    custody.close(stocked, custody.Close(site=PCAM, claim="low-carbon", period="2025-04"))
    assert (0, None) not in read and {since for _, since in read if since} == {march}, read
    assert derived.check(stocked) is None


def _allocate_on(uow: UnitOfWork, kg: float, day: int) -> custody.Allocated:
    command = custody.Allocate(lot=lot("P1"), claim="low-carbon", kg={"Co": kg}, site=PCAM,
                               at=T0 + timedelta(days=day))  # fmt: skip
    return custody.allocate(uow, command)


def test_changes_say_what_each_refresh_changed(stocked: UnitOfWork) -> None:
    first = derived.changes(stocked)
    assert first.version == _watermark(stocked)
    assert ("custody.account", ACCOUNT) in [(c.area, c.key) for c in first.changes]
    # custody's first refresh with a claim: all new (but how far in time it went, which the
    # rules import set)
    assert all(c.before is None for c in first.changes
               if c.area.startswith("custody.") and c.area != "custody.frontier")  # fmt: skip
    done = _allocate(stocked, 2.0)
    since = derived.changes(stocked, since=first.version)
    assert {c.version for c in since.changes} == {done.version}
    by_key = {(c.area, c.key): c for c in since.changes}
    account = by_key["custody.account", ACCOUNT]
    assert account.before is not None and account.after is not None
    assert account.after["balance"] == pytest.approx(account.before["balance"] - 2.0)
    assert f"balance: {account.before['balance']} -> {account.after['balance']}" in (
        account.summary()
    )
    assert by_key["custody.lot", node_id(lot("P1"))].summary() == "claims[low-carbon]: new"


_KILLED_IN_REFRESH = """
import sys, time
from pathlib import Path
from batterytrace.services import events
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.store import derived
from factories import custody_chain, T0
from batterytrace.epcis.model import Document
from batterytrace.errors import BatteryTraceError, CustodyError

replace = derived.replace

def stalls(conn, unit, areas, *rest, **named):
    found = replace(conn, unit, areas, *rest, **named)  # every row written, not committed
    Path(sys.argv[3]).write_text("in the refresh")
    time.sleep(60)
    return found

derived.replace = stalls
uow = unit_of_work(sys.argv[1], Path(sys.argv[2]))
later = [e for e in custody_chain() if e.eventTime > T0.replace(day=5)]
events.capture_document(uow, Document(creationDate=T0, events=later))
"""


def test_a_capture_killed_in_its_refresh_leaves_a_state_rebuild_mends(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """SIGKILL while the follow-up refresh has written its rows but not committed: the capture
    is kept, the kept state is the one before (verify names it behind, no row differs), and
    the next write that moves the ledger, or a rebuild, brings it up to date."""
    masterdata.import_master_data(uow, custody_sites())
    custody.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    early = [e for e in custody_chain() if e.eventTime <= T0.replace(day=5)]
    events.capture_document(uow, Document(creationDate=T0, events=early))
    before = _watermark(uow)
    flag = tmp_path / "in-refresh"
    tests = Path(__file__).resolve().parents[1]
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_IN_REFRESH, uow.url, str(uow.key_path), str(flag)],
        env={**os.environ, "PYTHONPATH": str(tests)},
    )
    for _ in range(600):
        if flag.exists() or child.poll() is not None:
            break
        time.sleep(0.1)
    assert flag.exists(), "the child never reached its refresh"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    behind = derived.check(uow)
    assert behind is not None and behind.area == "" and behind.kept_version == before
    assert behind.version > (before or 0)  # the capture itself was committed
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))  # duplicates
    assert derived.check(uow) is not None  # nothing new: nothing signed, no follow-up
    monthly = {**CUSTODY_RULES, "policies": [{**CUSTODY_RULES["policies"][0], "period": "month"}]}
    custody.import_rules(uow, CustodyRules.from_json(monthly))  # the next write
    assert derived.check(uow) is None
    with uow.engine.begin() as conn:
        conn.execute(delete(schema.derived_state))  # as if never refreshed
    assert derived.check(uow) is not None
    derived.refresh(uow, every=True)  # batterytrace rebuild
    assert derived.check(uow) is None


def test_without_custody_inputs_the_state_is_empty_without_reading_events(
    uow: UnitOfWork,
) -> None:
    """The refresh skips the recomputation when nothing can put a claim into the state: it
    must be what the recomputation gives (empty), and an allocation event alone is an input."""
    masterdata.import_master_data(uow, custody_sites())
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))
    with uow.reading() as conn:
        assert not custody_store.has_inputs(conn)
        full = dict(custody.replayed(conn, uow.decoded))
        for went in ("custody.frontier", "custody.frontier@month"):
            del full[went]  # how far in time it went: no state to go on from kept
        assert full == {area: [] for area in full}
        assert {area: rows for area, rows in custody.kept_rows(conn, uow.decoded).items()
                if area in full} == full  # fmt: skip
    events.capture_document(
        uow, Document(creationDate=T0, events=[allocation("P1", "low-carbon", 1.0, 9)])
    )
    with uow.reading() as conn:
        assert custody_store.has_inputs(conn)
        assert custody.kept_rows(conn, uow.decoded)["custody.violation"]  # no credits
    assert derived.check(uow) is None


def _rows(uow: UnitOfWork) -> list[Any]:
    with uow.reading() as conn:
        return list(conn.execute(select(schema.derived_row).order_by("area", "key")).all())


def test_a_late_event_in_a_closed_period_is_reported_and_the_period_kept(
    stocked: UnitOfWork,
) -> None:
    """Issue 14, bad input: an event dated in a closed period, captured after the close, is
    refused by the accounts as the rules say (a violation naming the period); the closed
    period's statement is what it was, and the kept state equals a recomputation."""
    custody.close(stocked, custody.Close(site=PCAM, claim="low-carbon", period="2025-Q1"))
    (before,) = [a for a in custody.balances(stocked, PCAM).accounts if a.element == "Co"]
    late = allocation("P1", "low-carbon", 1.0, 20)  # 21 January 2025, in the closed quarter
    events.capture_document(stocked, Document(creationDate=T0, events=[late]))
    read = custody.balances(stocked, PCAM)
    (after,) = [a for a in read.accounts if a.element == "Co"]
    assert after.statements[0] == before.statements[0] and after.statements[0].closed
    assert any(late.eventID == v.event and "2025-Q1" in v.text for v in read.violations)
    assert derived.check(stocked) is None


def test_an_import_that_fails_changes_nothing_derived(stocked: UnitOfWork) -> None:
    """Rules naming a site the master data lack are refused whole: the ledger, the kept rows
    and their watermark stay as they were."""
    rows, at = _rows(stocked), _watermark(stocked)
    unknown = {**CUSTODY_RULES, "policies": [
        *CUSTODY_RULES["policies"],
        {"site": "urn:epc:id:sgln:9999999.00001.0", "claim": "low-carbon",
         "model": "mass-balance", "period": "quarter"},
    ]}  # fmt: skip
    with pytest.raises(BatteryTraceError, match="9999999"):
        custody.import_rules(stocked, CustodyRules.from_json(unknown))
    assert (_rows(stocked), _watermark(stocked)) == (rows, at)
    assert derived.check(stocked) is None


def test_racing_captures_leave_the_kept_state_equal_to_a_recomputation(
    stocked: UnitOfWork,
) -> None:
    """Allocations captured at once from four units of work (four connections, as API workers
    would): each write refreshes after it commits, in whatever order; the kept state ends at
    the ledger's version and equal to a recomputation."""
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def capture(day: int) -> None:
        other = unit_of_work(stocked.url, stocked.key_path)
        start.wait()
        try:
            event = allocation("P1", "low-carbon", 0.5, 100 + day)
            events.capture_document(other, Document(creationDate=T0, events=[event]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=capture, args=(day,)) for day in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with stocked.reading() as conn:
        assert kept_rows.watermark(conn, custody.AREA) == version(conn)
    assert derived.check(stocked) is None
    report = custody.report(stocked, lot("P1"))
    (carried,) = [c for c in report.claims if c.claim == "low-carbon"]
    assert carried.elements["Co"].kg == pytest.approx(2.0)
