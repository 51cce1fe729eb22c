"""The genealogy graph read from the store, through the event_key index.

Which events made an object (it is an output or a parent there) and which used it (an input or
a child) are index look-ups on (role, value); a transformation recorded in several events is
joined by its transformationID. Everything read is cached for the life of one trace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, select

from batterytrace.epcis.model import Event
from batterytrace.store import schema
from batterytrace.store.masterdata import load as load_master_data
from batterytrace.store.records import event_from_content
from batterytrace.trace.lineage import (
    Fact,
    MaterialFacts,
    Step,
    facts_of,
    made_quantities,
    merge,
    stated_yields,
    step_of,
)

E = schema.event
K = schema.event_key
_MADE = ("outputEPC", "outputEPCClass", "parentID")
_USED = ("inputEPC", "inputEPCClass", "childEPC", "childEPCClass")
_COMMISSIONED = ("epc", "epcClass")
_ALL = (*_MADE, *_USED, *_COMMISSIONED)


class StoreLineage:
    """A lineage over the events of one store (see :class:`batterytrace.trace.lineage.Lineage`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._events: dict[int, Event] = {}
        self._steps: dict[str, list[Step]] = {}
        self._facts: dict[str, tuple[dict[tuple[str, str], Fact], float | None]] = {}
        self._by_event: dict[int, tuple[dict[str, dict[str, Fact]], dict[str, float]]] = {}
        self._materials: MaterialFacts | None = None

    def _find(self, roles: Iterable[str], node: str) -> list[tuple[int, str]]:
        """(seq, event_id) of the events where ``node`` has one of ``roles``."""
        stmt = (
            select(E.c.seq, E.c.event_id)
            .join(K, K.c.seq == E.c.seq)
            .where(K.c.role.in_(tuple(roles)), K.c.value == node)
            .distinct()
            .order_by(E.c.seq)
        )
        return [(row[0], row[1]) for row in self.conn.execute(stmt)]

    def _load(self, seqs: Iterable[int]) -> None:
        missing = [s for s in seqs if s not in self._events]
        if missing:
            rows = self.conn.execute(select(E.c.seq, E.c.content).where(E.c.seq.in_(missing)))
            for seq, content in rows:
                self._events[seq] = event_from_content(content)

    def _steps_of(self, roles: tuple[str, ...], node: str) -> list[Step]:
        found = self._find(roles, node)
        self._load(seq for seq, _ in found)
        steps: dict[str, Step] = {}
        for seq, event_id in found:
            event = self._events[seq]
            key = event.transformationID or event_id
            if key in steps:
                continue
            if event.transformationID:
                step = self._transformation(event.transformationID)
            else:
                step = step_of(event, key)
            if step is not None:
                steps[key] = step
        return list(steps.values())

    def _transformation(self, transformation_id: str) -> Step | None:
        """All events of one transformationID, as one step."""
        seqs = list(
            self.conn.execute(
                select(E.c.seq).where(E.c.transformation_id == transformation_id)
            ).scalars()
        )
        self._load(seqs)
        parts = [
            s for s in (step_of(self._events[q], transformation_id) for q in sorted(seqs)) if s
        ]
        return merge(parts) if parts else None

    def made_by(self, node: str) -> list[Step]:
        key = "made " + node
        if key not in self._steps:
            self._steps[key] = self._steps_of(_MADE, node)
        return self._steps[key]

    def used_in(self, node: str) -> list[Step]:
        key = "used " + node
        if key not in self._steps:
            self._steps[key] = self._steps_of(_USED, node)
        return self._steps[key]

    def _event_facts(self, seq: int) -> tuple[dict[str, dict[str, Fact]], dict[str, float]]:
        """Element facts (by object, then element) and made kg an event states, once."""
        if seq not in self._by_event:
            event = self._events[seq]
            by_node: dict[str, dict[str, Fact]] = defaultdict(dict)
            for (node, element), fact in facts_of(event).items():
                by_node[node][element] = fact
            self._by_event[seq] = (by_node, made_quantities(event))
        return self._by_event[seq]

    def prefetch(self, nodes: Iterable[str]) -> None:
        """Read the origin events of many objects in one query (a step's flows, say)."""
        wanted = [n for n in dict.fromkeys(nodes) if n not in self._facts]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            stmt = select(K.c.value, K.c.seq).where(
                K.c.role.in_((*_MADE, *_COMMISSIONED)), K.c.value.in_(chunk)
            )
            origins: dict[str, set[int]] = {n: set() for n in chunk}
            for value, seq in self.conn.execute(stmt):
                origins[value].add(seq)
            self._load(seq for seqs in origins.values() for seq in seqs)
            for node, seqs in origins.items():
                self._facts[node] = self._combine(node, sorted(seqs))

    def _combine(
        self, node: str, seqs: list[int]
    ) -> tuple[dict[tuple[str, str], Fact], float | None]:
        facts: dict[tuple[str, str], Fact] = {}
        made: float | None = None
        for seq in seqs:
            event_facts, quantities = self._event_facts(seq)
            facts.update({(node, e): f for e, f in event_facts.get(node, {}).items()})
            if node in quantities:
                made = (made or 0.0) + quantities[node]
        return facts, made

    def _origin(self, node: str) -> tuple[dict[tuple[str, str], Fact], float | None]:
        """Element facts and made kg from the events that made or commissioned ``node``."""
        if node not in self._facts:
            self.prefetch((node,))
        return self._facts[node]

    def fact(self, node: str, element: str) -> Fact | None:
        stated = self._origin(node)[0].get((node, element))
        if stated is not None:
            return stated
        if self._materials is None:
            self._materials = MaterialFacts(load_master_data(self.conn).materials.values())
        return self._materials.fact(node, element)

    def made_kg(self, node: str) -> float | None:
        return self._origin(node)[1]

    def known(self, node: str) -> bool:
        return bool(self._find(_ALL, node))

    def transformations(self) -> Iterator[tuple[Step, dict[str, float]]]:
        """Every stored transformation step (events of one transformationID joined), with the
        yields its events state, in capture order."""
        rows = self.conn.execution_options(yield_per=2000).execute(
            select(E.c.event_id, E.c.content)
            .where(E.c.event_type == "TransformationEvent")
            .order_by(E.c.seq)
        )
        grouped: dict[str, tuple[list[Step], dict[str, float]]] = {}
        for event_id, content in rows:
            event = event_from_content(content)
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
