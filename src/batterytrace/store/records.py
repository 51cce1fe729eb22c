"""What the store writes for one event: its canonical content and the indexed values.

Pure functions of the event, shared by capture (to write them) and verify (to re-derive and
compare them), so both always agree on what a row must hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from batterytrace import limits
from batterytrace.epcis import json_ld
from batterytrace.epcis.documents import Item, decode
from batterytrace.epcis.hash import event_hash
from batterytrace.epcis.model import Event, QuantityElement
from batterytrace.epcis.timestamps import format_timestamp, utc_millis
from batterytrace.identifiers import to_digital_link
from batterytrace.trace.lineage import element_facts, quantity_flows

# event_key roles: (role, model field) for identifiers, classes by the list they sit in.
_EPC_ROLES = (
    ("epc", "epcList"),
    ("childEPC", "childEPCs"),
    ("inputEPC", "inputEPCList"),
    ("outputEPC", "outputEPCList"),
)
_CLASS_ROLES = (
    ("epcClass", "quantityList"),
    ("childEPCClass", "childQuantityList"),
    ("inputEPCClass", "inputQuantityList"),
    ("outputEPCClass", "outputQuantityList"),
)


def canonical_id(uri: str) -> str:
    """Identifiers are indexed and compared as canonical GS1 Digital Links (CBV 2.0 §8.9)."""
    return to_digital_link(uri)


@dataclass(slots=True, frozen=True)
class EventRecord:
    """The row values of one stored event (everything but its ledger position and chain)."""

    event_id: str
    hash_id: str
    content_digest: str
    content: str  # JSON text; the ledger hashes its UTF-8 bytes
    columns: dict[str, Any]
    keys: tuple[tuple[str, str], ...]
    figures: str | None  # what genealogy reads from the content (``figures``), None: nothing
    declares_error: bool  # carries an errorDeclaration (EPCIS 2.0 §7.4.1.2)

    def __reduce__(self) -> tuple[type[EventRecord], tuple[Any, ...]]:
        # Workers send records to the capture: unpickled from their field values, a record
        # costs the capture a quarter of what the frozen dataclass's own state setter costs.
        return EventRecord, tuple(getattr(self, name) for name in self.__slots__)


def content_json(event: Event, namespaces: Mapping[str, str]) -> dict[str, Any]:
    """The event as a self-contained JSON-LD object (its own @context for extension prefixes)."""
    names = json_ld.JsonNames(namespaces)
    obj = json_ld.event_to_json(event, names)
    extra = json_ld.extension_context(names.used)
    return {"@context": extra, **obj} if extra else obj


def record(event: Event, record_time: datetime, namespaces: Mapping[str, str]) -> EventRecord:
    """Hash ID, content with the store's recordTime, and indexed values of ``event``."""
    hash_id = event_hash(event)
    obj = content_json(event, namespaces)
    obj.pop("recordTime", None)  # the store sets it; the digest is of what was sent
    sent = orjson.dumps(obj)
    stamp = orjson.dumps({"recordTime": format_timestamp(record_time)})
    return EventRecord(
        event_id=event.eventID or hash_id,
        hash_id=hash_id,
        content_digest=hashlib.sha256(sent).hexdigest(),
        content=(sent[:-1] + b"," + stamp[1:]).decode(),  # recordTime appended last
        columns=columns(event, record_time),
        keys=keys(event),
        figures=figures(obj),
        declares_error=event.errorDeclaration is not None,
    )


def columns(event: Event, record_time: datetime) -> dict[str, Any]:
    return {
        "event_type": event.type.value,
        "event_time": utc_millis(event.eventTime),
        "event_time_zone_offset": event.eventTimeZoneOffset,
        "record_time": utc_millis(record_time),
        "action": event.action.value if event.action else None,
        "biz_step": event.bizStep,
        "disposition": event.disposition,
        "read_point": canonical_id(event.readPoint.id) if event.readPoint else None,
        "biz_location": canonical_id(event.bizLocation.id) if event.bizLocation else None,
        "transformation_id": event.transformationID,
    }


def keys(event: Event) -> tuple[tuple[str, str], ...]:
    """The distinct (role, value) pairs the query parameters look up, in the event's order."""
    dl = canonical_id
    pairs: dict[tuple[str, str], None] = {}  # ordered, each pair once
    if event.parentID is not None:
        pairs["parentID", dl(event.parentID)] = None
    for role, name in _EPC_ROLES:
        for epc in getattr(event, name):
            pairs[role, dl(epc)] = None
    for role, name in _CLASS_ROLES:
        for q in getattr(event, name):
            pairs[role, dl(q.epcClass)] = None
    for bt in event.bizTransactionList:
        pairs[f"bizTransaction:{bt.type or ''}", dl(bt.bizTransaction)] = None
    for sd in event.sourceList:
        pairs[f"source:{sd.type}", dl(sd.id)] = None
    for sd in event.destinationList:
        pairs[f"destination:{sd.type}", dl(sd.id)] = None
    if event.persistentDisposition is not None:
        for value in event.persistentDisposition.set:
            pairs["persistentDisposition:set", value] = None
        for value in event.persistentDisposition.unset:
            pairs["persistentDisposition:unset", value] = None
    for ext in event.extensions:
        pairs["extension", ext.namespace + ext.name] = None
    for ext in event.ilmd:
        pairs["ilmd", ext.namespace + ext.name] = None
    return tuple(pairs)


_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")


def figures(content: Mapping[str, Any]) -> str | None:
    """What a genealogy trace reads from an event's content, as compact JSON, so a trace never
    parses the content (a cell line's event lists 500 cells): each quantity list as (class
    Digital Link, kg or null) pairs, followed by the quantity and unit as stated when it is not
    a mass (a volume; a count, unit null), and the element figures its ILMD and extensions
    state (``bt:<element>MassFraction``, ``bt:<element>MassKg``) as (value, per item). None
    when the event has neither."""
    out: dict[str, Any] = {}
    for name in _QUANTITY_LISTS:
        listed = content.get(name) or ()
        flows = quantity_flows(
            QuantityElement(q["epcClass"], q.get("quantity"), q.get("uom")) for q in listed
        )
        if flows:
            out[name] = [
                [flow.id, flow.kg] + ([] if flow.quantity is None else [flow.quantity, flow.uom])
                for flow in flows
            ]
    facts = element_facts(extension_values(content), "")
    if facts:
        out["facts"] = {element: [f.value, f.per_item] for element, f in facts.items()}
    return orjson.dumps(out).decode() if out else None


def extension_values(content: Mapping[str, Any]) -> Iterator[tuple[str, object]]:
    """(URI, value) of the extension fields of an event's JSON-LD content and of its ILMD."""
    context: dict[str, str] = {}
    declared = content.get("@context")
    for entry in declared if isinstance(declared, list) else [declared]:
        if isinstance(entry, dict):
            context.update((k, v) for k, v in entry.items() if isinstance(v, str))
    for fields in (content.get("ilmd") or {}, content):
        for name, value in fields.items():
            prefix, colon, local = name.partition(":")
            if not colon:
                continue  # a standard EPCIS field
            if prefix in context:
                yield context[prefix] + local, value
            elif prefix in ("http", "https"):
                yield name, value


@dataclass(slots=True, frozen=True)
class Batch:
    """Consecutive streamed events of one document, prepared together (maybe in a worker)."""

    start: int  # index of the first event in the document
    items: list[Item]
    namespaces: dict[str, str]
    check: bool
    record_time: datetime
    # Workers are spawned, they inherit nothing: the settings that checking uses come along.
    limits: dict[str, int]
    schema: Path | None


def prepare(batch: Batch) -> list[EventRecord]:
    """Decode, check and record every event of ``batch``, under its limits; errors name the
    event's index."""
    limits.configure(batch.limits)
    return [
        record(
            decode(item, batch.start + i, batch.namespaces, batch.check, batch.schema),
            batch.record_time,
            batch.namespaces,
        )
        for i, item in enumerate(batch.items)
    ]


def event_from_content(content: str, event_id: str | None = None) -> Event:
    """Read a stored event back into the model; with ``event_id``, the eventID the store keys
    it by (its hash ID when it came without one) stands in for a missing one."""
    event = json_ld.event_from_json(orjson.loads(content), {})
    if event_id is None or event.eventID is not None:
        return event
    return replace(event, eventID=event_id)
