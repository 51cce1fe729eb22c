"""Kept derived state (decision 029): the answers readers ask for, as rows per area, at the
ledger version they reflect, and what each refresh changed.

A unit (``custody``) is refreshed whole: :func:`replace` takes what a recomputation gives for
each of its areas (``custody.account``...), writes only the rows that differ, moves the unit's
watermark, and records and returns the differences. It runs in the caller's transaction, so rows and
watermark move together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, tuple_

from batterytrace.store import schema

R = schema.derived_row
S = schema.derived_state
C = schema.derived_change
_CHUNK = 500

Rows = Mapping[str, tuple[str, str]]  # key -> (scope, content JSON)


@dataclass(frozen=True, slots=True)
class Change:
    """A kept row a refresh changed: None before for a new row, None after for a removed one."""

    area: str
    key: str
    before: str | None
    after: str | None


def changes_since(conn: Connection, since: int) -> list[tuple[int, Change]]:
    """What the refreshes after ledger version ``since`` changed: (version, change), in order."""
    query = select(C.c.version, C.c.area, C.c.key, C.c.before, C.c.after).where(C.c.version > since)
    return [
        (at, Change(area, key, before, after))
        for at, area, key, before, after in conn.execute(query.order_by(C.c.id))
    ]


def watermark(conn: Connection, unit: str) -> int | None:
    """The ledger version the unit's rows reflect; None before its first refresh."""
    return conn.execute(select(S.c.version).where(S.c.area == unit)).scalar()


def contents(conn: Connection, area: str, scope: str | None = None) -> Iterator[str]:
    """The area's rows (those of ``scope`` only, when given), in key order."""
    query = select(R.c.content).where(R.c.area == area)
    if scope is not None:
        query = query.where(R.c.scope == scope)
    for (content,) in conn.execute(query.order_by(R.c.key)):
        yield content


def by_scope(conn: Connection, area: str, scopes: Iterable[str]) -> dict[str, list[str]]:
    """The area's rows of each of ``scopes`` (those with none left out), each scope's in key
    order."""
    found: dict[str, list[str]] = {}
    wanted = sorted(scopes)
    for start in range(0, len(wanted), _CHUNK):
        query = select(R.c.scope, R.c.content).where(
            (R.c.area == area) & R.c.scope.in_(wanted[start : start + _CHUNK])
        )
        for scope, content in conn.execute(query.order_by(R.c.scope, R.c.key)):
            found.setdefault(scope, []).append(content)
    return found


def stored(conn: Connection, area: str) -> dict[str, tuple[str, str]]:
    """The area's rows as kept: key -> (scope, content)."""
    query = select(R.c.key, R.c.scope, R.c.content).where(R.c.area == area)
    return {key: (scope, content) for key, scope, content in conn.execute(query)}


def differences(conn: Connection, area: str, rows: Rows) -> list[Change]:
    """The kept rows of an area that are not what ``rows`` gives, in key order: the content
    kept (None: missing) and the content given (None: not to be there)."""
    before = stored(conn, area)
    return [
        Change(area, key, before[key][1] if key in before else None,
               rows[key][1] if key in rows else None)
        for key in sorted(before.keys() | rows.keys())
        if before.get(key) != rows.get(key)
    ]  # fmt: skip


def replace(
    conn: Connection, unit: str, areas: Mapping[str, Rows], version: int, now: datetime
) -> list[Change]:
    """Make the kept rows of each area what ``areas`` gives and the unit's watermark
    ``version``; the rows that changed, area by area in key order."""
    changes: list[Change] = []
    for area, rows in areas.items():
        found = differences(conn, area, rows)
        for start in range(0, len(found), _CHUNK):
            keys = [(area, c.key) for c in found[start : start + _CHUNK] if c.before is not None]
            if keys:
                conn.execute(delete(R).where(tuple_(R.c.area, R.c.key).in_(keys)))
        new = [
            {"area": area, "key": c.key, "scope": rows[c.key][0], "content": c.after}
            for c in found
            if c.after is not None
        ]
        if new:
            conn.execute(insert(R), new)
        changes += found
    refreshed = int(now.timestamp() * 1000)
    if changes:
        conn.execute(insert(C), [
            {"version": version, "area": c.area, "key": c.key, "before": c.before,
             "after": c.after, "at": refreshed}
            for c in changes
        ])  # fmt: skip
    conn.execute(delete(S).where(S.c.area == unit))
    conn.execute(insert(S).values(area=unit, version=version, refreshed=refreshed))
    return changes
