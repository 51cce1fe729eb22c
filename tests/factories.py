"""Builders of small EPCIS 2.0 JSON-LD documents for the tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from batterytrace.epcis.model import Action, Event, EventType, Extension, QuantityElement
from batterytrace.masterdata import BT

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
