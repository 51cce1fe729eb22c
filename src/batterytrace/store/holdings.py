"""Holdings: which containers hold serialised items, and how many of each making event's items.

A forward trace from a lot reaches the items made from it (a 96 t sulfate lot ends in about
400,000 cells) and then every module, pack and vehicle holding them. Walking each item is the
slow part, so the store keeps, for every event that made serialised items (a
TransformationEvent with an outputEPCList, the *source*), how many items of each class it made
(``level`` 0, the container being the class's Digital Link, "" for items without one), and
each container that holds some of them at any level, how many, and the fewest containment
steps between them (``level`` 1 for the module that holds the cell).

Containment is what the trace follows: AggregationEvents and AssociationEvents that are not
DELETEs, ever recorded (a cell later taken out of a module was in it). Each distinct (child,
parent) pair counts once, however many events state it. An item counts once per path; where
each object has one container per level, as in a pack, that is the number of items.

The table is kept at capture, event by event in ledger order (a batch at a time in memory,
written once per batch), so it is the same whatever order events arrive in: a new item
reaches every container its item is already in; a new (child, parent) pair brings what the
child holds to the parent and to every container above it. ``rebuild`` replays every stored
event (the migration that adds the table does that).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Connection

from batterytrace.store.driver import Driver
from batterytrace.trace.lineage import item_class

_MAX_LEVELS = 32  # containment deeper than this is a cycle, not a supply chain
_REPLAY_CHUNK = 20_000  # events per read when ``rebuild`` replays the store

# The containment steps and item-making outputs of a range of events, in ledger order. The
# range is stated on both tables: without it on event_key, PostgreSQL walks a role's whole
# primary-key range per event (2 s per batch of 2,000 on a 20,000-event store).
_CHANGES = """
SELECT k.seq, e.event_type, k.role, k.value
FROM event e {join} event_key k ON k.seq = e.seq
WHERE e.seq BETWEEN {mark} AND {mark} AND k.seq BETWEEN {mark} AND {mark}
  AND k.role IN ('outputEPC', 'childEPC', 'parentID')
  AND e.event_type IN ('TransformationEvent', 'AggregationEvent', 'AssociationEvent')
  AND (e.action IS NULL OR e.action <> 'DELETE')
ORDER BY k.seq
"""
# The events before a seq that stated some of ``values`` as a child, and the parents of some
# events (those containment steps count). Two plain lookups: joined, PostgreSQL finds the
# parent of each step by walking the whole parentID range of the primary key.
_AS_CHILD = """
SELECT value, seq FROM event_key WHERE role = 'childEPC' AND value IN {texts} AND seq < {mark}
"""
_PARENTS = """
SELECT p.seq, p.value FROM event_key p
{join} event e ON e.seq = p.seq AND (e.action IS NULL OR e.action <> 'DELETE')
    AND e.event_type IN ('AggregationEvent', 'AssociationEvent')
WHERE p.role = 'parentID' AND p.seq IN {seqs}
"""
# Every object inside a container at any level, by the same containment steps the holdings
# count (a pack's modules at 1, their cells at 2), with the fewest steps to it.
_BELOW = f"""
WITH RECURSIVE down(node, steps) AS (
    SELECT CAST({{mark}} AS TEXT), 0
    UNION
    SELECT c.value, down.steps + 1 FROM down
    {{join}} event_key p ON p.role = 'parentID' AND p.value = down.node
    {{join}} event e ON e.seq = p.seq AND (e.action IS NULL OR e.action <> 'DELETE')
        AND e.event_type IN ('AggregationEvent', 'AssociationEvent')
    {{join}} event_key c ON c.seq = p.seq AND c.role = 'childEPC'
    WHERE down.steps < {_MAX_LEVELS}
)
SELECT node, min(steps) FROM down WHERE steps > 0 GROUP BY node ORDER BY min(steps), node
"""
# The events up to a seq that made some of ``values``.
_MADE = """
SELECT value, seq FROM event_key WHERE role = 'outputEPC' AND value IN {texts} AND seq <= {mark}
"""
# What some containers hold.
_HELD = """
SELECT container, source, container_class, items, level FROM {table} WHERE container IN {texts}
"""
_ADD = """
INSERT INTO {table} (source, container_class, container, items, level)
VALUES ({mark}, {mark}, {mark}, {mark}, {mark})
ON CONFLICT (source, container_class, container) DO UPDATE SET
    items = {table}.items + excluded.items,
    level = CASE WHEN excluded.level < {table}.level THEN excluded.level ELSE {table}.level END
"""


_Events = dict[int, tuple[str, dict[str, list[str]]]]  # seq -> (event type, role -> values)


class _Holdings(Driver):
    """The holdings of one batch of events, kept in memory and written once at the end: what
    the events before the batch recorded (containment steps, made items, the holdings of the
    batch's children) is read in a few queries, each event then updates the memory in ledger
    order. Writes to the table ``holding`` or to one of the same shape (``verify`` derives the
    holdings again into a temporary table)."""

    def __init__(self, conn: Connection, table: str, first: int, last: int, batch: _Events) -> None:
        super().__init__(conn)
        self.table = table
        self.last = last
        # child -> (parent, seq) of every containment step up to ``last`` above the batch's
        # objects: the batch's own from memory, earlier ones read a level at a time
        self.edges: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for seq, (kind, roles) in batch.items():
            for parent in roles.get("parentID", []) if kind != "TransformationEvent" else []:
                for child in roles.get("childEPC", []):
                    self.edges[child].append((parent, seq))
        seen = {v for _, roles in batch.values() for vs in roles.values() for v in vs}
        frontier = set(seen)  # one list parameter per lookup: no order or chunks needed
        for _ in range(_MAX_LEVELS):
            steps = self._in(_AS_CHILD, frontier, first)
            parents = self._in(_PARENTS, {seq for _, seq in steps})
            above: dict[int, list[str]] = defaultdict(list)
            for seq, parent in parents:
                above[seq].append(parent)
            for child, seq in steps:
                self.edges[child] += [(parent, seq) for parent in above.get(seq, ())]
            new = {parent for _, parent in parents} - seen
            seen |= new
            frontier = new
            if not frontier:
                break
        self.made: dict[str, list[int]] = defaultdict(list)  # item -> seqs of events making it
        # container -> (source, container class) -> [items, level]: for the children of the
        # batch, what the table holds plus what the batch added; for the rest, what it added
        self.held: dict[str, dict[tuple[int, str], list[int]]] = defaultdict(dict)
        self.added: dict[tuple[int, str, str], list[int]] = {}

    def load(self, children: set[str]) -> None:
        """Read which earlier events made ``children`` and what they hold."""
        for value, seq in self._in(_MADE, children, self.last):
            self.made[value].append(seq)
        for container, source, cls, items, level in self._in(_HELD, children, table=self.table):
            self.held[container][(source, cls)] = [items, level]

    def _in(self, sql: str, values: Collection[Any], *after: int, **names: str) -> list[Any]:
        """The rows of ``sql`` for ``values`` (its ``{texts}`` or ``{seqs}``)."""
        return self.rows(sql, (self.among(values), *after), 0, **names) if values else []

    def add(self, rows: list[tuple[int, str, int, int]]) -> None:
        """Add (source, container, items, level) rows, each under its container's class."""
        for source, container, items, level in rows:
            cls = item_class(container) if level else container
            for store in (
                self.held[container].setdefault((source, cls), [0, level]),
                self.added.setdefault((source, cls, container), [0, level]),
            ):
                store[0] += items
                store[1] = min(store[1], level)

    def above(self, start: str, seq: int) -> dict[str, int]:
        """Every container above ``start`` by the steps of events before ``seq``, with the
        fewest steps to it."""
        steps: dict[str, int] = {}
        frontier = {start}
        for level in range(1, _MAX_LEVELS + 1):
            frontier = {
                parent
                for child in frontier
                for parent, at in self.edges.get(child, ())
                if at < seq and parent not in steps
            }
            if not frontier:
                break
            steps.update(dict.fromkeys(frontier, level))
        return steps

    def write(self) -> None:
        self.many(
            _ADD,
            [(s, cls, c, n, level) for (s, cls, c), (n, level) in self.added.items()],
            table=self.table,
        )


def record(conn: Connection, first: int, last: int, table: str = "holding") -> None:
    """Update the holdings (in ``table``) with the events ``first``..``last`` (ledger seqs), in
    order."""
    driver = Driver(conn)
    events: _Events = {}
    for seq, kind, role, value in driver.rows(_CHANGES, (first, last, first, last)):
        events.setdefault(seq, (kind, defaultdict(list)))[1][role].append(value)
    if not events:
        return
    sql = _Holdings(conn, table, first, last, events)
    sql.load({v for _, roles in events.values() for v in roles.get("childEPC", [])})
    for seq, (kind, roles) in events.items():
        if kind == "TransformationEvent":
            _made(sql, seq, roles.get("outputEPC", []))
        elif roles.get("parentID") and roles.get("childEPC"):
            _contained(sql, seq, roles["parentID"][0], roles["childEPC"])
    sql.write()


def _made(sql: _Holdings, seq: int, items: list[str]) -> None:
    """Items made by event ``seq``: how many of each class (level 0), and they count in every
    container they are already in."""
    if not items:
        return
    sql.add([(seq, cls, n, 0) for cls, n in Counter(map(item_class, items)).items()])
    count: dict[str, int] = defaultdict(int)
    level: dict[str, int] = {}
    for item in items:
        for container, steps in sql.above(item, seq).items():
            count[container] += 1
            level[container] = min(level.get(container, steps), steps)
    sql.add([(seq, c, n, level[c]) for c, n in count.items()])


def _contained(sql: _Holdings, seq: int, parent: str, children: list[str]) -> None:
    """A (child, parent) pair new in event ``seq`` brings what the child holds (itself, if it
    is an item) to the parent and every container above it."""
    new = [
        c
        for c in dict.fromkeys(children)
        if not any(p == parent and at < seq for p, at in sql.edges.get(c, ()))
    ]
    brought: dict[int, list[int]] = {}
    for child in new:
        held = [(s, 1, 0) for s in sql.made.get(child, ()) if s < seq]
        held += [(s, n, level) for (s, _), (n, level) in sql.held.get(child, {}).items()]
        for source, items, level in held:
            total, lowest = brought.get(source, [0, level])
            brought[source] = [total + items, min(lowest, level)]
    if not brought:
        return
    targets = [(parent, 0), *sql.above(parent, seq).items()]
    sql.add(
        [
            (source, node, items, level + 1 + steps)
            for source, (items, level) in brought.items()
            for node, steps in targets
        ]
    )


def rebuild(
    conn: Connection, progress: Callable[[int], None] | None = None, table: str = "holding"
) -> int:
    """Recompute every holding (into ``table``) from the stored events; the number of rows."""
    conn.exec_driver_sql(f"DELETE FROM {table}")
    last = conn.exec_driver_sql("SELECT max(seq) FROM event").scalar() or 0
    for first in range(1, last + 1, _REPLAY_CHUNK):
        record(conn, first, min(last, first + _REPLAY_CHUNK - 1), table)
        if progress is not None:
            progress(min(last, first + _REPLAY_CHUNK - 1))
    return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0


def inside(conn: Connection, container: str) -> list[tuple[str, int]]:
    """(object, level) of everything ``container`` holds, by level and identifier: the items
    a trace counts per class, listed one by one."""
    return [(node, int(level)) for node, level in Driver(conn).rows(_BELOW, (container,))]
