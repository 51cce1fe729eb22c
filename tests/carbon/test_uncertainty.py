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
from batterytrace.errors import FootprintError
from carbon_chain import MINE, ORE, PACK, SITES, WHEN, chain, interval_of, out


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
    spread = interval_of(result, ORE, 10_000, seed=1)
    sigma = math.log(1.5)
    assert spread.median == pytest.approx(value, rel=0.02)
    assert spread.low == pytest.approx(value * math.exp(-1.96 * sigma), rel=0.03)
    assert spread.high == pytest.approx(value * math.exp(1.96 * sigma), rel=0.03)
    assert spread.mean == pytest.approx(value * math.exp(sigma**2 / 2), rel=0.02)


def test_seeded_and_around_the_figure() -> None:
    result = rollup(chain())
    a, b = interval_of(result, PACK, 2_000, seed=5), interval_of(result, PACK, 2_000, seed=5)
    assert a == b
    assert interval_of(result, PACK, 2_000, seed=6) != a
    assert a.low < result.total(result.system.index[PACK]) < a.high


def test_bad_requests() -> None:
    result = rollup(chain())
    with pytest.raises(FootprintError, match="draws: 1 is too few"):
        interval_of(result, PACK, 1)
    with pytest.raises(FootprintError, match="no lot, item batch or pack"):
        interval_of(result, "lot:none")


@settings(max_examples=25, deadline=None)
@given(
    st.floats(1.0001, 3.0),
    st.floats(1.0001, 3.0),
    st.floats(1e-3, 1e6),
    st.floats(1e-3, 1e3),
    st.integers(0, 2**32 - 1),
)
def test_interval_scales_with_amount_and_gsd(
    gsd: float, other_gsd: float, amount: float, k: float, seed: int
) -> None:
    """One lognormal factor, seeded draws d = value x GSD^z: k times the amount gives k times
    every figure; with 201 draws the 2.5/50/97.5 % points are the 6th, 101st and 196th draws,
    so ln(low / value) / ln(GSD) is the same standard-normal draw z whatever the GSD."""
    result, value = one_factor(gsd, amount)
    spread = interval_of(result, ORE, 201, seed)
    assert spread.low <= spread.median <= spread.high
    scaled = interval_of(one_factor(gsd, amount * k)[0], ORE, 201, seed)
    for got, base in zip(scaled.to_json().values(), spread.to_json().values(), strict=True):
        assert got == (pytest.approx(k * base, rel=1e-9) if isinstance(base, float) else base)
    other = interval_of(one_factor(other_gsd, amount)[0], ORE, 201, seed)
    for a, b in ((spread.low, other.low), (spread.median, other.median), (spread.high, other.high)):
        z = math.log(a / value) / math.log(gsd)
        assert math.log(b / value) / math.log(other_gsd) == pytest.approx(z, rel=1e-6, abs=1e-9)


def test_no_amount_no_spread() -> None:
    result, value = one_factor(2.0, 0.0)
    spread = interval_of(result, ORE, 200, 1)
    assert (spread.low, spread.median, spread.high, spread.mean) == (0, 0, 0, 0) == (value,) * 4
