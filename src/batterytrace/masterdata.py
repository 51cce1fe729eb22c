"""Master data of the supply chain: parties, their sites, and the materials that move between them.

Plain typed records with their rules (issue 3 §1): a site belongs to a known party; site and
party identifiers are unique; a material's element mass fractions are computed from its formula
when it is a pure compound (``CoSO4·7H2O``) and otherwise declared with their source (an assay,
a specification); fractions are within [0, 1] and sum to at most 1; cells, modules and packs
state their chemistry and energy. Exchanged as JSON, as CSV (one table per kind) and as EPCIS
master data (``epcisHeader.epcisMasterData``: BusinessLocation, Party and EPCClass vocabularies).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import pycountry

from batterytrace import json_input
from batterytrace.epcis.documents import sniff_syntax, stream
from batterytrace.epcis.json_ld import document_to_json
from batterytrace.epcis.model import Document, Vocabulary, VocabularyAttribute, VocabularyElement
from batterytrace.errors import BatteryTraceError, InvalidFormula, InvalidIdentifier
from batterytrace.identifiers import check_identifier
from batterytrace.units import COUNT_UNITS, KG_PER, LITRES_PER, mass_fractions

ELEMENTS = ("Co", "Ni", "Li", "Mn", "Cu")
BT = "https://batterytrace.org/voc/"
MDA = "urn:epcglobal:cbv:mda#"
VTYPE_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
VTYPE_PARTY = "urn:epcglobal:epcis:vtype:Party"
VTYPE_CLASS = "urn:epcglobal:epcis:vtype:EPCClass"


class InvalidMasterData(BatteryTraceError):
    """A party, site or material breaks a rule; the message names the record and the field."""


class SiteRole(StrEnum):
    MINE = "mine"
    CONCENTRATOR = "concentrator"
    REFINERY = "refinery"
    PRECURSOR = "precursor"  # pCAM
    CATHODE = "cathode"  # CAM
    CELL = "cell"
    PACK = "pack"  # module and pack assembly
    VEHICLE_ASSEMBLY = "vehicle_assembly"
    RECYCLER = "recycler"
    PORT = "port"
    WAREHOUSE = "warehouse"


class MaterialKind(StrEnum):
    ORE = "ore"
    CONCENTRATE = "concentrate"
    HYDROXIDE = "hydroxide"
    CARBONATE = "carbonate"
    SULFATE = "sulfate"
    PCAM = "pcam"
    CAM = "cam"
    CELL = "cell"
    MODULE = "module"
    PACK = "pack"
    VEHICLE = "vehicle"
    BLACK_MASS = "black_mass"
    RECYCLED_SULFATE = "recycled_sulfate"


BATTERY_KINDS = frozenset({MaterialKind.CELL, MaterialKind.MODULE, MaterialKind.PACK})


@dataclass(slots=True, frozen=True)
class Party:
    id: str  # PGLN (EPC URN or Digital Link) or another URI
    name: str
    country: str  # ISO 3166-1 alpha-2
    roles: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()  # (scheme, value), e.g. ("LEI", "...")


@dataclass(slots=True, frozen=True)
class Site:
    id: str  # SGLN (EPC URN or Digital Link)
    name: str
    party: str  # Party.id
    role: SiteRole
    country: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(slots=True, frozen=True)
class ElementFraction:
    """kg of an element per kg of material, and where the figure comes from."""

    element: str
    fraction: float
    source: str


@dataclass(slots=True, frozen=True)
class Material:
    id: str  # EPC class: GTIN-based URI (urn:epc:idpat:sgtin:…, Digital Link /01/…)
    name: str
    kind: MaterialKind
    formula: str | None = None  # pure compounds: fractions are computed from it
    fractions: tuple[ElementFraction, ...] = ()
    chemistry: str | None = None  # cells, modules, packs: e.g. NMC811
    energy_kwh: float | None = None  # cells, modules, packs: energy of one item
    mass_kg: float | None = None  # items: mass of one (a pack's, for footprints per kg)
    density_kg_per_l: float | None = None  # liquids, slurries: kg per litre

    def kg(self, quantity: float, uom: str | None) -> float | None:
        """kg of ``quantity`` of this material in ``uom``: a mass, a volume by its density, a
        count (no unit, or a Rec. 20 count unit) by its mass per item; None when the figure
        that takes is not in the master data (never a guess)."""
        if uom in KG_PER:
            return quantity * KG_PER[uom]
        if uom in LITRES_PER:
            density = self.density_kg_per_l
            return None if density is None else quantity * LITRES_PER[uom] * density
        if uom is None or uom in COUNT_UNITS:
            return None if self.mass_kg is None else quantity * self.mass_kg
        return None

    def fraction(self, element: str) -> float | None:
        """kg of ``element`` per kg, None when unknown (never a silent zero)."""
        for f in self.fractions:
            if f.element == element:
                return f.fraction
        return 0.0 if self.formula is not None else None


def material(
    id: str,
    name: str,
    kind: MaterialKind,
    formula: str | None = None,
    declared: Mapping[str, float] | None = None,
    source: str | None = None,
    chemistry: str | None = None,
    energy_kwh: float | None = None,
    mass_kg: float | None = None,
    density_kg_per_l: float | None = None,
) -> Material:
    """A checked material; a formula's fractions are computed, declared ones need a source."""
    where = f"material {id}"
    if formula is not None and declared:
        raise InvalidMasterData(
            f"{where}: fractions: computed from the formula {formula!r}; do not type them in"
        )
    if formula is not None:
        try:
            computed = mass_fractions(formula)
        except InvalidFormula as exc:
            raise InvalidMasterData(f"{where}: formula: {exc}") from None
        fractions = tuple(
            ElementFraction(e, computed[e], f"stoichiometry:{formula}")
            for e in ELEMENTS
            if e in computed
        )
    else:
        if declared and not source:
            raise InvalidMasterData(f"{where}: source: declared fractions need their source")
        fractions = tuple(ElementFraction(e, v, source or "") for e, v in (declared or {}).items())
    result = Material(
        id, name, kind, formula, fractions, chemistry, energy_kwh, mass_kg, density_kg_per_l
    )
    check_material(result)
    return result


def check_material(m: Material) -> None:
    where = f"material {m.id}"
    total = 0.0
    for f in m.fractions:
        if f.element not in ELEMENTS:
            raise InvalidMasterData(
                f"{where}: fractions.{f.element}: not one of {', '.join(ELEMENTS)}"
            )
        if not (math.isfinite(f.fraction) and 0.0 <= f.fraction <= 1.0):
            raise InvalidMasterData(
                f"{where}: fractions.{f.element}: {f.fraction} is not within [0, 1]"
            )
        total += f.fraction
    if total > 1.0 + 1e-9:
        listed = ", ".join(f"{f.element} {f.fraction:g}" for f in m.fractions)
        raise InvalidMasterData(f"{where}: fractions: {listed} sum to {total:g}, more than 1")
    if m.kind in BATTERY_KINDS:
        if not m.chemistry:
            raise InvalidMasterData(f"{where}: chemistry: required for a {m.kind.value}")
        if m.energy_kwh is None or not (m.energy_kwh > 0 and math.isfinite(m.energy_kwh)):
            raise InvalidMasterData(
                f"{where}: energy_kwh: a {m.kind.value} needs a positive energy"
            )
    if m.mass_kg is not None and not (m.mass_kg > 0 and math.isfinite(m.mass_kg)):
        raise InvalidMasterData(f"{where}: mass_kg: {m.mass_kg} is not a positive mass")
    density = m.density_kg_per_l
    if density is not None and not (density > 0 and math.isfinite(density)):
        raise InvalidMasterData(f"{where}: density_kg_per_l: {density} is not a positive density")


def unweighed_because(uom: str | None, cls: str) -> str:
    """Why a quantity in ``uom`` of class ``cls`` has no mass (:meth:`Material.kg` gave None)."""
    if uom in LITRES_PER:
        return f"the master data give no density (density_kg_per_l) for {cls}"
    if uom is None or uom in COUNT_UNITS:
        return f"the master data give no mass per item (mass_kg) for {cls}"
    return f"{uom} is not a unit of mass, volume or count"


def _check_country(where: str, country: str) -> None:
    if not (len(country) == 2 and country.isupper() and pycountry.countries.get(alpha_2=country)):
        raise InvalidMasterData(f"{where}: country: {country!r} is not an ISO 3166-1 alpha-2 code")


def _check_ids(data: MasterData) -> MasterData:
    """Each record's identifier: a visible ASCII absolute URI, a GS1 key well-formed."""
    for kind, records in (("party", data.parties), ("site", data.sites),
                          ("material", data.materials)):  # fmt: skip
        for id in records:
            try:
                check_identifier(id)
            except InvalidIdentifier as exc:
                raise InvalidMasterData(f"{kind} {id}: id: {exc}") from None
    return data


@dataclass(slots=True)
class MasterData:
    """Parties, sites and materials, checked together (references and uniqueness)."""

    parties: dict[str, Party] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    materials: dict[str, Material] = field(default_factory=dict)

    def add_party(self, party: Party) -> None:
        where = f"party {party.id}"
        if party.id in self.parties:
            raise InvalidMasterData(f"{where}: id: duplicate party id")
        _check_country(where, party.country)
        self.parties[party.id] = party

    def add_site(self, site: Site) -> None:
        where = f"site {site.id}"
        if site.id in self.sites:
            raise InvalidMasterData(f"{where}: id: duplicate site id")
        if site.party not in self.parties:
            raise InvalidMasterData(f"{where}: party: {site.party!r} is not a known party")
        _check_country(where, site.country)
        if site.latitude is not None and not -90 <= site.latitude <= 90:
            raise InvalidMasterData(f"{where}: latitude: {site.latitude} is not within ±90")
        if site.longitude is not None and not -180 <= site.longitude <= 180:
            raise InvalidMasterData(f"{where}: longitude: {site.longitude} is not within ±180")
        self.sites[site.id] = site

    def add_material(self, m: Material) -> None:
        if m.id in self.materials:
            raise InvalidMasterData(f"material {m.id}: id: duplicate material id")
        check_material(m)
        self.materials[m.id] = m

    def merged(self, update: MasterData) -> MasterData:
        """These records with ``update``'s added or replacing those of the same id, checked."""
        out = MasterData()
        for party in {**self.parties, **update.parties}.values():
            out.add_party(party)
        for site in {**self.sites, **update.sites}.values():
            out.add_site(site)
        for m in {**self.materials, **update.materials}.values():
            out.add_material(m)
        return out

    # --- JSON -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "parties": [_party_json(p) for p in self.parties.values()],
            "sites": [_site_json(s) for s in self.sites.values()],
            "materials": [_material_json(m) for m in self.materials.values()],
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> MasterData:
        data = cls()
        try:
            for p in obj.get("parties", []):
                data.add_party(
                    Party(
                        p["id"], p["name"], p["country"], tuple(p.get("roles", ())),
                        tuple((k, v) for k, v in p.get("identifiers", {}).items()),
                    )
                )  # fmt: skip
            for s in obj.get("sites", []):
                data.add_site(_site(s))
            for m in obj.get("materials", []):
                data.add_material(_material(m))
        except KeyError as exc:
            raise InvalidMasterData(f"master data: {exc.args[0]}: is required") from None
        return data

    # --- CSV --------------------------------------------------------------------------------

    def to_csv(self) -> dict[str, str]:
        """One CSV table per kind (parties, sites, materials); element fractions as columns."""
        tables = {}
        for kind, rows in (
            ("parties", [_flat_party(p) for p in self.parties.values()]),
            ("sites", [_site_json(s) for s in self.sites.values()]),
            ("materials", [_flat_material(m) for m in self.materials.values()]),
        ):
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS[kind], lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            tables[kind] = out.getvalue()
        return tables

    @classmethod
    def from_csv(cls, tables: Mapping[str, str]) -> MasterData:
        from batterytrace import formats

        obj: dict[str, list[dict[str, Any]]] = {}
        for kind in ("parties", "sites", "materials"):
            rows = list(formats.csv_table(tables.get(kind, ""), InvalidMasterData, kind))
            obj[kind] = [_unflatten(kind, row) for row in rows]
        return cls.from_json(obj)

    # --- EPCIS master data --------------------------------------------------------------------

    def to_vocabularies(self) -> tuple[Vocabulary, ...]:
        """EPCIS master data: Party, BusinessLocation and EPCClass vocabularies (CBV §10 names
        where CBV has them, ``https://batterytrace.org/voc/`` for the rest)."""
        return (
            _vocabulary(VTYPE_PARTY, ((p.id, _party_attributes(p)) for p in self.parties.values())),
            _vocabulary(VTYPE_LOCATION, ((s.id, _site_attributes(s)) for s in self.sites.values())),
            _vocabulary(
                VTYPE_CLASS, ((m.id, _material_attributes(m)) for m in self.materials.values())
            ),
        )

    @classmethod
    def from_vocabularies(cls, vocabularies: Iterable[Vocabulary]) -> MasterData:
        """Read the Party, BusinessLocation and EPCClass vocabularies; a location or class
        without batterytrace attributes (siteRole, materialKind) is not ours and is skipped."""
        obj: dict[str, list[dict[str, Any]]] = {"parties": [], "sites": [], "materials": []}
        for voc in vocabularies:
            for element in voc.elements:
                a = {attr.id: attr.value for attr in element.attributes}
                if voc.type == VTYPE_PARTY:
                    obj["parties"].append(_party_from(element.id, a))
                elif voc.type == VTYPE_LOCATION and BT + "siteRole" in a:
                    obj["sites"].append(_site_from(element.id, a))
                elif voc.type == VTYPE_CLASS and BT + "materialKind" in a:
                    obj["materials"].append(_material_from(element.id, a))
        return cls.from_json(obj)


def _vocabulary(vtype: str, elements: Iterable[tuple[str, dict[str, Any]]]) -> Vocabulary:
    return Vocabulary(
        vtype,
        tuple(
            VocabularyElement(
                id, tuple(VocabularyAttribute(k, v) for k, v in values.items() if v is not None)
            )
            for id, values in elements
        ),
    )


# The EPCIS master-data attribute of each plain field, per kind of record, in export order;
# both directions read these tables (fields with a shape of their own are mapped beside them).
_PARTY_URIS = {"name": MDA + "name", "country": MDA + "countryCode"}
_SITE_URIS = {
    "name": MDA + "name",
    "country": MDA + "countryCode",
    "latitude": MDA + "latitude",
    "longitude": MDA + "longitude",
    "role": BT + "siteRole",
    "party": BT + "party",
}
_MATERIAL_URIS = {
    "name": MDA + "descriptionShort",
    "kind": BT + "materialKind",
    "formula": BT + "formula",
    "chemistry": BT + "chemistry",
    "energy_kwh": BT + "energyKWh",
    "mass_kg": BT + "massKg",
    "density_kg_per_l": BT + "densityKgPerL",
}


def _attributes(record: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
    return {uri: record.get(field) for field, uri in uris.items()}


def _fields(id: str, a: Mapping[str, Any], uris: Mapping[str, str]) -> dict[str, Any]:
    return {"id": id} | {field: a.get(uri) for field, uri in uris.items()}


def _prefixed(a: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in a.items() if k.startswith(prefix)}


def _party_attributes(p: Party) -> dict[str, Any]:
    return _attributes(_party_json(p), _PARTY_URIS) | {
        BT + "roles": " ".join(p.roles) or None,
        **{f"{BT}id.{scheme}": value for scheme, value in p.identifiers},
    }


def _party_from(id: str, a: Mapping[str, Any]) -> dict[str, Any]:
    return _fields(id, a, _PARTY_URIS) | {
        "roles": str(a.get(BT + "roles") or "").split(),
        "identifiers": _prefixed(a, BT + "id."),
    }


def _site_attributes(s: Site) -> dict[str, Any]:
    return _attributes(_site_json(s), _SITE_URIS)


def _site_from(id: str, a: Mapping[str, Any]) -> dict[str, Any]:
    return _fields(id, a, _SITE_URIS)


def _material_attributes(m: Material) -> dict[str, Any]:
    declared = () if m.formula else m.fractions
    return _attributes(_material_json(m), _MATERIAL_URIS) | {
        **{f"{BT}massFraction.{f.element}": f.fraction for f in declared},
        BT + "fractionSource": declared[0].source if declared else None,
    }


def _material_from(id: str, a: Mapping[str, Any]) -> dict[str, Any]:
    return _fields(id, a, _MATERIAL_URIS) | {
        "fractions": _prefixed(a, BT + "massFraction."),
        "source": a.get(BT + "fractionSource"),
    }


_CSV_COLUMNS = {
    "parties": ["id", "name", "country", "roles", "gln", "lei"],
    "sites": ["id", "name", "party", "role", "country", "latitude", "longitude"],
    "materials": ["id", "name", "kind", "formula", *(f"fraction_{e}" for e in ELEMENTS), "source",
                  "chemistry", "energy_kwh", "mass_kg", "density_kg_per_l"],
}  # fmt: skip


def _party_json(p: Party) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "country": p.country, "roles": list(p.roles),
            "identifiers": dict(p.identifiers)}  # fmt: skip


def _flat_party(p: Party) -> dict[str, Any]:
    ids = dict(p.identifiers)
    return {"id": p.id, "name": p.name, "country": p.country, "roles": " ".join(p.roles),
            "gln": ids.get("GLN", ""), "lei": ids.get("LEI", "")}  # fmt: skip


def _site_json(s: Site) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "party": s.party, "role": s.role.value,
            "country": s.country, "latitude": s.latitude, "longitude": s.longitude}  # fmt: skip


def _material_json(m: Material) -> dict[str, Any]:
    out: dict[str, Any] = {"id": m.id, "name": m.name, "kind": m.kind.value}
    if m.formula is not None:
        out["formula"] = m.formula
    elif m.fractions:
        out["fractions"] = {f.element: f.fraction for f in m.fractions}
        out["source"] = m.fractions[0].source
    if m.chemistry is not None:
        out["chemistry"] = m.chemistry
    if m.energy_kwh is not None:
        out["energy_kwh"] = m.energy_kwh
    if m.mass_kg is not None:
        out["mass_kg"] = m.mass_kg
    if m.density_kg_per_l is not None:
        out["density_kg_per_l"] = m.density_kg_per_l
    return out


def _flat_material(m: Material) -> dict[str, Any]:
    declared = {} if m.formula else {f.element: f.fraction for f in m.fractions}
    return {
        "id": m.id, "name": m.name, "kind": m.kind.value, "formula": m.formula or "",
        **{f"fraction_{e}": declared.get(e, "") for e in ELEMENTS},
        "source": m.fractions[0].source if declared else "",
        "chemistry": m.chemistry or "", "energy_kwh": "" if m.energy_kwh is None else m.energy_kwh,
        "mass_kg": "" if m.mass_kg is None else m.mass_kg,
        "density_kg_per_l": "" if m.density_kg_per_l is None else m.density_kg_per_l,
    }  # fmt: skip


def _number(where: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidMasterData(f"{where}: {value!r} is not a number") from None


def _site(s: Mapping[str, Any]) -> Site:
    where = f"site {s['id']}"
    try:
        role = SiteRole(s["role"])
    except ValueError:
        raise InvalidMasterData(
            f"{where}: role: {s['role']!r} is not one of {', '.join(r.value for r in SiteRole)}"
        ) from None
    return Site(s["id"], s["name"], s["party"], role, s["country"],
                _number(f"{where}: latitude", s.get("latitude")),
                _number(f"{where}: longitude", s.get("longitude")))  # fmt: skip


def _material(m: Mapping[str, Any]) -> Material:
    where = f"material {m['id']}"
    try:
        kind = MaterialKind(m["kind"])
    except ValueError:
        raise InvalidMasterData(
            f"{where}: kind: {m['kind']!r} is not one of {', '.join(k.value for k in MaterialKind)}"
        ) from None
    fractions = {
        e: _number(f"{where}: fractions.{e}", v) for e, v in (m.get("fractions") or {}).items()
    }
    return material(
        m["id"], m["name"], kind, m.get("formula") or None,
        {e: v for e, v in fractions.items() if v is not None}, m.get("source") or None,
        m.get("chemistry") or None, _number(f"{where}: energy_kwh", m.get("energy_kwh")),
        _number(f"{where}: mass_kg", m.get("mass_kg")),
        _number(f"{where}: density_kg_per_l", m.get("density_kg_per_l")),
    )  # fmt: skip


def _unflatten(kind: str, row: Mapping[str, str]) -> dict[str, Any]:
    if kind == "parties":
        identifiers = {k.upper(): row[k] for k in ("gln", "lei") if row.get(k)}
        return {**row, "roles": (row.get("roles") or "").split(), "identifiers": identifiers}
    if kind == "materials":
        fractions = {e: row[f"fraction_{e}"] for e in ELEMENTS if row.get(f"fraction_{e}")}
        return {**row, "fractions": fractions}
    return dict(row)


def read_master_data(path: Path) -> MasterData:
    """Master data from a file: our JSON (``{"parties": […], "sites": […], "materials": […]}``),
    a folder of CSV tables (parties.csv, sites.csv, materials.csv), or an EPCIS document whose
    header carries master data (JSON-LD or XML). Errors name the file first."""
    return _named(str(path), lambda: _read(path))


def master_data_of_json(obj: object, where: str) -> MasterData:
    """Master data from our JSON already parsed (an API request's body), checked as a file
    is; errors name ``where`` first."""
    from batterytrace.formats import MasterDataFormat, checked

    return _named(
        where,
        lambda: MasterData.from_json(checked(MasterDataFormat, obj, where, InvalidMasterData)),
    )


def _named(where: str, read: Callable[[], MasterData]) -> MasterData:
    """``read()`` with its identifiers checked, its error messages starting with ``where``."""
    try:
        return _check_ids(read())
    except InvalidMasterData as exc:
        message = str(exc)
        named = message if message.startswith(where) else f"{where}: {message}"
        raise InvalidMasterData(named) from None


def _read(path: Path) -> MasterData:
    from batterytrace.formats import MasterDataFormat, checked, csv_table

    if path.is_dir():
        tables = {kind: (path / f"{kind}.csv") for kind in ("parties", "sites", "materials")}
        if not any(t.exists() for t in tables.values()):
            raise InvalidMasterData(f"{path}: no parties.csv, sites.csv or materials.csv")
        texts = {k: t.read_text(encoding="utf-8") for k, t in tables.items() if t.exists()}
        for kind, text in texts.items():
            columns = csv_table(text, InvalidMasterData, str(tables[kind])).fieldnames or []
            unknown = [c for c in columns if c not in _CSV_COLUMNS[kind]]
            if unknown:
                raise InvalidMasterData(
                    f"{tables[kind]}: line 1: column {unknown[0]!r} is not one of "
                    + ", ".join(_CSV_COLUMNS[kind])
                )
        return MasterData.from_csv(texts)
    if not path.is_file():
        raise InvalidMasterData(f"{path}: no such file or folder")
    if sniff_syntax(path) == "json":
        obj = json_input.loads(path.read_bytes(), str(path), InvalidMasterData)
        if not (isinstance(obj, dict) and "type" in obj):
            return MasterData.from_json(
                checked(MasterDataFormat, obj, str(path), InvalidMasterData)
            )
    return MasterData.from_vocabularies(stream(path, check=False).header.masterData)


def write_master_data(data: MasterData, path: Path, form: str) -> list[Path]:
    """Write ``data`` as ``json`` (one file), ``csv`` (a folder of three tables) or ``epcis``
    (an EPCIS 2.0 JSON-LD document with the master data in its header); the paths written."""
    if form == "json":
        path.write_bytes(orjson.dumps(data.to_json(), option=orjson.OPT_INDENT_2))
        return [path]
    if form == "csv":
        path.mkdir(parents=True, exist_ok=True)
        written = []
        for kind, text in data.to_csv().items():
            (path / f"{kind}.csv").write_text(text, encoding="utf-8")
            written.append(path / f"{kind}.csv")
        return written
    if form == "epcis":
        doc = Document(creationDate=datetime.now(UTC), masterData=data.to_vocabularies())
        path.write_bytes(orjson.dumps(document_to_json(doc), option=orjson.OPT_INDENT_2))
        return [path]
    raise InvalidMasterData(f"format: {form!r} is not json, csv or epcis")
