"""Element mass balance: no element from nothing, stated yields kept, gaps listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from batterytrace.epcis.model import Extension
from batterytrace.repository import Repository
from batterytrace.trace.balance import check
from batterytrace.trace.lineage import BT, EventLineage
from factories import chain, commission, transform

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


def test_the_examples_balance_in_the_store(repo: Repository) -> None:
    for path in sorted((ROOT / "examples").glob("0*")):
        repo.capture(path)
    report = repo.check_balance()
    assert report.ok and report.steps == 3
    assert report.checked == 8  # Co, Ni, Li, Mn where both sides have figures
