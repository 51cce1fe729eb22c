"""Master data: parties, sites, materials; their rules and their three exchange formats."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from batterytrace.epcis import json_ld, xml
from batterytrace.epcis.model import Document
from batterytrace.masterdata import (
    InvalidMasterData,
    MasterData,
    MaterialKind,
    Party,
    Site,
    SiteRole,
    material,
    read_master_data,
)

MANAGEM = "urn:epc:id:pgln:6111111.00000"
GUEMASSA = "urn:epc:id:sgln:6111111.00200.0"
SULFATE = "urn:epc:idpat:sgtin:6111111.000201.*"
SOLUTION = "urn:epc:idpat:sgtin:6111111.000202.*"  # in drums of 200 L


def sample() -> MasterData:
    data = MasterData()
    data.add_party(
        Party(MANAGEM, "Managem", "MA", ("refiner", "seller"), (("LEI", "LEI-EXAMPLE"),))
    )
    data.add_site(Site(GUEMASSA, "Guemassa", MANAGEM, SiteRole.REFINERY, "MA", 31.39, -8.24))
    data.add_site(
        Site("urn:epc:id:sgln:6111111.00100.0", "Bou Azzer", MANAGEM, SiteRole.MINE, "MA")
    )
    data.add_material(
        material(SULFATE, "cobalt sulfate", MaterialKind.SULFATE, formula="CoSO4·7H2O")
    )
    data.add_material(
        material("urn:epc:idpat:sgtin:6111111.000101.*", "cobalt ore", MaterialKind.ORE,
                 declared={"Co": 0.0104, "Ni": 0.002}, source="assay:urn:uuid:ore-a")
    )  # fmt: skip
    data.add_material(
        material("urn:epc:idpat:sgtin:3700000.030001.*", "pack", MaterialKind.PACK,
                 declared={"Co": 0.0011}, source="bill of materials 2025-03",
                 chemistry="NMC811", energy_kwh=52.0)
    )  # fmt: skip
    return data


def with_solution() -> MasterData:
    """The sample and a liquid in drums: a density and a mass per item (drum)."""
    data = sample()
    data.add_material(
        material(SOLUTION, "cobalt sulfate solution", MaterialKind.SULFATE,
                 declared={"Co": 0.08}, source="assay:urn:uuid:sol-a", density_kg_per_l=1.25,
                 mass_kg=250.0)
    )  # fmt: skip
    return data


def test_pure_compounds_get_computed_fractions() -> None:
    sulfate = sample().materials[SULFATE]
    assert sulfate.fraction("Co") == pytest.approx(58.933 / 281.09, rel=1e-4)
    assert sulfate.fraction("Ni") == 0.0  # known to hold none
    assert sulfate.fractions[0].source == "stoichiometry:CoSO4·7H2O"
    ore = sample().materials["urn:epc:idpat:sgtin:6111111.000101.*"]
    assert ore.fraction("Li") is None  # not assayed: unknown, never a silent zero


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"formula": "CoSO4·7H2O", "declared": {"Co": 0.21}}, "computed from the formula"),
        ({"declared": {"Co": 0.5}}, "declared fractions need their source"),
        (
            {"declared": {"Co": 0.7, "Ni": 0.4}, "source": "x"},
            "Co 0.7, Ni 0.4 sum to 1.1, more than 1",
        ),
        ({"declared": {"Co": -0.1}, "source": "x"}, "fractions.Co: -0.1 is not within [0, 1]"),
        ({"declared": {"Fe": 0.1}, "source": "x"}, "fractions.Fe: not one of Co, Ni, Li, Mn, Cu"),
        ({"formula": "CoXq"}, "formula: 'CoXq': 'Xq' is not a known element"),
        ({"density_kg_per_l": 0}, "density_kg_per_l: 0 is not a positive density"),
        ({"density_kg_per_l": float("nan")}, "density_kg_per_l: nan is not a positive density"),
    ],
)
def test_material_rules(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidMasterData) as info:
        material("urn:x:m", "m", MaterialKind.CONCENTRATE, **kwargs)
    assert str(info.value).startswith("material urn:x:m: ")
    assert message in str(info.value)


def test_quantities_weighed_by_the_master_data() -> None:
    solution = with_solution().materials[SOLUTION]
    assert solution.kg(10, "LTR") == pytest.approx(10 * 1.25)
    assert solution.kg(2, "MTQ") == pytest.approx(2000 * 1.25)
    assert solution.kg(3, None) == pytest.approx(3 * 250)  # a count: drums of the class
    assert solution.kg(3, "H87") == pytest.approx(3 * 250)
    assert solution.kg(40, "TNE") == pytest.approx(40_000)
    assert solution.kg(1, "KWH") is None  # not a mass, a volume or a count
    sulfate = sample().materials[SULFATE]  # neither density nor mass per item
    assert sulfate.kg(10, "LTR") is None
    assert sulfate.kg(3, None) is None
    assert sulfate.kg(5, "KGM") == 5


def test_batteries_need_chemistry_and_energy() -> None:
    with pytest.raises(InvalidMasterData, match="chemistry: required for a cell"):
        material("urn:x:c", "cell", MaterialKind.CELL, energy_kwh=0.35)
    with pytest.raises(InvalidMasterData, match="energy_kwh: a pack needs a positive energy"):
        material("urn:x:p", "pack", MaterialKind.PACK, chemistry="NMC811", energy_kwh=0)


def test_site_and_party_rules() -> None:
    data = sample()
    with pytest.raises(InvalidMasterData, match=f"site {GUEMASSA}: id: duplicate site id"):
        data.add_site(Site(GUEMASSA, "again", MANAGEM, SiteRole.REFINERY, "MA"))
    with pytest.raises(InvalidMasterData, match="party: 'urn:x:nobody' is not a known party"):
        data.add_site(Site("urn:x:s", "s", "urn:x:nobody", SiteRole.PORT, "MA"))
    with pytest.raises(InvalidMasterData, match="country: 'Morocco' is not an ISO 3166-1"):
        data.add_party(Party("urn:x:p", "p", "Morocco"))
    with pytest.raises(InvalidMasterData, match=r"latitude: 91\.0 is not within ±90"):
        data.add_site(Site("urn:x:s2", "s", MANAGEM, SiteRole.PORT, "MA", 91.0, 0.0))
    with pytest.raises(InvalidMasterData, match="duplicate party id"):
        data.add_party(Party(MANAGEM, "Managem", "MA"))


def test_json_round_trip() -> None:
    data = with_solution()
    again = MasterData.from_json(orjson.loads(orjson.dumps(data.to_json())))
    assert again == data


def test_csv_round_trip() -> None:
    data = with_solution()
    tables = data.to_csv()
    assert tables["materials"].splitlines()[0].startswith("id,name,kind,formula,fraction_Co")
    assert MasterData.from_csv(tables) == data


def test_csv_errors_name_the_record() -> None:
    tables = sample().to_csv()
    tables["sites"] = tables["sites"].replace("refinery", "smelter")
    with pytest.raises(InvalidMasterData, match=f"site {GUEMASSA}: role: 'smelter' is not one of"):
        MasterData.from_csv(tables)


@pytest.mark.parametrize("syntax", ["json", "xml"])
def test_epcis_master_data_round_trip(syntax: str) -> None:
    data = with_solution()
    doc = Document(creationDate=datetime(2025, 1, 1, tzinfo=UTC), masterData=data.to_vocabularies())
    if syntax == "json":
        read = json_ld.document_from_json(orjson.loads(orjson.dumps(json_ld.document_to_json(doc))))
    else:
        read = xml.read_document(xml.write_document(doc))
    assert MasterData.from_vocabularies(read.masterData) == data


def test_other_vocabularies_are_skipped() -> None:
    data = sample()
    vocabularies = data.to_vocabularies()
    foreign = type(vocabularies[0])("urn:epcglobal:epcis:vtype:ReadPoint", ())
    assert MasterData.from_vocabularies((*vocabularies, foreign)) == data


# ---- issue 13, point 5: the import files are checked against their format ----------------------


def _party(country: str, id: str = MANAGEM) -> dict[str, object]:
    return {"id": id, "name": "Managem", "country": country}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"parties": "none"}, "$.parties: must be a valid list (got 'none')"),
        ({"parties": [_party("MA") | {"roles": "refiner"}]},
         "$.parties[0].roles: must be a valid list"),
        ({"sites": [{"id": GUEMASSA, "name": "G", "party": MANAGEM, "role": "refinery",
                     "country": "MA", "latitude": "31.4"}]},
         "$.sites[0].latitude: must be a valid number"),
        ({"materials": [{"id": "urn:epc:idpat:sgtin:6111111.000201.*", "name": "s",
                         "kind": "sulfate", "formula": "CoSO4", "fractionz": {}}]},
         "$.materials[0].fractionz: unknown field"),
        ({"parties": [_party("UK")]}, "party urn:epc:id:pgln:6111111.00000: country: 'UK' is not"),
        ({"parties": [_party("ZZ")]}, "country: 'ZZ' is not an ISO 3166-1 alpha-2 code"),
        ({"parties": [_party("MA", "urn:epc:id:pgln:6111111.0000\u0660")]},
         "character U+0660 is not visible ASCII"),  # an Arabic-Indic zero
        ({"parties": [_party("MA", "Managem")]}, "$.parties[0].id: Managem : not an absolute URI"),
    ],
)  # fmt: skip
def test_a_json_file_that_breaks_its_format_is_refused(
    tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "md.json"
    path.write_bytes(orjson.dumps(content))
    with pytest.raises(InvalidMasterData) as caught:
        read_master_data(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


@pytest.mark.parametrize("country", ["MA", "FR", "CD", "CN", "GB", "DE"])
def test_assigned_countries_are_read(tmp_path: Path, country: str) -> None:
    path = tmp_path / "md.json"
    path.write_bytes(orjson.dumps({"parties": [_party(country)]}))
    assert read_master_data(path).parties[MANAGEM].country == country


def test_csv_tables_refuse_unknown_columns_and_countries(tmp_path: Path) -> None:
    (tmp_path / "parties.csv").write_text(f"id,name,country\n{MANAGEM},Managem,ZZ\n")
    with pytest.raises(InvalidMasterData, match="country: 'ZZ' is not an ISO 3166-1"):
        read_master_data(tmp_path)
    (tmp_path / "parties.csv").write_text(f"id,name,country,perod\n{MANAGEM},Managem,MA,1\n")
    with pytest.raises(InvalidMasterData, match=r"parties.csv: line 1: column 'perod' is not one"):
        read_master_data(tmp_path)
