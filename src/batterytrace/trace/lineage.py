"""The genealogy graph as EPCIS events describe it: which steps made an object, which used it.

A *step* is a TransformationEvent (all events sharing a transformationID form one step), or an
AggregationEvent / AssociationEvent that put children into a parent (ADD or OBSERVE). Objects
are identified by their canonical GS1 Digital Link. Element content comes from the ILMD of the
event that made or commissioned an object: ``bt:<element>MassFraction`` (kg per kg of a lot)
or ``bt:<element>MassKg`` (kg in one serialised item), each with the event as its source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from batterytrace.epcis.model import Action, Event, EventType, QuantityElement
from batterytrace.errors import UnitError
from batterytrace.identifiers import to_digital_link
from batterytrace.masterdata import Material
from batterytrace.units import to_kg

BT = "https://batterytrace.org/voc/"
ELEMENT_NAMES = {"Co": "cobalt", "Ni": "nickel", "Li": "lithium", "Mn": "manganese", "Cu": "copper"}


@dataclass(frozen=True, slots=True)
class Flow:
    """One object going into or out of a step; ``kg`` when the event gives a mass."""

    id: str
    kg: float | None = None


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # eventID (or hash ID), or the transformationID joining several events
    kind: str  # transformation | aggregation | association
    time: datetime
    location: str | None
    inputs: tuple[Flow, ...]
    outputs: tuple[Flow, ...]


@dataclass(frozen=True, slots=True)
class Fact:
    """An element figure of one object: a mass fraction of a lot, or kg in one item."""

    value: float
    per_item: bool  # True: kg of element in one item; False: kg per kg
    source: str


class Lineage(Protocol):
    """What a trace reads; the store and an in-memory set of events both provide it."""

    def made_by(self, node: str) -> list[Step]: ...

    def used_in(self, node: str) -> list[Step]: ...

    def fact(self, node: str, element: str) -> Fact | None: ...

    def made_kg(self, node: str) -> float | None:
        """kg of the object made or commissioned (a lot's quantity), None when not a mass."""
        ...

    def known(self, node: str) -> bool: ...

    def prefetch(self, nodes: Iterable[str]) -> None:
        """A hint that the facts of ``nodes`` are about to be read (a store reads them at once)."""
        ...


def node_id(identifier: str) -> str:
    return to_digital_link(identifier)


def class_of(node: str) -> str:
    """The class-level Digital Link of a lot or an item (``…/01/<GTIN>``); others unchanged."""
    at = node.find("/01/")
    return node[: at + 18] if at != -1 else node


class MaterialFacts:
    """Element fractions of master-data materials, looked up by the class of an object: the
    fallback when no event states a figure for the object itself."""

    def __init__(self, materials: Iterable[Material]) -> None:
        self._by_class = {class_of(node_id(m.id)): m for m in materials}

    def fact(self, node: str, element: str) -> Fact | None:
        m = self._by_class.get(class_of(node))
        value = None if m is None else m.fraction(element)
        if m is None or value is None:
            return None
        declared = next((f.source for f in m.fractions if f.element == element), None)
        source = declared or f"stoichiometry:{m.formula}"
        return Fact(value, False, f"master data {m.id} ({source})")


def _flows(epcs: Iterable[str], quantities: Iterable[QuantityElement]) -> tuple[Flow, ...]:
    flows = [Flow(node_id(e)) for e in epcs]
    for q in quantities:
        kg = None
        if q.quantity is not None and q.uom is not None:
            try:
                kg = to_kg(q.quantity, q.uom)
            except UnitError:
                kg = None  # a count or volume: the element content then comes from facts
        flows.append(Flow(node_id(q.epcClass), kg))
    return tuple(flows)


def step_of(event: Event, key: str) -> Step | None:
    """The genealogy step an event records, if any."""
    location = event.bizLocation.id if event.bizLocation else None
    if event.type is EventType.TRANSFORMATION:
        return Step(
            key, "transformation", event.eventTime, location,
            _flows(event.inputEPCList, event.inputQuantityList),
            _flows(event.outputEPCList, event.outputQuantityList),
        )  # fmt: skip
    if event.type in (EventType.AGGREGATION, EventType.ASSOCIATION) and event.parentID:
        if event.action is Action.DELETE:
            return None
        kind = "aggregation" if event.type is EventType.AGGREGATION else "association"
        children = _flows(event.childEPCs, event.childQuantityList)
        return Step(
            key, kind, event.eventTime, location, children, (Flow(node_id(event.parentID)),)
        )
    return None


def stated_yields(event: Event) -> dict[str, float]:
    """Element yields an event states, kg out per kg in: ``bt:cobaltYield``... for one element,
    ``bt:yield`` for every element not given its own."""
    general: float | None = None
    specific: dict[str, float] = {}
    names = {f"{name}Yield": element for element, name in ELEMENT_NAMES.items()}
    for ext in (*event.ilmd, *event.extensions):
        if (
            ext.namespace != BT
            or isinstance(ext.value, bool)
            or not isinstance(ext.value, int | float)
        ):
            continue
        if ext.name == "yield":
            general = float(ext.value)
        elif ext.name in names:
            specific[names[ext.name]] = float(ext.value)
    base = {} if general is None else dict.fromkeys(ELEMENT_NAMES, general)
    return base | specific


def merge(steps: list[Step]) -> Step:
    """The events of one long-running transformation (one transformationID) as one step."""
    first = min(steps, key=lambda s: s.time)
    return Step(
        first.key, first.kind, first.time, first.location,
        tuple(f for s in steps for f in s.inputs), tuple(f for s in steps for f in s.outputs),
    )  # fmt: skip


def made_quantities(event: Event) -> dict[str, float]:
    """kg of each lot an event makes (transformation outputs) or commissions (ObjectEvent ADD)."""
    if event.type is EventType.TRANSFORMATION:
        flows = _flows((), event.outputQuantityList)
    elif event.type is EventType.OBJECT and event.action is Action.ADD:
        flows = _flows((), event.quantityList)
    else:
        return {}
    out: dict[str, float] = {}
    for flow in flows:
        if flow.kg is not None:
            out[flow.id] = out.get(flow.id, 0.0) + flow.kg
    return out


def facts_of(event: Event) -> dict[tuple[str, str], Fact]:
    """Element facts an event states about the objects it makes or commissions."""
    made: tuple[str, ...] = ()
    if event.type is EventType.TRANSFORMATION:
        made = (*event.outputEPCList, *(q.epcClass for q in event.outputQuantityList))
    elif event.type is EventType.OBJECT and event.action is Action.ADD:
        made = (*event.epcList, *(q.epcClass for q in event.quantityList))
    elif event.type is EventType.AGGREGATION and event.action is Action.ADD and event.parentID:
        made = (event.parentID,)
    out: dict[tuple[str, str], Fact] = {}
    source = f"ilmd of event {event.eventID or ''}".strip()
    for ext in (*event.ilmd, *event.extensions):
        if (
            ext.namespace != BT
            or not isinstance(ext.value, int | float)
            or isinstance(ext.value, bool)
        ):
            continue
        for element, name in ELEMENT_NAMES.items():
            if ext.name == f"{name}MassFraction":
                fact = Fact(float(ext.value), False, source)
            elif ext.name == f"{name}MassKg":
                fact = Fact(float(ext.value), True, source)
            else:
                continue
            for identifier in made:
                out[(node_id(identifier), element)] = fact
    return out


class EventLineage:
    """A lineage over events held in memory (a document, a test, a small export)."""

    def __init__(self, events: Iterable[Event], materials: Iterable[Material] = ()) -> None:
        self._materials = MaterialFacts(materials)
        grouped: dict[str, list[Step]] = defaultdict(list)
        yields: dict[str, dict[str, float]] = defaultdict(dict)
        self._facts: dict[tuple[str, str], Fact] = {}
        self._made_kg: dict[str, float] = defaultdict(float)
        self._nodes: set[str] = set()
        for event in events:
            key = event.transformationID or event.eventID or f"{event.type.value}@{event.eventTime}"
            step = step_of(event, key)
            if step is not None:
                grouped[key].append(step)
                yields[key] |= stated_yields(event)
            self._facts.update(facts_of(event))
            for node, kg in made_quantities(event).items():
                self._made_kg[node] += kg
            self._nodes.update(node_id(e) for e in _identifiers(event))
        self._made: dict[str, list[Step]] = defaultdict(list)
        self._used: dict[str, list[Step]] = defaultdict(list)
        self._transformations: list[tuple[Step, dict[str, float]]] = []
        for key, parts in grouped.items():
            step = merge(parts)
            if step.kind == "transformation":
                self._transformations.append((step, yields[key]))
            for flow in {f.id for f in step.outputs}:
                self._made[flow].append(step)
            for flow in {f.id for f in step.inputs}:
                self._used[flow].append(step)

    def made_by(self, node: str) -> list[Step]:
        return self._made.get(node, [])

    def used_in(self, node: str) -> list[Step]:
        return self._used.get(node, [])

    def fact(self, node: str, element: str) -> Fact | None:
        return self._facts.get((node, element)) or self._materials.fact(node, element)

    def made_kg(self, node: str) -> float | None:
        return self._made_kg.get(node)

    def transformations(self) -> list[tuple[Step, dict[str, float]]]:
        """Every transformation step with the yields its events state."""
        return self._transformations

    def known(self, node: str) -> bool:
        return node in self._nodes

    def prefetch(self, nodes: Iterable[str]) -> None:
        return None  # everything is in memory already


def _identifiers(event: Event) -> Iterable[str]:
    yield from (*event.epcList, *event.childEPCs, *event.inputEPCList, *event.outputEPCList)
    if event.parentID:
        yield event.parentID
    for q in (*event.quantityList, *event.childQuantityList, *event.inputQuantityList,
              *event.outputQuantityList):  # fmt: skip
        yield q.epcClass
