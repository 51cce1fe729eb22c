"""Builders of small EPCIS 2.0 JSON-LD documents for the tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson

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
