"""The demo scenario: reproducible, valid EPCIS, physically consistent (mass, element, dates)."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.intensity import intensities
from batterytrace.custody.claims import Claim
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.documents import read
from batterytrace.epcis.model import Event
from batterytrace.masterdata import read_master_data
from batterytrace.scenario import agreement as A
from batterytrace.scenario.generator import (
    CONV_SULFATE,
    EOL,
    ORE,
    PACK,
    Product,
    ScenarioResult,
    generate,
)
from batterytrace.services import contracts, ledger, masterdata
from batterytrace.services import custody as custody_service
from batterytrace.services import events as events_service
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.trace import check_balance
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.trace.genealogy import backward
from batterytrace.trace.lineage import EventLineage, node_id

SCALE = 0.0003
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Event], ScenarioResult]:
    out = tmp_path_factory.mktemp("scenario")
    result = generate(out, SCALE, seed=7)
    events = [e for path in sorted(out.glob("events-*.jsonld")) for e in read(path).events]
    return out, events, result


def test_same_seed_same_files(tmp_path: Path, scenario: tuple) -> None:
    out, _, _ = scenario
    again = generate(tmp_path / "again", SCALE, seed=7)
    for path in again.files:
        assert path.read_bytes() == (out / path.name).read_bytes()
    other = generate(tmp_path / "other", SCALE, seed=8)
    assert (tmp_path / "other" / "events-2025.jsonld").read_bytes() != (
        out / "events-2025.jsonld"
    ).read_bytes()
    assert other.events > 0


def test_every_document_is_valid_and_the_statement_names_the_scale(scenario: tuple) -> None:
    out, events, result = scenario
    assert len(events) == result.events > 1000
    assert "represents 0.0300% of the agreement's physical volume" in result.statement()
    assert len(read_master_data(out / "masterdata.json").sites) == 12


def test_dates_follow_the_chain(scenario: tuple) -> None:
    _, events, _ = scenario
    lineage = EventLineage(events)
    for step, _ in lineage.transformations():
        for flow in step.inputs:
            for maker in lineage.made_by((flow.id,))[flow.id]:
                assert maker.time < step.time, (flow.id, step.key)


def test_packs_carry_the_cobalt_of_their_cells_and_energy(scenario: tuple) -> None:
    _, events, result = scenario
    packs = [
        e.parentID
        for e in events
        if e.type.value == "AggregationEvent" and "030001" in (e.parentID or "")
    ]
    assert len(packs) == result.packs > 0
    trace = backward(EventLineage(events), packs[-1], "Co")
    per_pack = A.CO_KG_PER_CELL * A.CELLS_PER_MODULE * A.MODULES_PER_PACK
    assert trace.start_kg == pytest.approx(per_pack, rel=1e-9)
    assert 0.08 <= per_pack / A.PACK_KWH <= 0.10  # NMC811, battery.md §3.2
    leaves = [o for o in trace.objects.values() if not trace.children(o.id)]
    assert sum(o.share or 0 for o in leaves) == pytest.approx(1.0, abs=1e-6)

    def share_of(product: Product) -> float:
        prefix = node_id(product.lot("x")).rsplit("/10/", 1)[0] + "/"
        return sum(o.share or 0 for o in leaves if o.id.startswith(prefix))

    # the precursor maker's cobalt mix, by cobalt mass (scenario/agreement.py)
    assert share_of(ORE) == pytest.approx(A.AGREEMENT_SHARE, abs=1e-6)
    assert share_of(CONV_SULFATE) == pytest.approx(A.CONVENTIONAL_SHARE, abs=1e-6)
    assert share_of(EOL) == pytest.approx(A.RECYCLED_SHARE, abs=1e-6)
    assert trace.gaps == [] and trace.cycles == []


def test_the_scenario_balances_in_the_store(uow: UnitOfWork, scenario: tuple) -> None:
    out, _, result = scenario
    for path in sorted(out.glob("events-*.jsonld")):
        events_service.capture(uow, path)
    masterdata.import_master_data(uow, read_master_data(out / "masterdata.json"))
    report = check_balance(uow)
    assert report.ok, [f.message for f in report.violations[:3]]
    assert report.steps > 0 and report.checked > report.steps
    assert ledger.verify(uow).entries == result.events


def test_the_agreement_is_delivered_year_by_year(uow: UnitOfWork, scenario: tuple) -> None:
    """The scenario's contract at its scale: every year's sulfate shipped to Dunkirk under the
    agreement's purchase order is delivered there within the year, within the tolerance."""
    out, _, _ = scenario
    for path in sorted(out.glob("events-*.jsonld")):
        events_service.capture(uow, path)
    (data,) = orjson.loads((out / "contracts.json").read_bytes())
    agreement = Agreement.from_json(data)
    contracts.import_contracts(uow, [agreement])
    state, _ = contracts.deliveries(uow)
    assert state.findings == []
    years = state.status(agreement, intensities(), datetime(2032, 1, 1, tzinfo=UTC))
    assert [y.year for y in years] == list(A.YEARS)
    committed = A.SULFATE_T_PER_YEAR * 1000 * SCALE
    for year in years:
        assert year.committed == pytest.approx(committed)
        assert year.delivered == pytest.approx(committed, rel=1e-5)  # rounding of lot masses
        assert year.in_transit == 0 and year.shortfall == 0
        assert year.basis.startswith("final (")
        assert year.element_delivered == pytest.approx(committed * A.CO_IN_SULFATE, rel=1e-5)
    # as of the last event (its last year's one lot, in September): no run rate from one lot
    *_, last = state.status(agreement, intensities())
    assert (last.lots, last.forecast, last.shortfall) == (1, None, None)
    assert last.basis.startswith("not enough deliveries to forecast (1 lot, ")


def test_the_recycling_loop_gives_packs_recycled_cobalt(uow: UnitOfWork, scenario: tuple) -> None:
    """The pCAM maker runs recycled cobalt under mass balance and claims, for each lot, what
    its recycled sulfate brought less the step's loss (0.1 % kept back): a 2031 pack's claimed
    share is its traced share less that margin, and no account is overdrawn."""
    out, events, _ = scenario
    for path in sorted(out.glob("events-*.jsonld")):
        events_service.capture(uow, path)
    masterdata.import_master_data(uow, read_master_data(out / "masterdata.json"))
    custody_service.import_rules(
        uow, CustodyRules.from_json(orjson.loads((out / "custody.json").read_bytes()))
    )
    state = custody_service.state(uow)
    assert state.violations == []
    pack = next(
        e.parentID for e in reversed(events) if (e.parentID or "").startswith(PACK.serial(""))
    )
    cobalt, nickel, lithium = custody_service.recycled(uow, pack)
    assert cobalt.traced is not None and cobalt.traced > 0.01
    assert cobalt.claimed == pytest.approx(cobalt.traced * 0.999, rel=1e-3)
    assert (nickel.claimed, lithium.claimed) == (0, 0)  # the loop returns cobalt only


def test_the_readme_allocation_runs_on_the_scenario(
    scenario: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13.7: the README's `custody allocate` line, as printed, on the scenario (whose
    accounts run to 2031): 5 kg Co debited from the precursor plant's 2026 account."""
    out, _, _ = scenario
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'readme.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "readme.key"))
    uow = unit_of_work()
    ledger.init(uow)
    for path in sorted(out.glob("events-*.jsonld")):
        events_service.capture(uow, path)
    masterdata.import_master_data(uow, read_master_data(out / "masterdata.json"))
    custody_service.import_rules(
        uow, CustodyRules.from_json(orjson.loads((out / "custody.json").read_bytes()))
    )
    site = node_id("urn:epc:id:sgln:3012345.00100.0")
    key = (site, Claim("low-carbon"), "Co")

    def debits() -> dict[str, float]:
        statements = custody_service.state(uow).accounts[key].statements()
        return {s.period: s.debits for s in statements if s.debits}

    assert debits() == {}
    (line,) = [
        line for line in README.read_text("utf-8").splitlines()
        if line.startswith("batterytrace custody allocate ")
    ]  # fmt: skip
    args = shlex.split(line.split("#")[0])[1:]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert debits() == {"2026": 5.0}
    uow.close()
