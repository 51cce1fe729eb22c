"""Builders of small EPCIS 2.0 JSON-LD documents for the tests."""

from __future__ import annotations

import uuid
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import delete

from batterytrace import workers
from batterytrace.carbon import activity
from batterytrace.carbon.pact import Declared
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.claims import Claim
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.documents import read
from batterytrace.epcis.model import (
    Action,
    Event,
    EventType,
    Extension,
    Location,
    QuantityElement,
)
from batterytrace.masterdata import BT, MasterData, Party, Site, SiteRole, read_master_data
from batterytrace.scenario.generator import PACK as SCENARIO_PACK
from batterytrace.services import carbon, contracts, custody, masterdata
from batterytrace.services import events as events_service
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import custody as custody_store
from batterytrace.store import events, schema

CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"bt": "https://batterytrace.org/voc/"},
]
MINE = "urn:epc:id:sgln:6111111.00001.0"
PLANT = "urn:epc:id:sgln:6111111.00002.0"
ORE_CLASS = "urn:epc:class:lgtin:6111111.000001.ORE-{n}"
SULFATE_CLASS = "urn:epc:class:lgtin:6111111.000002.SUL-{n}"


def document(events: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-01-31T12:00:00.000Z",
        **header,
        "epcisBody": {"eventList": events},
    }


def object_event(n: int = 1, **fields: Any) -> dict[str, Any]:
    """An ore lot commissioned at the mine: ObjectEvent ADD with a quantity in kg."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.UUID(int=n)}",
        "eventTime": f"2025-01-{(n % 28) + 1:02d}T08:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "quantityList": [{"epcClass": ORE_CLASS.format(n=n), "quantity": 1000.0 + n, "uom": "KGM"}],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": MINE},
        "bizLocation": {"id": MINE},
    }
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_bytes(orjson.dumps(doc))
    return path


# --- a small chain as model events, for genealogy and balance tests ---------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def lot(n: str) -> str:
    return f"urn:epc:class:lgtin:6111111.000101.{n}"


def item(n: int) -> str:
    return f"urn:epc:id:sgtin:3700000.010001.{n}"


def fraction(element: str, value: float) -> Extension:
    names = {"Co": "cobaltMassFraction", "Ni": "nickelMassFraction"}
    return Extension(BT, names[element], value)


def commission(name: str, kg: float, co: float | None, day: int) -> Event:
    return Event(
        type=EventType.OBJECT,
        eventTime=T0 + timedelta(days=day),
        eventTimeZoneOffset="+00:00",
        eventID=f"urn:uuid:c-{name}",
        action=Action.ADD,
        quantityList=(QuantityElement(lot(name), kg, "KGM"),),
        ilmd=() if co is None else (fraction("Co", co),),
    )


def transform(
    key: str, inputs: dict[str, float], outputs: dict[str, tuple[float, float | None]], day: int
) -> Event:
    return Event(
        type=EventType.TRANSFORMATION,
        eventTime=T0 + timedelta(days=day),
        eventTimeZoneOffset="+00:00",
        eventID=f"urn:uuid:t-{key}",
        inputQuantityList=tuple(QuantityElement(lot(n), kg, "KGM") for n, kg in inputs.items()),
        outputQuantityList=tuple(
            QuantityElement(lot(n), kg, "KGM") for n, (kg, _) in outputs.items()
        ),
        ilmd=tuple(
            fraction("Co", co) for _, (_, co) in list(outputs.items())[:1] if co is not None
        ),
    )


def chain() -> list[Event]:
    """Ore A (1,000 kg at 1 % Co) and ore B (500 kg at 3 % Co) refined into sulfate S; 40 kg
    of S with 60 kg of a nickel salt X (no Co figure) make cathode C; 2 kg of C make 4 cells
    of 0.03 kg Co each; the cells go in a pack."""
    cells = tuple(item(i) for i in range(1, 5))
    return [
        commission("A", 1000, 0.01, 1),
        commission("B", 500, 0.03, 2),
        commission("X", 60, None, 3),
        transform("S", {"A": 1000, "B": 500}, {"S": (110, 0.2)}, 4),
        transform("C", {"S": 40, "X": 60}, {"C": (95, 0.08)}, 5),
        Event(
            type=EventType.TRANSFORMATION,
            eventTime=T0 + timedelta(days=6),
            eventTimeZoneOffset="+00:00",
            eventID="urn:uuid:t-cells",
            inputQuantityList=(QuantityElement(lot("C"), 2, "KGM"),),
            outputEPCList=cells,
            ilmd=(Extension(BT, "cobaltMassKg", 0.03),),
        ),
        Event(
            type=EventType.AGGREGATION,
            eventTime=T0 + timedelta(days=7),
            eventTimeZoneOffset="+00:00",
            eventID="urn:uuid:pack",
            parentID="urn:epc:id:sgtin:3700000.030001.P1",
            childEPCs=cells,
            action=Action.ADD,
        ),
    ]


PACK = "urn:epc:id:sgtin:3700000.030001.P1"


# --- the same kind of chain with sites, for chain-of-custody tests ----------------------------

CERTIFIED_MINE, REFINERY, PCAM = (f"urn:epc:id:sgln:6111111.00{n}00.0" for n in (1, 2, 3))


def at(site: str, event: Event) -> Event:
    return replace(event, bizLocation=Location(site))


def received(name: str, kg: float, day: int) -> Event:
    return Event(
        type=EventType.OBJECT, eventTime=T0 + timedelta(days=day), eventTimeZoneOffset="+00:00",
        eventID=f"urn:uuid:r-{name}", action=Action.OBSERVE, bizStep="receiving",
        quantityList=(QuantityElement(lot(name), kg, "KGM"),), bizLocation=Location(PCAM),
    )  # fmt: skip


def allocation(name: str, claim: str, co_kg: object, day: int, site: str = PCAM) -> Event:
    return Event(
        type=EventType.OBJECT, eventTime=T0 + timedelta(days=day), eventTimeZoneOffset="+00:00",
        eventID=f"urn:uuid:a-{name}-{day}", action=Action.OBSERVE,
        quantityList=(QuantityElement(lot(name), 1, "KGM"),), bizLocation=Location(site),
        extensions=(Extension(BT, "claim", claim), Extension(BT, "claimedCobaltKg", co_kg)),
    )  # fmt: skip


def custody_sites() -> MasterData:
    """The master data the custody rules name: the three sites and their party."""
    data = MasterData()
    data.add_party(Party("urn:epc:id:pgln:6111111.00000", "Managem", "MA"))
    for site, role in ((CERTIFIED_MINE, SiteRole.MINE), (REFINERY, SiteRole.REFINERY),
                       (PCAM, SiteRole.PRECURSOR)):  # fmt: skip
        data.add_site(Site(site, role.value, "urn:epc:id:pgln:6111111.00000", role, "MA"))
    return data


CUSTODY_RULES = {
    "origins": [
        {"claim": "origin:MA", "site": CERTIFIED_MINE, "evidence": {"reference": "PERMIT-7"}},
        {"claim": "certified:RMI-RMAP", "site": CERTIFIED_MINE,
         "evidence": {"reference": "RMAP-42", "issuer": "RMI", "validUntil": "2025-01-01"}},
        {"claim": "low-carbon", "site": REFINERY, "evidence": {"reference": "PPA-WIND-1"}},
    ],
    "policies": [
        {"site": PCAM, "claim": "low-carbon", "model": "mass-balance", "period": "quarter"},
    ],
}  # fmt: skip


def custody_chain() -> list[Event]:
    """Ore O1 (1,000 kg, 1 % Co) from the certified mine; ore O2 (500 kg, 2 % Co) from
    elsewhere. The refinery makes S1 (40 kg at 20 % Co = 8 kg) from O1 alone and S2 (50 kg at
    20 % = 10 kg) from 500 kg of O1 and all of O2; conventional sulfate CN (40 kg at 20 %) is
    bought in. The pCAM plant receives S1 and uses it with CN: 16 kg Co in, P1 (76 kg at 20 %
    = 15.2 kg) out, a 95 % yield."""
    return [
        at(
            CERTIFIED_MINE, commission("O1", 1000, 0.01, 1)
        ),  # evidence RMAP-42 lapsed the day before
        commission("O2", 500, 0.02, 1),
        commission("CN", 40, 0.2, 1),
        at(REFINERY, transform("S1", {"O1": 500}, {"S1": (40, 0.2)}, 3)),
        at(REFINERY, transform("S2", {"O1": 500, "O2": 500}, {"S2": (50, 0.2)}, 4)),
        received("S1", 40, 6),
        at(PCAM, transform("P1", {"S1": 40, "CN": 40}, {"P1": (76, 0.2)}, 8)),
    ]


class _BrokenPool:
    """A process pool whose workers never start (as when the main module cannot be re-imported)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def submit(self, fn: object, *args: object) -> Future[object]:
        future: Future[object] = Future()
        future.set_exception(BrokenProcessPool("a worker died before it started"))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def broken_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Captures of more than one batch go to (broken) workers: batches of 2 events, 2 workers."""
    monkeypatch.setattr(events, "BATCH", 2)
    monkeypatch.setattr(workers, "ProcessPoolExecutor", _BrokenPool)
    monkeypatch.setenv("BATTERYTRACE_WORKERS", "2")


def site_event(kind: str, day: int, site: str, **fields: Any) -> dict[str, Any]:
    """An event of ``kind`` on ``day`` of March 2025 at ``site`` (readPoint and bizLocation)."""
    return {
        "type": kind,
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": f"2025-03-{day:02d}T08:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        **fields,
        "readPoint": {"id": site},
        "bizLocation": {"id": site},
    }


# A supplier's PACT footprint of a cobalt sulfate lot, as the tests import and export it.
SULFATE_PCF = Declared(
    id="urn:uuid:5b2f3a1e-0c4d-5e6f-8a9b-0c1d2e3f4a5b",
    product_ids=("urn:epc:class:lgtin:3700000.000002.SUL-7",),
    product_name="Cobalt sulfate heptahydrate, battery grade",
    product_description="CoSO4·7H2O, 20.9 % Co, crystallised from hydroxide",
    company_name="Refinery Oy",
    company_ids=("urn:epc:id:pgln:3700000.00000",),
    declared_unit="kilogram",
    unitary_amount=1,
    fossil_kg_per_unit=4.85,
    biogenic_kg_per_unit=0.0,
    period_start=datetime(2025, 1, 1, tzinfo=UTC),
    period_end=datetime(2025, 4, 1, tzinfo=UTC),
    geography_country="FI",
    primary_data_share=62.5,
    dqr={
        "coverage": 95,
        "technological": 1.5,
        "temporal": 1.2,
        "geographical": 1.4,
        "completeness": 1.8,
        "reliability": 1.6,
    },
    factor_sources=(("ecoinvent", "3.10"), ("batterytrace grid factors", "2025-1")),
    allocation="Mass allocation between cobalt sulfate and by-products",
    boundary="Cradle to gate: mining, hydroxide precipitation, transport, refining",
    created=datetime(2025, 5, 2, 9, 30, tzinfo=UTC),
    cpc="342",  # UN CPC group: basic inorganic chemicals n.e.c.
)


# --- custody acts through the service, as the CLI and the API make them ---------------------


def allocate(
    uow: UnitOfWork, lot: str, claim: Claim, kg: dict[str, float], site: str,
    at: datetime | None = None,
) -> str:  # fmt: skip
    """Allocate through services.custody; the allocation event's ID."""
    command = custody.Allocate(lot=lot, claim=str(claim), kg=kg, site=site, at=at)
    return custody.allocate(uow, command).event_id


def transfer(
    uow: UnitOfWork, source: str, target: str, claim: Claim, kg: dict[str, float],
    at: datetime | None = None,
) -> str:  # fmt: skip
    """Transfer through services.custody; the transfer's reference."""
    command = custody.Transfer(source=source, target=target, claim=str(claim), kg=kg, at=at)
    return custody.transfer(uow, command).ref


def close_period(uow: UnitOfWork, site: str, claim: Claim, period: str) -> None:
    custody.close(uow, custody.Close(site=site, claim=str(claim), period=period))


def empty_store(uow: UnitOfWork) -> None:
    """Every table emptied (children first): a fresh store, schema and key kept."""
    with uow.engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(delete(table))


def event_reads(monkeypatch: pytest.MonkeyPatch, name: str) -> list[tuple[int, datetime | None]]:
    """Which events ``store.custody.<name>`` (``movements``, ``lot_events``) is asked for from
    now on: (after ledger number, from time) of each call (decisions 033, 035)."""
    read: list[tuple[int, datetime | None]] = []
    reading = getattr(custody_store, name)

    def spy(conn: Any, after: int = 0, since: datetime | None = None) -> Any:
        read.append((after, since))
        return reading(conn, after, since)

    monkeypatch.setattr(custody_store, name, spy)
    return read


def scenario_inputs(uow: UnitOfWork, scenario: Path) -> None:
    """A generated scenario's master data and carbon model imported."""
    masterdata.import_master_data(uow, read_master_data(scenario / "masterdata.json"))
    model = activity.read_json(orjson.loads((scenario / "carbon.json").read_bytes()), "carbon.json")
    carbon.import_carbon(uow, model, "carbon.json")


def scenario_store(uow: UnitOfWork, scenario: Path, owner: str | None = None) -> str:
    """A generated scenario stored with everything it comes with: master data, its events
    (captured as ``owner``'s: None, the operator's), custody rules, the agreement, the carbon
    model; the last pack assembled."""
    masterdata.import_master_data(uow, read_master_data(scenario / "masterdata.json"))
    for path in sorted(scenario.glob("events-*.jsonld")):
        events_service.capture(uow, path, owner=owner)
    rules = CustodyRules.from_json(orjson.loads((scenario / "custody.json").read_bytes()))
    custody.import_rules(uow, rules, "custody.json")
    (agreement,) = orjson.loads((scenario / "contracts.json").read_bytes())
    contracts.import_contracts(uow, [Agreement.from_json(agreement)], "contracts.json")
    model = activity.read_json(orjson.loads((scenario / "carbon.json").read_bytes()), "carbon.json")
    carbon.import_carbon(uow, model, "carbon.json")
    last = read(sorted(scenario.glob("events-*.jsonld"))[-1]).events
    return next(
        e.parentID
        for e in reversed(last)
        if (e.parentID or "").startswith(SCENARIO_PACK.serial(""))
    )
