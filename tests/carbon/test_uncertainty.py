"""Monte Carlo intervals against the lognormal they sample, and their invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.carbon import activity as act
from batterytrace.carbon.factors import read_csv
from batterytrace.carbon.footprint import rollup
from batterytrace.carbon.system import Builder, Made
from batterytrace.carbon.uncertainty import interval
from batterytrace.errors import FootprintError
from carbon_chain import MINE, ORE, PACK, SITES, WHEN, chain, out


def one_factor(gsd: float, amount: float = 100.0) -> tuple[object, float]:
    factors = read_csv(
        "id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,gwp,source,reference\n"
        f"diesel,Diesel,fuel,,L,2.5,GLO,2025,{gsd},,,0,AR6,test,https://example.org\n",
        "one",
        "1",
    )
    data = [{"site": MINE.id, "period": "2025", "kind": "fuel", "factor": "diesel",
             "amount": amount, "unit": "L"}]  # fmt: skip
    b = Builder(act.from_json({"activities": data}), factors, SITES)
    b.step(Made("e1", MINE.id, WHEN, (), (out(ORE, 1000),), commissioned=True))
    return rollup(b.build()), amount * 2.5 / 1000


def test_one_factor_gives_its_lognormal() -> None:
    result, value = one_factor(1.5)
    spread = interval(result, ORE, 10_000, seed=1)
    sigma = math.log(1.5)
    assert spread.median == pytest.approx(value, rel=0.02)
    assert spread.low == pytest.approx(value * math.exp(-1.96 * sigma), rel=0.03)
    assert spread.high == pytest.approx(value * math.exp(1.96 * sigma), rel=0.03)
    assert spread.mean == pytest.approx(value * math.exp(sigma**2 / 2), rel=0.02)


def test_seeded_and_around_the_figure() -> None:
    result = rollup(chain())
    a, b = interval(result, PACK, 2_000, seed=5), interval(result, PACK, 2_000, seed=5)
    assert a == b
    assert interval(result, PACK, 2_000, seed=6) != a
    assert a.low < result.total(result.system.index[PACK]) < a.high


def test_bad_requests() -> None:
    result = rollup(chain())
    with pytest.raises(FootprintError, match="draws: 1 is too few"):
        interval(result, PACK, 1)
    with pytest.raises(FootprintError, match="no lot, item batch or pack"):
        interval(result, "lot:none")


@settings(max_examples=25, deadline=None)
@given(st.floats(1.0001, 3.0), st.floats(0.0, 1e6), st.integers(0, 2**32 - 1))
def test_interval_is_ordered_and_scales(gsd: float, amount: float, seed: int) -> None:
    result, value = one_factor(gsd, amount)
    spread = interval(result, ORE, 200, seed)
    assert spread.low <= spread.median <= spread.high
    assert spread.low >= 0
    if amount == 0:
        assert spread.high == 0 == value
