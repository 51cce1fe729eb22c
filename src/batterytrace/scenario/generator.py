"""The demo scenario: the agreement's supply chain, 2025-2031, as EPCIS 2.0 documents.

Cobalt ore from Bou Azzer → cobalt sulfate at Guemassa (wind power) → sea via Casablanca and
Dunkirk → precursor (pCAM) and cathode (CAM) maker, which mixes in conventional sulfate (DRC
hydroxide refined in China), recycled sulfate (end-of-life packs → black mass), Finnish nickel
sulfate, German lithium hydroxide and manganese sulfate → cells (serialised) → modules → packs →
vehicles. ``scale`` is the share of the full physical volume the run represents (1.0: 5,000 t of
sulfate a year); every count is scaled, with at least one of everything. Seeded: the same
(scale, seed) gives the same files. Physics: each transformation states its element yield and
conserves element mass within it; element fractions of compounds are computed from formulas;
dates follow the chain (supply in the first half of a year, conversion and assembly after).
"""

from __future__ import annotations

import math
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from batterytrace.masterdata import (
    BT,
    MasterData,
    MaterialKind,
    Party,
    Site,
    SiteRole,
    material,
    write_master_data,
)
from batterytrace.scenario import agreement as A
from batterytrace.trace.lineage import ELEMENT_NAMES
from batterytrace.units import mass_fractions

CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"bt": BT},
]
AGREEMENT_ID = "https://batterytrace.org/agreement/renault-managem-2022"
RMAP_CERTIFICATE = "https://certificates.example.org/rmi-rmap/managem-guemassa"


@dataclass(frozen=True, slots=True)
class Place:
    party: str  # company prefix
    location: str  # location reference (12 digits with the prefix)
    name: str
    role: SiteRole
    country: str
    offset: str
    latitude: float
    longitude: float

    @property
    def sgln(self) -> str:
        return f"urn:epc:id:sgln:{self.party}.{self.location}.0"


MINE = Place(
    "6111111", "00100", "Bou Azzer cobalt mine", SiteRole.MINE, "MA", "+01:00", 30.52, -6.89
)
REFINERY = Place(
    "6111111",
    "00200",
    "Guemassa cobalt sulfate plant",
    SiteRole.REFINERY,
    "MA",
    "+01:00",
    31.39,
    -8.24,
)
CASABLANCA = Place(
    "6112222", "00001", "Port of Casablanca", SiteRole.PORT, "MA", "+01:00", 33.60, -7.61
)
DUNKIRK = Place("3016666", "00001", "Port of Dunkirk", SiteRole.PORT, "FR", "+01:00", 51.05, 2.37)
PCAM_PLANT = Place(
    "3012345", "00100", "Precursor plant", SiteRole.PRECURSOR, "FR", "+01:00", 50.99, 2.30
)
CAM_PLANT = Place(
    "3012345", "00200", "Cathode plant", SiteRole.CATHODE, "FR", "+01:00", 50.99, 2.31
)
CELL_PLANT = Place(
    "3700000", "00100", "Douai cell plant", SiteRole.CELL, "FR", "+01:00", 50.37, 3.08
)
PACK_PLANT = Place(
    "3700000",
    "00200",
    "Douai pack and vehicle plant",
    SiteRole.VEHICLE_ASSEMBLY,
    "FR",
    "+01:00",
    50.37,
    3.09,
)
NICKEL = Place(
    "6412345", "00100", "Nickel sulfate plant", SiteRole.REFINERY, "FI", "+02:00", 63.96, 28.05
)
LITHIUM = Place(
    "4061234", "00100", "Lithium hydroxide plant", SiteRole.REFINERY, "DE", "+01:00", 49.01, 8.40
)
CHINA = Place(
    "6901234",
    "00100",
    "Conventional cobalt refinery",
    SiteRole.REFINERY,
    "CN",
    "+08:00",
    30.60,
    120.50,
)
RECYCLER = Place(
    "3019999", "00100", "Battery recycler", SiteRole.RECYCLER, "FR", "+01:00", 49.45, 1.10
)
PLACES = (
    MINE,
    REFINERY,
    CASABLANCA,
    DUNKIRK,
    PCAM_PLANT,
    CAM_PLANT,
    CELL_PLANT,
    PACK_PLANT,
    NICKEL,
    LITHIUM,
    CHINA,
    RECYCLER,
)
PARTY_NAMES = {
    "6111111": ("Managem", "MA"),
    "6112222": ("Casablanca port authority", "MA"),
    "3016666": ("Dunkirk port authority", "FR"),
    "3012345": ("Precursor and cathode maker", "FR"),
    "3700000": ("Renault Group", "FR"),
    "6412345": ("Nickel sulfate supplier", "FI"),
    "4061234": ("Low-carbon lithium supplier", "DE"),
    "6901234": ("Conventional cobalt refiner", "CN"),
    "3019999": ("Battery recycler", "FR"),
}


@dataclass(frozen=True, slots=True)
class Product:
    party: str
    item: str  # item reference, 13 digits with the prefix
    name: str
    kind: MaterialKind
    formula: str | None = None

    def lot(self, lot: str) -> str:
        return f"urn:epc:class:lgtin:{self.party}.{self.item}.{lot}"

    def serial(self, serial: str) -> str:
        return f"urn:epc:id:sgtin:{self.party}.{self.item}.{serial}"

    @property
    def class_id(self) -> str:
        return f"urn:epc:idpat:sgtin:{self.party}.{self.item}.*"


ORE = Product("6111111", "000101", "Cobalt ore, Bou Azzer", MaterialKind.ORE)
CO_SULFATE = Product(
    "6111111", "000201", "Cobalt sulfate heptahydrate, low-carbon", MaterialKind.SULFATE, A.SULFATE
)
CONV_SULFATE = Product(
    "6901234",
    "000201",
    "Cobalt sulfate heptahydrate, conventional",
    MaterialKind.SULFATE,
    A.SULFATE,
)
NI_SULFATE = Product(
    "6412345", "000101", "Nickel sulfate hexahydrate", MaterialKind.SULFATE, "NiSO4·6H2O"
)
MN_SULFATE = Product(
    "6111111", "000301", "Manganese sulfate monohydrate", MaterialKind.SULFATE, "MnSO4·H2O"
)
LIOH = Product(
    "4061234", "000101", "Lithium hydroxide monohydrate", MaterialKind.HYDROXIDE, "LiOH·H2O"
)
EOL = Product("3019999", "000101", "End-of-life NMC packs, dismantled", MaterialKind.PACK)
BLACK_MASS = Product("3019999", "000201", "Black mass", MaterialKind.BLACK_MASS)
REC_SULFATE = Product(
    "3019999",
    "000301",
    "Recycled cobalt sulfate heptahydrate",
    MaterialKind.RECYCLED_SULFATE,
    A.SULFATE,
)
PCAM = Product("3012345", "000810", "NMC811 precursor hydroxide", MaterialKind.PCAM, A.PCAM)
CAM = Product("3012345", "000811", "NMC811 cathode active material", MaterialKind.CAM, A.CAM)
CELL = Product("3700000", "010001", "NMC811 cell", MaterialKind.CELL)
MODULE = Product("3700000", "020001", "Battery module", MaterialKind.MODULE)
PACK = Product("3700000", "030001", "Battery pack 52 kWh", MaterialKind.PACK)
VEHICLE = Product("3700000", "100001", "Electric vehicle", MaterialKind.VEHICLE)


def master_data() -> MasterData:
    """Parties, sites and materials of the scenario."""
    data = MasterData()
    for prefix, (name, country) in PARTY_NAMES.items():
        data.add_party(Party(f"urn:epc:id:pgln:{prefix}.00000", name, country))
    for p in PLACES:
        data.add_site(
            Site(
                p.sgln,
                p.name,
                f"urn:epc:id:pgln:{p.party}.00000",
                p.role,
                p.country,
                p.latitude,
                p.longitude,
            )
        )
    for product in (CO_SULFATE, CONV_SULFATE, NI_SULFATE, MN_SULFATE, LIOH, REC_SULFATE, PCAM, CAM):
        data.add_material(material(product.class_id, product.name, product.kind, product.formula))
    data.add_material(
        material(
            ORE.class_id,
            ORE.name,
            ORE.kind,
            declared={"Co": 0.011},
            source="scenario: mean ore grade; each lot carries its assay",
        )
    )
    data.add_material(
        material(
            BLACK_MASS.class_id,
            BLACK_MASS.name,
            BLACK_MASS.kind,
            declared={"Co": A.BLACK_MASS_CO_FRACTION},
            source="scenario: recycler spec",
        )
    )
    data.add_material(
        material(
            CELL.class_id,
            CELL.name,
            CELL.kind,
            energy_kwh=A.CELL_KWH,
            chemistry=A.CHEMISTRY,
            mass_kg=A.CELL_KG,
        )
    )
    data.add_material(
        material(
            MODULE.class_id,
            MODULE.name,
            MODULE.kind,
            energy_kwh=A.CELL_KWH * A.CELLS_PER_MODULE,
            chemistry=A.CHEMISTRY,
            mass_kg=A.MODULE_KG,
        )
    )
    data.add_material(
        material(
            PACK.class_id,
            PACK.name,
            PACK.kind,
            energy_kwh=A.PACK_KWH,
            chemistry=A.CHEMISTRY,
            mass_kg=A.PACK_KG,
        )
    )
    data.add_material(
        material(
            EOL.class_id,
            EOL.name,
            EOL.kind,
            declared={"Co": A.EOL_PACK_CO_FRACTION},
            source="scenario: dismantled NMC pack material",
            chemistry="NMC",
            energy_kwh=1.0,
        )
    )
    data.add_material(material(VEHICLE.class_id, VEHICLE.name, VEHICLE.kind))
    return data


@dataclass(slots=True)
class Slice:
    """A lot in stock: its identifier, kg left and element fractions (kg/kg)."""

    lot: str
    kg: float
    fractions: dict[str, float]


@dataclass(slots=True)
class ScenarioResult:
    scale: float
    seed: int
    files: list[Path] = field(default_factory=list)
    events: int = 0
    packs: int = 0
    cells: int = 0

    def statement(self) -> str:
        full = round(A.PACKS_FROM_AGREEMENT)
        return (
            f"scale {self.scale:g}: this run represents {self.scale:.4%} of the agreement's "
            f"physical volume (full scale: {A.SULFATE_T_PER_YEAR:,.0f} t/yr of {A.SULFATE}, "
            f"whose {A.AGREEMENT_CO_KG / 1000:,.0f} t Co feed about {full:,} packs of "
            f"{A.PACK_KWH:g} kWh a year); "
            f"{self.events:,} events, {self.packs:,} packs, {self.cells:,} cells, years "
            f"{A.YEARS[0]}-{A.YEARS[-1]}, seed {self.seed}"
        )


def _fractions(formula: str) -> dict[str, float]:
    """Fractions of the tracked elements; those absent from the formula are a known zero."""
    computed = mass_fractions(formula)
    return {e: computed.get(e, 0.0) for e in ELEMENT_NAMES}


def _ilmd(fractions: dict[str, float], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {f"bt:{ELEMENT_NAMES[e]}MassFraction": round(f, 8) for e, f in fractions.items()}
    return {**out, **(extra or {})}


class _Document:
    """One EPCIS JSON-LD document written event by event."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[bytes] = path.open("wb")
        header = {
            "@context": CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2025-01-01T00:00:00.000Z",
        }
        self.file.write(orjson.dumps(header)[:-1] + b',"epcisBody":{"eventList":[\n')
        self.count = 0

    def write(self, event: dict[str, Any]) -> None:
        if self.count:
            self.file.write(b",\n")
        self.file.write(orjson.dumps(event))
        self.count += 1

    def close(self) -> None:
        self.file.write(b"\n]}}\n")
        self.file.close()


class _Run:
    def __init__(
        self, out: Path, scale: float, seed: int, progress: Callable[[int], None] | None
    ) -> None:
        self.out = out
        self.scale = scale
        self.rng = random.Random(seed)
        self.result = ScenarioResult(scale, seed)
        self.progress = progress
        self.doc: _Document | None = None
        self.serial = 0
        self.stock: dict[str, deque[Slice]] = {
            k: deque() for k in ("agreement", "conventional", "recycled", "Ni", "Mn", "Li")
        }
        self.cells: deque[str] = deque()

    # --- helpers -----------------------------------------------------------------------------

    def count(self, full_scale: float) -> int:
        return max(1, round(full_scale * self.scale))

    def next_serial(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:09d}"

    def emit(self, kind: str, when: datetime, place: Place, **fields: Any) -> None:
        assert self.doc is not None
        event: dict[str, Any] = {
            "type": kind,
            "eventID": f"urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}",
            "eventTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "eventTimeZoneOffset": place.offset,
            **fields,
            "readPoint": {"id": place.sgln},
            "bizLocation": {"id": place.sgln},
        }
        self.doc.write(event)
        self.result.events += 1
        if self.progress is not None and self.result.events % 10_000 == 0:
            self.progress(self.result.events)

    def commission(
        self, when: datetime, place: Place, lot: str, kg: float, ilmd: dict[str, Any], **extra: Any
    ) -> None:
        self.emit(
            "ObjectEvent",
            when,
            place,
            action="ADD",
            bizStep="commissioning",
            disposition="active",
            quantityList=[{"epcClass": lot, "quantity": round(kg, 6), "uom": "KGM"}],
            ilmd=ilmd,
            **extra,
        )

    def move(
        self, when: datetime, origin: Place, destination: Place, lot: str, kg: float, days: int
    ) -> datetime:
        """Shipping at the origin, receiving at the destination ``days`` later."""
        quantity = [{"epcClass": lot, "quantity": round(kg, 6), "uom": "KGM"}]
        self.emit(
            "ObjectEvent",
            when,
            origin,
            action="OBSERVE",
            bizStep="shipping",
            disposition="in_transit",
            quantityList=quantity,
            sourceList=[{"type": "location", "source": origin.sgln}],
            destinationList=[{"type": "location", "destination": destination.sgln}],
        )
        arrival = when + timedelta(days=days)
        self.emit(
            "ObjectEvent",
            arrival,
            destination,
            action="OBSERVE",
            bizStep="receiving",
            disposition="in_progress",
            quantityList=quantity,
        )
        return arrival

    def transform(
        self,
        when: datetime,
        place: Place,
        inputs: list[tuple[str, float]],
        outputs: list[tuple[str, float]],
        ilmd: dict[str, Any],
        **extra: Any,
    ) -> None:
        self.emit(
            "TransformationEvent",
            when,
            place,
            bizStep="commissioning",
            disposition="active",
            inputQuantityList=[
                {"epcClass": lot, "quantity": round(kg, 6), "uom": "KGM"} for lot, kg in inputs
            ],
            outputQuantityList=[
                {"epcClass": lot, "quantity": round(kg, 6), "uom": "KGM"} for lot, kg in outputs
            ],
            ilmd=ilmd,
            **extra,
        )

    def take(self, source: str, element: str, kg_element: float) -> list[tuple[str, float]]:
        """Slices of stock carrying ``kg_element`` of the element, first in first out."""
        taken: list[tuple[str, float]] = []
        queue = self.stock[source]
        while kg_element > 1e-9 and queue:
            head = queue[0]
            available = head.kg * head.fractions[element]
            use = min(available, kg_element)
            kg = use / head.fractions[element]
            taken.append((head.lot, kg))
            head.kg -= kg
            kg_element -= use
            if head.kg * head.fractions[element] <= 1e-9:
                queue.popleft()
        return taken

    @staticmethod
    def spread(year: int, start_day: int, end_day: int, i: int, n: int) -> datetime:
        day = start_day + (end_day - start_day) * (i + 0.5) / n
        return datetime(year, 1, 1, 8, tzinfo=UTC) + timedelta(days=day)

    # --- the year ------------------------------------------------------------------------------

    def year(self, y: int) -> None:
        agreement_co = A.AGREEMENT_CO_KG * self.scale
        total_co = agreement_co / A.AGREEMENT_SHARE
        self.supply_agreement(y, agreement_co)
        self.supply_conventional(y, total_co * A.CONVENTIONAL_SHARE)
        self.supply_recycled(y, total_co * A.RECYCLED_SHARE)
        self.supply_salts(y, total_co)
        self.convert(y, total_co)
        self.assemble(y)

    def supply_agreement(self, y: int, co_kg: float) -> None:
        """Ore mined and assayed, trucked to Guemassa, refined in campaigns, shipped by sea."""
        n_ore, n_campaigns = self.count(A.ORE_LOTS), self.count(A.REFINERY_CAMPAIGNS)
        ore_co = co_kg / A.REFINERY_CO_YIELD
        lots: list[tuple[str, float, float]] = []
        for i in range(n_ore):
            grade = self.rng.uniform(*A.ORE_GRADE)
            kg = ore_co / n_ore / grade
            lot = ORE.lot(f"BA{y}-{i:04d}")
            when = self.spread(y, 1, 60, i, n_ore)
            self.commission(
                when, MINE, lot, kg, _ilmd({"Co": grade}, {"cbvmda:countryOfOrigin": "MA"})
            )
            self.move(when + timedelta(days=1), MINE, REFINERY, lot, kg, 2)
            lots.append((lot, kg, grade))
        per_campaign = math.ceil(n_ore / n_campaigns)
        sulfate = _fractions(A.SULFATE)
        for c in range(n_campaigns):
            batch = lots[c * per_campaign : (c + 1) * per_campaign]
            if not batch:
                break
            co_in = sum(kg * grade for _, kg, grade in batch)
            out_kg = co_in * A.REFINERY_CO_YIELD / sulfate["Co"]
            lot = CO_SULFATE.lot(f"GCS{y}-{c:03d}")
            when = self.spread(y, 70, 120, c, n_campaigns)
            self.transform(
                when,
                REFINERY,
                [(lot_, kg) for lot_, kg, _ in batch],
                [(lot, out_kg)],
                _ilmd(
                    sulfate,
                    {"bt:cobaltYield": A.REFINERY_CO_YIELD, "bt:energyWindShare": A.WIND_SHARE},
                ),
                certificationInfo=RMAP_CERTIFICATE,
            )
            self.emit(
                "TransactionEvent",
                when + timedelta(hours=4),
                REFINERY,
                action="ADD",
                bizStep="accepting",
                bizTransactionList=[{"type": "po", "bizTransaction": f"{AGREEMENT_ID}/po/{y}"}],
                quantityList=[{"epcClass": lot, "quantity": round(out_kg, 6), "uom": "KGM"}],
                **{"bt:agreement": AGREEMENT_ID},
            )
            at_port = self.move(when + timedelta(days=2), REFINERY, CASABLANCA, lot, out_kg, 1)
            arrived = self.move(at_port + timedelta(days=1), CASABLANCA, DUNKIRK, lot, out_kg, 9)
            self.move(arrived + timedelta(days=1), DUNKIRK, PCAM_PLANT, lot, out_kg, 1)
            self.stock["agreement"].append(Slice(lot, out_kg, sulfate))

    def supply_conventional(self, y: int, co_kg: float) -> None:
        n = self.count(A.CONVENTIONAL_LOTS)
        sulfate = _fractions(A.SULFATE)
        for i in range(n):
            kg = co_kg / n / sulfate["Co"]
            lot = CONV_SULFATE.lot(f"CN{y}-{i:03d}")
            when = self.spread(y, 1, 120, i, n)
            self.commission(when, CHINA, lot, kg, _ilmd(sulfate, {"cbvmda:countryOfOrigin": "CN"}))
            self.move(when + timedelta(days=2), CHINA, PCAM_PLANT, lot, kg, 35)
            self.stock["conventional"].append(Slice(lot, kg, sulfate))

    def supply_recycled(self, y: int, co_kg: float) -> None:
        """End-of-life packs → black mass → recycled sulfate, back to the precursor plant."""
        n = self.count(A.RECYCLING_CAMPAIGNS)
        sulfate = _fractions(A.SULFATE)
        for i in range(n):
            co_out = co_kg / n
            co_bm = co_out / A.RECYCLED_SULFATE_CO_YIELD
            co_eol = co_bm / A.BLACK_MASS_CO_YIELD
            eol, bm, rec = (
                EOL.lot(f"EOL{y}-{i:03d}"),
                BLACK_MASS.lot(f"BM{y}-{i:03d}"),
                REC_SULFATE.lot(f"RS{y}-{i:03d}"),
            )
            eol_kg, bm_kg, rec_kg = (
                co_eol / A.EOL_PACK_CO_FRACTION,
                co_bm / A.BLACK_MASS_CO_FRACTION,
                co_out / sulfate["Co"],
            )
            when = self.spread(y, 1, 120, i, n)
            self.commission(when, RECYCLER, eol, eol_kg, _ilmd({"Co": A.EOL_PACK_CO_FRACTION}))
            self.transform(
                when + timedelta(days=3),
                RECYCLER,
                [(eol, eol_kg)],
                [(bm, bm_kg)],
                _ilmd({"Co": A.BLACK_MASS_CO_FRACTION}, {"bt:cobaltYield": A.BLACK_MASS_CO_YIELD}),
            )
            self.transform(
                when + timedelta(days=10),
                RECYCLER,
                [(bm, bm_kg)],
                [(rec, rec_kg)],
                _ilmd(
                    sulfate, {"bt:cobaltYield": A.RECYCLED_SULFATE_CO_YIELD, "bt:recycled": True}
                ),
            )
            self.move(when + timedelta(days=12), RECYCLER, PCAM_PLANT, rec, rec_kg, 2)
            self.stock["recycled"].append(Slice(rec, rec_kg, sulfate))

    def supply_salts(self, y: int, co_kg: float) -> None:
        """Nickel, manganese and lithium for the year's cathode, by NMC811 stoichiometry."""
        moles = co_kg / 58.933 / 0.1  # kmol of NMC811 formula units, from the cobalt
        needs = {  # kg of element, with 2 % margin
            "Ni": moles * 0.8 * 58.693 / A.PCAM_YIELD * 1.02,
            "Mn": moles * 0.1 * 54.938 / A.PCAM_YIELD * 1.02,
            "Li": moles * A.LI_EXCESS * 6.94 * 1.02,
        }
        salts = {
            "Ni": (NI_SULFATE, NICKEL, 12),
            "Mn": (MN_SULFATE, REFINERY, 6),
            "Li": (LIOH, LITHIUM, 3),
        }
        for element, (product, place, days) in salts.items():
            assert product.formula is not None
            fractions = _fractions(product.formula)
            n = self.count(12)
            for i in range(n):
                kg = needs[element] / n / fractions[element]
                lot = product.lot(f"{element}{y}-{i:03d}")
                when = self.spread(y, 1, 150, i, n)
                self.commission(when, place, lot, kg, _ilmd(fractions))
                self.move(
                    when + timedelta(days=1),
                    place,
                    PCAM_PLANT if element != "Li" else CAM_PLANT,
                    lot,
                    kg,
                    days,
                )
                self.stock[element].append(Slice(lot, kg, fractions))

    def convert(self, y: int, co_kg: float) -> None:
        """pCAM lots from the cobalt mix and the salts; each becomes a CAM lot; CAM → cells."""
        n = self.count(A.PCAM_LOTS)
        pcam, cam = _fractions(A.PCAM), _fractions(A.CAM)
        for i in range(n):
            co_in = co_kg / n
            recycled = self.take("recycled", "Co", co_in * A.RECYCLED_SHARE)
            inputs = (
                self.take("agreement", "Co", co_in * A.AGREEMENT_SHARE)
                + self.take("conventional", "Co", co_in * A.CONVENTIONAL_SHARE)
                + recycled
            )
            co_in = sum(kg * _fractions(A.SULFATE)["Co"] for _, kg in inputs)
            if co_in <= 0:
                continue
            moles = co_in * A.PCAM_YIELD / 58.933 / 0.1
            inputs += self.take("Ni", "Ni", moles * 0.8 * 58.693 / A.PCAM_YIELD)
            inputs += self.take("Mn", "Mn", moles * 0.1 * 54.938 / A.PCAM_YIELD)
            pcam_kg = co_in * A.PCAM_YIELD / pcam["Co"]
            pcam_lot, cam_lot = PCAM.lot(f"P{y}-{i:04d}"), CAM.lot(f"C{y}-{i:04d}")
            when = self.spread(y, 190, 250, i, n)
            self.transform(
                when,
                PCAM_PLANT,
                inputs,
                [(pcam_lot, pcam_kg)],
                _ilmd(pcam, {"bt:yield": A.PCAM_YIELD}),
            )
            self.allocate(when + timedelta(hours=2), pcam_lot, recycled)
            self.move(when + timedelta(days=1), PCAM_PLANT, CAM_PLANT, pcam_lot, pcam_kg, 1)
            cam_kg = pcam_kg * pcam["Co"] * A.CAM_YIELD / cam["Co"]
            lithium = self.take("Li", "Li", moles * A.CAM_YIELD * A.LI_EXCESS * 6.94 / A.CAM_YIELD)
            li_yield = (
                cam_kg
                * cam["Li"]
                / max(sum(kg * _fractions("LiOH·H2O")["Li"] for _, kg in lithium), 1e-12)
            )
            self.transform(
                when + timedelta(days=3),
                CAM_PLANT,
                [(pcam_lot, pcam_kg), *lithium],
                [(cam_lot, cam_kg)],
                _ilmd(cam, {"bt:yield": A.CAM_YIELD, "bt:lithiumYield": round(li_yield, 6)}),
            )
            self.move(when + timedelta(days=4), CAM_PLANT, CELL_PLANT, cam_lot, cam_kg, 1)
            self.make_cells(y, cam_lot, cam_kg, cam, when + timedelta(days=30))

    def allocate(self, when: datetime, lot: str, recycled: list[tuple[str, float]]) -> None:
        """The pCAM maker claims the recycled cobalt its mass-balance account received with
        the recycled sulfate a lot used, less the step's loss (and 0.1 % kept as a margin)."""
        co = sum(kg for _, kg in recycled) * _fractions(A.SULFATE)["Co"] * A.PCAM_YIELD
        if co <= 0:
            return
        self.emit(
            "ObjectEvent",
            when,
            PCAM_PLANT,
            action="OBSERVE",
            quantityList=[{"epcClass": lot}],
            **{"bt:claim": "recycled", "bt:claimedCobaltKg": math.floor(co * 0.999e6) / 1e6},
        )

    def make_cells(
        self, y: int, cam_lot: str, cam_kg: float, cam: dict[str, float], when: datetime
    ) -> None:
        cells = int(cam_kg * cam["Co"] * A.CELL_YIELD / A.CO_KG_PER_CELL)
        per_cell = {e: A.CAM_KG_PER_CELL * f for e, f in cam.items()}
        ilmd: dict[str, Any] = {
            f"bt:{ELEMENT_NAMES[e]}MassKg": round(kg, 9) for e, kg in per_cell.items()
        }
        ilmd |= {
            "bt:energyKWh": round(A.CELL_KWH, 6),
            "bt:chemistry": A.CHEMISTRY,
            "bt:yield": A.CELL_YIELD,
        }
        for start in range(0, cells, A.CELLS_PER_BATCH):
            serials = [
                CELL.serial(self.next_serial("C"))
                for _ in range(min(A.CELLS_PER_BATCH, cells - start))
            ]
            used = len(serials) * A.CAM_KG_PER_CELL / A.CELL_YIELD
            self.emit(
                "TransformationEvent",
                when,
                CELL_PLANT,
                bizStep="commissioning",
                disposition="active",
                inputQuantityList=[{"epcClass": cam_lot, "quantity": round(used, 6), "uom": "KGM"}],
                outputEPCList=serials,
                ilmd=ilmd,
            )
            self.cells.extend(serials)
            self.result.cells += len(serials)

    def assemble(self, y: int) -> None:
        """Cells into modules, modules into packs, each pack into a vehicle that ships."""
        per_pack = A.CELLS_PER_MODULE * A.MODULES_PER_PACK
        packs = len(self.cells) // per_pack
        for p in range(packs):
            when = self.spread(y, 305, 360, p, packs)
            modules = []
            for _ in range(A.MODULES_PER_PACK):
                module = MODULE.serial(self.next_serial("M"))
                children = [self.cells.popleft() for _ in range(A.CELLS_PER_MODULE)]
                self.emit(
                    "AggregationEvent",
                    when,
                    PACK_PLANT,
                    parentID=module,
                    childEPCs=children,
                    action="ADD",
                    bizStep="packing",
                    disposition="active",
                )
                modules.append(module)
            pack, vehicle = (
                PACK.serial(self.next_serial("P")),
                VEHICLE.serial(self.next_serial("V")),
            )
            self.emit(
                "AggregationEvent",
                when + timedelta(hours=2),
                PACK_PLANT,
                parentID=pack,
                childEPCs=modules,
                action="ADD",
                bizStep="packing",
                disposition="active",
            )
            self.emit(
                "ObjectEvent",
                when + timedelta(hours=3),
                PACK_PLANT,
                epcList=[vehicle],
                action="ADD",
                bizStep="commissioning",
                disposition="active",
            )
            self.emit(
                "AssociationEvent",
                when + timedelta(hours=4),
                PACK_PLANT,
                parentID=vehicle,
                childEPCs=[pack],
                action="ADD",
                bizStep="assembling",
            )
            self.emit(
                "ObjectEvent",
                when + timedelta(days=1),
                PACK_PLANT,
                epcList=[vehicle],
                action="OBSERVE",
                bizStep="shipping",
                disposition="in_transit",
            )
            self.result.packs += 1


def contract(scale: float) -> dict[str, Any]:
    """The agreement (DESIGN.md) as an offtake contract, its volumes at the run's scale:
    5,000 t a year of CoSO4·7H2O for 2025-2031, up to 15 GWh a year, cost, insurance and
    freight to Dunkirk (scenario: the tolerance and the delivery terms)."""
    return {
        "id": AGREEMENT_ID,
        "buyer": "urn:epc:id:pgln:3700000.00000",
        "seller": "urn:epc:id:pgln:6111111.00000",
        "product": CO_SULFATE.class_id,
        "formula": A.SULFATE,
        "element": "Co",
        "annualKg": A.SULFATE_T_PER_YEAR * 1000 * scale,
        "startYear": A.YEARS[0],
        "years": len(A.YEARS),
        "tolerance": A.CONTRACT_TOLERANCE,
        "deliveryTerms": "CIF Port of Dunkirk (Incoterms 2020)",
        "deliverySite": DUNKIRK.sgln,
        "annualGWh": A.AGREEMENT_GWH * scale,
    }


def custody_rules() -> dict[str, Any]:
    """Where the scenario's claims originate and the model the pCAM maker runs (scenario:
    the evidence references; decision 008 for the default, segregated, everywhere else)."""
    evidence = {"validFrom": "2024-01-01", "validUntil": "2031-12-31"}
    return {
        "origins": [
            {"claim": "origin:MA", "site": MINE.sgln,
             "evidence": {"reference": "Bou Azzer mining title (scenario)"}},
            {"claim": "certified:RMI-RMAP", "site": REFINERY.sgln,
             "evidence": {"reference": RMAP_CERTIFICATE, "issuer": "RMI", **evidence}},
            {"claim": "low-carbon", "site": REFINERY.sgln,
             "evidence": {"reference": "wind power purchase agreement, 80 % (DESIGN.md)",
                          **evidence}},
            {"claim": "recycled", "site": RECYCLER.sgln,
             "evidence": {"reference": "recycling permit (scenario)"}},
        ],
        "policies": [
            {"site": PCAM_PLANT.sgln, "claim": claim, "model": "mass-balance", "period": "year"}
            for claim in ("recycled", "low-carbon")
        ],
    }  # fmt: skip


# Activity data intensities of the scenario's sites, per unit of what each makes (scenario
# assumptions in the ranges of public LCA inventories, stated so every footprint can show them):
# (site, kind, factor or electricity mix, amount per unit, unit, unit the amount is per).
GRID_FR = {"electricity-grid-fr": 1.0}
INTENSITIES: tuple[tuple[Place, str, str | dict[str, float], float, str], ...] = (
    (MINE, "fuel", "diesel", 1.5, "L"),  # per t of ore: loaders, trucks, ventilation
    (MINE, "electricity", {"electricity-grid-ma": 1.0}, 25.0, "kWh"),  # hoisting, pumping
    (MINE, "reagent", "explosives", 0.35, "kg"),
    (REFINERY, "electricity", {"electricity-wind-onshore": A.WIND_SHARE,
                               "electricity-grid-ma": round(1 - A.WIND_SHARE, 6)}, 1400.0, "kWh"),
    (REFINERY, "fuel", "natural-gas", 3500.0, "MJ"),  # per t of sulfate: steam, crystallisation
    (REFINERY, "reagent", "sulfuric-acid", 900.0, "kg"),
    (REFINERY, "reagent", "sodium-hydroxide", 350.0, "kg"),
    (REFINERY, "reagent", "lime", 450.0, "kg"),
    (REFINERY, "reagent", "hydrogen-peroxide", 60.0, "kg"),
    (REFINERY, "reagent", "sodium-carbonate", 100.0, "kg"),
    (REFINERY, "process", "", 40.0, "kgCO2e"),  # CO2 from neutralising acid liquors
    (RECYCLER, "electricity", GRID_FR, 600.0, "kWh"),  # per t of black mass
    (RECYCLER, "reagent", "sulfuric-acid", 1200.0, "kg"),
    (RECYCLER, "reagent", "sodium-hydroxide", 400.0, "kg"),
    (RECYCLER, "reagent", "hydrogen-peroxide", 150.0, "kg"),
    (RECYCLER, "fuel", "natural-gas", 1500.0, "MJ"),
    (PCAM_PLANT, "electricity", GRID_FR, 1800.0, "kWh"),  # per t of precursor
    (PCAM_PLANT, "reagent", "sodium-hydroxide", 850.0, "kg"),
    (PCAM_PLANT, "reagent", "ammonia", 60.0, "kg"),
    (PCAM_PLANT, "fuel", "natural-gas", 4000.0, "MJ"),
    (CAM_PLANT, "electricity", GRID_FR, 4000.0, "kWh"),  # per t of cathode: calcination
    (CAM_PLANT, "fuel", "natural-gas", 2000.0, "MJ"),
    (CELL_PLANT, "electricity", GRID_FR, 25.0, "kWh"),  # per kWh of cells: coating, dry rooms
    (CELL_PLANT, "fuel", "natural-gas", 15.0, "MJ"),
    (CELL_PLANT, "material", "cell-materials-other", 1.0, "kWh_capacity"),  # anode, electrolyte...
    (PACK_PLANT, "electricity", GRID_FR, 1.5, "kWh"),  # per kWh of packs
    (PACK_PLANT, "material", "pack-components", 1.0, "kWh_capacity"),  # housing, BMS, wiring
)  # fmt: skip


def _annual_output(scale: float) -> dict[Place, float]:
    """What each site with activity data makes in a year at ``scale``: t of ore, sulfate,
    black mass, precursor, cathode; kWh of cells and packs (the plan, not the draw)."""
    agreement = A.AGREEMENT_CO_KG * scale
    total = agreement / A.AGREEMENT_SHARE
    co = mass_fractions(A.SULFATE)["Co"]
    grade = (A.ORE_GRADE[1] - A.ORE_GRADE[0]) / math.log(A.ORE_GRADE[1] / A.ORE_GRADE[0])
    black_mass_co = total * A.RECYCLED_SHARE / A.RECYCLED_SULFATE_CO_YIELD
    cam_co = total * A.PCAM_YIELD * A.CAM_YIELD
    kwh = cam_co * A.CELL_YIELD / A.CO_KG_PER_KWH
    return {
        MINE: agreement / A.REFINERY_CO_YIELD / grade / 1000,
        REFINERY: agreement / co / 1000,
        RECYCLER: black_mass_co / A.BLACK_MASS_CO_FRACTION / 1000,
        PCAM_PLANT: total * A.PCAM_YIELD / mass_fractions(A.PCAM)["Co"] / 1000,
        CAM_PLANT: cam_co / mass_fractions(A.CAM)["Co"] / 1000,
        CELL_PLANT: kwh,
        PACK_PLANT: kwh,
    }


def carbon_model(scale: float) -> dict[str, Any]:
    """The scenario's carbon-footprint model (decision 010): each site's activity data per
    year (intensities above times the plan), transport lanes, proxies for the purchased salts
    and conventional sulfate, end-of-life packs cut off; allocation by mass everywhere."""
    output = _annual_output(scale)
    activities = [
        {"site": place.sgln, "period": str(year), "kind": kind,
         "amount": round(amount * output[place], 6), "unit": unit, "quality": "calculated"}
        | ({"mix": factor} if isinstance(factor, dict) else {"factor": factor} if factor else {})
        for year in A.YEARS
        for place, kind, factor, amount, unit in INTENSITIES
    ]  # fmt: skip
    lanes = [
        (MINE, REFINERY, "road", None), (REFINERY, CASABLANCA, "road", None),
        (CASABLANCA, DUNKIRK, "sea", 2400.0), (DUNKIRK, PCAM_PLANT, "road", None),
        (CHINA, PCAM_PLANT, "sea", 19800.0), (RECYCLER, PCAM_PLANT, "road", None),
        (NICKEL, PCAM_PLANT, "sea", 3300.0), (REFINERY, PCAM_PLANT, "sea", 2700.0),
        (LITHIUM, CAM_PLANT, "road", None), (PCAM_PLANT, CAM_PLANT, "road", None),
        (CAM_PLANT, CELL_PLANT, "road", None),
    ]  # fmt: skip
    proxies = [
        (CONV_SULFATE, "cobalt-sulfate-conventional"), (NI_SULFATE, "nickel-sulfate"),
        (MN_SULFATE, "manganese-sulfate"), (LIOH, "lithium-hydroxide"), (EOL, None),
    ]  # fmt: skip
    return {
        "activities": activities,
        "lanes": [
            {"from": a.sgln, "to": b.sgln, "mode": mode}
            | ({} if km is None else {"distanceKm": km})
            for a, b, mode, km in lanes
        ],
        "allocation": [],
        "proxies": [{"product": p.class_id, "factor": f} for p, f in proxies],
    }


def generate(
    out: Path, scale: float = 0.001, seed: int = 2025, progress: Callable[[int], None] | None = None
) -> ScenarioResult:
    """Write ``masterdata.json``, ``contracts.json`` (the agreement at this scale),
    ``custody.json`` (claim origins, site policies), ``carbon.json`` (activity data, lanes,
    proxies) and one EPCIS document per year
    (``events-YYYY.jsonld``)."""
    if not (0 < scale <= 2):
        raise ValueError(f"scale: {scale} is not within (0, 2]")
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(out, scale, seed, progress)
    run.result.files.extend(write_master_data(master_data(), out / "masterdata.json", "json"))
    written = (
        ("contracts.json", [contract(scale)]),
        ("custody.json", custody_rules()),
        ("carbon.json", carbon_model(scale)),
    )
    for name, content in written:
        (out / name).write_bytes(orjson.dumps(content, option=orjson.OPT_INDENT_2))
        run.result.files.append(out / name)
    for year in A.YEARS:
        run.doc = _Document(out / f"events-{year}.jsonld")
        try:
            run.year(year)
        finally:
            run.doc.close()
        run.result.files.append(run.doc.path)
    return run.result
