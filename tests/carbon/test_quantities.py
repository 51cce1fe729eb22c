"""The product system with quantities the master data could not weigh (decision 012): named on
the products they concern and everything downstream, never zero, never complete."""

from __future__ import annotations

import pytest

from batterytrace.carbon.footprint import footprint, rollup
from batterytrace.carbon.system import Builder, Leg, Made, Unweighed
from carbon_chain import FACTORS, PLANT, REFINERY, SITES, SUL, WHEN, X, Y, model, out

WHY = "stated as 10 LTR; the master data give no density (density_kg_per_l) for cls:solution"


def test_an_unweighed_input_is_named_downstream() -> None:
    b = Builder(model(), FACTORS, SITES)
    b.step(Made("e1", PLANT.id, WHEN, (), (out(SUL, 100),), commissioned=True))
    b.step(
        Made("e2", PLANT.id, WHEN, ((SUL, 50),), (out(X, 60),),
             unweighed=(Unweighed("lot:solution", False, WHY),))
    )  # fmt: skip
    system = b.build()
    result = rollup(system)
    fp = footprint(result, X)
    assert not fp.complete
    assert fp.missing == (f"input lot:solution: {WHY}",)
    # what is known is still counted: the plant's 25 kg CO2e on the two products by mass
    assert fp.kg_co2e == pytest.approx(25 * 60 / 160 / 60 + 50 * 25 * 100 / 160 / 100 / 60)


def test_an_output_without_mass_names_itself_to_its_users() -> None:
    b = Builder(model(), FACTORS, SITES)
    b.step(
        Made("e1", REFINERY.id, WHEN, (), (), commissioned=True,
             unweighed=(Unweighed(SUL, True, WHY),))
    )  # fmt: skip
    b.step(Made("e2", PLANT.id, WHEN, ((SUL, 50),), (out(X, 60),)))
    fp = footprint(rollup(b.build()), X)
    assert fp.missing == (f"input {SUL}: made without a mass ({WHY})",)


def test_a_leg_without_mass_is_named_on_what_it_moved() -> None:
    b = Builder(model(), FACTORS, SITES)
    b.step(Made("e1", REFINERY.id, WHEN, (), (out(SUL, 100),), commissioned=True))
    b.leg(Leg("e4", SUL, None, REFINERY.id, PLANT.id, WHEN, why="no mass_kg for its class"))
    b.leg(Leg("e5", "sscc:1", None, REFINERY.id, PLANT.id, WHEN, why="nothing inside"))
    system = b.build()
    fp = footprint(rollup(system), SUL)
    assert not fp.complete
    assert fp.missing[0] == (
        f"leg e4 ({SUL}) from {REFINERY.id} (bizLocation) to {PLANT.id}: "
        "no mass: no mass_kg for its class"
    )
    listed = {u.what: u.reason for u in system.unused if u.kind == "leg"}
    assert listed[f"leg e5 (sscc:1) from {REFINERY.id} (bizLocation) to {PLANT.id}"] == (
        "no mass: nothing inside"
    )


def test_a_site_sharing_its_data_with_a_product_without_mass_is_incomplete() -> None:
    """The plant made X (60 kg) and, in another step, Y in litres it cannot weigh: its year's
    25 kg CO2e cannot be shared by mass, so X is incomplete (with all of it, as far as known)."""
    b = Builder(model(), FACTORS, SITES)
    b.step(Made("e1", PLANT.id, WHEN, (), (out(X, 60),), commissioned=True))
    b.step(
        Made("e2", PLANT.id, WHEN, (), (), commissioned=True,
             unweighed=(Unweighed(Y, True, WHY),))
    )  # fmt: skip
    fp = footprint(rollup(b.build()), X)
    assert not fp.complete
    assert fp.missing == (f"output {Y}: {WHY}",)
    assert fp.kg_co2e == pytest.approx(25 / 60)
