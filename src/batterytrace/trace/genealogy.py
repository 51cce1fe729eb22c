"""Backward and forward genealogy trace with element-mass allocation.

Backward from a pack, vehicle, cell or lot: every upstream object down to the mines, with the
share of the root's element each one contributed. Forward from a lot: every downstream lot and
every container (module, pack, vehicle) holding some of it; the serialised items made on the way
are counted per class, not listed (a sulfate lot ends in some 400,000 cells). The graph is
walked once (a lot reached by several paths is expanded once), shares are then propagated in
topological order, and every result states its rule (``RULE``). Lots carry their custody path
(shipping and receiving events). Where an object has no element figure the result names the
gap instead of inventing a number; an object met again on its own path is a cycle: reported,
not followed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from batterytrace.errors import BatteryTraceError
from batterytrace.trace.lineage import (
    Flow,
    Held,
    Hop,
    Inside,
    ItemBatch,
    Lineage,
    Step,
    class_of,
    is_lot,
    item_class,
    kg_by_object,
    node_id,
)

RULE = (
    "element-mass allocation: the element of an object made in a step comes from the step's "
    "inputs in proportion to the element each brought in (kg of the input times its element "
    "mass fraction, or the element in a serialised item); aggregations and associations pass "
    "their children's element on whole; forward, a lot's element goes to a step in proportion "
    "to the part of the lot used there, and on to the outputs in proportion to their element; "
    "serialised items made in a step are counted per class, and each container holding some "
    "of them (module, pack, vehicle, at any level) gets their element; backward, the items a "
    "container holds are counted per class and take their element from the steps that made "
    "them, each in proportion to the element of its items"
)


# What a reader sees in place of all that lies beyond a step it may not read (decision 041)
NOT_SHARED = "not shared"


class UnknownObject(BatteryTraceError):
    """No stored event mentions the identifier a trace starts from."""


@dataclass(slots=True)
class Link:
    """One edge of the trace: ``source`` passes ``weight`` of its share on to ``target``."""

    source: str
    target: str
    step: str
    kind: str
    time: str
    weight: float | None
    kg: float | None = None  # mass of ``target`` in that step (lots; None for items)
    items: int | None = None  # forward: items of the step's batches ``target`` holds


@dataclass(slots=True)
class TracedObject:
    id: str
    depth: int  # steps from the start
    share: float | None = None  # of the start's element (None: unknown, see gap)
    element_kg: float | None = None
    gap: str | None = None
    custody: Sequence[Hop] = ()  # shipping and receiving of a lot
    items: int | None = None  # forward: the items of this class made from the start


@dataclass(slots=True)
class Trace:
    direction: str
    element: str
    start: str
    start_kg: float | None
    objects: dict[str, TracedObject] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)
    rule: str = RULE
    _outgoing: dict[str, list[Link]] | None = field(default=None, repr=False, compare=False)

    @property
    def gaps(self) -> list[str]:
        return [o.gap for o in self.objects.values() if o.gap]

    def children(self, node: str) -> list[Link]:
        """The links leaving ``node`` (indexed once, after the trace is complete)."""
        if self._outgoing is None:
            self._outgoing = defaultdict(list)
            for link in self.links:
                self._outgoing[link.source].append(link)
        return self._outgoing.get(node, [])

    def restricted(self, readable: Callable[[str], bool]) -> Trace:
        """The trace as a reader sees it (decision 041): the objects reached from the start
        through steps ``readable`` (a step's key, a custody hop's event) lets it read. Where a
        step it may not read leads on, the link goes to one object, ``not shared``, standing
        for all that lies beyond, with no identifier, quantity or element figure; the start's
        total and each visible object's share stay the figures of the whole chain."""
        seen, frontier, links, cut = {self.start}, [self.start], [], set()
        while frontier:
            for link in self.children(frontier.pop()):
                if not readable(link.step):
                    cut.add(link.source)
                    continue
                links.append(link)
                if link.target not in seen:
                    seen.add(link.target)
                    frontier.append(link.target)
        hidden = [o for o in self.objects if o not in seen]
        objects = {
            key: replace(
                o,
                custody=tuple(h for h in o.custody if readable(h.event)),
                gap=None if o.gap and any(h in o.gap for h in hidden) else o.gap,
            )
            for key, o in self.objects.items()
            if key in seen
        }
        if cut:
            depth = min(objects[node].depth for node in cut) + 1
            objects[NOT_SHARED] = TracedObject(NOT_SHARED, depth)
            links.extend(Link(n, NOT_SHARED, NOT_SHARED, NOT_SHARED, "", None) for n in sorted(cut))
        cycles = [c for c in self.cycles if not any(h in c for h in hidden)]
        return Trace(self.direction, self.element, self.start, self.start_kg, objects, links,
                     cycles, self.rule)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "element": self.element,
            "unit": "kg",
            "start": self.start,
            "start_element_kg": self.start_kg,
            "rule": self.rule,
            "objects": [
                {"id": o.id, "depth": o.depth, "share": o.share, "element_kg": o.element_kg}
                | ({"items": o.items} if o.items is not None else {})
                | ({"gap": o.gap} if o.gap else {})
                | ({"custody": [_hop(h) for h in o.custody]} if o.custody else {})
                for o in sorted(self.objects.values(), key=lambda o: (o.depth, o.id))
            ],
            "links": [
                {
                    "from": link.source,
                    "to": link.target,
                    "step": link.step,
                    "kind": link.kind,
                    "time": link.time,
                    "weight": link.weight,
                    "kg": link.kg,
                }
                | ({"items": link.items} if link.items is not None else {})
                for link in sorted(self.links, key=lambda k: (k.source, k.target, k.step))
            ],
            "gaps": self.gaps,
            "cycles": self.cycles,
        }

    def to_dot(self) -> str:
        """Graphviz DOT, material flowing left to right, edges labelled with the element kg."""
        lines = [f'digraph "{self.direction} trace" {{', "  rankdir=LR;", "  node [shape=box];"]
        for o in self.objects.values():
            kg = "?" if o.element_kg is None else f"{o.element_kg:.6g} kg {self.element}"
            colour = ', color="red"' if o.gap else ""
            lines.append(f'  "{o.id}" [label="{o.id}\\n{kg}"{colour}];')
        for link in self.links:
            upstream, downstream = (
                (link.target, link.source)
                if self.direction == "backward"
                else (link.source, link.target)
            )
            lines.append(f'  "{upstream}" -> "{downstream}" [label="{link.kind}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"


def _hop(hop: Hop) -> dict[str, Any]:
    return {
        "event": hop.event,
        "step": hop.step,
        "time": hop.time.astimezone(UTC).isoformat(),
        "location": hop.location,
    } | ({"destination": hop.destination} if hop.destination else {})


def backward(lineage: Lineage, identifier: str, element: str) -> Trace:
    """Everything upstream of ``identifier``, with the share of its element each contributed."""
    return _trace(lineage, identifier, element, upstream=True)


def forward(lineage: Lineage, identifier: str, element: str) -> Trace:
    """Everything downstream of ``identifier`` that holds some of its element."""
    return _trace(lineage, identifier, element, upstream=False)


def _trace(lineage: Lineage, identifier: str, element: str, upstream: bool) -> Trace:
    start = node_id(identifier)
    lineage.reach(start, upstream)
    if not lineage.known(start):
        raise UnknownObject(f"{identifier}: no stored event mentions this identifier")
    graph = _upstream(lineage, start) if upstream else _downstream(lineage, start)
    elements = ElementContent(lineage, element, graph.steps if upstream else {}, graph.inside)
    trace = Trace("backward" if upstream else "forward", element, start, elements.in_object(start))
    trace.objects = {node: TracedObject(node, depth) for node, depth in graph.depths.items()}
    for node, made in graph.items.items():
        trace.objects[node].items = made
    for node, hops in lineage.custody([n for n in graph.depths if is_lot(n)]).items():
        trace.objects[node].custody = hops
    linker = _Linker(elements, upstream, graph)
    for node, found in graph.steps.items():
        trace.links.extend(linker.links(node, found))
    _propagate(trace, _ordered_links(trace))
    if trace.start_kg is None:
        trace.objects[start].gap = f"no {element} figure for {start}: shares only"
    return trace


@dataclass(slots=True)
class _Graph:
    """What a walk found: each object's depth (fewest steps from the start), the steps leading
    on from it, and how many items each class object stands for; forward, what holds the
    items of each batch (by event); backward, the items counted inside each container, the
    batches each class object counts, and the child containers counted per class in each
    container (class, how many, the items inside them)."""

    depths: dict[str, int]
    steps: dict[str, list[Step]]
    items: dict[str, int] = field(default_factory=dict)
    held: dict[str, list[Held]] = field(default_factory=dict)
    inside: dict[str, list[Inside]] = field(default_factory=dict)
    counted: dict[str, list[Inside]] = field(default_factory=dict)
    folded: dict[str, list[tuple[str, int, list[Inside]]]] = field(default_factory=dict)


def _downstream(lineage: Lineage, start: str) -> _Graph:
    """Walk forward breadth first, one batch of reads per level. The items a transformation
    made are not walked one by one: their containers at every level come from
    ``Lineage.held``; the walk goes on only from those a transformation consumed, and only
    through transformations (their containers are known)."""
    graph = _Graph({start: 0}, {})
    depths = graph.depths
    inside: set[str] = set()  # reached through holdings: containment already followed
    frontier = [start]
    while frontier:
        found = lineage.used_in(frontier)
        for node in inside.intersection(frontier):
            found[node] = [step for step in found[node] if step.kind == "transformation"]
        graph.steps.update(found)
        lineage.prefetch(_unstated_flows(found))
        fresh = {b.event: b for ss in found.values() for st in ss for b in st.batches}
        graph.held.update(lineage.held([b for e, b in fresh.items() if e not in graph.held]))
        level: list[str] = []
        for node in frontier:
            for step in found[node]:
                for flow in step.outputs:
                    if flow.id not in depths:
                        depths[flow.id] = depths[node] + 1
                        level.append(flow.id)
                for batch in step.batches:
                    made = [Held(batch.node(cls), n, 0) for cls, n in batch.classes]
                    for h in made + graph.held[batch.event]:
                        depth = depths[node] + 1 + h.level
                        if h.container not in depths and h.consumed:
                            level.append(h.container)
                        inside.add(h.container)
                        depths[h.container] = min(depths.get(h.container, depth), depth)
        frontier = level
    batches = {b.event: b for steps in graph.steps.values() for s in steps for b in s.batches}
    for batch in batches.values():  # each batch counted once
        for cls, n in batch.classes:
            graph.items[batch.node(cls)] = graph.items.get(batch.node(cls), 0) + n
    return graph


def _upstream(lineage: Lineage, start: str) -> _Graph:
    """Walk backward breadth first, one batch of reads per level. The items transformations
    made that a container holds directly are not walked one by one when the holdings account
    for all of its children of their class (``_account``): one class object stands for them,
    and the walk goes on from the events that made them. A child container the master data
    counts (a module) whose children are all such items is not walked either (``_fold``): one
    object per class stands for those containers, and their items count in the parent."""
    graph = _Graph({start: 0}, {})
    depths, counted = graph.depths, graph.counted
    frontier = [start]
    while frontier:
        found = lineage.made_by([n for n in frontier if n not in counted])
        parents = [n for n, steps in found.items() if _containment(steps) is not None]
        for node, held in lineage.contents(parents).items():
            found[node], graph.inside[node] = _account(found[node], held.inside)
        _fold(lineage, found, parents, graph)
        for node in counted.keys() & set(frontier):
            found[node] = list({i.step.key: i.step for i in counted[node]}.values())
        graph.steps.update(found)
        level: list[str] = []
        for node in frontier:
            for step in found[node]:
                for flow in step.inputs:
                    _visit(depths, level, flow.id, depths[node] + 1)
            for cls, n, _ in graph.folded.get(node, ()):
                depths.setdefault(cls, depths[node] + 1)
                graph.items[cls] = graph.items.get(cls, 0) + n
            for i in graph.inside.get(node, ()):
                cls = i.batch.node(i.batch.classes[0][0])
                _visit(depths, level, cls, depths[node] + 1)
                counted.setdefault(cls, []).append(i)
                graph.items[cls] = graph.items.get(cls, 0) + i.items
                made = graph.steps.get(cls)
                if made is not None and all(s.key != i.step.key for s in made):  # expanded
                    made.append(i.step)
                    for flow in i.step.inputs:
                        _visit(depths, level, flow.id, depths[cls] + 1)
        frontier = level
    return graph


def _fold(
    lineage: Lineage, found: dict[str, list[Step]], parents: list[str], graph: _Graph
) -> None:
    """Count per class the child containers of ``parents`` that the master data counts and
    that hold only items transformations made, all accounted for by their batches (as many
    items as distinct children, batches of one class each): their items count in the parent
    and the containers leave its steps."""
    candidates = {
        node: [f.id for f in step.inputs if f.kg is None]
        for node in parents
        if (step := _containment(found[node])) is not None
    }
    held = lineage.contents({c for children in candidates.values() for c in children})
    whole = {
        c
        for c, contents in held.items()
        if contents.counted
        and contents.inside
        and all(len(i.batch.classes) == 1 for i in contents.inside)
        and sum(i.items for i in contents.inside) == contents.children
    }
    for node, children in candidates.items():
        folded = [c for c in dict.fromkeys(children) if c in whole]
        if not folded:
            continue
        by_class: dict[str, list[str]] = defaultdict(list)
        for c in folded:
            by_class[class_of(c)].append(c)
        graph.folded[node] = [
            (cls, len(cs), _merged(i for c in cs for i in held[c].inside))
            for cls, cs in sorted(by_class.items())
        ]
        graph.inside[node] = _merged(
            [*graph.inside.get(node, ()), *(i for c in folded for i in held[c].inside)]
        )
        gone = set(folded)
        found[node] = [
            s if s.kind == "transformation" else replace(s, inputs=tuple(
                f for f in s.inputs if f.kg is not None or f.id not in gone))
            for s in found[node]
        ]  # fmt: skip


def _merged(inside: Iterable[Inside]) -> list[Inside]:
    """The items of each batch added up."""
    total: dict[str, Inside] = {}
    for i in inside:
        before = total.get(i.batch.event)
        total[i.batch.event] = (
            i if before is None else before._replace(items=before.items + i.items)
        )
    return list(total.values())


def _visit(depths: dict[str, int], level: list[str], node: str, depth: int) -> None:
    """Give a node first met its depth and walk it at the next level."""
    if node not in depths:
        depths[node] = depth
        level.append(node)


def _containment(steps: Sequence[Step]) -> Step | None:
    """The step that puts a container's children in it (its first aggregation or
    association), which also carries the items counted inside it."""
    return next((s for s in steps if s.kind != "transformation"), None)


def _account(steps: list[Step], held: list[Inside]) -> tuple[list[Step], list[Inside]]:
    """The container's steps without the children the holdings count, and the batches that
    count them: a class of children is counted when batches of that class alone hold exactly
    as many of the container's distinct children of that class; otherwise its children are
    walked one by one."""
    children = {f.id for s in steps if s.kind != "transformation" for f in s.inputs if f.kg is None}
    class_of_child = {child: item_class(child) for child in children}
    of_class = Counter(class_of_child.values())
    single: dict[str, int] = defaultdict(int)
    mixed: set[str] = set()
    for i in held:
        if len(i.batch.classes) == 1:
            single[i.batch.classes[0][0]] += i.items
        else:
            mixed.update(cls for cls, _ in i.batch.classes)
    done = {cls for cls, n in single.items() if cls not in mixed and of_class[cls] == n}
    if not done:
        return steps, []
    kept = [
        s if s.kind == "transformation" else replace(s, inputs=tuple(
            f for f in s.inputs if f.kg is not None or class_of_child[f.id] not in done))
        for s in steps
    ]  # fmt: skip
    return kept, [i for i in held if i.batch.classes[0][0] in done and len(i.batch.classes) == 1]


def _unstated_flows(found: dict[str, list[Step]]) -> Iterator[str]:
    """Flows of transformations whose figures the forward weights read and the steps do not
    state (a container passes on what it received, whatever it holds besides)."""
    for steps in found.values():
        for step in steps:
            if step.kind == "transformation":
                yield from (f.id for f in (*step.inputs, *step.outputs) if f.id not in step.stated)


def _ordered_links(trace: Trace) -> list[Link]:
    """The links in an order where every link into an object comes before the links out of it.
    When each link goes deeper, the links ordered by the depth they leave from are one;
    otherwise a depth-first walk orders them, and a link back to an object on its own path is a
    cycle: reported and dropped."""
    objects = trace.objects
    if all(objects[k.target].depth > objects[k.source].depth for k in trace.links):
        return sorted(trace.links, key=lambda k: objects[k.source].depth)
    back: set[int] = set()
    on_path = {trace.start}
    done: set[str] = set()
    post: list[str] = []
    stack: list[tuple[str, Iterator[Link]]] = [(trace.start, iter(trace.children(trace.start)))]
    while stack:
        node, pending = stack[-1]
        link = next(pending, None)
        if link is None:
            stack.pop()
            on_path.discard(node)
            done.add(node)
            post.append(node)
        elif link.target in on_path:
            relation = "ancestor" if trace.direction == "backward" else "descendant"
            trace.cycles.append(f"{link.target} is its own {relation} (via step {link.step})")
            back.add(id(link))
        elif link.target not in done:
            on_path.add(link.target)
            stack.append((link.target, iter(trace.children(link.target))))
    if back:
        trace.links = [link for link in trace.links if id(link) not in back]
        trace._outgoing = None
    return [link for node in reversed(post) for link in trace.children(node)]


def _propagate(trace: Trace, links: list[Link]) -> None:
    """Shares flow from the start along the links, taken in topological order."""
    shares: dict[str, float] = defaultdict(float)
    unknown: dict[str, str] = {}
    shares[trace.start] = 1.0
    for link in links:
        if link.weight is None:
            unknown.setdefault(
                link.target, f"no {trace.element} figure for {link.target} in step {link.step}"
            )
        elif link.source not in unknown:
            shares[link.target] += shares[link.source] * link.weight
    for node, obj in trace.objects.items():
        if node in unknown:
            obj.gap = unknown[node]
            continue
        obj.share = shares[node]
        if trace.start_kg is not None:
            obj.element_kg = obj.share * trace.start_kg


class ElementContent:
    """Element content of objects and flows, computed once per object. A backward trace
    passes the steps it walked (a container's without the children it counts) and the items
    counted inside each container."""

    def __init__(
        self,
        lineage: Lineage,
        element: str,
        steps: Mapping[str, list[Step]] | None = None,
        inside: Mapping[str, list[Inside]] | None = None,
    ) -> None:
        self.lineage = lineage
        self.element = element
        self.steps = steps or {}
        self.inside = inside or {}
        self.memo: dict[str, float | None] = {}

    def in_object(self, node: str) -> float | None:
        """kg of the element in the whole object: a lot as made, or one item."""
        if node not in self.memo:
            self.memo[node] = None  # guards against cycles while computing
            self.memo[node] = self._compute(node)
        return self.memo[node]

    def _compute(self, node: str) -> float | None:
        fact = self.lineage.fact(node, self.element)
        if fact is not None:
            if fact.per_item:
                return fact.value
            made = self.lineage.made_kg(node)
            return None if made is None else made * fact.value
        steps = self.steps.get(node)
        step = _containment(self.lineage.made_by((node,))[node] if steps is None else steps)
        if step is None:
            return None
        contents = [self.in_flow(f, step) for f in step.inputs]  # a container holds what its
        contents += [self.in_items(i) for i in self.inside.get(node, ())]  # children hold
        return None if None in contents else sum(c for c in contents if c is not None)

    def in_flow(self, flow: Flow, step: Step) -> float | None:
        """kg of the element a flow carries into or out of a step; what the step's own events
        state about an object they made comes first."""
        stated = step.stated.get(flow.id, {}).get(self.element)
        kg = flow.kg if flow.quantity is None else self.lineage.weighed(flow)
        if kg is None:
            if flow.quantity is not None:
                return None  # a volume or count the master data cannot weigh: unknown
            return stated.value if stated and stated.per_item else self.in_object(flow.id)
        fact = stated or self.lineage.fact(flow.id, self.element)
        return None if fact is None or fact.per_item else kg * fact.value

    def in_item(self, batch: ItemBatch) -> float | None:
        """kg of the element in one item of a batch, as its event states it."""
        fact = batch.facts.get(self.element)
        return fact.value if fact is not None and fact.per_item else None

    def in_items(self, inside: Inside) -> float | None:
        each = self.in_item(inside.batch)
        return None if each is None else each * inside.items

    def grouped(self, flows: tuple[Flow, ...], step: Step) -> dict[str, float | None]:
        """Element per object in a step (listed twice: added up; unknown: None)."""
        out: dict[str, float | None] = {}
        for flow in flows:
            content = self.in_flow(flow, step)
            previous = out.get(flow.id, 0.0)
            out[flow.id] = None if content is None or previous is None else previous + content
        return out


class _Linker:
    """The links one step away from each node, weighted by the share of its element they
    carry: forward, items made in bulk link the node to each container holding them;
    backward, a container links to the class objects counting the items inside it, and a
    class object to the inputs of the events that made its items, each in proportion to the
    element those items hold. What does not depend on the node is computed once per step:
    its time (in UTC, one time scale in every result), the masses it moved, and upstream its
    weights."""

    def __init__(self, elements: ElementContent, upstream: bool, graph: _Graph) -> None:
        self.elements, self.upstream, self.graph = elements, upstream, graph
        self.memo: dict[str, tuple[str, dict[str, float]]] = {}
        self.weights: dict[str, tuple[dict[str, float | None], list[float | None]]] = {}

    def links(self, node: str, steps: list[Step]) -> list[Link]:
        return self._backward(node, steps) if self.upstream else self._forward(node, steps)

    def _forward(self, node: str, steps: list[Step]) -> list[Link]:
        out: list[Link] = []
        for step in steps:
            time, masses = self._of(step)
            weights, per_item = _forward_weights(self.elements, node, step)
            out.extend(
                Link(node, other, step.key, step.kind, time, weight, masses.get(other))
                for other, weight in weights.items()
            )
            for batch in step.batches:
                w = per_item[batch.event]
                out.extend(
                    Link(node, batch.node(cls), step.key, step.kind, time,
                         None if w is None else w * n, None, n)
                    for cls, n in batch.classes
                )  # fmt: skip
                out.extend(
                    Link(node, h.container, step.key, "holding", time,
                         None if w is None else w * h.items, None, h.items)
                    for h in self.graph.held[batch.event]
                )  # fmt: skip
        return out

    def _backward(self, node: str, steps: list[Step]) -> list[Link]:
        out: list[Link] = []
        share = self._share(node)
        container = _containment(steps)
        for step in steps:
            time, masses = self._of(step)
            held = self.graph.inside.get(node, []) if step is container else []
            weights, each = self._upstream_weights(step, held)
            part = 1.0 if share is None else share[step.key]
            out.extend(
                Link(node, other, step.key, step.kind, time,
                     None if w is None or part is None else w * part, masses.get(other))
                for other, w in weights.items()
            )  # fmt: skip
            out.extend(
                Link(node, i.batch.node(i.batch.classes[0][0]), i.step.key, "holding",
                     self._of(i.step)[0], w, None, i.items)
                for i, w in zip(held, each, strict=True)
            )  # fmt: skip
            if step is container:
                out.extend(self._folded(node, step, time))
        return out

    def _folded(self, node: str, step: Step, time: str) -> Iterator[Link]:
        """Links to the child containers counted per class, each with the share of the
        container's element in the items they hold."""
        total = self.elements.in_object(node)
        for cls, n, inside in self.graph.folded.get(node, ()):
            contents = [self.elements.in_items(i) for i in inside]
            known = None if None in contents or not total else sum(filter(None, contents))
            weight = None if known is None or not total else known / total
            yield Link(node, cls, step.key, "holding", time, weight, None, n)

    def _of(self, step: Step) -> tuple[str, dict[str, float]]:
        if step.key not in self.memo:
            time = step.time.astimezone(UTC).isoformat()
            self.memo[step.key] = (
                time,
                kg_by_object(step.inputs if self.upstream else step.outputs),
            )
        return self.memo[step.key]

    def _upstream_weights(
        self, step: Step, held: list[Inside]
    ) -> tuple[dict[str, float | None], list[float | None]]:
        """Each input's share of the element a step made, and each counted batch's (a step
        has one parent, so the batches counted in it are the same whenever it is asked)."""
        if step.key not in self.weights:
            inputs = self.elements.grouped(step.inputs, step)
            items = [self.elements.in_items(i) for i in held]
            total = sum(c for c in (*inputs.values(), *items) if c is not None)

            def weight(c: float | None) -> float | None:
                return None if c is None or not total else c / total

            self.weights[step.key] = (
                {i: weight(c) for i, c in inputs.items()},
                [weight(c) for c in items],
            )
        return self.weights[step.key]

    def _share(self, node: str) -> dict[str, float | None] | None:
        """A class object's element by the step that made its items (None: not one)."""
        counted = self.graph.counted.get(node)
        if counted is None:
            return None
        by_step: dict[str, float] = defaultdict(float)
        for i in counted:
            content = self.elements.in_items(i)
            if content is None:
                return dict.fromkeys((i.step.key for i in counted), None)
            by_step[i.step.key] += content
        total = sum(by_step.values())
        return {key: c / total if total else None for key, c in by_step.items()}


def _forward_weights(
    elements: ElementContent, node: str, step: Step
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Part of the node's element used in the step, spread over the outputs by their element
    content (evenly per object, with no loss, when some output's content is unknown): weights
    of the lots made, and of one item of each batch. A container takes a whole item as it is
    and passes it on to its parent whole, without reading its content."""
    mine = [f for f in step.inputs if f.id == node]
    if step.kind != "transformation" and all(f.kg is None for f in mine):
        return {f.id: 1.0 for f in step.outputs}, {}
    inputs = elements.grouped(step.inputs, step)
    whole, own = elements.in_object(node), inputs.get(node)
    used = None if own is None or not whole else own / whole
    if used is None or step.kind != "transformation":
        return {f.id: used for f in step.outputs}, dict.fromkeys(
            (b.event for b in step.batches), used
        )
    produced = elements.grouped(step.outputs, step)
    each = {b.event: elements.in_item(b) for b in step.batches}
    total_in = sum(c for c in inputs.values() if c is not None)
    if None in produced.values() or None in each.values() or not total_in:
        objects = len(produced) + sum(b.count for b in step.batches)
        return dict.fromkeys(produced, used / objects), dict.fromkeys(each, used / objects)
    return (
        {o: used * (c or 0.0) / total_in for o, c in produced.items()},
        {e: used * (c or 0.0) / total_in for e, c in each.items()},
    )
