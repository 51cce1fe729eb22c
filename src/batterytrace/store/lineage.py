"""The genealogy graph read from the store.

A trace first reads everything reachable from its start with one recursive query over the
event_key index (made by: output and parent roles; used in: input and child roles), then the
events on the way in one batch: the identifiers a step moves come from the index (already
canonical Digital Links), quantities and ILMD figures from the stored JSON. Look-ups the walk
still needs (a transformation recorded in several events, joined by its transformationID) go
by whole frontiers. Everything read is cached for the life of one trace.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select

from batterytrace.masterdata import MasterData
from batterytrace.store import schema
from batterytrace.store.driver import Driver
from batterytrace.store.records import event_from_content
from batterytrace.trace.lineage import (
    CUSTODY_STEPS,
    Contents,
    Fact,
    Flow,
    Held,
    Hop,
    Inside,
    ItemBatch,
    MaterialFacts,
    Step,
    class_of,
    item_class,
    kg_by_object,
    merge,
    transformation_steps,
)

E = schema.event
K = schema.event_key
_MADE = ("outputEPC", "outputEPCClass", "parentID")  # items first: _MADE[1:] made as a whole
_USED = ("inputEPC", "inputEPCClass", "childEPC", "childEPCClass")
_ORIGIN = (*_MADE, "epc", "epcClass")
_ALL = (*_USED, *_ORIGIN)
_INSTANCES = ("inputEPC", "childEPC", "parentID", "epc")  # items made: counted, not listed
_CHUNK = 2000  # values per IN list

# The hot look-ups go to the driver as plain SQL (store.driver) with one placeholder per
# value: rendering thousands of expanding parameters through the SQL compiler costs more than
# the query.
# An ObjectEvent says something about the genealogy only when it commissions (ADD): the
# others (shipping, receiving, observing) are custody, read on their own.
_COMMISSIONED = """(k.role NOT IN ('epc', 'epcClass') OR EXISTS (SELECT 1 FROM event e
    WHERE e.seq = k.seq AND e.action = 'ADD' AND e.event_type = 'ObjectEvent'))"""
_BY_VALUE = (
    "SELECT k.value, k.seq, k.role FROM event_key k WHERE k.role IN ({roles})"
    " AND k.value IN ({marks}) AND " + _COMMISSIONED
)
_KEYS = "SELECT seq, role, value FROM event_key WHERE role IN ({roles}) AND seq IN ({marks})"
# Everything reachable from an object in one statement: from each object to the events where
# it has a "near" role, on to the "far" objects of those events (UNION expands each object
# once, cycles included); then the events of each reached object (none: one row of NULLs).
# DELETE aggregations and ObjectEvents are not steps, so the walk does not go through them
# (only a parent or child role can be a DELETE's: transformations' events are not read).
# Upstream, the children of a container that directly holds items transformations made are
# not walked: the holding table counts them (``contents``), and the next round walks on from
# the inputs of the events that made them (_SOURCED: the sources as integers).
_REACH = (
    """
WITH RECURSIVE walk(node) AS (
    {anchor}
    UNION
    SELECT k2.value
    FROM walk
    {join} event_key k1 ON k1.role IN ({near}) AND k1.value = walk.node
    {join} event_key k2 ON k2.seq = k1.seq AND k2.role IN ({far})
    WHERE (k1.role NOT IN ('parentID', 'childEPC', 'childEPCClass') OR NOT EXISTS (
        SELECT 1 FROM event e WHERE e.seq = k1.seq AND e.action = 'DELETE')){counted}
)
SELECT walk.node, k.seq, k.role
FROM walk LEFT JOIN event_key k ON k.role IN ({roles}) AND k.value = walk.node
    AND """
    + _COMMISSIONED
)
_SOURCED = (
    " UNION SELECT value FROM event_key WHERE role IN ('inputEPC', 'inputEPCClass')"
    " AND seq IN ({sources})"
)
_COUNTED = """ AND (k1.role <> 'parentID' OR NOT EXISTS (
        SELECT 1 FROM holding h WHERE h.container = walk.node AND h.level = 1))"""
_CUSTODY = """
SELECT k.value, e.event_id, e.biz_step, e.event_time, COALESCE(e.biz_location, e.read_point),
    d.value
FROM event_key k
JOIN event e ON e.seq = k.seq AND e.event_type = 'ObjectEvent' AND e.biz_step IN ({steps})
LEFT JOIN event_key d ON d.seq = e.seq AND d.role = 'destination:location'
WHERE k.role IN ({roles}) AND k.value IN ({marks})
ORDER BY e.event_time, e.seq
"""
# What holds the items of some batches (store.holdings): the items themselves by class (level
# 0); containers listed one by one, or added up per class for the counted classes (cells and
# modules in the master data); which containers and items a transformation consumed (the walk
# goes on from them). The sources are the ledger seqs of the events that made the items,
# written into the SQL as integers (one statement, any size).
_MADE_CLASSES = (
    "SELECT source, container, items FROM holding WHERE level = 0 AND source IN ({marks})"
)
_LISTED = (
    "SELECT source, container, items, level FROM holding WHERE source IN ({sources})"
    " AND level > 0{classes}"
)  # one statement per span of classes between the counted ones (index ranges, not a scan)
_BY_CLASS = (
    "SELECT source, container_class, sum(items), min(level) FROM holding"
    " WHERE source IN ({sources}) AND container_class IN ({counted}) AND level > 0"
    " GROUP BY source, container_class"
)
_CONSUMED = (
    """
SELECT h.source, h.container, h.items, h.level FROM event_key k
{join} holding h ON h.container = k.value
WHERE k.role = 'inputEPC' AND h.source IN ({marks})
""",
    """
SELECT o.seq, o.value, 1, 0 FROM event_key k
{join} event_key o ON o.role = 'outputEPC' AND o.value = k.value
WHERE k.role = 'inputEPC' AND o.seq IN ({marks})
""",
)
# What containers hold directly: items transformations made, by source (store.holdings), and
# (source 0) how many distinct children they have in all.
_INSIDE = """
SELECT container, source, items FROM holding WHERE level = 1 AND container IN ({marks})
UNION ALL
SELECT p.value, 0, count(DISTINCT c.value) FROM event_key p
{join} event_key c ON c.seq = p.seq AND c.role IN ('childEPC', 'childEPCClass')
WHERE p.role = 'parentID' AND p.value IN ({marks}) AND NOT EXISTS (
    SELECT 1 FROM event e WHERE e.seq = p.seq AND e.action = 'DELETE')
GROUP BY p.value
"""
_MATERIALS = "SELECT content FROM material ORDER BY id"
_EVENTS = (
    "SELECT e.seq, e.event_id, e.content_digest, e.event_type, e.action, e.event_time,"
    " e.biz_location, e.transformation_id, f.figures"
    " FROM event e LEFT JOIN event_figure f ON f.seq = e.seq WHERE e.seq IN ({marks})"
)
_JOINED = select(E.c.transformation_id, E.c.seq).where(
    E.c.transformation_id.in_(bindparam("ids", expanding=True)),
    E.c.event_type == "TransformationEvent",
)
_KNOWN = select(K.c.seq).where(K.c.role.in_(_ALL), K.c.value == bindparam("node")).limit(1)


@dataclass(slots=True)
class _Read:
    """What one stored event says about the genealogy."""

    event_id: str
    joins: str | None  # the transformationID joining it with other events
    step: Step | None  # None: not a genealogy step
    facts: dict[str, Fact]  # element figures it states about everything it made
    makes: tuple[str, ...]  # the roles of what it made
    made_kg: dict[str, float]


class Decoded:
    """What stored events and master data say about the genealogy, decoded once and kept across
    traces. Events (the most recently used ``size``) under the event's ID and the digest of
    its content: what a decoded event holds is a function of those alone, in this store or any
    other. Materials as element facts, decoded again whenever the stored records differ."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._reads: OrderedDict[str, _Read] = OrderedDict()
        self._materials: tuple[tuple[str, ...], MaterialFacts] | None = None
        self._lock = threading.Lock()

    def get(self, name: str) -> _Read | None:
        with self._lock:
            read = self._reads.get(name)
            if read is not None:
                self._reads.move_to_end(name)
            return read

    def put(self, name: str, read: _Read) -> None:
        with self._lock:
            self._reads[name] = read
            while len(self._reads) > self.size:
                self._reads.popitem(last=False)

    def materials(self, stored: tuple[str, ...]) -> MaterialFacts:
        """The materials of the stored records (JSON, in id order) as element facts."""
        with self._lock:
            if self._materials is None or self._materials[0] != stored:
                data = MasterData.from_json({"materials": [orjson.loads(c) for c in stored]})
                self._materials = (stored, MaterialFacts(data.materials.values()))
            return self._materials[1]


class StoreLineage:
    """A lineage over the events of one store (see :class:`batterytrace.trace.lineage.Lineage`)."""

    def __init__(self, conn: Connection, decoded: Decoded | None = None) -> None:
        self.conn = conn
        self.decoded = decoded or Decoded()
        self.sql = Driver(conn)
        self._read: dict[int, _Read] = {}
        self._seq: dict[str, int] = {}  # eventID -> seq of the events read
        self._joined: dict[str, Step] = {}  # transformationID -> the step of all its events
        self._made: dict[str, list[Step]] = {}
        self._used: dict[str, list[Step]] = {}
        self._origin: dict[str, tuple[dict[str, Fact], float | None]] = {}
        self._inside: dict[str, Contents] = {}
        self._holders: dict[str, list[tuple[int, int]]] = {}  # container -> (source, items)
        self._materials: MaterialFacts | None = None

    # --- the graph -------------------------------------------------------------------------

    def reach(self, start: str, upstream: bool) -> None:
        """Read everything reachable from ``start`` (upstream: what made it, and so on) with
        recursive queries and batched reads of the events, so a trace's levels are all in
        memory. The walk does not enter the serialised items transformations made: downstream
        ``held`` answers for them; upstream ``contents`` counts those a container holds, and
        the next round walks on from the inputs of the events that made them."""
        starts, sources = [start], list[int]()
        while starts or sources:
            found = self._walk(starts, sources, upstream)
            if not upstream:
                self._settle(found, upstream)
                return
            parents = [n for n, seqs in found.items() if any(r == "parentID" for _, r in seqs)]
            self._read_holders(parents)
            for node in self._foldable(parents):  # read only if the trace cannot fold it
                del found[node]
            self._load([*sources, *(seq for seqs in found.values() for seq, _ in seqs)])
            self._settle(found, upstream)
            held = {seq for p in parents for seq, _ in self._holders[p] if seq}
            starts, sources = [], sorted(held - self._read.keys())

    def _foldable(self, containers: Iterable[str]) -> list[str]:
        """Containers a backward trace may count per class instead of walking them: of a
        class the master data counts, holding items transformations made."""
        counted = self._master_data().counted()
        return [
            c
            for c in containers
            if class_of(c) in counted and any(seq for seq, _ in self._holders[c])
        ]

    def _walk(
        self, starts: Sequence[str], sources: Sequence[int], upstream: bool
    ) -> dict[str, list[tuple[int, str]]]:
        """(seq, role) of the events of everything one recursive query reaches from
        ``starts`` and the inputs of the events ``sources`` (upstream: the events that made
        each object; downstream: those that used it)."""
        near, far = (_MADE, _USED) if upstream else (_USED, _MADE[1:])
        anchor = " UNION ".join([f"SELECT {self.sql.mark}"] * len(starts))
        if sources:
            anchor += _SOURCED.format(sources=", ".join(str(int(seq)) for seq in sources))
        found: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for node, seq, role in self._rows(
            _REACH, starts, _ORIGIN if upstream else _USED,
            anchor=anchor.removeprefix(" UNION "), near=_inlined(near), far=_inlined(far),
            counted=_COUNTED if upstream else "",
        ):  # fmt: skip
            found[node].extend(() if seq is None else ((seq, role),))
        return found

    def made_by(self, nodes: Collection[str]) -> dict[str, list[Step]]:
        """The steps that made each node; the origin events read on the way also settle each
        node's element figures (no second read when the weights ask for them)."""
        wanted = [n for n in dict.fromkeys(nodes) if n not in self._made]
        self._settle(self._seqs(wanted, _ORIGIN), upstream=True)
        return {node: self._made[node] for node in nodes}

    def used_in(self, nodes: Collection[str]) -> dict[str, list[Step]]:
        wanted = [n for n in dict.fromkeys(nodes) if n not in self._used]
        self._settle(self._seqs(wanted, _USED), upstream=False)
        return {node: self._used[node] for node in nodes}

    def _settle(self, found: dict[str, list[tuple[int, str]]], upstream: bool) -> None:
        """Cache the steps (and, upstream, the origin figures) of nodes from their events."""
        self._load({seq for seqs in found.values() for seq, _ in seqs})
        for node, seqs in found.items():
            if not upstream:
                self._used[node] = self._steps_of({seq for seq, _ in seqs})
                continue
            self._made[node] = self._steps_of({seq for seq, role in seqs if role in _MADE})
            if node not in self._origin:
                self._origin[node] = self._figures(node, seqs)

    def _steps_of(self, seqs: set[int]) -> list[Step]:
        """The distinct steps of some read events, in capture order."""
        steps: dict[str, Step] = {}
        for seq in sorted(seqs):
            step = self._read[seq].step
            if step is not None and step.key not in steps:
                steps[step.key] = self._joined.get(step.key, step)
        return list(steps.values())

    def _seqs(
        self, nodes: Sequence[str], roles: tuple[str, ...]
    ) -> dict[str, list[tuple[int, str]]]:
        """(seq, role) of the events where each node has one of ``roles``."""
        found: dict[str, list[tuple[int, str]]] = {node: [] for node in nodes}
        for chunk in _chunks(nodes):
            for value, seq, role in self._rows(_BY_VALUE, chunk, roles):
                found[value].append((seq, role))
        return found

    def _rows(
        self, sql: str, values: Sequence[Any], roles: tuple[str, ...] = (), **inline: str
    ) -> list[Any]:
        """Rows of a look-up for many values (roles and ``inline`` are this module's constants,
        written into the SQL; the values go as parameters)."""
        return self.sql.rows(sql, values, len(values), roles=_inlined(roles), **inline)

    def _load(self, seqs: Iterable[int]) -> None:
        """Read events (and every other event of their transformationIDs) not read yet."""
        missing = sorted(s for s in set(seqs) if s not in self._read)
        if not missing:
            return
        for chunk in _chunks(missing):
            rows = self._rows(_EVENTS, chunk)
            for row in rows:
                if (read := self.decoded.get(f"{row[1]} {row[2]}")) is not None:
                    self._read[row[0]] = read
            self._decode([row for row in rows if row[0] not in self._read])
        for seq in missing:
            self._seq[self._read[seq].event_id] = seq
        joined = {tid for seq in missing if (tid := self._read[seq].joins) is not None}
        self._join(joined - self._joined.keys())

    def _decode(self, rows: Sequence[Any]) -> None:
        """Decode events read: identifiers from the index, the rest from the event row and
        the figures capture derived from the content."""
        if not rows:
            return
        seqs = [row[0] for row in rows]
        keys: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for seq, role, value in self._rows(_KEYS, seqs, _INSTANCES):
            keys[seq][role].append(value)
        items: dict[int, list[tuple[str, int]]] = defaultdict(list)
        made = [row[0] for row in rows if row[3] == "TransformationEvent"]
        for seq, cls, n in self._rows(_MADE_CLASSES, made) if made else ():
            items[seq].append((cls, n))
        for seq, event_id, digest, kind, action, ms, location, tid, figures in rows:
            when = datetime.fromtimestamp(ms / 1000, UTC)
            self._read[seq] = read = _read_event(
                event_id, kind, action, when, location, tid, keys[seq], sorted(items.get(seq, ())),
                orjson.loads(figures) if figures else {},
            )  # fmt: skip
            self.decoded.put(f"{event_id} {digest}", read)

    def _join(self, transformation_ids: set[str]) -> None:
        """One step for all the events of each transformationID."""
        if not transformation_ids:
            return
        seqs: dict[str, list[int]] = defaultdict(list)
        for chunk in _chunks(sorted(transformation_ids)):
            for tid, seq in self.conn.execute(_JOINED, {"ids": chunk}):
                seqs[tid].append(seq)
        self._load(s for group in seqs.values() for s in group)
        for tid, group in seqs.items():
            parts = [step for s in sorted(group) if (step := self._read[s].step) is not None]
            self._joined[tid] = merge(parts)

    def custody(self, nodes: Collection[str]) -> dict[str, list[Hop]]:
        hops: dict[str, list[Hop]] = {node: [] for node in nodes}
        steps = _inlined(CUSTODY_STEPS)
        for chunk in _chunks(list(hops)):
            for node, event_id, step, ms, location, destination in self._rows(
                _CUSTODY, chunk, ("epc", "epcClass"), steps=steps
            ):
                when = datetime.fromtimestamp(ms / 1000, UTC)
                hops[node].append(Hop(event_id, step, when, location, destination))
        return hops

    def held(self, batches: Collection[ItemBatch]) -> dict[str, list[Held]]:
        event_of = {self._seq[b.event]: b.event for b in batches}
        found: dict[str, dict[str, Held]] = {event: {} for event in event_of.values()}
        counted = self._counted()
        for below, above in zip(["", *counted], [*counted, ""], strict=True):
            bounds = [b for b in (below, above) if b]
            classes = (" AND container_class > {mark}" if below else "") + (
                " AND container_class < {mark}" if above else ""
            )
            listed = _LISTED.replace("{classes}", classes)  # {mark}: the driver fills it in
            for source, container, items, level in self._holding(listed, event_of, bounds):
                found[event_of[source]][container] = Held(container, items, level)
        for source, cls, items, level in (
            self._holding(_BY_CLASS, event_of, counted) if counted else ()
        ):
            found[event_of[source]][cls] = Held(cls, int(items), level)  # PG sums: numeric
        for source, node, items, level in self._consumed(list(event_of)):
            held = found[event_of[source]]
            if (cls := item_class(node)) in counted and level > 0:  # listed, not counted
                held[cls] = Held(cls, held[cls].items - items, held[cls].level)
            held[node] = Held(node, items, level, consumed=True)
        return {event: [h for h in held.values() if h.items > 0] for event, held in found.items()}

    def contents(self, containers: Collection[str]) -> dict[str, Contents]:
        self._read_holders(containers)
        self._load(seq for c in containers for seq, _ in self._holders[c] if seq)
        counted = self._master_data().counted()
        for container in containers:
            if container not in self._inside:
                held = self._holders[container]
                inside = [
                    Inside(self._joined.get(step.key, step), step.batches[0], items)
                    for seq, items in held
                    if seq and (step := self._read[seq].step) is not None and step.batches
                ]  # the sources made the items: transformations
                children = sum(items for seq, items in held if not seq)
                self._inside[container] = Contents(inside, children, class_of(container) in counted)
        return {c: self._inside[c] for c in containers}

    def _read_holders(self, containers: Collection[str]) -> None:
        """(source, items) of the items transformations made directly in each container, and
        (0, n) its n distinct children in all."""
        wanted = [c for c in dict.fromkeys(containers) if c not in self._holders]
        self._holders.update((c, []) for c in wanted)
        for chunk in _chunks(wanted):
            for container, source, items in self.sql.rows(_INSIDE, (*chunk, *chunk), len(chunk)):
                self._holders[container].append((source, int(items)))

    def _holding(self, sql: str, sources: Collection[int], values: Sequence[str]) -> Sequence[Any]:
        """Rows of a holding query over some sources, with class ``values`` as parameters."""
        listed = ", ".join(str(int(seq)) for seq in sources) or "NULL"
        counted = ", ".join([self.sql.mark] * len(values))
        return self.sql.rows(sql, values, sources=listed, counted=counted)

    def _consumed(self, sources: Sequence[int]) -> list[Any]:
        return [
            row for chunk in _chunks(sources) for sql in _CONSUMED for row in self._rows(sql, chunk)
        ]

    def _counted(self) -> list[str]:
        return sorted(self._master_data().counted())

    # --- element figures ---------------------------------------------------------------------

    def prefetch(self, nodes: Iterable[str]) -> None:
        """Read the origin events of many objects in one go (a step's flows, say)."""
        wanted = [n for n in dict.fromkeys(nodes) if n not in self._origin]
        found = self._seqs(wanted, _ORIGIN)
        self._load({seq for seqs in found.values() for seq, _ in seqs})
        for node, seqs in found.items():
            self._origin[node] = self._figures(node, seqs)

    def _figures(
        self, node: str, seqs: list[tuple[int, str]]
    ) -> tuple[dict[str, Fact], float | None]:
        """Element facts and made kg the origin events of ``node`` state, in capture order."""
        facts: dict[str, Fact] = {}
        made: float | None = None
        for seq, role in sorted(set(seqs)):
            read = self._read[seq]
            if role in read.makes:
                facts.update(read.facts)
            if node in read.made_kg:
                made = (made or 0.0) + read.made_kg[node]
        return facts, made

    def _origin_of(self, node: str) -> tuple[dict[str, Fact], float | None]:
        if node not in self._origin:
            self.prefetch((node,))
        return self._origin[node]

    def fact(self, node: str, element: str) -> Fact | None:
        stated = self._origin_of(node)[0].get(element)
        return stated if stated is not None else self._master_data().fact(node, element)

    def _master_data(self) -> MaterialFacts:
        if self._materials is None:
            stored = tuple(content for (content,) in self._rows(_MATERIALS, ()))
            self._materials = self.decoded.materials(stored)
        return self._materials

    def made_kg(self, node: str) -> float | None:
        return self._origin_of(node)[1]

    def weighed(self, flow: Flow) -> float | None:
        return self._master_data().weighed(flow)

    def known(self, node: str) -> bool:
        if self._made.get(node) or self._used.get(node):  # read on the way already
            return True
        return self.conn.execute(_KNOWN, {"node": node}).first() is not None

    def transformations(self) -> Iterator[tuple[Step, dict[str, float]]]:
        """Every stored transformation step (events of one transformationID joined), with the
        yields its events state, in capture order."""
        rows = self.conn.execute(
            select(E.c.event_id, E.c.content)
            .where(E.c.event_type == "TransformationEvent")
            .order_by(E.c.seq)
            .execution_options(yield_per=2000)  # this statement's, not the connection's
        )
        yield from transformation_steps(
            (event_id, event_from_content(content)) for event_id, content in rows
        )


def _inlined(roles: tuple[str, ...]) -> str:
    return ", ".join(f"'{role}'" for role in roles)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _read_event(
    event_id: str,
    kind: str,
    action: str | None,
    when: datetime,
    location: str | None,
    transformation_id: str | None,
    keys: dict[str, list[str]],
    items_made: list[tuple[str, int]],  # (class, how many) of the items it made
    figures: dict[str, Any],
) -> _Read:
    """The step, stated element figures and made kg of one stored event: identifiers from the
    index, quantities and element figures from what capture derived from the content
    (``records.figures``), by the rules of ``step_of``, ``stated_facts`` and
    ``made_quantities``, which the store-versus-memory tests hold them to."""

    def quantities(name: str) -> tuple[Flow, ...]:
        return tuple(Flow(*entry) for entry in figures.get(name, ()))

    def instances(role: str) -> tuple[Flow, ...]:
        return tuple(Flow(value) for value in keys.get(role, ()))

    made: tuple[Flow, ...] = ()  # the lots it made (items: counted) and parents it filled
    makes: tuple[str, ...] = ()
    flows: tuple[tuple[Flow, ...], tuple[Flow, ...]] | None = None  # a step's inputs, outputs
    step_kind = {"AggregationEvent": "aggregation", "AssociationEvent": "association"}.get(kind)
    if kind == "TransformationEvent":
        step_kind, makes = "transformation", ("outputEPC", "outputEPCClass")
        made = quantities("outputQuantityList")
        flows = (instances("inputEPC") + quantities("inputQuantityList"), made)
    elif kind == "ObjectEvent" and action == "ADD":
        made, makes = instances("epc") + quantities("quantityList"), ("epc", "epcClass")
    elif step_kind and keys.get("parentID"):
        if action != "DELETE":
            children = instances("childEPC") + quantities("childQuantityList")
            flows = (children, instances("parentID"))
        if kind == "AggregationEvent" and action == "ADD":
            made, makes = instances("parentID"), ("parentID",)
    source = f"ilmd of event {event_id}"
    facts = {e: Fact(v, per_item, source) for e, (v, per_item) in figures.get("facts", {}).items()}
    joins = transformation_id if kind == "TransformationEvent" else None
    if flows is None or step_kind is None:
        return _Read(event_id, joins, None, facts, makes, kg_by_object(made))
    stated = {flow.id: facts for flow in made} if facts else {}
    batches = (ItemBatch(event_id, facts, tuple(items_made)),) if items_made else ()
    step = Step(transformation_id or event_id, step_kind, when, location, *flows, stated, batches)
    return _Read(event_id, joins, step, facts, makes, kg_by_object(made))
