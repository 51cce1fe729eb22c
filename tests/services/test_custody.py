"""services.custody: each act is checked and written in one unit of work (decision 028)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from batterytrace.custody.claims import Claim
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Document
from batterytrace.errors import CustodyError, StaleVersion
from batterytrace.repository import Repository
from batterytrace.services import custody
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.trace.lineage import node_id
from factories import CUSTODY_RULES, PCAM, T0, custody_chain, custody_sites, lot


@pytest.fixture
def stocked(repo: Repository) -> Repository:
    """The custody chain captured under its rules: 7.6 kg of low-carbon Co credits at PCAM."""
    repo.import_master_data(custody_sites())
    custody.import_rules(repo.uow, CustodyRules.from_json(CUSTODY_RULES))
    repo.capture_document(Document(creationDate=T0, events=custody_chain()))
    account = custody.state(repo.uow).accounts[node_id(PCAM), Claim("low-carbon"), "Co"]
    assert account.balance == pytest.approx(7.6)
    return repo


def _allocate(uow: UnitOfWork, kg: float, expected: int | None = None) -> custody.Allocated:
    command = custody.Allocate(
        lot=lot("P1"), claim="low-carbon", kg={"Co": kg}, site=PCAM, expected=expected
    )
    return custody.allocate(uow, command)


def test_two_racing_allocations_cannot_overdraw_the_account(
    stocked: Repository, tmp_path: Path
) -> None:
    """Each allocation of 5 kg fits the 7.6 kg balance alone, not together: started at once
    from two units of work (two connections, as two API workers would), exactly one is kept
    and the other is refused with the shortfall it would have made."""
    units = [UnitOfWork(stocked.url, stocked.key_path) for _ in range(2)]
    start = threading.Barrier(2)
    kept: list[custody.Allocated] = []
    refused: list[Exception] = []

    def run(uow: UnitOfWork) -> None:
        start.wait()
        try:
            kept.append(_allocate(uow, 5.0))
        except CustodyError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=run, args=(uow,)) for uow in units]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for uow in units:
        uow.close()
    assert len(kept) == 1 and len(refused) == 1
    assert "exceeds the balance of 2.6 kg by 2.4 kg" in str(refused[0])
    account = custody.balances(stocked.uow, PCAM).accounts
    (low,) = [a for a in account if a.claim == "low-carbon" and a.element == "Co"]
    assert low.balance == pytest.approx(7.6 - 5.0)


def test_a_write_naming_a_version_the_ledger_left_is_refused(stocked: Repository) -> None:
    read = custody.balances(stocked.uow, PCAM)
    assert read.version > 0  # the capture and the rules import signed checkpoints
    done = _allocate(stocked.uow, 1.0, expected=read.version)
    assert done.version == read.version + 1  # the allocation signed the next checkpoint
    with pytest.raises(StaleVersion, match=f"moved from version {read.version} to {done.version}"):
        _allocate(stocked.uow, 1.0, expected=read.version)
    after = custody.balances(stocked.uow, PCAM)
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


def test_balances_and_reports_are_the_json_the_cli_prints(stocked: Repository) -> None:
    """The result models carry kg as the recomputation gives them, and the version read."""
    _allocate(stocked.uow, 5.0)
    report = custody.report(stocked.uow, lot("P1"))
    (claim,) = [c for c in report.claims if c.claim == "low-carbon"]
    assert claim.elements["Co"].kg == pytest.approx(5.0)
    assert report.lot == node_id(lot("P1")) and report.unit == "kg"
    assert custody.balances(stocked.uow).version == report.version
