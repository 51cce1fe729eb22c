"""Element mass balance: no element from nothing, stated yields kept, gaps listed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from batterytrace.epcis.model import Extension, QuantityElement
from batterytrace.masterdata import BT, MasterData, MaterialKind, material
from batterytrace.services import events as events_service
from batterytrace.services import masterdata
from batterytrace.services import trace as tracing
from batterytrace.services.trace import check_balance
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store.lineage import StoreLineage
from batterytrace.trace.balance import check
from batterytrace.trace.lineage import EventLineage, node_id
from factories import chain, commission, lot, transform

ROOT = Path(__file__).resolve().parents[2]


def _report(events: list, **kwargs: float) -> object:
    lineage = EventLineage(events)
    return check(lineage, lineage.transformations(), **kwargs)


def test_the_hand_built_chain_balances() -> None:
    report = _report(chain())
    assert report.ok and report.steps == 3
    # the cathode step has an input (X) with no Co figure: listed, not passed silently
    assert [f.message for f in report.unchecked if f.element == "Co"] == [
        "cannot check Co: some inputs have no Co figure"
    ]


def test_more_element_out_than_in_is_a_violation() -> None:
    events = [commission("A", 1000, 0.01, 1), transform("S", {"A": 1000}, {"S": (100, 0.2)}, 2)]
    report = _report(events)
    (violation,) = report.violations
    assert (violation.element, violation.kg_in, violation.kg_out) == (
        "Co",
        pytest.approx(10),
        pytest.approx(20),
    )
    assert violation.message == "20 kg Co out but only 10 kg in: 10 kg from nothing"


def test_stated_yield_is_kept() -> None:
    events = [
        commission("A", 1000, 0.01, 1),
        transform("S", {"A": 1000}, {"S": (45, 0.2)}, 2),
    ]  # 9 kg Co out
    step = events[1]
    kept = step.__class__(**{**{f: getattr(step, f) for f in step.__dataclass_fields__},
                            "extensions": (Extension(BT, "cobaltYield", 0.9),)})  # fmt: skip
    assert _report([events[0], kept]).ok
    broken = step.__class__(**{**{f: getattr(step, f) for f in step.__dataclass_fields__},
                              "extensions": (Extension(BT, "yield", 0.97),)})  # fmt: skip
    (violation,) = _report([events[0], broken]).violations
    assert violation.message == "yield 0.9000 differs from the stated 0.9700 by more than 0.005"
    assert _report([events[0], broken], tolerance=0.1).ok


def test_the_examples_balance_in_the_store(uow: UnitOfWork) -> None:
    for path in sorted((ROOT / "examples").glob("0*")):
        events_service.capture(uow, path)
    report = check_balance(uow)
    assert report.ok and report.steps == 3
    assert report.checked == 2  # Co at the refinery and at the cell line: both sides stated


def test_master_data_fills_figures_the_events_do_not_state(uow: UnitOfWork) -> None:
    for path in sorted((ROOT / "examples").glob("0*")):
        events_service.capture(uow, path)
    before = check_balance(uow)
    salts = MasterData()
    for class_id, name, formula in [
        ("urn:epc:idpat:sgtin:6412345.000101.*", "nickel sulfate", "NiSO4·6H2O"),
        ("urn:epc:idpat:sgtin:6111111.000301.*", "manganese sulfate", "MnSO4·H2O"),
        ("urn:epc:idpat:sgtin:4061234.000101.*", "lithium hydroxide", "LiOH·H2O"),
        ("urn:epc:idpat:sgtin:6111111.000201.*", "cobalt sulfate", "CoSO4·7H2O"),
    ]:
        salts.add_material(material(class_id, name, MaterialKind.SULFATE, formula=formula))
    masterdata.import_master_data(uow, salts)
    after = check_balance(uow)
    assert after.ok
    cam_step = "urn:uuid:216b68ce-c005-4c85-a671-c151ae75f434"
    # Co, Ni, Mn, Li checkable now (the CAM lot states no Cu figure, so Cu stays unchecked)
    assert [f.element for f in after.unchecked if f.step == cam_step] == ["Cu"]
    assert after.checked > before.checked
    cam = "urn:epc:class:lgtin:3012345.000811.NMC811-2503-01"
    nickel = tracing.trace(uow, cam, "backward", "Ni")
    salt = nickel.objects[node_id("urn:epc:class:lgtin:6412345.000101.TF-NS-2502-07")]
    assert salt.share == pytest.approx(1.0) and salt.gap is None  # the only Ni-bearing input
    with uow.engine.connect() as conn:
        fact = StoreLineage(conn).fact(salt.id, "Ni")
    assert fact is not None and fact.source.startswith("master data urn:epc:idpat:sgtin:6412345")
    assert fact.value == pytest.approx(58.693 / 262.85, rel=1e-3)


def test_a_volume_is_checked_by_the_density_or_listed_unchecked() -> None:
    """A (1,000 kg at 1 % Co) → 40 L of solution S at 0.2 kg Co per kg: with a density of
    1.25 kg/L, 50 kg of S hold 10 kg Co, balanced; without it the step is listed unchecked,
    never passed on the whole lot's figure."""
    solution = QuantityElement(lot("S"), 40, "LTR")
    step = replace(transform("S", {"A": 1000}, {"S": (0, 0.2)}, 2), outputQuantityList=(solution,))
    events = [commission("A", 1000, 0.01, 1), step]
    sol = "urn:epc:idpat:sgtin:6111111.000101.*"  # the class of lot("S")
    for density, ok in ((1.25, True), (None, False)):
        liquid = material(sol, "S", MaterialKind.SULFATE, declared={"Co": 0.01}, source="assay",
                          density_kg_per_l=density)  # fmt: skip
        lineage = EventLineage(events, [liquid])
        report = check(lineage, lineage.transformations())
        assert report.ok
        assert [f.message for f in report.unchecked] == (
            [] if ok else ["cannot check Co: some outputs have no Co figure"]
        )
    over = material(sol, "S", MaterialKind.SULFATE, declared={"Co": 0.01}, source="assay",
                    density_kg_per_l=2.5)  # fmt: skip
    lineage = EventLineage(events, [over])  # 100 kg of S: 20 kg Co out of 10 in
    (violation,) = check(lineage, lineage.transformations()).violations
    assert violation.kg_out == pytest.approx(20)


def test_a_part_of_a_lot_in_litres_is_not_the_whole_lot() -> None:
    """10 L taken from ore lot A (1,000 kg, 10 kg Co) into 5 kg of S at 0.2 % Co: the input is
    not the whole lot's 10 kg Co. Without a density it is unchecked; with 1.5 kg/L it is 15 kg
    holding 0.15 kg Co, and 0.01 kg out balances."""
    litres = (QuantityElement(lot("A"), 10, "LTR"),)
    step = replace(transform("S", {}, {"S": (5, 0.002)}, 2), inputQuantityList=litres)
    events = [commission("A", 1000, 0.01, 1), step]
    report = _report(events)
    assert report.ok and [(f.element, f.kg_in) for f in report.unchecked] == [("Co", None)]
    pulp = material("urn:epc:idpat:sgtin:6111111.000101.*", "A", MaterialKind.ORE,
                    density_kg_per_l=1.5)  # fmt: skip
    lineage = EventLineage(events, [pulp])
    report = check(lineage, lineage.transformations())
    assert report.ok and not report.unchecked and report.checked == 1
