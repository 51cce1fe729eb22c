"""Emission factors: the shipped set, activity-unit conversion, the CSV reader's rules."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batterytrace.carbon.activity import Mode
from batterytrace.carbon.factors import (
    SHIPPED_VERSION,
    Factor,
    FactorKind,
    FactorSet,
    read_csv,
    shipped,
    write_csv,
)
from batterytrace.errors import FactorError, UnitError
from batterytrace.units import ACTIVITY_UNITS, convert, dimension

REQUIRED = (
    "electricity-grid-ma", "electricity-grid-fr", "electricity-grid-de", "electricity-grid-fi",
    "electricity-grid-cn", "electricity-grid-cd", "electricity-grid-eu",
    "electricity-wind-onshore", "electricity-wind-offshore", "electricity-solar-pv",
    "diesel", "heavy-fuel-oil", "natural-gas", "lpg",
    "sulfuric-acid", "sodium-hydroxide", "lime", "hydrogen-peroxide", "sodium-carbonate",
    "ammonia", "explosives",
    "freight-sea-container", "freight-sea-bulk", "freight-road-truck", "freight-rail",
    "freight-inland-waterway", "freight-air",
    "cobalt-sulfate-conventional", "nickel-sulfate", "lithium-hydroxide", "lithium-carbonate",
    "manganese-sulfate", "cam-nmc811", "pcam-nmc811", "cell-manufacturing",
    "cell-materials-other", "pack-components",
)  # fmt: skip

HEADER = (
    "id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,gwp,source,"
    "reference"
)
ROW = "diesel,Diesel,fuel,,L,3.3,GB,2025,1.05,,,0,AR5,DESNZ 2025,https://example.org/desnz"


def value(id: str) -> float:
    return shipped().get(id).value


def test_shipped_set_loads_complete() -> None:
    factors = shipped()
    assert factors.label == f"batterytrace@{SHIPPED_VERSION}"
    assert set(REQUIRED) <= set(factors.factors)
    for f in factors.factors.values():
        assert f.source and f.reference.startswith("http"), f.id
        assert f.unit in ACTIVITY_UNITS and f.value > 0 and 0 <= f.biogenic_share <= 1
        assert f.sigma >= 0
    assert shipped() is factors  # cached


def test_shipped_units_by_kind() -> None:
    for id in REQUIRED:
        unit = shipped().get(id).unit
        if id.startswith("electricity-"):
            assert unit == "kWh"
        elif id.startswith("freight-"):
            assert unit == "tkm"
    assert shipped().get("diesel").unit == "L"
    assert shipped().get("natural-gas").unit == "MJ"
    assert shipped().get("cell-manufacturing").unit == "kWh_capacity"


def test_shipped_values_are_plausible() -> None:
    """Bounds from independent knowledge, not from the rows' own sources."""
    assert (
        value("electricity-grid-cn") > value("electricity-grid-de") > value("electricity-grid-fr")
    )
    assert 0.5 <= value("electricity-grid-ma") <= 0.75  # battery.md §3.5: about 600 g/kWh
    assert (
        value("electricity-grid-fi") < value("electricity-grid-eu") < value("electricity-grid-ma")
    )
    assert value("electricity-wind-onshore") < 0.05 and value("electricity-wind-offshore") < 0.05
    assert value("electricity-solar-pv") < 0.1
    assert value("freight-sea-container") < value("freight-rail") < value("freight-road-truck")
    assert value("freight-sea-bulk") < value("freight-road-truck") < value("freight-air")
    assert 2 <= value("cobalt-sulfate-conventional") <= 15
    assert 2.5 <= value("diesel") <= 3.5  # kg CO2e per litre, combustion plus upstream
    assert 0.05 <= value("natural-gas") <= 0.075  # kg CO2e per MJ
    assert value("cam-nmc811") > value("pcam-nmc811")


def test_convert_within_dimension() -> None:
    assert convert(1, "kWh", "MJ") == 3.6
    assert convert(3.6, "MJ", "kWh") == 1.0
    assert convert(2, "t", "kg") == 2000
    assert convert(1500, "g", "kg") == 1.5
    assert convert(1, "GJ", "MJ") == pytest.approx(1000)
    assert convert(1000, "kgkm", "tkm") == 1
    assert convert(1, "m3", "L") == 1000
    assert convert(1, "MWh_capacity", "kWh_capacity") == 1000
    assert convert(1, "tCO2e", "kgCO2e") == 1000
    assert convert(1, "KWH", "3B") == 3.6  # Rec. 20 codes
    assert convert(1, "TNE", "KGM") == 1000
    assert dimension("kWh_capacity") == "capacity" and dimension("MTQ") == "volume"


@pytest.mark.parametrize(
    ("unit", "to", "message"),
    [
        ("kWh", "kg", "cannot convert kWh (energy) to kg (mass)"),
        ("kWh", "kWh_capacity", "cannot convert kWh (energy) to kWh_capacity (capacity)"),
        ("MWh_capacity", "MJ", "cannot convert MWh_capacity (capacity) to MJ (energy)"),
        ("kwhh", "kWh", "unknown unit 'kwhh'; known: Wh, kWh"),
        ("kg", "pound", "unknown unit 'pound'"),
    ],
)
def test_convert_refuses(unit: str, to: str, message: str) -> None:
    with pytest.raises(UnitError, match=re.escape(message)):
        convert(1, unit, to)


@st.composite
def same_dimension(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(st.sampled_from(sorted(ACTIVITY_UNITS)))
    b = draw(st.sampled_from(sorted(u for u, d in ACTIVITY_UNITS.items() if d[0] == dimension(a))))
    return a, b


@given(st.floats(-1e12, 1e12, allow_nan=False), same_dimension())
def test_convert_round_trip(x: float, units: tuple[str, str]) -> None:
    a, b = units
    assert convert(convert(x, a, b), b, a) == pytest.approx(x, rel=1e-12, abs=1e-300)


def test_factor_amount_converts_units() -> None:
    gas = shipped().get("natural-gas")
    assert gas.amount(1, "kWh") == pytest.approx(3.6)
    assert gas.amount(2, "GJ") == pytest.approx(2000)
    with pytest.raises(
        FactorError, match=r"factor natural-gas is per MJ: cannot convert kg \(mass\)"
    ):
        gas.amount(1, "kg")
    with pytest.raises(FactorError, match=r"factor natural-gas is per MJ: unknown unit 'kwhh'"):
        gas.amount(1, "kwhh")
    with pytest.raises(FactorError, match="kWh_capacity"):
        shipped().get("cell-manufacturing").amount(10, "kWh")


def test_missing_factor_names_id_and_set() -> None:
    with pytest.raises(
        FactorError, match=re.escape(f"'nope' is not in batterytrace@{SHIPPED_VERSION}")
    ):
        shipped().get("nope")
    assert "diesel" in shipped() and "nope" not in shipped() and 3 not in shipped()


@pytest.mark.parametrize(
    ("change", "line", "column", "rule"),
    [
        ({"header": HEADER.replace(",gsd", "")}, 1, "gsd", "missing column"),
        ({"header": HEADER + ",note", "row": ROW + ",x"}, 1, "note", "unknown column"),
        ({"row": ROW + ",extra"}, 2, "reference", "more fields than columns"),
        ({"id": "Diesel Oil"}, 2, "id", "not a lowercase kebab-case id"),
        ({"id": ""}, 2, "id", "required"),
        ({"name": ""}, 2, "name", "required"),
        ({"kind": ""}, 2, "kind", "required"),
        ({"kind": "wind-power"}, 2, "kind", "'wind-power' is not one of grid, wind, solar"),
        ({"mode": "sea"}, 2, "mode", "required for kind freight, and only for it"),
        ({"kind": "freight"}, 2, "mode", "required for kind freight, and only for it"),
        ({"kind": "freight", "mode": "ship"}, 2, "mode", "'ship' is not one of sea, road"),
        ({"unit": "kwhh"}, 2, "unit", "unknown unit 'kwhh'"),
        ({"kgco2e_per_unit": "0"}, 2, "kgco2e_per_unit", "a positive number is required"),
        ({"kgco2e_per_unit": "-1"}, 2, "kgco2e_per_unit", "a positive number is required"),
        ({"kgco2e_per_unit": "three"}, 2, "kgco2e_per_unit", "'three' is not a number"),
        ({"kgco2e_per_unit": "nan"}, 2, "kgco2e_per_unit", "not a finite number"),
        ({"geography": "Morocco"}, 2, "geography", "not an ISO 3166-1 alpha-2 code"),
        ({"year": "2025.5"}, 2, "year", "'2025.5' is not a year"),
        ({"gsd": "1"}, 2, "gsd", "1 is not greater than 1"),
        ({"gsd": "0.9"}, 2, "gsd", "not greater than 1"),
        ({"gsd": "", "low": "3"}, 2, "high", "low and high go together"),
        ({"gsd": "", "high": "4"}, 2, "low", "low and high go together"),
        ({"gsd": "", "low": "3.4", "high": "4"}, 2, "low", "does not contain the value 3.3"),
        ({"gsd": "", "low": "2", "high": "3"}, 2, "low", "does not contain the value 3.3"),
        ({"gsd": ""}, 2, "gsd", "an uncertainty is required"),
        ({"biogenic_share": "1.5"}, 2, "biogenic_share", "a share from 0 to 1 is required"),
        ({"biogenic_share": ""}, 2, "biogenic_share", "a share from 0 to 1 is required"),
        ({"source": " "}, 2, "source", "required"),
        ({"reference": ""}, 2, "reference", "required"),
    ],
)
def test_read_csv_rules(change: dict[str, str], line: int, column: str, rule: str) -> None:
    fields = dict(zip(HEADER.split(","), ROW.split(","), strict=True))
    fields.update({k: v for k, v in change.items() if k not in ("header", "row")})
    row = change.get("row", ",".join(fields.values()))
    text = f"{change.get('header', HEADER)}\n{row}\n"
    with pytest.raises(
        FactorError, match=re.escape(f"line {line}: {column}: ") + ".*" + re.escape(rule)
    ):
        read_csv(text, "test", "1")


def test_read_csv_duplicate_id_names_both_lines() -> None:
    text = f"{HEADER}\n{ROW}\n{ROW.replace('diesel,Diesel', 'lpg,LPG')}\n{ROW}\n"
    with pytest.raises(FactorError, match=re.escape("line 4: id: 'diesel' is already on line 2")):
        read_csv(text, "test", "1")


def test_read_csv_accepts_a_range_or_a_gsd() -> None:
    text = f"{HEADER}\n{ROW.replace(',1.05,,,', ',,3.0,3.3,')}\n"
    factor = read_csv(text, "mine", "1").get("diesel")
    assert factor.gsd is None and factor.low == 3.0 and factor.high == 3.3
    assert factor.sigma == pytest.approx(math.log(3.3 / 3.0) / 1.96, rel=1e-3)


def test_write_then_read_is_the_same_set() -> None:
    assert read_csv(write_csv(shipped()), "batterytrace", SHIPPED_VERSION) == shipped()
    small = read_csv(f"{HEADER}\n{ROW}\n", "mine", "2")
    assert write_csv(small) == f"{HEADER}\n{ROW}\n"


def factor(**change: Any) -> Factor:
    return replace(
        Factor(
            *("x", "X", "kg", 2.0, "GLO", 2024, None, None, None, 0.0, "AR6", "s", "https://r"),
            FactorKind.MATERIAL,
        ),
        **change,
    )


def test_sigma_from_gsd_and_from_range() -> None:
    assert factor(gsd=1.5).sigma == pytest.approx(math.log(1.5))
    assert factor(low=1.0, high=3.0).sigma == pytest.approx(math.log(2.0) / 1.959964)  # wider side
    assert factor(low=1.9, high=8.0).sigma == pytest.approx(math.log(4.0) / 1.959964)
    assert factor(gsd=1.2, low=1.0, high=3.0).sigma == pytest.approx(math.log(1.2))  # gsd first
    with pytest.raises(FactorError, match="factor x: no uncertainty"):
        _ = factor().sigma


def test_over_overrides_one_factor_and_keeps_the_rest() -> None:
    mine = FactorSet("acme", "3", {"diesel": factor(id="diesel", unit="L", value=2.9, gsd=1.1)})
    merged = mine.over(shipped())
    assert merged.label == "acme@3"
    assert merged.get("diesel").value == 2.9
    assert merged.get("lpg") == shipped().get("lpg")
    assert set(merged.factors) == set(shipped().factors)
    assert shipped().get("diesel").value != 2.9  # the shipped set is untouched


def test_gwp_names_an_ipcc_report() -> None:
    assert {f.gwp for f in shipped().factors.values()} <= {"AR5", "AR6"}
    with pytest.raises(FactorError, match="line 2: gwp: 'GWP100' is not an IPCC report"):
        read_csv(f"{HEADER}\n{ROW.replace(',AR5,', ',GWP100,')}\n", "mine", "2")


def test_shipped_factors_declare_what_they_are() -> None:
    """Wind, grid and freight factors are known by their kind and mode, not their id."""
    factors = shipped()
    for mode in Mode:
        assert factors.get(mode.factor).kind is FactorKind.FREIGHT
        assert factors.get(mode.factor).mode is mode
    assert factors.get("electricity-wind-onshore").kind is FactorKind.WIND
    assert factors.get("electricity-grid-ma").kind is FactorKind.GRID
    assert {f.id for f in factors.factors.values() if f.mode} == {
        f.id for f in factors.factors.values() if f.kind is FactorKind.FREIGHT
    }
