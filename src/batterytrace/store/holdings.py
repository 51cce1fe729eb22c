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

The table is kept at capture, event by event in ledger order, so it is the same whatever order
events arrive in: a new item reaches every container its item is already in; a new
(child, parent) pair brings what the child holds to the parent and to every container above
it. ``rebuild`` replays every stored event (the migration that adds the table does that).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
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
# (child, parent) pairs among ``values`` that an earlier event recorded.
_EDGE = """
{join} event e ON e.seq = c.seq AND (e.action IS NULL OR e.action <> 'DELETE')
    AND e.event_type IN ('AggregationEvent', 'AssociationEvent')
{join} event_key p ON p.seq = c.seq AND p.role = 'parentID'
"""
_KNOWN_EDGES = (
    "SELECT c.value FROM event_key c" + _EDGE
    + " WHERE c.role = 'childEPC' AND c.value IN ({marks}) AND c.seq < {mark}"
    + " AND p.value = {mark}"
)  # fmt: skip
# Every container above ``values`` (edges of earlier events), with the fewest steps to it.
_ABOVE = (
    """
WITH RECURSIVE up(start, node, steps) AS (
    SELECT c.value, p.value, 1 FROM event_key c"""
    + _EDGE
    + """
    WHERE c.role = 'childEPC' AND c.value IN ({marks}) AND c.seq < {mark}
    UNION
    SELECT up.start, p.value, up.steps + 1 FROM up
    {join} event_key c ON c.role = 'childEPC' AND c.value = up.node AND c.seq < {mark}"""
    + _EDGE
    + f"""
    WHERE up.steps < {_MAX_LEVELS}
)
SELECT start, node, min(steps) FROM up GROUP BY start, node
"""
)
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
# What each child brings: itself when an earlier event made it, and what it holds.
_HELD_BY = """
SELECT seq, 1, 0 FROM event_key WHERE role = 'outputEPC' AND value IN ({marks}) AND seq < {mark}
UNION ALL
SELECT source, items, level FROM {table} WHERE container IN ({marks})
"""
_ADD = """
INSERT INTO {table} (source, container_class, container, items, level)
VALUES ({mark}, {mark}, {mark}, {mark}, {mark})
ON CONFLICT (source, container_class, container) DO UPDATE SET
    items = {table}.items + excluded.items,
    level = CASE WHEN excluded.level < {table}.level THEN excluded.level ELSE {table}.level END
"""


class _Holdings(Driver):
    """The statements of one connection, writing to the table ``holding`` or to one of the
    same shape (``verify`` derives the holdings again into a temporary table)."""

    def __init__(self, conn: Connection, table: str) -> None:
        super().__init__(conn)
        self.table = table


def _add(sql: _Holdings, rows: list[tuple[int, str, int, int]]) -> None:
    """Add (source, container, items, level) rows, each under its container's class."""
    sql.many(
        _ADD,
        [(s, item_class(c) if level else c, c, n, level) for s, c, n, level in rows],
        table=sql.table,
    )


def record(conn: Connection, first: int, last: int, table: str = "holding") -> None:
    """Update the holdings (in ``table``) with the events ``first``..``last`` (ledger seqs), in
    order."""
    sql = _Holdings(conn, table)
    events: dict[int, tuple[str, dict[str, list[str]]]] = {}
    for seq, kind, role, value in sql.rows(_CHANGES, (first, last, first, last)):
        events.setdefault(seq, (kind, defaultdict(list)))[1][role].append(value)
    for seq, (kind, roles) in events.items():
        if kind == "TransformationEvent":
            _made(sql, seq, roles.get("outputEPC", []))
        elif roles.get("parentID") and roles.get("childEPC"):
            _contained(sql, seq, roles["parentID"][0], roles["childEPC"])


def _made(sql: _Holdings, seq: int, items: list[str]) -> None:
    """Items made by event ``seq``: how many of each class (level 0), and they count in every
    container they are already in."""
    if not items:
        return
    _add(sql, [(seq, cls, n, 0) for cls, n in Counter(map(item_class, items)).items()])
    count: dict[str, int] = defaultdict(int)
    level: dict[str, int] = {}
    for _, container, steps in _above(sql, items, seq):
        count[container] += 1
        level[container] = min(level.get(container, steps), steps)
    _add(sql, [(seq, c, n, level[c]) for c, n in count.items()])


def _contained(sql: _Holdings, seq: int, parent: str, children: list[str]) -> None:
    """A (child, parent) pair new in event ``seq`` brings what the child holds (itself, if it
    is an item) to the parent and every container above it."""
    children = list(dict.fromkeys(children))
    known = {row[0] for row in sql.rows(_KNOWN_EDGES, (*children, seq, parent), len(children))}
    new = [c for c in children if c not in known]
    if not new:
        return
    brought: dict[int, list[int]] = {}
    for source, items, level in sql.rows(_HELD_BY, (*new, seq, *new), len(new), table=sql.table):
        total, lowest = brought.get(source, [0, level])
        brought[source] = [total + items, min(lowest, level)]
    if not brought:
        return
    targets = [(parent, 0)] + [(node, steps) for _, node, steps in _above(sql, [parent], seq)]
    _add(
        sql,
        [
            (source, node, items, level + 1 + steps)
            for source, (items, level) in brought.items()
            for node, steps in targets
        ],
    )


def _above(sql: _Holdings, values: list[str], seq: int) -> Sequence[Any]:
    """(start, container, steps) for every container above ``values`` in events before seq."""
    return sql.rows(_ABOVE, (*values, seq, seq), len(values))


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
