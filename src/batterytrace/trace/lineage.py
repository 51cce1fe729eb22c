"""The genealogy graph as EPCIS events describe it: which steps made an object, which used it.

A *step* is a TransformationEvent (all events sharing a transformationID form one step), or an
AggregationEvent / AssociationEvent that put children into a parent (ADD or OBSERVE). Objects
are identified by their canonical GS1 Digital Link. Element content comes from the ILMD of the
event that made or commissioned an object: ``bt:<element>MassFraction`` (kg per kg of a lot)
or ``bt:<element>MassKg`` (kg in one serialised item), each with the event as its source.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from batterytrace.epcis.model import Action, Event, EventType, QuantityElement
from batterytrace.identifiers import to_digital_link
from batterytrace.masterdata import BT, Material, MaterialKind
from batterytrace.units import KG_PER, to_kg

ELEMENT_NAMES = {"Co": "cobalt", "Ni": "nickel", "Li": "lithium", "Mn": "manganese", "Cu": "copper"}


@dataclass(frozen=True, slots=True)
class Flow:
    """One object going into or out of a step; ``kg`` when the event gives a mass, else the
    ``quantity`` it states in ``uom`` (a volume; a count when ``uom`` is None), which only the
    master data can weigh; neither: the whole object (an instance, a class without quantity)."""

    id: str
    kg: float | None = None
    quantity: float | None = None
    uom: str | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """An element figure of one object: a mass fraction of a lot, or kg in one item."""

    value: float
    per_item: bool  # True: kg of element in one item; False: kg per kg
    source: str


@dataclass(frozen=True, slots=True)
class ItemBatch:
    """The serialised items one event of a transformation made (a cell line's 500 cells),
    counted per class, with the element figures the event states for each of them."""

    event: str  # the event that made them
    facts: Mapping[str, Fact]
    classes: tuple[tuple[str, int], ...]  # (class ``…/01/<GTIN>``, "" for none; how many)

    @property
    def count(self) -> int:
        return sum(n for _, n in self.classes)

    def node(self, cls: str) -> str:
        """The trace object standing for the batch's items of one class."""
        return cls or f"{self.event}#outputEPCList"


def item_class(node: str) -> str:
    """The class an item is counted under: its GTIN's Digital Link, "" when it has none."""
    cls = class_of(node)
    return "" if cls == node else cls


def item_batch(event: str, facts: Mapping[str, Fact], items: Iterable[str]) -> ItemBatch:
    return ItemBatch(event, facts, tuple(sorted(Counter(map(item_class, items)).items())))


COUNTED_KINDS = frozenset({MaterialKind.CELL, MaterialKind.MODULE})


class Held(NamedTuple):  # a tuple: a forward trace makes tens of thousands
    """``items`` items of a batch inside ``container``, ``level`` containment steps above them
    (0: the item itself); ``consumed`` when a transformation used the container or item."""

    container: str
    items: int
    level: int
    consumed: bool = False


class Inside(NamedTuple):
    """Backward: ``items`` items of ``batch``, made in ``step``, directly inside a container
    (store.holdings, level 1)."""

    step: Step
    batch: ItemBatch
    items: int


class Contents(NamedTuple):
    """Backward: what a container holds directly: the items transformations made (each
    distinct child once, counted per batch), how many distinct children it has in all, and
    whether the master data counts its class (cells, modules) instead of listing it."""

    inside: list[Inside]
    children: int
    counted: bool


@dataclass(frozen=True, slots=True)
class Step:
    key: str  # eventID (or hash ID), or the transformationID joining several events
    kind: str  # transformation | aggregation | association
    time: datetime
    location: str | None
    inputs: tuple[Flow, ...]
    outputs: tuple[Flow, ...]  # of a transformation: lots; the items it made are in batches
    # element figures the step's events state about what they made: object -> element -> fact
    stated: Mapping[str, Mapping[str, Fact]] = field(default_factory=dict)
    batches: tuple[ItemBatch, ...] = ()


@dataclass(frozen=True, slots=True)
class Hop:
    """A custody event of a lot: shipped from a place (to a destination) or received at one;
    the place is the event's business location, else its read point."""

    event: str
    step: str  # shipping | receiving
    time: datetime
    location: str | None
    destination: str | None = None


CUSTODY_STEPS = ("shipping", "receiving")


def custody_step(biz_step: str | None) -> str | None:
    """``shipping`` or ``receiving`` for those CBV business steps (bare, URN or Web URI form)."""
    if not biz_step:
        return None
    name = biz_step.rsplit(":", 1)[-1].rsplit("-", 1)[-1]
    return name if name in CUSTODY_STEPS else None


def is_lot(node: str) -> bool:
    """A class-level lot (LGTIN Digital Link): what moves between sites under its own identity;
    serialised items travel inside their containers."""
    return "/10/" in node


class Lineage(Protocol):
    """What a trace reads; the store and an in-memory set of events both provide it."""

    def made_by(self, nodes: Collection[str]) -> dict[str, list[Step]]:
        """The steps that made each of ``nodes`` (all of them read at once)."""
        ...

    def used_in(self, nodes: Collection[str]) -> dict[str, list[Step]]:
        """The steps that used each of ``nodes``."""
        ...

    def fact(self, node: str, element: str) -> Fact | None: ...

    def made_kg(self, node: str) -> float | None:
        """kg of the object made or commissioned (a lot's quantity), None when not a mass."""
        ...

    def weighed(self, flow: Flow) -> float | None:
        """kg of a flow stated in a volume or a count, by its class's master data, or None."""
        ...

    def known(self, node: str) -> bool: ...

    def prefetch(self, nodes: Iterable[str]) -> None:
        """A hint that the facts of ``nodes`` are about to be read (a store reads them at once)."""
        ...

    def reach(self, start: str, upstream: bool) -> None:
        """A hint that everything reachable from ``start`` is about to be walked."""
        ...

    def custody(self, nodes: Collection[str]) -> dict[str, list[Hop]]:
        """Shipping and receiving events of each node, in time order."""
        ...

    def held(self, batches: Collection[ItemBatch]) -> dict[str, list[Held]]:
        """For each batch (by event), what holds its items at every level: each container
        listed, except those whose class the master data calls a cell or a module (one entry
        per class, the items inside them added up); and every item or container a
        transformation consumed, listed."""
        ...

    def contents(self, containers: Collection[str]) -> dict[str, Contents]:
        """What each container holds directly (store.holdings, level 1)."""
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

    def counted(self) -> set[str]:
        """The classes whose objects a forward trace counts instead of listing them."""
        return {cls for cls, m in self._by_class.items() if m.kind in COUNTED_KINDS}

    def fact(self, node: str, element: str) -> Fact | None:
        m = self._by_class.get(class_of(node))
        value = None if m is None else m.fraction(element)
        if m is None or value is None:
            return None
        declared = next((f.source for f in m.fractions if f.element == element), None)
        source = declared or f"stoichiometry:{m.formula}"
        return Fact(value, False, f"master data {m.id} ({source})")

    def material(self, node: str) -> Material | None:
        return self._by_class.get(class_of(node))

    def weighed(self, flow: Flow) -> float | None:
        m = self.material(flow.id)
        return None if m is None or flow.quantity is None else m.kg(flow.quantity, flow.uom)


def quantity_flows(quantities: Iterable[QuantityElement]) -> tuple[Flow, ...]:
    """Class-level flows, with kg where the quantity is a mass, else the quantity as stated."""
    flows = []
    for q in quantities:
        node = node_id(q.epcClass)
        if q.quantity is None:
            flows.append(Flow(node))
        elif q.uom is not None and q.uom in KG_PER:
            flows.append(Flow(node, to_kg(q.quantity, q.uom)))
        else:  # a volume or a count: the master data may weigh it
            flows.append(Flow(node, None, q.quantity, q.uom))
    return tuple(flows)


def _flows(epcs: Iterable[str], quantities: Iterable[QuantityElement]) -> tuple[Flow, ...]:
    return (*(Flow(node_id(e)) for e in epcs), *quantity_flows(quantities))


def step_of(event: Event, key: str) -> Step | None:
    """The genealogy step an event records, if any."""
    location = node_id(event.bizLocation.id) if event.bizLocation else None
    if event.type is EventType.TRANSFORMATION:
        stated = stated_facts(event)
        batches: tuple[ItemBatch, ...] = ()
        if event.outputEPCList:
            items = [node_id(e) for e in event.outputEPCList]
            facts = stated[items[0]] if stated else {}
            batches = (item_batch(event.eventID or key, facts, items),)
        return Step(
            key, "transformation", event.eventTime, location,
            _flows(event.inputEPCList, event.inputQuantityList),
            quantity_flows(event.outputQuantityList),
            stated, batches,
        )  # fmt: skip
    if event.type in (EventType.AGGREGATION, EventType.ASSOCIATION) and event.parentID:
        if event.action is Action.DELETE:
            return None
        kind = "aggregation" if event.type is EventType.AGGREGATION else "association"
        children = _flows(event.childEPCs, event.childQuantityList)
        parent = (Flow(node_id(event.parentID)),)
        return Step(key, kind, event.eventTime, location, children, parent, stated_facts(event))
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
    stated: dict[str, dict[str, Fact]] = {}
    for step in sorted(steps, key=lambda s: s.time):
        for node, facts in step.stated.items():
            stated.setdefault(node, {}).update(facts)
    return Step(
        first.key, first.kind, first.time, first.location,
        tuple(f for s in steps for f in s.inputs), tuple(f for s in steps for f in s.outputs),
        stated, tuple(b for s in steps for b in s.batches),
    )  # fmt: skip


def transformation_steps(
    events: Iterable[tuple[str, Event]],
) -> Iterator[tuple[Step, dict[str, float]]]:
    """The transformation steps of ``events`` (each with its eventID), with the yields they
    state: the events of one transformationID joined into one step, given once all of them
    came; one without a transformationID at once."""
    grouped: dict[str, tuple[list[Step], dict[str, float]]] = {}
    for event_id, event in events:
        key = event.transformationID or event_id
        step = step_of(event, key)
        if step is None:
            continue
        if event.transformationID is None:
            yield step, stated_yields(event)
            continue
        parts, yields = grouped.setdefault(key, ([], {}))
        parts.append(step)
        yields.update(stated_yields(event))
    for parts, yields in grouped.values():
        yield merge(parts), yields


def made_quantities(event: Event) -> dict[str, float]:
    """kg of each lot an event makes (transformation outputs) or commissions (ObjectEvent ADD)."""
    if event.type is EventType.TRANSFORMATION:
        flows = quantity_flows(event.outputQuantityList)
    elif event.type is EventType.OBJECT and event.action is Action.ADD:
        flows = quantity_flows(event.quantityList)
    else:
        return {}
    return kg_by_object(flows)


def kg_by_object(flows: Iterable[Flow]) -> dict[str, float]:
    """kg per object of the flows that give a mass (an object listed twice: added up)."""
    out: dict[str, float] = {}
    for flow in flows:
        if flow.kg is not None:
            out[flow.id] = out.get(flow.id, 0.0) + flow.kg
    return out


_FACT_NAMES = {
    f"{BT}{name}{suffix}": (element, suffix == "MassKg")
    for element, name in ELEMENT_NAMES.items()
    for suffix in ("MassFraction", "MassKg")
}


def element_facts(values: Iterable[tuple[str, object]], source: str) -> dict[str, Fact]:
    """Element figures among extension (URI, value) pairs: ``bt:<element>MassFraction`` (kg per
    kg) or ``bt:<element>MassKg`` (kg in one item)."""
    out: dict[str, Fact] = {}
    for uri, value in values:
        hit = _FACT_NAMES.get(uri)
        if hit is not None and isinstance(value, int | float) and not isinstance(value, bool):
            out[hit[0]] = Fact(float(value), hit[1], source)
    return out


def made_identifiers(event: Event) -> tuple[str, ...]:
    """What an event makes or commissions: the objects its ILMD describes."""
    if event.type is EventType.TRANSFORMATION:
        return (*event.outputEPCList, *(q.epcClass for q in event.outputQuantityList))
    if event.type is EventType.OBJECT and event.action is Action.ADD:
        return (*event.epcList, *(q.epcClass for q in event.quantityList))
    if event.type is EventType.AGGREGATION and event.action is Action.ADD and event.parentID:
        return (event.parentID,)
    return ()


def stated_facts(event: Event) -> dict[str, dict[str, Fact]]:
    """Element facts an event states about the objects it makes or commissions."""
    source = f"ilmd of event {event.eventID or ''}".strip()
    values = ((ext.namespace + ext.name, ext.value) for ext in (*event.ilmd, *event.extensions))
    facts = element_facts(values, source)
    if not facts:
        return {}
    return {node_id(identifier): facts for identifier in made_identifiers(event)}


class EventLineage:
    """A lineage over events held in memory (a document, a test, a small export)."""

    def __init__(self, events: Iterable[Event], materials: Iterable[Material] = ()) -> None:
        self._materials = MaterialFacts(materials)
        grouped: dict[str, list[Step]] = defaultdict(list)
        yields: dict[str, dict[str, float]] = defaultdict(dict)
        self._facts: dict[str, dict[str, Fact]] = defaultdict(dict)
        self._made_kg: dict[str, float] = defaultdict(float)
        self._nodes: set[str] = set()
        self._hops: dict[str, list[Hop]] = defaultdict(list)
        items: dict[str, list[str]] = defaultdict(list)  # step key -> items its events made
        self._batch_items: dict[str, list[str]] = {}  # batch event -> its items
        self._made_in: dict[str, list[str]] = defaultdict(list)  # item -> batch events
        self._batches: dict[str, tuple[str, ItemBatch]] = {}  # batch event -> step key, batch
        for event in events:
            self._add_hops(event)
            key = event.transformationID or event.eventID or f"{event.type.value}@{event.eventTime}"
            step = step_of(event, key)
            if step is not None:
                grouped[key].append(step)
                yields[key] |= stated_yields(event)
                for batch in step.batches:
                    self._batch_items[batch.event] = [node_id(e) for e in event.outputEPCList]
                    items[key].extend(self._batch_items[batch.event])
                    self._batches[batch.event] = (key, batch)
                    for item in self._batch_items[batch.event]:
                        self._made_in[item].append(batch.event)
            for node, facts in (step.stated if step else stated_facts(event)).items():
                self._facts[node].update(facts)
            for node, kg in made_quantities(event).items():
                self._made_kg[node] += kg
            self._nodes.update(node_id(e) for e in _identifiers(event))
        self._made: dict[str, list[Step]] = defaultdict(list)
        self._used: dict[str, list[Step]] = defaultdict(list)
        self._transformations: list[tuple[Step, dict[str, float]]] = []
        self._steps: dict[str, Step] = {}
        for key, parts in grouped.items():
            step = self._steps[key] = merge(parts)
            if step.kind == "transformation":
                self._transformations.append((step, yields[key]))
            for flow in {f.id for f in step.outputs} | set(items[key]):
                self._made[flow].append(step)
            for flow in {f.id for f in step.inputs}:
                self._used[flow].append(step)

    def made_by(self, nodes: Collection[str]) -> dict[str, list[Step]]:
        return {node: self._made.get(node, []) for node in nodes}

    def used_in(self, nodes: Collection[str]) -> dict[str, list[Step]]:
        return {node: self._used.get(node, []) for node in nodes}

    def fact(self, node: str, element: str) -> Fact | None:
        stated = self._facts.get(node, {}).get(element)
        return stated or self._materials.fact(node, element)

    def made_kg(self, node: str) -> float | None:
        return self._made_kg.get(node)

    def weighed(self, flow: Flow) -> float | None:
        return self._materials.weighed(flow)

    def transformations(self) -> list[tuple[Step, dict[str, float]]]:
        """Every transformation step with the yields its events state."""
        return self._transformations

    def known(self, node: str) -> bool:
        return node in self._nodes

    def prefetch(self, nodes: Iterable[str]) -> None:
        return None  # everything is in memory already

    def reach(self, start: str, upstream: bool) -> None:
        return None

    def custody(self, nodes: Collection[str]) -> dict[str, list[Hop]]:
        return {node: sorted(self._hops.get(node, []), key=lambda h: h.time) for node in nodes}

    def held(self, batches: Collection[ItemBatch]) -> dict[str, list[Held]]:
        counted = self._materials.counted()
        out: dict[str, list[Held]] = {}
        for batch in batches:
            listed: list[Held] = []
            classes: dict[str, list[int]] = defaultdict(lambda: [0, 1 << 30])
            for node, (items, level) in self._holders(batch).items():
                if self._consumed(node) or class_of(node) not in counted:
                    listed.append(Held(node, items, level, self._consumed(node)))
                else:
                    total = classes[class_of(node)]
                    total[0], total[1] = total[0] + items, min(total[1], level)
            out[batch.event] = listed + [Held(c, n, level) for c, (n, level) in classes.items()]
        return out

    def contents(self, containers: Collection[str]) -> dict[str, Contents]:
        out: dict[str, Contents] = {}
        counted = self._materials.counted()
        for container in containers:
            steps = self._made.get(container, [])
            children = {f.id for s in steps if s.kind != "transformation" for f in s.inputs}
            count = Counter(e for child in children for e in self._made_in.get(child, ()))
            batches = [self._batches[event] for event in count]
            inside = [Inside(self._steps[k], b, count[b.event]) for k, b in batches]
            out[container] = Contents(inside, len(children), class_of(container) in counted)
        return out

    def _holders(self, batch: ItemBatch) -> dict[str, tuple[int, int]]:
        """Each container of the batch's items (walked up one level at a time, counted once
        per item) and each consumed item: (items, fewest steps up)."""
        count: dict[str, int] = defaultdict(int)
        level: dict[str, int] = {}
        for item in self._batch_items[batch.event]:
            seen = {item: 0}
            frontier = [item]
            while frontier:
                above = []
                for node in frontier:
                    for step in self._used.get(node, []):
                        if step.kind == "transformation":
                            continue
                        for parent in {f.id for f in step.outputs} - seen.keys():
                            seen[parent] = seen[node] + 1
                            above.append(parent)
                frontier = above
            for node, steps in seen.items():
                if steps or self._consumed(node):
                    count[node] += 1
                    level[node] = min(level.get(node, steps), steps)
        return {node: (n, level[node]) for node, n in count.items()}

    def _consumed(self, node: str) -> bool:
        return any(step.kind == "transformation" for step in self._used.get(node, []))

    def _add_hops(self, event: Event) -> None:
        step = custody_step(event.bizStep) if event.type is EventType.OBJECT else None
        if step is None:
            return
        place = event.bizLocation or event.readPoint
        location = node_id(place.id) if place else None
        places = [node_id(d.id) for d in event.destinationList if d.type.endswith("location")]
        hop = Hop(event.eventID or "", step, event.eventTime, location, next(iter(places), None))
        for identifier in (*event.epcList, *(q.epcClass for q in event.quantityList)):
            self._hops[node_id(identifier)].append(hop)


def _identifiers(event: Event) -> Iterable[str]:
    yield from (*event.epcList, *event.childEPCs, *event.inputEPCList, *event.outputEPCList)
    if event.parentID:
        yield event.parentID
    for q in (*event.quantityList, *event.childQuantityList, *event.inputQuantityList,
              *event.outputQuantityList):  # fmt: skip
        yield q.epcClass
