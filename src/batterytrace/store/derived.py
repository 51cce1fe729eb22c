"""Kept derived state (decision 029): the answers readers ask for, as rows per area, at the
ledger version they reflect, and what each refresh changed.

A unit (``custody``) is refreshed whole: :func:`replace` takes what a recomputation gives for
each of its areas (``custody.account``...) as it comes, writes only the rows that differ, moves
the unit's watermark, and records the differences. It runs in the caller's transaction, so rows
and watermark move together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy import Connection, delete, func, insert, select, tuple_, update

from batterytrace.store import schema

R = schema.derived_row
S = schema.derived_state
C = schema.derived_change
_CHUNK = 500

Rows = Iterable[tuple[str, str, str]]  # (key, scope, content JSON), each key once


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


def stamp(conn: Connection) -> int:
    """What changes whenever a kept row does (every change is recorded): the number of the
    newest recorded change; what is decoded from kept rows may be reused while it stays."""
    return conn.execute(select(func.max(C.c.id))).scalar() or 0


def inputs_of(conn: Connection, kinds: Iterable[str]) -> str:
    """What a unit reading every event and the import records of ``kinds`` would be
    recomputed from, as a fingerprint: the newest event's and such record's ledger numbers."""
    event = conn.execute(select(func.max(schema.event.c.seq))).scalar()
    record = conn.execute(
        select(func.max(schema.import_record.c.seq)).where(
            schema.import_record.c.kind.in_(sorted(kinds))
        )
    ).scalar()
    return f"event {event or 0} import {record or 0}"


def inputs(conn: Connection, unit: str) -> str | None:
    """The fingerprint the unit's rows were recomputed from (None: never, or unknown)."""
    return conn.execute(select(S.c.inputs).where(S.c.area == unit)).scalar()


def advance(conn: Connection, unit: str, version: int, now: datetime) -> None:
    """Move the unit's watermark to ``version``: nothing it reads changed since its rows were
    recomputed."""
    conn.execute(update(S).where(S.c.area == unit).values(version=version, refreshed=_ms(now)))


def _ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)


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


def _kept(conn: Connection, area: str, keys: list[str]) -> dict[str, tuple[str, str]]:
    query = select(R.c.key, R.c.scope, R.c.content).where((R.c.area == area) & R.c.key.in_(keys))
    return {key: (scope, content) for key, scope, content in conn.execute(query)}


def _compared(conn: Connection, area: str, rows: Rows) -> Iterator[list[tuple[Change, str]]]:
    """The kept rows of an area that are not what ``rows`` gives, a chunk at a time, each
    with the scope of the row to keep: those given, in the order given, then the kept rows
    not given (to go). Only a chunk of rows and the keys seen are held, never the area."""
    seen: set[str] = set()
    given = iter(rows)
    while chunk := list(islice(given, _CHUNK)):
        keys = [key for key, _, _ in chunk]
        if len(set(keys)) < len(keys) or not seen.isdisjoint(keys):
            raise ValueError(f"{area}: a key given twice")  # a recomputation's bug, not data
        seen.update(keys)
        before = _kept(conn, area, keys)
        yield [
            (Change(area, key, before[key][1] if key in before else None, content), scope)
            for key, scope, content in chunk
            if before.get(key) != (scope, content)
        ]
    gone = sorted(set(conn.execute(select(R.c.key).where(R.c.area == area)).scalars()) - seen)
    for start in range(0, len(gone), _CHUNK):
        before = _kept(conn, area, gone[start : start + _CHUNK])
        yield [(Change(area, key, content, None), scope) for key, (scope, content) in
               sorted(before.items())]  # fmt: skip


def differences(conn: Connection, area: str, rows: Rows) -> Iterator[Change]:
    """The kept rows of an area that are not what ``rows`` gives: the content kept (None:
    missing) and the content given (None: not to be there)."""
    for chunk in _compared(conn, area, rows):
        for change, _ in chunk:
            yield change


def replace(
    conn: Connection,
    unit: str,
    areas: Mapping[str, Rows],
    version: int,
    now: datetime,
    recomputed_from: str | None = None,
) -> list[tuple[str, str]]:
    """Make the kept rows of each area what ``areas`` gives and the unit's watermark
    ``version`` (recomputed from the inputs fingerprinted ``recomputed_from``), recording each
    row that changed (``derived_change``); the (area, key) of each, area by area. The rows are
    compared and written a chunk at a time as they come."""
    changed: list[tuple[str, str]] = []
    refreshed = _ms(now)
    for area, rows in areas.items():
        for chunk in _compared(conn, area, rows):
            if not chunk:
                continue
            was = [(area, c.key) for c, _ in chunk if c.before is not None]
            if was:
                conn.execute(delete(R).where(tuple_(R.c.area, R.c.key).in_(was)))
            new = [{"area": area, "key": c.key, "scope": scope, "content": c.after}
                   for c, scope in chunk if c.after is not None]  # fmt: skip
            if new:
                conn.execute(insert(R), new)
            conn.execute(insert(C), [
                {"version": version, "area": area, "key": c.key, "before": c.before,
                 "after": c.after, "at": refreshed}
                for c, _ in chunk
            ])  # fmt: skip
            changed += [(area, c.key) for c, _ in chunk]
    conn.execute(delete(S).where(S.c.area == unit))
    conn.execute(insert(S).values(area=unit, version=version, refreshed=refreshed,
                                  inputs=recomputed_from))  # fmt: skip
    return changed
