"""Targets and what-if levers on the hand-written chain, each effect worked out by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.carbon.factors import read_csv
from batterytrace.carbon.footprint import footprint, rollup
from batterytrace.carbon.system import Builder
from batterytrace.carbon.targets import TARGETS, cobalt_mix, lever, targets
from batterytrace.errors import FootprintError
from batterytrace.units import mass_fractions
from carbon_chain import CONV, FACTORS, PACK, SITES, SUL, X, Y, chain, model

PACKS = {"cls:pack": (2.0, "NMC811")}  # kWh and chemistry of the chain's pack


def pack_per_kwh(what_if: list[str]) -> float:
    report = targets(chain(), PACKS, what_if, baseline=100.0)
    return report.levers[0][1].latest


# The recorded chain, worked by hand from carbon_chain.py: sulfate at the plant
# (370 mine + 128 refinery power + 50 process + 2 sea leg) / 100 kg = 5.5 kg CO2e/kg; X =
# 80 x 5.5 + 20 x 10 conventional + 15 (the plant's 25, X's 60 kg of 100) = 655 on 60 kg; a cell
# = (30 kg of X + 5 cell power + 50 cell materials) / 10; the pack = 4 cells + 1 pack power, 2 kWh
RECORDED = (4 * (30 * 655 / 60 + 5 + 50) / 10 + 1) / 2  # 77.0 kg CO2e/kWh
# The 2020 baseline: X from 104 kg of conventional sulfate at 10 instead (the plant's 15 stays)
BASELINE = (4 * (30 * (104 * 10 + 15) / 60 + 5 + 50) / 10 + 1) / 2  # 117.0 kg CO2e/kWh


def test_cobalt_bought_instead_of_traced() -> None:
    system = cobalt_mix(chain(), {"purchased": 1.0})
    x, y = (system.nodes[system.index[n]].inputs for n in (X, Y))
    conv, sul = system.index[CONV], system.index[SUL]
    # X used 80 kg of sulfate (21 % Co) and 20 kg of conventional (20 % Co): 20.8 kg Co,
    # now all conventional: 104 kg; Y: 20 x 0.21 + 30 x 0.2 = 10.2 kg Co, 51 kg
    assert x[conv] == pytest.approx(104, rel=1e-12) and x.get(sul, 0) == 0
    assert y[conv] == pytest.approx(51, rel=1e-12)


def test_baseline_and_progress() -> None:
    report = targets(chain(), PACKS, ["wind=1.0"])
    # the 2020 chain: cobalt bought conventional (wind does not matter: no sulfate left)
    assert report.baseline == pytest.approx(BASELINE, rel=1e-12)
    assert report.recorded.by_year == {2025: pytest.approx(RECORDED, rel=1e-12)}
    assert report.target(2024) is None
    assert report.target(2027) == pytest.approx(117 * 0.8)  # -20 % from 2025: 93.6
    assert report.target(2031) == pytest.approx(117 * 0.65)  # -35 % from 2030: 76.05
    assert [y for y, _ in TARGETS] == [2025, 2030]
    data = report.to_json()
    assert data["baseline"]["kgCO2ePerKWh"] == report.baseline  # type: ignore[index]


def test_wind_lever() -> None:
    # the refinery's 1 MWh moves from 0.8 x 0.01 + 0.2 x 0.6 to 0.01 per kWh: 118 kg CO2e less on
    # 100 kg of sulfate; the pack holds 4 of 10 cells from 30 kg of X's 60, X 80 of the 100 kg
    share = 0.4 * 30 / 60 * 80 / 100
    assert pack_per_kwh(["wind=1.0"]) == pytest.approx(RECORDED - 118 * share / 2, rel=1e-12)


def test_wind_is_known_by_the_factor_kind_not_its_id() -> None:
    """A user's set: the park's wind factor has no "wind" in its id, and "windy-grid" is a grid
    factor; the lever moves the refinery to the park, as with the shipped names."""
    text = (
        "id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,"
        "gwp,source,reference\n"
        "guemassa-park,Park,wind,,kWh,0.01,MA,2025,1.3,,,0,AR6,test,https://example.org\n"
        "windy-grid,Grid,grid,,kWh,0.6,MA,2025,1.2,,,0,AR6,test,https://example.org\n"
    )
    mine = read_csv(text, "mine", "1").over(FACTORS)
    mix = {"guemassa-park": 0.8, "windy-grid": 0.2}
    data = [{**a, "mix": mix} if a.get("mix") else a for a in model().to_json()["activities"]]
    system = Builder(model(activities=data), mine, SITES)
    assert system.system.wind_mix() == {"guemassa-park", "windy-grid"}
    report = targets(chain(model(activities=data), factors=mine), PACKS, ["wind=1.0"], 100.0)
    # as test_wind_lever: 118 kg CO2e less on the sulfate's 100 kg (1 MWh at 0.01 instead of
    # 0.8 x 0.01 + 0.2 x 0.6 per kWh)
    share = 0.4 * 30 / 60 * 80 / 100
    assert report.levers[0][1].latest == pytest.approx(RECORDED - 118 * share / 2, rel=1e-12)


def test_transport_and_cell_grid_levers() -> None:
    share = 0.4 * 30 / 60 * 80 / 100
    # 200 t.km by road (0.1) instead of sea (0.01)
    assert pack_per_kwh(["transport=road"]) == pytest.approx(RECORDED + 18 * share / 2, rel=1e-12)
    # the cell line's 100 kWh at 0.6 instead of 0.05, 4 of its 10 cells in the pack
    assert pack_per_kwh(["cell-grid=grid-ma"]) == pytest.approx(RECORDED + 55 * 0.4 / 2, rel=1e-12)


def test_chemistry_lever_scales_cobalt_by_its_intensity() -> None:
    fp = footprint(rollup(chain()), PACK, 2.0)
    change = pack_per_kwh(["chemistry=NMC622"]) - RECORDED
    # NMC622 needs 0.18 kg Co/kWh against 0.081 (contracts' table): Co-bound burdens x 2.22;
    # the precursor plant's own burdens scale with the cathode's kg per kWh (0.18 / 12.2 % Co
    # against 0.081 / 6.1 % Co); cell, pack and the pack's transport do not move
    co = {f: mass_fractions(f)["Co"] for f in ("LiNi0.6Mn0.2Co0.2O2", "LiNi0.8Mn0.1Co0.1O2")}
    cathode = (0.18 / co["LiNi0.6Mn0.2Co0.2O2"]) / (0.081 / co["LiNi0.8Mn0.1Co0.1O2"])
    plant = 25 * 60 / 100 * 0.4 * 30 / 60  # the plant's 25 kg CO2e: X's 60 %, the pack's 20 %
    expected = fp.materials["Co"] * (0.18 / 0.081 - 1) + plant * (cathode - 1)
    assert change == pytest.approx(expected / 2, rel=1e-9)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wind=1.5", "wind: '1.5' is not a share"),
        ("sun=1", "is not LEVER=VALUE"),
        ("transport=teleport", "transport: 'teleport' is not one of"),
    ],
)
def test_bad_lever_syntax_is_named(text: str, message: str) -> None:
    with pytest.raises(FootprintError, match=message):
        lever(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("recycled=0.2", "no recycled cobalt lots recorded"),
        ("chemistry=NMC999", "chemistry: 'NMC999' is not one of"),
    ],
)
def test_levers_the_chain_cannot_take_are_named(text: str, message: str) -> None:
    assert str(lever(text)) == text  # well formed: only the chain can refuse it
    with pytest.raises(FootprintError, match=message):
        targets(chain(), PACKS, [text])


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1))
def test_reweighing_keeps_each_steps_cobalt(share: float) -> None:
    system = cobalt_mix(chain(), {"purchased": share})
    co = {n.id: n.elements.get("Co", 0) / n.output for n in system.nodes if n.material == "Co"}
    for lot, expected in ((X, 20.8), (Y, 10.2)):
        inputs = system.nodes[system.index[lot]].inputs
        kg_co = sum(a * co.get(system.nodes[i].id, 0) for i, a in inputs.items())
        assert kg_co == pytest.approx(expected, rel=1e-12)
        conv = inputs.get(system.index[CONV], 0.0) * 0.2
        assert conv == pytest.approx(share * expected, rel=1e-9, abs=1e-12)
