"""Figures past any float are refused with the datum named, never printed as "inf" and never a
numpy warning (issue 13, point 4): every test here runs with warnings as errors."""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.carbon import activity as act
from batterytrace.carbon.factors import read_csv
from batterytrace.carbon.footprint import Rollup, rollup
from batterytrace.carbon.system import Builder, Made
from batterytrace.carbon.targets import targets
from batterytrace.errors import FootprintError, QueryError, UnitError
from batterytrace.trace.balance import check
from batterytrace.units import convert
from carbon_chain import MINE, ORE, SITES, WHEN, chain, interval_of, out

pytestmark = pytest.mark.filterwarnings("error")

FACTORS = read_csv(
    "id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,gwp,source,reference\n"
    "diesel,Diesel,fuel,,L,2.5,GLO,2025,1.5,,,0,AR6,test,https://example.org\n"
    "petrol,Petrol,fuel,,L,2.0,GLO,2025,1.5,,,0,AR6,test,https://example.org\n",
    "two",
    "1",
)


def ore(litres: dict[str, float], made_kg: float = 1000.0, unit: str = "L") -> Rollup:
    """A mine burning the given fuels (factor id -> amount in ``unit``) to make ``made_kg``."""
    data = [{"site": MINE.id, "period": "2025", "kind": "fuel", "factor": factor,
             "amount": amount, "unit": unit} for factor, amount in litres.items()]  # fmt: skip
    b = Builder(act.from_json({"activities": data}, "fuel.json"), FACTORS, SITES)
    b.step(Made("e1", MINE.id, WHEN, (), (out(ORE, made_kg),), commissioned=True))
    return rollup(b.build())


def test_large_finite_amounts_give_their_product() -> None:
    result = ore({"diesel": 1e300})
    # 1e300 L x 2.5 kg CO2e/L over 1,000 kg of ore
    assert result.total(result.system.index[ORE]) == pytest.approx(2.5e297, rel=1e-12)


def test_an_amount_times_its_factor_past_any_float_names_the_datum() -> None:
    with pytest.raises(FootprintError) as refused:
        ore({"diesel": 1e308})
    assert str(refused.value) == (
        "fuel.json: activities[0]: fuel 1e+308 L (diesel): 1e+308 x 2.5 kg CO2e per unit of "
        "diesel is more than any finite number of kg CO2e"
    )


def test_a_sum_past_any_float_names_the_data_it_sums() -> None:
    # each finite: 6e307 x 2.5 = 1.5e308 and 6e307 x 2 = 1.2e308; together 2.7e308 > 1.8e308
    assert max(6e307 * 2.5, 6e307 * 2.0) < sys.float_info.max
    with pytest.raises(FootprintError) as refused:
        ore({"diesel": 6e307, "petrol": 6e307})
    # the mine's data of 2025: the group the two data are summed in
    assert str(refused.value) == (
        f"{MINE.id} 2025: a footprint beyond any finite number of kg CO2e"
    )


def test_a_footprint_per_kg_past_any_float_names_the_product() -> None:
    # 1e307 L x 2.5 = 2.5e307 kg CO2e is finite; per kg of 1e-3 kg made it is 2.5e310
    with pytest.raises(FootprintError) as refused:
        ore({"diesel": 1e307}, made_kg=1e-3)
    assert str(refused.value) == f"{ORE}: a footprint beyond any finite number of kg CO2e"


def test_a_unit_conversion_past_any_float_is_refused() -> None:
    assert convert(2.0, "t", "kg") == 2000.0
    assert convert(1500.0, "kWh", "MWh") == 1.5
    with pytest.raises(UnitError, match=r"^1e\+306 t is more than any finite number of kg$"):
        convert(1e306, "t", "kg")


def test_monte_carlo_draws_past_any_float_are_refused() -> None:
    # 2.2e307 L x 2.5 = 5.5e307 kg CO2e per kg of ore, finite; a draw over 3.27 times that passes
    # the largest float (1.8e308): with gsd 1.5, z > ln 3.27 / ln 1.5 = 2.92, one draw in 570
    result = ore({"diesel": 2.2e307}, made_kg=1.0)
    assert result.total(result.system.index[ORE]) == pytest.approx(5.5e307)
    with pytest.raises(FootprintError, match=r"^lot:ore: Monte Carlo draws of its footprint pass"):
        interval_of(result, ORE, 10_000)
    assert math.isfinite(interval_of(ore({"diesel": 1e306}, made_kg=1.0), ORE, 10_000).high)


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1e300), st.floats(1e-3, 1e6))
def test_any_finite_footprint_has_a_finite_interval(litres: float, made_kg: float) -> None:
    result = ore({"diesel": litres}, made_kg)
    total = result.total(result.system.index[ORE])
    assert total == pytest.approx(litres * 2.5 / made_kg, rel=1e-9)
    spread = interval_of(result, ORE, 50, seed=1)
    assert all(math.isfinite(x) for x in (spread.low, spread.median, spread.high, spread.mean))


@pytest.mark.parametrize("baseline", [-1.0, 0.0, math.nan, math.inf])
def test_a_baseline_that_is_no_positive_number_is_refused(baseline: float) -> None:
    with pytest.raises(FootprintError) as refused:
        targets(chain(), {"cls:pack": (52.0, "NMC811")}, (), baseline)
    assert str(refused.value) == (
        f"baseline: {baseline} is not a positive finite number of kg CO2e/kWh"
    )


@pytest.mark.parametrize("tolerance", [-0.001, math.nan, math.inf])
def test_a_tolerance_that_is_no_finite_share_is_refused(tolerance: float) -> None:
    with pytest.raises(QueryError) as refused:
        check(None, [], tolerance=tolerance)  # type: ignore[arg-type]
    assert str(refused.value) == f"tolerance: {tolerance} is not a finite number ≥ 0 (kg per kg in)"
