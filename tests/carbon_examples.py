"""The project's own example documents (examples/01-03, CBV 2.0 style: shipments state their
origin in the source list, not in bizLocation) with master data and a carbon model written for
the carbon tests; the figures are worked in the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batterytrace.masterdata import MasterData, Material, MaterialKind, Party, Site, SiteRole

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DOCUMENTS = ("01-mine-to-sulfate.jsonld", "02-sulfate-to-cells.xml", "03-cells-to-vehicle.jsonld")
BOU_AZZER, GUEMASSA = "urn:epc:id:sgln:6111111.00100.0", "urn:epc:id:sgln:6111111.00200.0"
CATHODES, DOUAI = "urn:epc:id:sgln:3012345.00100.0", "urn:epc:id:sgln:3700000.00100.0"
VEHICLES, HUB = "urn:epc:id:sgln:3700000.00200.0", "urn:epc:id:sgln:3700000.00300.0"
SULFATE = "urn:epc:class:lgtin:6111111.000201.GCS-2025-0205"
CAM = "urn:epc:class:lgtin:3012345.000811.NMC811-2503-01"
VEHICLE = "urn:epc:id:sgtin:3700000.100001.VF1DM2025X0000042"
EXAMPLE_FACTORS = """id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,\
biogenic_share,gwp,source,reference
diesel,Diesel,fuel,,L,3,GLO,2025,1.1,,,0,AR6,test,https://example.org
grid,Grid,grid,,kWh,0.5,FR,2025,1.2,,,0,AR6,test,https://example.org
freight-road-truck,Road,freight,road,tkm,0.1,GLO,2025,1.5,,,0,AR6,test,https://example.org
freight-sea-container,Sea,freight,sea,tkm,0.01,GLO,2025,1.5,,,0,AR6,test,https://example.org
"""


# The sulfate lot (4,944 kg, file 01) by hand: the mine's 1,000 L of diesel at 3 (both ore lots
# were mined in January: all of it), the ore legs (sourceList location, no bizLocation: 60 t
# and 55 t x 250 km road x 0.1), Guemassa's 20,000 kWh at 0.5 (February), and its own sea leg
# to the cathode plant (file 02: 4.944 t x 2,500 km x 0.01).
ORE_LEGS = 60 * 250 * 0.1 + 55 * 250 * 0.1
SEA_LEG = 4.944 * 2500 * 0.01
SULFATE_KG = 1000 * 3 + ORE_LEGS + 20000 * 0.5 + SEA_LEG


def master_data_of_examples() -> MasterData:
    data = MasterData()
    for pgln, name, country in (
        ("urn:epc:id:pgln:6111111.00010", "CTT", "MA"),
        ("urn:epc:id:pgln:6111111.00000", "Managem", "MA"),
        ("urn:epc:id:pgln:3012345.00000", "Cathodes du Nord", "FR"),
        ("urn:epc:id:pgln:3700000.00000", "Renault", "FR"),
    ):
        data.add_party(Party(pgln, name, country))
    for sgln, name, party, role in (
        (BOU_AZZER, "Bou Azzer", "6111111.00010", SiteRole.MINE),
        (GUEMASSA, "Guemassa", "6111111.00000", SiteRole.REFINERY),
        (CATHODES, "Cathode plant", "3012345.00000", SiteRole.CATHODE),
        (DOUAI, "Douai cells", "3700000.00000", SiteRole.CELL),
        (VEHICLES, "Douai vehicles", "3700000.00000", SiteRole.VEHICLE_ASSEMBLY),
        (HUB, "Hub", "3700000.00000", SiteRole.WAREHOUSE),
    ):
        country = "MA" if party.startswith("6111111") else "FR"
        data.add_site(Site(sgln, name, f"urn:epc:id:pgln:{party}", role, country))
    data.add_material(
        Material("urn:epc:idpat:sgtin:3700000.100001.*", "Vehicle", MaterialKind.VEHICLE)
    )
    return data


def model_of_examples(guemassa: str = "2025-02") -> dict[str, Any]:
    """The mine's diesel in January, Guemassa's electricity in ``guemassa``, three lanes."""
    return {
        "activities": [
            {"site": BOU_AZZER, "period": "2025-01", "kind": "fuel", "factor": "diesel",
             "amount": 1000, "unit": "L"},
            {"site": GUEMASSA, "period": guemassa, "kind": "electricity", "factor": "grid",
             "amount": 20000, "unit": "kWh"},
        ],
        "lanes": [
            {"from": BOU_AZZER, "to": GUEMASSA, "mode": "road", "distanceKm": 250},
            {"from": GUEMASSA, "to": CATHODES, "mode": "sea", "distanceKm": 2500},
            {"from": CATHODES, "to": DOUAI, "mode": "road", "distanceKm": 60},
        ],
    }  # fmt: skip
