"""A small supply chain written out by hand (mine, refinery, a purchased sulfate, a precursor
plant, a cell line, a pack plant) for the carbon tests: its figures are worked in the tests."""

from __future__ import annotations

from datetime import UTC, datetime

from batterytrace.carbon import DRAWS, SEED
from batterytrace.carbon import activity as act
from batterytrace.carbon.factors import FactorSet, read_csv
from batterytrace.carbon.footprint import Rollup, footprint
from batterytrace.carbon.system import (
    Assembled,
    Builder,
    Leg,
    Made,
    Output,
    SupplierPcf,
    System,
    Unit,
)
from batterytrace.carbon.uncertainty import Interval, interval
from batterytrace.masterdata import Site, SiteRole
from batterytrace.trace.lineage import node_id

FACTORS = read_csv(
    """id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,gwp,source,reference
diesel,Diesel,fuel,,L,2.5,GLO,2025,1.1,,,0,AR6,test,https://example.org
grid-ma,Grid MA,grid,,kWh,0.6,MA,2025,1.2,,,0,AR6,test,https://example.org
grid-fr,Grid FR,grid,,MJ,0.0138888888888889,FR,2025,1.2,,,0,AR6,test (per MJ: 0.05 per kWh),https://example.org
wind,Wind,wind,,kWh,0.01,GLO,2025,1.3,,,0,AR6,test,https://example.org
freight-sea-container,Sea,freight,sea,tkm,0.01,GLO,2025,1.5,,,0,AR6,test,https://example.org
freight-road-truck,Road,freight,road,tkm,0.1,GLO,2025,1.5,,,0,AR6,test,https://example.org
conventional,Conventional sulfate,material,,kg,10,CN,2025,,5,15,0,AR6,test,https://example.org
cell-materials,Cell materials,material,,kWh_capacity,5,GLO,2025,1.4,,,0.1,AR6,test,https://example.org
""",
    "test",
    "1",
)


def site(code: str, role: SiteRole, country: str, lat: float = 0.0, lon: float = 0.0) -> Site:
    sgln = f"urn:epc:id:sgln:{code[:7]}.{code[7:]}.0"
    return Site(node_id(sgln), code, "urn:epc:id:pgln:0.0", role, country, lat, lon)


MINE, REFINERY, CHINA, PLANT, CELLS, PACKS = (
    site("611111100100", SiteRole.MINE, "MA"),
    site("611111100200", SiteRole.REFINERY, "MA", 31.39, -8.24),
    site("690123400100", SiteRole.REFINERY, "CN"),
    site("301234500100", SiteRole.PRECURSOR, "FR", 50.99, 2.30),
    site("370000000100", SiteRole.CELL, "FR"),
    site("370000000200", SiteRole.PACK, "FR"),
)
SITES = {s.id: s for s in (MINE, REFINERY, CHINA, PLANT, CELLS, PACKS)}
WHEN = datetime(2025, 6, 1, tzinfo=UTC)
ORE, SUL, CONV = "lot:ore", "lot:sulfate", "lot:conventional"
X, Y = "lot:pcam-x", "lot:pcam-y"
BATCH, PACK = "urn:uuid:cells#outputEPCList", "pack:1"


def model(**changes: object) -> act.Model:
    content = {
        "activities": [
            {
                "site": MINE.id,
                "period": "2025",
                "kind": "fuel",
                "factor": "diesel",
                "amount": 100,
                "unit": "L",
            },
            {
                "site": MINE.id,
                "period": "2025",
                "kind": "electricity",
                "factor": "grid-ma",
                "amount": 200,
                "unit": "kWh",
            },
            {
                "site": REFINERY.id,
                "period": "2025",
                "kind": "electricity",
                "mix": {"wind": 0.8, "grid-ma": 0.2},
                "amount": 1,
                "unit": "MWh",
            },
            {
                "site": REFINERY.id,
                "period": "2025-Q2",
                "kind": "process",
                "amount": 0.05,
                "unit": "tCO2e",
                "quality": "estimated",
            },
            {
                "site": PLANT.id,
                "period": "2025",
                "kind": "electricity",
                "factor": "grid-fr",
                "amount": 500,
                "unit": "kWh",
            },
            {
                "site": CELLS.id,
                "period": "2025",
                "kind": "electricity",
                "factor": "grid-fr",
                "amount": 100,
                "unit": "kWh",
            },
            {
                "site": CELLS.id,
                "period": "2025",
                "kind": "material",
                "factor": "cell-materials",
                "amount": 10,
                "unit": "kWh_capacity",
            },
            {
                "site": PACKS.id,
                "period": "2025",
                "kind": "electricity",
                "factor": "grid-fr",
                "amount": 20,
                "unit": "kWh",
            },
        ],
        "lanes": [{"from": REFINERY.id, "to": PLANT.id, "mode": "sea", "distanceKm": 2000}],
        "proxies": [{"product": "cls:conventional", "factor": "conventional"}],
    } | changes
    return act.from_json(content, "model.json")


def out(node: str, kg: float, cls: str = "", **elements: float) -> Output:
    return Output(node, Unit.KG, kg, cls or f"cls:{node[4:]}", elements)


def chain(
    m: act.Model | None = None,
    suppliers: dict[str, SupplierPcf] | None = None,
    factors: FactorSet = FACTORS,
) -> System:
    b = Builder(m or model(), factors, SITES, suppliers)
    b.step(Made("e1", MINE.id, WHEN, (), (out(ORE, 1000, Co=10),), commissioned=True))
    b.step(Made("e2", REFINERY.id, WHEN, ((ORE, 1000),), (out(SUL, 100, Co=21),)))
    b.step(
        Made(
            "e3", CHINA.id, WHEN, (), (out(CONV, 50, "cls:conventional", Co=10),), commissioned=True
        )
    )
    b.leg(Leg("e4", SUL, 100, REFINERY.id, PLANT.id, WHEN))
    b.step(Made("e5", PLANT.id, WHEN, ((SUL, 80), (CONV, 20)), (out(X, 60, Co=3.6, Ni=28),)))
    b.step(Made("e6", PLANT.id, WHEN, ((SUL, 20), (CONV, 30)), (out(Y, 40, Co=2.4, Ni=19),)))
    cells = Output(BATCH, Unit.ITEM, 10, "cls:cell", {"Co": 0.5, "Ni": 4})
    b.step(Made("urn:uuid:cells", CELLS.id, WHEN, ((X, 30),), (cells,)))
    b.assembled(Assembled(PACK, "cls:pack", PACKS.id, WHEN, ((BATCH, 4),)))
    return b.build()


def interval_of(result: Rollup, node: str, draws: int = DRAWS, seed: int = SEED) -> Interval:
    """The Monte Carlo interval of one unit of a product of a roll-up."""
    return interval(footprint(result, node), result.system.factors, draws, seed)
