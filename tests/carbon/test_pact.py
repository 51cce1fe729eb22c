"""PACT ProductFootprint: exports valid against the official v2.3 and v3.0 schemas, the numbers
they carry, and supplier footprints read or refused with the field and the rule."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.carbon.pact import Declared, export, read
from batterytrace.errors import PactError
from factories import SULFATE_PCF
from pact_schema import OPENAPI, validators

LOT = SULFATE_PCF
PACK = replace(
    LOT,
    id="0f6c1c1e-3b0a-4a57-9d7e-2f3c4d5e6f70",
    product_ids=("urn:epc:id:sgtin:3700000.000010.4711", "urn:pact:example.com:pack:NMC-52"),
    product_name="NMC 811 traction pack, 52 kWh",
    product_description="Li-ion battery pack, 52 kWh nominal energy, 338 kg",
    declared_unit="kilowatt hour",
    unitary_amount=52,
    fossil_kg_per_unit=61.5,
    biogenic_kg_per_unit=0.25,
    mass_kg_per_unit=6.5,
    fossil_carbon_kg_per_unit=0.8,
    geography_country="DE",
    cpc="46420",
    comment="Cells from two plants, weighted by the cells received.",
    standards=("ISO14067", "GHGP-Product", "ISO14040-44", "PEF", "PACT"),
)


@pytest.fixture(scope="module")
def openapi(conformance: Path) -> dict[str, dict[str, Any]]:
    """The two OpenAPI files (3.1, i.e. JSON Schema 2020-12; no ``nullable``)."""
    folder = conformance / "pact" / "openapi"
    return {v: yaml.safe_load((folder / name).read_text()) for v, name in OPENAPI.items()}


@pytest.fixture(scope="module")
def schemas(conformance: Path) -> dict[str, jsonschema.Draft202012Validator]:
    return validators(conformance)


@pytest.fixture(scope="module")
def examples(conformance: Path) -> Path:
    return conformance / "pact" / "examples"


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _errors(validator: jsonschema.Draft202012Validator, document: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


# ---- export ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("declared", [LOT, PACK], ids=["lot", "pack"])
def test_export_is_valid_against_the_official_schema(
    schemas: dict[str, jsonschema.Draft202012Validator], declared: Declared, version: str
) -> None:
    document = export(declared, version)
    assert _errors(schemas[version], document) == []
    json.dumps(document, allow_nan=False)  # plain JSON


def test_export_v2_of_a_pack_carries_the_inputs() -> None:
    document = export(PACK, "2")
    pcf = document["pcf"]
    assert document["id"] == "0f6c1c1e-3b0a-4a57-9d7e-2f3c4d5e6f70"
    assert (document["specVersion"], document["version"], document["status"]) == (
        "2.3.0",
        1,
        "Active",
    )
    assert document["productCategoryCpc"] == "46420"
    assert document["productIds"] == list(PACK.product_ids)
    assert document["companyIds"] == list(PACK.company_ids)
    assert document["comment"] == PACK.comment
    # v2: values per 1 kWh, 52 of them in the pack
    assert (pcf["declaredUnit"], pcf["unitaryProductAmount"]) == ("kilowatt hour", "52")
    assert Decimal(pcf["pCfExcludingBiogenic"]) == Decimal("61.5")
    assert Decimal(pcf["pCfIncludingBiogenic"]) == Decimal("61.5") + Decimal("0.25")
    assert Decimal(pcf["fossilGhgEmissions"]) == Decimal("61.5")
    assert Decimal(pcf["fossilCarbonContent"]) == Decimal("0.8")
    assert Decimal(pcf["productMassPerDeclaredUnit"]) == Decimal("6.5")
    assert pcf["crossSectoralStandardsUsed"] == [
        "ISO Standard 14067",
        "GHG Protocol Product standard",
        "ISO Standard 14044",
    ]
    assert pcf["crossSectoralStandards"] == [
        "ISO14067",
        "GHGP-Product",
        "ISO14040-44",
        "PEF",
        "PACT-2.0",
    ]
    assert (pcf["characterizationFactors"], pcf["ipccCharacterizationFactorsSources"]) == (
        "AR6",
        ["AR6"],
    )
    assert pcf["referencePeriodStart"] == "2025-01-01T00:00:00Z"
    assert pcf["referencePeriodEnd"] == "2025-04-01T00:00:00Z"
    assert pcf["geographyCountry"] == "DE"
    assert pcf["primaryDataShare"] == 62.5
    assert pcf["dqi"] == {
        "coveragePercent": 95,
        "technologicalDQR": 1.5,
        "temporalDQR": 1.2,
        "geographicalDQR": 1.4,
        "completenessDQR": 1.8,
        "reliabilityDQR": 1.6,
    }
    assert pcf["secondaryEmissionFactorSources"] == [
        {"name": "ecoinvent", "version": "3.10"},
        {"name": "batterytrace grid factors", "version": "2025-1"},
    ]
    assert pcf["allocationRulesDescription"] == PACK.allocation
    assert pcf["boundaryProcessesDescription"] == PACK.boundary
    assert (pcf["exemptedEmissionsPercent"], pcf["packagingEmissionsIncluded"]) == (0, False)


def test_export_v3_of_a_pack_counts_per_declared_unit_amount() -> None:
    """v3 (ADR 0036): the declared unit is 52 kWh, so every value is for the whole pack."""
    document = export(PACK, "3")
    pcf = document["pcf"]
    assert document["specVersion"] == "3.0.0"
    assert "version" not in document and "productCategoryCpc" not in document
    assert document["productClassifications"] == ["urn:pact:productclassification:un-cpc:46420"]
    assert (pcf["declaredUnitOfMeasurement"], pcf["declaredUnitAmount"]) == ("kilowatt hour", "52")
    total = (Decimal("61.5") + Decimal("0.25")) * 52
    assert Decimal(pcf["pcfExcludingBiogenicUptake"]) == total == Decimal("3211")
    assert Decimal(pcf["pcfIncludingBiogenicUptake"]) == total
    assert Decimal(pcf["fossilGhgEmissions"]) == Decimal("61.5") * 52
    assert Decimal(pcf["fossilCarbonContent"]) == Decimal("0.8") * 52
    assert Decimal(pcf["productMassPerDeclaredUnit"]) == Decimal(338)
    assert pcf["crossSectoralStandards"] == [
        "ISO14067",
        "GHGP-Product",
        "ISO14040-44",
        "PEF",
        "PACT-3.0",
    ]
    assert pcf["ipccCharacterizationFactors"] == ["AR6"]
    assert (pcf["primaryDataShare"], pcf["exemptedEmissionsPercent"]) == ("62.5", "0")
    assert pcf["dqi"] == {"technologicalDQR": "1.5", "temporalDQR": "1.2", "geographicalDQR": "1.4"}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize(
    ("fossil", "text"),
    [
        (1.23456789e-7, "0.000000123457"),
        (123456789.0, "123457000"),
        (2.5e-5, "0.000025"),
        (1 / 3, "0.333333"),
        (0.0, "0"),
    ],
)
def test_decimals_are_strings_of_six_significant_digits(fossil: float, text: str) -> None:
    document = export(replace(LOT, fossil_kg_per_unit=fossil), "3")
    assert document["pcf"]["fossilGhgEmissions"] == text
    numbers = [
        v for v in _leaves(document) if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    assert numbers == []  # v3 has no JSON numbers at all


@pytest.mark.parametrize(
    ("change", "version", "message"),
    [
        ({"declared_unit": "piece", "mass_kg_per_unit": 2.0}, "2", "declared_unit: 'piece' is not"),
        ({"declared_unit": "liter"}, "3", "declared_unit: 'liter' is not one of"),
        ({"mass_kg_per_unit": None}, "3", "mass_kg_per_unit: PACT v3 requires"),
        ({"id": "pack-52"}, "3", "id: 'pack-52' is not a UUID"),
        ({"product_ids": ("4711",)}, "3", "product_ids: must be one or more distinct URNs"),
        ({"company_ids": ()}, "2", "company_ids: must be one or more distinct URNs"),
        ({"period_end": datetime(2024, 12, 31, tzinfo=UTC)}, "3", "period_end: must be after"),
        ({"created": datetime(2025, 5, 2)}, "3", "created: must be timezone-aware"),
        ({"geography_country": "Germany"}, "3", "geography_country: 'Germany' is not ISO"),
        ({"fossil_kg_per_unit": -1.0}, "3", "fossil_kg_per_unit: must be a finite number ≥ 0"),
        ({"unitary_amount": 0}, "2", "unitary_amount: must be a finite number > 0"),
        ({"primary_data_share": 120.0}, "3", "primary_data_share: must be a finite number from 0"),
        ({"dqr": {"technological": 4, "temporal": 2, "geographical": 2}}, "3", "dqr.technological"),
        ({"dqr": {"technological": 2, "temporal": 2, "geographical": 2}}, "2", "dqr: keys"),
        ({"standards": ("ISO 14067",)}, "3", "standards: must be distinct names among"),
        ({"standards": ("PEF", "PACT")}, "2", "standards: PACT v2 needs one of"),
        ({"cpc": "4642-0"}, "2", "cpc: '4642-0' is not a UN CPC code"),
    ],
)
def test_export_refuses_what_the_version_cannot_carry(
    change: dict[str, Any], version: str, message: str
) -> None:
    with pytest.raises(PactError, match=re.escape(message)):
        export(replace(PACK, **change), version)


def test_export_knows_two_versions() -> None:
    with pytest.raises(PactError, match=re.escape("version: '2.3' is not 2 (PACT v2.3) or 3")):
        export(LOT, "2.3")


def test_a_piece_is_a_v3_declared_unit() -> None:
    document = export(
        replace(PACK, declared_unit="piece", unitary_amount=1, mass_kg_per_unit=338), "3"
    )
    assert document["pcf"]["declaredUnitOfMeasurement"] == "piece"
    assert document["pcf"]["productMassPerDeclaredUnit"] == "338"


def test_non_utc_times_are_written_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    document = export(replace(LOT, period_start=datetime(2025, 1, 1, 1, tzinfo=cet)), "3")
    assert document["pcf"]["referencePeriodStart"] == "2025-01-01T00:00:00Z"


# ---- read -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2", "3"])
def test_read_round_trips_a_lot(version: str) -> None:
    supplier = read(export(LOT, version))
    assert supplier.kg_co2e_per_kg == 4.85
    assert supplier.fossil_kg_per_kg == 4.85
    assert supplier.id == "5b2f3a1e-0c4d-5e6f-8a9b-0c1d2e3f4a5b"
    assert supplier.spec_version == {"2": "2.3.0", "3": "3.0.0"}[version]
    assert supplier.company_name == LOT.company_name
    assert supplier.product_ids == LOT.product_ids
    assert supplier.primary_data_share == 62.5
    assert (supplier.period_start, supplier.period_end) == (LOT.period_start, LOT.period_end)
    assert supplier.geography == "FI"
    assert supplier.standards == ("ISO14067", "GHGP-Product", f"PACT-{version}.0")
    assert supplier.status == "Active"


def test_read_v3_divides_by_the_declared_unit_amount() -> None:
    """A 1000 kg lot declared as 1000 kg: the PCF is for the lot, read back per kg."""
    lot = replace(LOT, unitary_amount=1000, fossil_kg_per_unit=4.85, biogenic_kg_per_unit=0.15)
    document = export(lot, "3")
    assert document["pcf"]["pcfExcludingBiogenicUptake"] == "5000"
    supplier = read(document)
    assert supplier.kg_co2e_per_kg == 5.0
    assert supplier.fossil_kg_per_kg == 4.85


@pytest.mark.parametrize(
    ("version", "field"), [("2", "pcf.declaredUnit"), ("3", "pcf.declaredUnitOfMeasurement")]
)
def test_read_refuses_a_kwh_footprint_as_an_input(version: str, field: str) -> None:
    message = f"{field}: 'kilowatt hour' is not a mass; a supplier footprint for a lot needs kg"
    with pytest.raises(PactError, match=f"^{re.escape(message)}$"):
        read(export(PACK, version))


def test_every_item_of_the_valid_v3_example_is_read(
    examples: Path, schemas: dict[str, jsonschema.Draft202012Validator]
) -> None:
    items = _load(examples / "v3-valid-list-footprints-response.json")["data"]
    assert items
    for item in items:
        assert _errors(schemas["3"], item) == []
        pcf = item["pcf"]
        amount = Decimal(pcf["declaredUnitAmount"])
        supplier = read(item)
        assert supplier.id == item["id"]
        assert supplier.spec_version == item["specVersion"]
        assert supplier.company_name == item["companyName"]
        assert supplier.product_ids == tuple(item["productIds"])
        assert supplier.kg_co2e_per_kg == float(Decimal(pcf["pcfExcludingBiogenicUptake"]) / amount)
        assert supplier.fossil_kg_per_kg == float(Decimal(pcf["fossilGhgEmissions"]) / amount)
        assert supplier.primary_data_share == float(pcf["primaryDataShare"])
        assert supplier.period_start == datetime.fromisoformat(pcf["referencePeriodStart"])
        assert supplier.period_end == datetime.fromisoformat(pcf["referencePeriodEnd"])
        assert supplier.geography == pcf["geographyCountry"]
        assert supplier.standards == tuple(pcf["crossSectoralStandards"])
        assert supplier.status == item["status"]
    assert (supplier.kg_co2e_per_kg, supplier.geography) == (0.384, "US")  # the file's values


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("v3-tc03-get-footprint-response.json", ("data",)),
        ("v3-tc04-list-footprints-response.json", ("data", 0)),
        ("v3-tc04-list-footprints-response.json", ("data", 1)),
    ],
)
def test_the_abbreviated_test_case_payloads_are_refused(
    examples: Path,
    schemas: dict[str, jsonschema.Draft202012Validator],
    name: str,
    path: tuple[Any, ...],
) -> None:
    """PROVENANCE.md: these payloads are abbreviated; the official schema refuses them too."""
    document = _load(examples / name)
    for key in path:
        document = document[key]
    assert _errors(schemas["3"], document)
    with pytest.raises(PactError, match=r"^(productNameCompany|pcf\.\w+): required field"):
        read(document)


def _valid(version: str) -> dict[str, Any]:
    return export(LOT, version)


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    target[last] = value
    return document


def _drop(document: dict[str, Any], path: str) -> dict[str, Any]:
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    del target[last]
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_drop(_valid("3"), "pcf"), "pcf: required field is missing"),
        (_drop(_valid("2"), "pcf"), "pcf: required field is missing"),
        (
            _set(_valid("2"), "pcf.pCfExcludingBiogenic", "-0.5"),
            "pcf.pCfExcludingBiogenic: must be a decimal string ≥ 0 (got '-0.5')",
        ),
        (
            _set(_valid("3"), "pcf.pcfExcludingBiogenicUptake", "-0.5"),
            "pcf.pcfExcludingBiogenicUptake: must be ≥ 0 for an input footprint",
        ),
        (
            _set(_valid("3"), "pcf.fossilGhgEmissions", "4,85"),
            "pcf.fossilGhgEmissions: must be a decimal string ≥ 0 (got '4,85')",
        ),
        (
            _set(_valid("3"), "pcf.pcfIncludingBiogenicUptake", "4.85e0"),
            "pcf.pcfIncludingBiogenicUptake: must be a decimal string (got '4.85e0')",
        ),
        (
            _set(_valid("3"), "pcf.declaredUnitAmount", 1),
            "pcf.declaredUnitAmount: must be a decimal string > 0 (got 1)",
        ),
        (
            _set(_valid("2"), "pcf.unitaryProductAmount", "0"),
            "pcf.unitaryProductAmount: must be a decimal string > 0 (got '0')",
        ),
        (_set(_valid("3"), "specVersion", "3.0"), "specVersion: must be major.minor.patch"),
        (_set(_valid("3"), "specVersion", 3), "specVersion: must be major.minor.patch, not 3"),
        (_set(_valid("3"), "specVersion", "4.0.0"), "specVersion: '4.0.0' is not a version"),
        (_set(_valid("2"), "specVersion", "1.0.0"), "specVersion: '1.0.0' is not a version"),
        (_drop(_valid("2"), "specVersion"), "specVersion: required field is missing"),
        (
            _set(_valid("3"), "pcf.referencePeriodEnd", "2024-12-31T00:00:00Z"),
            "pcf.referencePeriodEnd: must be after pcf.referencePeriodStart",
        ),
        (
            _set(_valid("2"), "pcf.referencePeriodEnd", "2025-01-01T00:00:00Z"),
            "pcf.referencePeriodEnd: must be after pcf.referencePeriodStart",
        ),
        (
            _set(_valid("3"), "pcf.referencePeriodStart", "2025-01-01"),
            "pcf.referencePeriodStart: must be a date-time string with an offset",
        ),
        (
            _set(_valid("3"), "status", "Deprecated"),
            "status: Deprecated: the data owner has superseded this footprint",
        ),
        (_set(_valid("2"), "status", "Deprecated"), "refused as an input footprint"),
        (_set(_valid("3"), "status", "Retired"), "status: must be 'Active' or 'Deprecated'"),
        (_set(_valid("3"), "id", "lot-7"), "id: must be a UUID (got 'lot-7')"),
        (_set(_valid("3"), "companyIds", ["acme"]), "companyIds[0]: must be a URN"),
        (_set(_valid("3"), "productIds", []), "productIds: must not be empty"),
        (_set(_valid("2"), "productNameCompany", ""), "productNameCompany: must not be empty"),
        (_set(_valid("2"), "version", "1"), "version: must be a valid integer (got '1')"),
        (_set(_valid("2"), "pcf.declaredUnit", "piece"), "pcf.declaredUnit: must be 'liter'"),
        (
            _set(_valid("2"), "pcf.crossSectoralStandardsUsed", ["ISO14067"]),
            "pcf.crossSectoralStandardsUsed[0]: must be 'GHG Protocol Product standard'",
        ),
        (
            _set(_valid("3"), "pcf.ipccCharacterizationFactors", ["AR6", "AR6"]),
            "pcf.ipccCharacterizationFactors: items must be unique",
        ),
        (
            _set(_valid("2"), "pcf.primaryDataShare", "62.5"),
            "pcf.primaryDataShare: must be a valid number (got '62.5')",
        ),
        (
            _set(_valid("3"), "pcf.primaryDataShare", 62.5),
            "pcf.primaryDataShare: must be a decimal string from 0 to 100 (got 62.5)",
        ),
        (
            _set(_valid("3"), "pcf.geographyRegionOrSubregion", "Europe"),
            "pcf: at most one of geographyRegionOrSubregion, geographyCountry",
        ),
        (_set(_valid("3"), "pcf.geographyCountry", "fi"), "pcf.geographyCountry: must be an ISO"),
        (_set(_valid("3"), "pcf", []), "pcf: must be a JSON object (got an array)"),
    ],
)
def test_invalid_documents_are_refused_naming_the_field(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(PactError, match=re.escape(message)) as caught:
        read(document)
    assert "\n" not in str(caught.value)


def test_only_a_json_object_is_a_footprint() -> None:
    with pytest.raises(PactError, match=r"^ProductFootprint: must be a JSON object, not an array$"):
        read([_valid("3")])  # type: ignore[arg-type]


def test_a_subdivision_or_region_is_a_geography_too() -> None:
    document = _drop(_valid("3"), "pcf.geographyCountry")
    assert read(document).geography is None  # global
    assert read(_set(document, "pcf.geographyCountrySubdivision", "FI-10")).geography == "FI-10"


# ---- mutations ------------------------------------------------------------------------------


def _required(openapi: dict[str, dict[str, Any]], version: str) -> list[str]:
    """The keys the official schema requires: the ProductFootprint's and its pcf's."""
    schemas = openapi[version]["components"]["schemas"]
    return list(schemas["ProductFootprint"]["required"]) + [
        f"pcf.{key}" for key in schemas["CarbonFootprint"]["required"]
    ]


@pytest.mark.parametrize("version", ["2", "3"])
def test_every_required_key_dropped_is_refused_by_name(
    openapi: dict[str, dict[str, Any]], version: str
) -> None:
    for path in _required(openapi, version):
        with pytest.raises(PactError, match=f"^{re.escape(path)}: required field is missing$"):
            read(_drop(_valid(version), path))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and index path in a JSON value."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    return [p for k, v in items for p in [(*prefix, k), *_paths(v, (*prefix, k))]]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["-1", "0", "1.5", "2025-01-01T00:00:00Z", "urn:x:y", "kilogram"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _mutate(document: dict[str, Any], data: st.DataObject) -> None:
    """Drops a key or an item, or replaces a value with any JSON, somewhere in the document."""
    path = data.draw(st.sampled_from(_paths(document)))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(JSON)


@settings(max_examples=300, deadline=None)
@given(version=st.sampled_from(["2", "3"]), product=st.sampled_from([LOT, PACK]), data=st.data())
def test_random_mutations_give_a_footprint_or_a_pact_error(
    version: str, product: Declared, data: st.DataObject
) -> None:
    document = export(product, version)
    for _ in range(data.draw(st.integers(1, 3))):
        if _paths(document):
            _mutate(document, data)
    try:
        read(document)
    except PactError as error:
        assert "\n" not in str(error)


@settings(max_examples=200, deadline=None)
@given(version=st.sampled_from(["2", "3"]), data=st.data())
def test_a_document_without_a_required_key_is_always_refused(
    openapi: dict[str, dict[str, Any]], version: str, data: st.DataObject
) -> None:
    document = _valid(version)
    dropped = data.draw(st.sampled_from(_required(openapi, version)))
    _drop(document, dropped)
    if data.draw(st.booleans()):
        _mutate(document, data)
    with pytest.raises(PactError):
        read(document)
