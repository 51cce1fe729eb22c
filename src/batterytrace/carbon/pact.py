"""PACT (WBCSD Partnership for Carbon Transparency, formerly Pathfinder) ProductFootprint exchange.

:func:`export` publishes a footprint computed by batterytrace as the ProductFootprint of the PACT
Technical Specifications v2.3 (``specVersion`` 2.3.0) or v3.0 (3.0.0). :func:`read` checks a
supplier's ProductFootprint of any 2.x or 3.x version against the required part of that version's
data model (pydantic models of the OpenAPI components ``ProductFootprint`` and ``CarbonFootprint``)
and reads it as an input footprint in kg CO2e per kg of product.

The two versions count a footprint per different things. In v2 the declared unit is one unit of
measurement (1 kWh) and ``unitaryProductAmount`` says how many the product holds; in v3 (ADR 0036)
the declared unit is ``declaredUnitAmount`` x ``declaredUnitOfMeasurement``, i.e. the whole product,
and every per-declared-unit value (PCF, emissions, carbon content, ``productMassPerDeclaredUnit``)
is for that amount. Quantities are Decimal strings ("0.384"), except the v2 percentages and DQRs,
which are JSON numbers.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from batterytrace.errors import PactError
from batterytrace.formats import describe, show

SPEC_VERSIONS = {"2": "2.3.0", "3": "3.0.0"}


# Standards a Declared may name; "PACT" is the PACT Methodology of the Tech Specs version written
# (Pathfinder Framework / PACT Methodology 2.0 for v2.x, 3.0 for v3.0).
STANDARDS = ("ISO14067", "ISO14040-44", "ISO14083", "GHGP-Product", "PEF", "PACT")
# The deprecated v2 crossSectoralStandardsUsed (required there) knows only these three.
_V2_STANDARDS_USED = {
    "ISO14067": "ISO Standard 14067",
    "GHGP-Product": "GHG Protocol Product standard",
    "ISO14040-44": "ISO Standard 14044",
}
_FROM_V2_STANDARDS_USED = {legacy: name for name, legacy in _V2_STANDARDS_USED.items()}

_DQR = ("technological", "temporal", "geographical", "completeness", "reliability")
_DQI_KEYS = {"2": frozenset({"coverage", *_DQR}), "3": frozenset(_DQR[:3])}

_NO_EXEMPTION = "No emissions exempted."


@dataclass(frozen=True, slots=True)
class Declared:
    """A product footprint computed by batterytrace, to publish as a PACT ProductFootprint.

    Every ``*_per_unit`` value is per one unit of ``declared_unit`` (per kWh of a pack, per kg of a
    lot); ``unitary_amount`` is how many of those units the product is.
    """

    id: str  # urn:uuid:... or a UUID string; deriving it deterministically is the caller's job
    product_ids: tuple[str, ...]  # URNs: urn:epc:id:sgtin:..., urn:epc:class:lgtin:..., ...
    product_name: str
    product_description: str
    company_name: str
    company_ids: tuple[str, ...]  # URNs, e.g. urn:epc:id:pgln:3700000.00000
    declared_unit: str  # "kilogram", "kilowatt hour", or "piece" (v3 only)
    unitary_amount: float  # a 52 kWh pack: 52 with "kilowatt hour"; a lot: 1 with "kilogram"
    fossil_kg_per_unit: float  # kg CO2e per declared unit, fossil
    biogenic_kg_per_unit: float  # kg CO2e per declared unit, biogenic emissions, usually 0
    period_start: datetime  # reference period, timezone-aware
    period_end: datetime
    geography_country: str  # ISO 3166-1 alpha-2 of the production site
    primary_data_share: float  # percent, 0..100
    dqr: Mapping[str, float]  # coverage (percent); technological, temporal, geographical,
    # completeness, reliability (1..3). v2 needs all six, v3 the first three ratings.
    factor_sources: tuple[tuple[str, str], ...]  # (name, version) of the emission-factor sets used
    allocation: str  # allocation rules description
    boundary: str  # boundary processes description
    created: datetime
    # UN CPC Ver.2.1 subclass 46420 "Electric accumulators" (HS 8507), for packs and cells; a raw
    # material passes its own code (basic inorganic chemicals are in CPC group 342).
    cpc: str = "46420"
    version: int = 1
    comment: str = ""
    standards: tuple[str, ...] = ("ISO14067", "GHGP-Product", "PACT")
    # kg of product (without packaging) per declared unit: v3 requires it for a unit other than
    # kilogram (a pack in kWh: its mass / its capacity); for kilogram it is 1.
    mass_kg_per_unit: float | None = None
    fossil_carbon_kg_per_unit: float = 0.0  # kg C per declared unit in the product (graphite...)
    # The IPCC reports whose GWP100 the factors used (PACT Methodology: AR6 where available, else
    # every report used).
    ipcc_reports: tuple[str, ...] = ("AR6",)
    preceding: tuple[str, ...] = ()  # ids of the footprints of this product it replaces


def export(declared: Declared, version: str = "3") -> dict[str, Any]:
    """The ProductFootprint of PACT Technical Specifications v2.3 (version "2") or v3.0 ("3")."""
    if version not in SPEC_VERSIONS:
        raise PactError(f"version: {version!r} is not 2 (PACT v2.3) or 3 (PACT v3.0)")
    d = declared
    _check(d, version)
    mass = _mass(d)
    header: dict[str, Any] = {
        "id": _uuid(d.id),
        "specVersion": SPEC_VERSIONS[version],
        **({"precedingPfIds": [_uuid(p) for p in d.preceding]} if d.preceding else {}),
    }
    product: dict[str, Any] = {
        "created": _datetime(d.created),
        "status": "Active",
        "companyName": d.company_name,
        "companyIds": list(d.company_ids),
        "productDescription": d.product_description,
        "productIds": list(d.product_ids),
        "productClassifications": [f"urn:pact:productclassification:un-cpc:{d.cpc}"],
        "productNameCompany": d.product_name,
    }
    pcf: dict[str, Any] = {
        "referencePeriodStart": _datetime(d.period_start),
        "referencePeriodEnd": _datetime(d.period_end),
        "geographyCountry": d.geography_country,
        "boundaryProcessesDescription": d.boundary,
        "allocationRulesDescription": d.allocation,
        "exemptedEmissionsDescription": _NO_EXEMPTION,
        "packagingEmissionsIncluded": False,
    }
    if d.factor_sources:
        sources = [{"name": name, "version": v} for name, v in d.factor_sources]
        pcf["secondaryEmissionFactorSources"] = sources
    standards = [f"PACT-{version}.0" if s == "PACT" else s for s in d.standards]
    if version == "2":
        v2 = {"version": d.version, "productCategoryCpc": d.cpc, "comment": d.comment}
        return header | product | v2 | {"pcf": _pcf_v2(d, mass, standards) | pcf}
    if mass is None:
        raise PactError(
            f"mass_kg_per_unit: PACT v3 requires productMassPerDeclaredUnit; give the kg of "
            f"product per {d.declared_unit}"
        )
    v3 = {"comment": d.comment} if d.comment else {}
    return header | product | v3 | {"pcf": _pcf_v3(d, mass, standards) | pcf}


def _pcf_v2(d: Declared, mass: float | None, standards: list[str]) -> dict[str, Any]:
    return {
        "declaredUnit": d.declared_unit,
        "unitaryProductAmount": _decimal(d.unitary_amount),
        **({} if mass is None else {"productMassPerDeclaredUnit": _decimal(mass)}),
        "pCfExcludingBiogenic": _decimal(d.fossil_kg_per_unit),
        "pCfIncludingBiogenic": _decimal(d.fossil_kg_per_unit + d.biogenic_kg_per_unit),
        "fossilGhgEmissions": _decimal(d.fossil_kg_per_unit),
        "fossilCarbonContent": _decimal(d.fossil_carbon_kg_per_unit),
        # Battery materials and packs are declared without biogenic carbon in the product.
        "biogenicCarbonContent": "0",
        # v2 takes one report: AR6 only when every factor used it (never claimed otherwise)
        "characterizationFactors": "AR6" if d.ipcc_reports == ("AR6",) else "AR5",
        "ipccCharacterizationFactorsSources": list(d.ipcc_reports),
        "crossSectoralStandardsUsed": [
            _V2_STANDARDS_USED[s] for s in d.standards if s in _V2_STANDARDS_USED
        ],
        "crossSectoralStandards": standards,
        "exemptedEmissionsPercent": 0,
        "primaryDataShare": float(_decimal(d.primary_data_share)),
        "dqi": {
            "coveragePercent": float(_decimal(d.dqr["coverage"])),
            **{f"{k}DQR": float(_decimal(d.dqr[k])) for k in _DQR},
        },
    }


def _pcf_v3(d: Declared, mass: float, standards: list[str]) -> dict[str, Any]:
    n = d.unitary_amount  # v3 values are per declaredUnitAmount units (ADR 0036)
    total = (d.fossil_kg_per_unit + d.biogenic_kg_per_unit) * n
    return {
        "declaredUnitOfMeasurement": d.declared_unit,
        "declaredUnitAmount": _decimal(n),
        "productMassPerDeclaredUnit": _decimal(mass * n),
        # No biogenic CO2 uptake is declared, so both headline values are equal.
        "pcfExcludingBiogenicUptake": _decimal(total),
        "pcfIncludingBiogenicUptake": _decimal(total),
        "fossilGhgEmissions": _decimal(d.fossil_kg_per_unit * n),
        "fossilCarbonContent": _decimal(d.fossil_carbon_kg_per_unit * n),
        "ccsTechnologicalCO2CaptureIncluded": False,
        "ipccCharacterizationFactors": list(d.ipcc_reports),  # every report used (v3)
        "crossSectoralStandards": standards,
        "exemptedEmissionsPercent": "0",
        "primaryDataShare": _decimal(d.primary_data_share),
        "dqi": {f"{k}DQR": _decimal(d.dqr[k]) for k in _DQR[:3]},
    }


def _check(d: Declared, version: str) -> None:
    """Refuses a Declared that is inconsistent or that the version cannot carry."""
    units = ("kilogram", "kilowatt hour", *(("piece",) if version == "3" else ()))
    if d.declared_unit not in units:
        raise PactError(
            f"declared_unit: {d.declared_unit!r} is not one of {', '.join(units)} (PACT v{version})"
        )
    for name in ("product_ids", "company_ids"):
        ids = getattr(d, name)
        if not ids or len(set(ids)) != len(ids) or not all(_URN.fullmatch(i) for i in ids):
            raise PactError(f"{name}: must be one or more distinct URNs (urn:...), not {ids!r}")
    for name in ("product_name", "company_name"):
        if not getattr(d, name):
            raise PactError(f"{name}: must not be empty")
    if not re.fullmatch(r"[0-9]{1,5}", d.cpc):
        raise PactError(f"cpc: {d.cpc!r} is not a UN CPC code (1 to 5 digits)")
    if not _COUNTRY.fullmatch(d.geography_country):
        raise PactError(f"geography_country: {d.geography_country!r} is not ISO 3166-1 alpha-2")
    for name in ("period_start", "period_end", "created"):
        if getattr(d, name).tzinfo is None:
            raise PactError(f"{name}: must be timezone-aware (PACT date-times are UTC)")
    if d.period_end <= d.period_start:
        raise PactError("period_end: must be after period_start")
    _number("unitary_amount", d.unitary_amount, lambda x: x > 0, "> 0")
    for name in ("fossil_kg_per_unit", "biogenic_kg_per_unit", "fossil_carbon_kg_per_unit"):
        _number(name, getattr(d, name), lambda x: x >= 0, "≥ 0")
    _number("primary_data_share", d.primary_data_share, lambda x: 0 <= x <= 100, "from 0 to 100")
    if not _DQI_KEYS[version] <= set(d.dqr) <= _DQI_KEYS["2"]:
        raise PactError(
            f"dqr: keys {sorted(d.dqr)} must include {sorted(_DQI_KEYS[version])} "
            f"and be among {sorted(_DQI_KEYS['2'])}"
        )
    for key, value in d.dqr.items():
        if key == "coverage":
            _number("dqr.coverage", value, lambda x: 0 <= x <= 100, "from 0 to 100")
        else:
            _number(f"dqr.{key}", value, lambda x: 1 <= x <= 3, "from 1 to 3")
    if not all(name and v for name, v in d.factor_sources):
        raise PactError(f"factor_sources: names and versions must not be empty: {d.factor_sources}")
    unknown = [s for s in d.standards if s not in STANDARDS]
    if unknown or not d.standards or len(set(d.standards)) != len(d.standards):
        raise PactError(f"standards: must be distinct names among {', '.join(STANDARDS)}")
    if version == "2" and not set(d.standards) & _V2_STANDARDS_USED.keys():
        raise PactError(f"standards: PACT v2 needs one of {', '.join(_V2_STANDARDS_USED)}")
    if not 0 <= d.version <= 2**31 - 1:
        raise PactError(f"version: {d.version} is not an int32 ≥ 0")


def _mass(d: Declared) -> float | None:
    """kg of product per declared unit: 1 for kilogram, else the one given (v2 may go without)."""
    if d.declared_unit == "kilogram":
        if d.mass_kg_per_unit not in (None, 1):
            raise PactError("mass_kg_per_unit: must be 1 (or None) for a declared unit of kilogram")
        return 1.0
    if d.mass_kg_per_unit is not None:
        _number("mass_kg_per_unit", d.mass_kg_per_unit, lambda x: x > 0, "> 0")
    return d.mass_kg_per_unit


def _number(name: str, value: float, ok: Callable[[float], bool], rule: str) -> None:
    if not (math.isfinite(value) and ok(value)):
        raise PactError(f"{name}: must be a finite number {rule}, not {value}")


def _uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))  # also takes urn:uuid:...
    except ValueError:
        raise PactError(f"id: {text!r} is not a UUID (bare or urn:uuid:...)") from None


def _datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _decimal(value: float) -> str:
    """A PACT Decimal: 6 significant digits, never in exponent notation (1.5e-07 -> 0.00000015)."""
    return "0" if value == 0 else format(Decimal(format(value, ".6g")), "f")


@dataclass(frozen=True, slots=True)
class SupplierFootprint:
    """A supplier's PCF read from a PACT ProductFootprint, usable as an input footprint."""

    id: str
    spec_version: str
    company_name: str
    product_ids: tuple[str, ...]
    kg_co2e_per_kg: float  # PCF excluding biogenic uptake (v2: pCfExcludingBiogenic), per kg
    fossil_kg_per_kg: float
    primary_data_share: float | None  # percent, None when not given
    period_start: datetime  # UTC
    period_end: datetime
    geography: str | None  # country, country subdivision, or UN region, as the document gives it
    standards: tuple[str, ...]  # v3 names (v2's crossSectoralStandardsUsed mapped to them)
    status: str


def read(document: Mapping[str, Any]) -> SupplierFootprint:
    """Checks the document against the ProductFootprint model of its specVersion (2.x or 3.x) and
    reads it; PactError naming the JSON path of the failing field and the rule otherwise."""
    if not isinstance(document, Mapping):
        raise PactError(f"ProductFootprint: must be a JSON object, not {show(document)}")
    spec = document.get("specVersion")
    if spec is None:
        raise PactError("specVersion: required field is missing")
    if not (isinstance(spec, str) and _SPEC_VERSION.fullmatch(spec)):
        raise PactError(f"specVersion: must be major.minor.patch, not {show(spec)}")
    model = _MODELS.get(spec.partition(".")[0])
    if model is None:
        raise PactError(f"specVersion: {spec!r} is not a version this reader knows (2.x or 3.x)")
    try:
        footprint = model.model_validate(dict(document))
    except ValidationError as exc:
        raise PactError(describe(exc, "ProductFootprint")) from None
    return footprint.supplier()


# ---- The data models of the two versions: required fields and the fields read -------------------

_URN = re.compile(r"[uU][rR][nN]:.+", re.DOTALL)
_COUNTRY = re.compile(r"[A-Z]{2}")
_SPEC_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(-[0-9]{8})?")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # "Decimal: a dotted-decimal number" (v2 §dt-decimal)
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def _text(pattern: str, rule: str) -> PlainValidator:
    compiled = re.compile(pattern, re.DOTALL)

    def check(value: object) -> str:
        if isinstance(value, str) and compiled.fullmatch(value):
            return value
        raise PydanticCustomError("pact", rule)

    return PlainValidator(check)


def _decimal_rule(rule: str, ok: Callable[[Decimal], bool]) -> PlainValidator:
    def parse(value: object) -> Decimal:
        if isinstance(value, str) and _DECIMAL.fullmatch(value) and ok(Decimal(value)):
            return Decimal(value)
        raise PydanticCustomError("pact", rule)

    return PlainValidator(parse)


def _date_time(value: object) -> datetime:
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    raise PydanticCustomError("pact", "must be a date-time string with an offset (RFC 3339)")


def _unique(items: list[Any]) -> list[Any]:
    if len(set(items)) != len(items):
        raise PydanticCustomError("pact", "items must be unique")
    return items


Dec = Annotated[Decimal, _decimal_rule("must be a decimal string", lambda _: True)]
NonNegative = Annotated[Decimal, _decimal_rule("must be a decimal string ≥ 0", lambda n: n >= 0)]
Positive = Annotated[Decimal, _decimal_rule("must be a decimal string > 0", lambda n: n > 0)]
Percent = Annotated[
    Decimal, _decimal_rule("must be a decimal string from 0 to 100", lambda n: 0 <= n <= 100)
]
DateTime = Annotated[datetime, PlainValidator(_date_time)]
_HEX = "[0-9a-fA-F]"
Uuid = Annotated[str, _text(f"{_HEX}{{8}}(-{_HEX}{{4}}){{3}}-{_HEX}{{12}}", "must be a UUID")]
Urn = Annotated[str, _text(_URN.pattern, "must be a URN (urn:...)")]
Urns = Annotated[list[Urn], Field(min_length=1), AfterValidator(_unique)]
IpccReports = Annotated[
    list[Annotated[str, _text(r"AR[0-9]+", "must be an IPCC report, AR<n>")]],
    Field(min_length=1),
    AfterValidator(_unique),
]
NonEmpty = Annotated[str, Field(min_length=1)]
Country = Annotated[str, _text(_COUNTRY.pattern, "must be an ISO 3166-1 alpha-2 code")]
Subdivision = Annotated[str, _text(r"[A-Z]{2}-[A-Z0-9]{1,3}", "must be an ISO 3166-2 code")]
Region = Literal[
    "Africa", "Americas", "Asia", "Europe", "Oceania", "Australia and New Zealand", "Central Asia",
    "Eastern Asia", "Eastern Europe", "Latin America and the Caribbean", "Melanesia", "Micronesia",
    "Northern Africa", "Northern America", "Northern Europe", "Polynesia", "South-eastern Asia",
    "Southern Asia", "Southern Europe", "Sub-Saharan Africa", "Western Asia", "Western Europe",
]  # fmt: skip
V2Units = Literal[
    "liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer",
    "square meter",
]  # fmt: skip
V3Units = Literal[
    "liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer",
    "square meter", "piece", "hour", "megabit second",
]  # fmt: skip
V2Standard = Literal[
    "ISO14067", "ISO14083", "ISO14040-44", "GHGP-Product", "PEF", "PACT-1.0", "PACT-2.0", "PACT-3.0"
]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", alias_generator=to_camel, frozen=True)


class _Scope(_Model):
    """What both versions' CarbonFootprint share: the reference period and the geography."""

    reference_period_start: DateTime
    reference_period_end: DateTime
    geography_region_or_subregion: Region | None = None
    geography_country: Country | None = None
    geography_country_subdivision: Subdivision | None = None

    def scope(self) -> str | None:
        """Checks the period and returns the one geography given (the schema's oneOf), if any."""
        if self.reference_period_end <= self.reference_period_start:
            raise PactError("pcf.referencePeriodEnd: must be after pcf.referencePeriodStart")
        given = [
            g
            for g in (
                self.geography_region_or_subregion,
                self.geography_country,
                self.geography_country_subdivision,
            )
            if g is not None
        ]
        if len(given) > 1:
            raise PactError(
                "pcf: at most one of geographyRegionOrSubregion, geographyCountry, "
                "geographyCountrySubdivision"
            )
        return given[0] if given else None


class _CarbonFootprintV2(_Scope):
    declared_unit: V2Units
    unitary_product_amount: Positive
    p_cf_excluding_biogenic: NonNegative
    fossil_ghg_emissions: NonNegative
    fossil_carbon_content: NonNegative
    biogenic_carbon_content: NonNegative
    characterization_factors: Literal["AR6", "AR5"]
    ipcc_characterization_factors_sources: IpccReports
    cross_sectoral_standards_used: Annotated[
        list[Literal["GHG Protocol Product standard", "ISO Standard 14067", "ISO Standard 14044"]],
        Field(min_length=1),
        AfterValidator(_unique),
    ]
    cross_sectoral_standards: (
        Annotated[list[V2Standard], Field(min_length=1), AfterValidator(_unique)] | None
    ) = None
    boundary_processes_description: str
    exempted_emissions_percent: Annotated[float, Field(ge=0, le=100)]
    exempted_emissions_description: str
    packaging_emissions_included: bool
    primary_data_share: Annotated[float, Field(ge=0, le=100)] | None = None


class _CarbonFootprintV3(_Scope):
    declared_unit_of_measurement: V3Units
    declared_unit_amount: Positive
    product_mass_per_declared_unit: NonNegative
    pcf_excluding_biogenic_uptake: Dec  # may be negative in v3 (removals); refused by read()
    pcf_including_biogenic_uptake: Dec
    fossil_ghg_emissions: NonNegative
    fossil_carbon_content: NonNegative
    ipcc_characterization_factors: IpccReports
    # Any string: "A host system MUST accept ... values that are not defined in this specification"
    cross_sectoral_standards: Annotated[
        list[NonEmpty], Field(min_length=1), AfterValidator(_unique)
    ]
    exempted_emissions_percent: Percent
    primary_data_share: Percent | None = None


class _Footprint(_Model):
    id: Uuid
    spec_version: str
    created: DateTime
    status: Literal["Active", "Deprecated"]
    company_name: NonEmpty
    company_ids: Urns
    product_description: str
    product_ids: Urns
    product_name_company: NonEmpty

    def _usable(self) -> None:
        if self.status == "Deprecated":
            raise PactError(
                "status: Deprecated: the data owner has superseded this footprint, which PACT says "
                "SHOULD NOT be used; refused as an input footprint"
            )

    def _footprint(
        self,
        pcf: _Scope,
        geography: str | None,
        per_kg: Decimal,
        fossil: Decimal,
        share: float | None,
        standards: list[str],
    ) -> SupplierFootprint:
        return SupplierFootprint(
            id=self.id,
            spec_version=self.spec_version,
            company_name=self.company_name,
            product_ids=tuple(self.product_ids),
            kg_co2e_per_kg=_finite("pcf", per_kg),
            fossil_kg_per_kg=_finite("pcf.fossilGhgEmissions", fossil),
            primary_data_share=share,
            period_start=pcf.reference_period_start,
            period_end=pcf.reference_period_end,
            geography=geography,
            standards=tuple(dict.fromkeys(standards)),
            status=self.status,
        )


class _FootprintV2(_Footprint):
    version: Annotated[int, Field(ge=0, le=2**31 - 1)]
    comment: str
    product_category_cpc: NonEmpty
    pcf: _CarbonFootprintV2

    def supplier(self) -> SupplierFootprint:
        self._usable()
        pcf = self.pcf
        geography = pcf.scope()
        _mass_unit("pcf.declaredUnit", pcf.declared_unit)  # values are per 1 kg (v2)
        standards = [_FROM_V2_STANDARDS_USED[s] for s in pcf.cross_sectoral_standards_used]
        standards += pcf.cross_sectoral_standards or []
        return self._footprint(
            pcf,
            geography,
            pcf.p_cf_excluding_biogenic,
            pcf.fossil_ghg_emissions,
            pcf.primary_data_share,
            standards,
        )


class _FootprintV3(_Footprint):
    pcf: _CarbonFootprintV3

    def supplier(self) -> SupplierFootprint:
        self._usable()
        pcf = self.pcf
        geography = pcf.scope()
        _mass_unit("pcf.declaredUnitOfMeasurement", pcf.declared_unit_of_measurement)
        if pcf.pcf_excluding_biogenic_uptake < 0:
            raise PactError(
                "pcf.pcfExcludingBiogenicUptake: must be ≥ 0 for an input footprint "
                f"(net removals are not taken), not {pcf.pcf_excluding_biogenic_uptake}"
            )
        kg = pcf.declared_unit_amount  # values are per declaredUnitAmount kg (v3, ADR 0036)
        share = None if pcf.primary_data_share is None else float(pcf.primary_data_share)
        return self._footprint(
            pcf,
            geography,
            pcf.pcf_excluding_biogenic_uptake / kg,
            pcf.fossil_ghg_emissions / kg,
            share,
            list(pcf.cross_sectoral_standards),
        )


_MODELS: dict[str, type[_FootprintV2] | type[_FootprintV3]] = {"2": _FootprintV2, "3": _FootprintV3}


def _mass_unit(path: str, unit: str) -> None:
    # Neither version has a ton; kilogram is the only mass.
    if unit != "kilogram":
        raise PactError(f"{path}: {unit!r} is not a mass; a supplier footprint for a lot needs kg")


def _finite(path: str, value: Decimal) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise PactError(f"{path}: {value} is out of range")
    return number
