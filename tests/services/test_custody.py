"""services.custody: each act is checked and written in one unit of work (decision 028)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from batterytrace.custody.claims import Claim
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Document
from batterytrace.errors import CustodyError, StaleVersion
from batterytrace.services import custody, events, masterdata
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.trace.lineage import node_id
from factories import CUSTODY_RULES, PCAM, T0, custody_chain, custody_sites, lot


@pytest.fixture
def stocked(uow: UnitOfWork) -> UnitOfWork:
    """The custody chain captured under its rules: 7.6 kg of low-carbon Co credits at PCAM."""
    masterdata.import_master_data(uow, custody_sites())
    custody.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))
    account = custody.state(uow).accounts[node_id(PCAM), Claim("low-carbon"), "Co"]
    assert account.balance == pytest.approx(7.6)
    return uow


def _allocate(uow: UnitOfWork, kg: float, expected: int | None = None) -> custody.Allocated:
    command = custody.Allocate(
        lot=lot("P1"), claim="low-carbon", kg={"Co": kg}, site=PCAM, expected=expected
    )
    return custody.allocate(uow, command)


def test_two_racing_allocations_cannot_overdraw_the_account(
    stocked: UnitOfWork, tmp_path: Path
) -> None:
    """Each allocation of 5 kg fits the 7.6 kg balance alone, not together: started at once
    from two units of work (two connections, as two API workers would), exactly one is kept
    and the other is refused with the shortfall it would have made."""
    units = [UnitOfWork(stocked.url, stocked.key_path) for _ in range(2)]
    start = threading.Barrier(2)
    kept: list[custody.Allocated] = []
    refused: list[Exception] = []

    def run(uow: UnitOfWork, second: int) -> None:
        at = T0 + timedelta(days=40, seconds=second)  # two requests, not one retried
        command = custody.Allocate(lot=lot("P1"), claim="low-carbon", kg={"Co": 5.0}, site=PCAM,
                                   at=at)  # fmt: skip
        start.wait()
        try:
            kept.append(custody.allocate(uow, command))
        except CustodyError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=run, args=(uow, i)) for i, uow in enumerate(units)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for uow in units:
        uow.close()
    assert len(kept) == 1 and len(refused) == 1
    assert "exceeds the balance of 2.6 kg by 2.4 kg" in str(refused[0])
    account = custody.balances(stocked, PCAM).accounts
    (low,) = [a for a in account if a.claim == "low-carbon" and a.element == "Co"]
    assert low.balance == pytest.approx(7.6 - 5.0)


def test_the_same_allocation_again_is_named_not_counted_twice(stocked: UnitOfWork) -> None:
    """A retried request (same lot, claim, kg, site and time: the same event hash ID) debits
    the account once and answers with the event stored the first time."""
    at = T0 + timedelta(days=40)
    command = custody.Allocate(lot=lot("P1"), claim="low-carbon", kg={"Co": 2.0}, site=PCAM, at=at)
    first = custody.allocate(stocked, command)
    again = custody.allocate(stocked, command)
    assert first.recorded and not again.recorded
    assert again.event_id == first.event_id and again.version == first.version
    (low,) = [a for a in custody.balances(stocked, PCAM).accounts
              if a.claim == "low-carbon" and a.element == "Co"]  # fmt: skip
    assert low.balance == pytest.approx(7.6 - 2.0)


def test_a_write_naming_a_version_the_ledger_left_is_refused(stocked: UnitOfWork) -> None:
    read = custody.balances(stocked, PCAM)
    assert read.version > 0  # the capture and the rules import signed checkpoints
    done = _allocate(stocked, 1.0, expected=read.version)
    assert done.version == read.version + 1  # the allocation signed the next checkpoint
    with pytest.raises(StaleVersion, match=f"moved from version {read.version} to {done.version}"):
        _allocate(stocked, 1.0, expected=read.version)
    after = custody.balances(stocked, PCAM)
    assert after.version == done.version  # the refused write left nothing
    (low,) = [a for a in after.accounts if a.claim == "low-carbon" and a.element == "Co"]
    assert low.balance == pytest.approx(7.6 - 1.0)


def test_commands_name_the_field_they_refuse() -> None:
    with pytest.raises(ValidationError, match="kg") as err:
        custody.Allocate(lot=lot("P1"), claim="low-carbon", kg={"Fe": 1.0}, site=PCAM)
    assert "'Fe' is not one of Co, Ni, Li" in str(err.value)
    with pytest.raises(ValidationError, match="greater than 0"):
        custody.Transfer(source=PCAM, target=PCAM, claim="recycled", kg={"Co": -1.0})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        custody.Close(site=PCAM, claim="recycled", period="2025", when="now")  # type: ignore[call-arg]


def test_balances_and_reports_are_the_json_the_cli_prints(stocked: UnitOfWork) -> None:
    """The result models carry kg as the recomputation gives them, and the version read."""
    _allocate(stocked, 5.0)
    report = custody.report(stocked, lot("P1"))
    (claim,) = [c for c in report.claims if c.claim == "low-carbon"]
    assert claim.elements["Co"].kg == pytest.approx(5.0)
    assert report.lot == node_id(lot("P1")) and report.unit == "kg"
    assert custody.balances(stocked).version == report.version


def test_rules_that_change_the_length_of_closed_periods_are_refused(uow: UnitOfWork) -> None:
    """Found by the kept-state machine: monthly accounts with 2025-01 closed, then quarterly
    rules made every custody read fail. The rules are refused, naming what was closed."""
    masterdata.import_master_data(uow, custody_sites())
    monthly = {**CUSTODY_RULES, "policies": [{**CUSTODY_RULES["policies"][0], "period": "month"}]}
    custody.import_rules(uow, CustodyRules.from_json(monthly))
    custody.close(uow, custody.Close(site=PCAM, claim="low-carbon", period="2025-01"))
    with pytest.raises(CustodyError, match="periods 2025-01 were closed; a quarter period rule"):
        custody.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES), where="rules.json")
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))
    read = custody.balances(uow, PCAM)  # reads as before: January's entries refused
    assert read.accounts == [] and any("2025-01" in v.text for v in read.violations)


def test_a_period_closed_before_the_accounts_first_entry_leaves_it_readable(
    uow: UnitOfWork,
) -> None:
    """Found by the kept-state machine: 2025-01 closed, the account's first entry in February:
    every recomputation failed (KeyError). The account reads, and January has no statement."""
    masterdata.import_master_data(uow, custody_sites())
    monthly = {**CUSTODY_RULES, "policies": [{**CUSTODY_RULES["policies"][0], "period": "month"}]}
    custody.import_rules(uow, CustodyRules.from_json(monthly))
    custody.close(uow, custody.Close(site=PCAM, claim="low-carbon", period="2025-01"))
    february = [replace(e, eventTime=e.eventTime + timedelta(days=40)) for e in custody_chain()]
    events.capture_document(uow, Document(creationDate=T0, events=february))
    (account,) = [a for a in custody.balances(uow, PCAM).accounts if a.element == "Co"]
    assert account.statements[0].period == "2025-02" and account.balance == pytest.approx(7.6)
