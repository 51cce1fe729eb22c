"""Kept derived state (decision 029): the answers readers ask for, as rows per area, at the
ledger version they reflect, and what each refresh changed.

A unit (``custody``) is refreshed whole: :func:`replace` takes what a recomputation gives for
each of its areas (``custody.account``...) as it comes, writes only the rows that differ, moves
the unit's watermark, and records the differences; or in part (``whole=False``): only the
rows that going on from the kept ones changed (decision 033). It runs in the caller's
transaction, so rows and watermark move together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, func, insert, select, tuple_, update

from batterytrace.custody.flows import CLAIM_FIELDS
from batterytrace.store import schema

R = schema.derived_row
S = schema.derived_state
C = schema.derived_change
I = schema.import_record  # noqa: E741
E = schema.event
K = schema.event_key
_CHUNK = 500

# (key, scope, content JSON; None: no row for the key), each key once
Rows = Iterable[tuple[str, str, str | None]]


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


class Inputs(NamedTuple):
    """What a unit's rows reflect: the events up to ledger number ``event``, the import
    records of the kinds it reads up to ``record``, and the ``layout`` of its rows (a unit's
    rows laid out by an older version are recomputed; before layouts were written: 0)."""

    event: int
    record: int
    layout: int = 0

    def __str__(self) -> str:
        return f"event {self.event} import {self.record} layout {self.layout}"

    @classmethod
    def parse(cls, text: str) -> Inputs:
        words = text.split()
        layout = int(words[5]) if len(words) > 5 else 0
        return cls(int(words[1]), int(words[3]), layout)


def inputs_of(
    conn: Connection, kinds: Iterable[str], allocations: bool = True, layout: int = 0
) -> Inputs:
    """What a unit reading the events (without ``allocations``: but those that are an
    allocation only, custody.flows.claims_only) and the import records of ``kinds``, its rows
    laid out as ``layout``, would be recomputed from now: the newest such event's and
    record's ledger numbers."""
    query = select(E.c.seq).order_by(E.c.seq.desc()).limit(1)
    event = conn.execute(query if allocations else query.where(~_claims_only())).scalar()
    record = conn.execute(select(func.max(I.c.seq)).where(I.c.kind.in_(sorted(kinds)))).scalar()
    return Inputs(event or 0, record or 0, layout)


def current(conn: Connection, unit: str, layout: int, version: int) -> bool:
    """Whether the unit's rows reflect ledger ``version``, laid out as ``layout``."""
    found = conn.execute(select(S.c.version, S.c.inputs).where(S.c.area == unit)).first()
    return (
        found is not None
        and found.version == version
        and found.inputs is not None
        and Inputs.parse(found.inputs).layout == layout
    )


def _claims_only() -> Any:
    """custody.flows.claims_only, from an event's columns and keys: an observation with no
    business step whose keys are its quantityList's classes and at least one claim field."""
    claim = (K.c.role == "extension") & K.c.value.in_(sorted(CLAIM_FIELDS))
    keys = select(K.c.seq).where(K.c.seq == E.c.seq)
    return (
        (E.c.event_type == "ObjectEvent")
        & (E.c.action == "OBSERVE")
        & E.c.biz_step.is_(None)
        & keys.where(claim).exists()
        & ~keys.where(~((K.c.role == "epcClass") | claim)).exists()
    )


def latest_time(conn: Connection, after: int = 0) -> int | None:
    """The latest eventTime (ms, UTC) of the events (after ledger number ``after``) that are
    not an allocation only (custody.flows.claims_only); None without any. Of every event: the
    time index walked back to the first such event; after a number: those events alone."""
    if after:
        query = select(func.max(E.c.event_time)).where((E.c.seq > after) & ~_claims_only())
        return conn.execute(query).scalar()
    query = select(E.c.event_time).where(~_claims_only()).order_by(E.c.event_time.desc())
    return conn.execute(query.limit(1)).scalar()


def earliest_time(conn: Connection, after: int) -> int | None:
    """The earliest eventTime (ms, UTC) of the events after ledger number ``after``; None
    without any."""
    return conn.execute(select(func.min(E.c.event_time)).where(E.c.seq > after)).scalar()


def inputs(conn: Connection, unit: str) -> Inputs | None:
    """What the unit's rows reflect (None: never recomputed, or unknown)."""
    text = conn.execute(select(S.c.inputs).where(S.c.area == unit)).scalar()
    return None if text is None else Inputs.parse(text)


def records_since(conn: Connection, seq: int, kinds: Iterable[str]) -> list[tuple[str, str, str]]:
    """The import records of ``kinds`` after ledger number ``seq``: (kind, action, content
    JSON), in ledger order."""
    query = select(I.c.kind, I.c.action, I.c.content).where(
        (I.c.seq > seq) & I.c.kind.in_(sorted(kinds))
    )
    return [
        (kind, action, content) for kind, action, content in conn.execute(query.order_by(I.c.seq))
    ]


def content_at(conn: Connection, seq: int, kind: str, action: str) -> str | None:
    """The content of the latest import record of ``kind`` and ``action`` up to ledger number
    ``seq`` (what stood then); None without any."""
    query = select(I.c.content).where(
        (I.c.seq <= seq) & (I.c.kind == kind) & (I.c.action == action)
    )
    return conn.execute(query.order_by(I.c.seq.desc()).limit(1)).scalar()


def count(conn: Connection, area: str) -> int:
    return conn.execute(select(func.count()).select_from(R).where(R.c.area == area)).scalar() or 0


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


def _of_scopes(
    conn: Connection, area: str, scopes: Iterable[str] | None, bound: Any = None
) -> Iterator[tuple[str, str, str]]:
    """(scope, key, content) of the area's rows of ``scopes`` (None: every scope) within
    ``bound``, unordered: ordered in SQL, SQLite walks the area's keys for one scope (10M:
    0.6 s)."""
    where = R.c.area == area if bound is None else (R.c.area == area) & bound
    if scopes is None:
        yield from conn.execute(select(R.c.scope, R.c.key, R.c.content).where(where))
        return
    wanted = sorted(scopes)
    for start in range(0, len(wanted), _CHUNK):
        chunk = R.c.scope.in_(wanted[start : start + _CHUNK])
        yield from conn.execute(select(R.c.scope, R.c.key, R.c.content).where(where & chunk))


def by_scope(conn: Connection, area: str, scopes: Iterable[str]) -> dict[str, list[str]]:
    """The area's rows of each of ``scopes`` (those with none left out), each scope's in key
    order."""
    found: dict[str, list[str]] = {}
    for scope, _, content in sorted(_of_scopes(conn, area, scopes)):
        found.setdefault(scope, []).append(content)
    return found


def as_of(
    conn: Connection, area: str, before: str, scopes: Iterable[str] | None = None
) -> dict[str, str]:
    """Of an area whose keys begin with a month (``2025-03 ...``: what each scope was at the
    end of a month it changed in), each scope's (those of ``scopes`` only, when given) content
    in its latest row of a month before ``before``: what it was when that month began."""
    latest: dict[str, tuple[str, str]] = {}
    for scope, key, content in _of_scopes(conn, area, scopes, R.c.key < before):
        if scope not in latest or key > latest[scope][0]:
            latest[scope] = (key, content)
    return {scope: content for scope, (_, content) in latest.items()}


def gone_from(
    conn: Connection, areas: Mapping[str, Rows], firsts: Mapping[str, str]
) -> dict[str, Rows]:
    """``areas`` with, in each area of ``firsts``, the kept rows keyed from that key on that it
    does not give marked to go (content None): what a replay taken again from a point in time
    no longer gives (decision 035)."""
    found = dict(areas)
    for area, first in firsts.items():
        given = list(found.get(area, ()))
        keys = {key for key, _, _ in given}
        query = select(R.c.key).where((R.c.area == area) & (R.c.key >= first)).order_by(R.c.key)
        gone = [(key, "", None) for key in conn.execute(query).scalars() if key not in keys]
        found[area] = [*given, *gone]
    return found


def stored(conn: Connection, area: str) -> dict[str, tuple[str, str]]:
    """The area's rows as kept: key -> (scope, content)."""
    query = select(R.c.key, R.c.scope, R.c.content).where(R.c.area == area)
    return {key: (scope, content) for key, scope, content in conn.execute(query)}


def _kept(conn: Connection, area: str, keys: list[str]) -> dict[str, tuple[str, str]]:
    query = select(R.c.key, R.c.scope, R.c.content).where((R.c.area == area) & R.c.key.in_(keys))
    return {key: (scope, content) for key, scope, content in conn.execute(query)}


def _compared(
    conn: Connection, area: str, rows: Rows, whole: bool = True
) -> Iterator[list[tuple[Change, str]]]:
    """The kept rows of an area that are not what ``rows`` gives (content None: the row is not
    to be there), a chunk at a time, each with the scope of the row to keep: those given, in
    the order given, then, when ``rows`` is the ``whole`` area, the kept rows not given (to
    go). Only a chunk of rows and the keys seen are held, never the area."""
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
            if (before[key][1] if key in before else None) != content
            or (content is not None and before[key][0] != scope)
        ]
    if not whole:
        return
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
    recomputed_from: Inputs | None = None,
    whole: bool = True,
) -> list[tuple[str, str]]:
    """Make the kept rows of each area what ``areas`` gives (not ``whole``: the rows it gives
    only, content None for a row to go, the others left as they are) and the unit's watermark
    ``version`` (recomputed from ``recomputed_from``), recording each row that changed
    (``derived_change``); the (area, key) of each, area by area. The rows are compared and
    written a chunk at a time as they come."""
    changed: list[tuple[str, str]] = []
    refreshed = _ms(now)
    for area, rows in areas.items():
        for chunk in _compared(conn, area, rows, whole):
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
    inputs = None if recomputed_from is None else str(recomputed_from)
    conn.execute(insert(S).values(area=unit, version=version, refreshed=refreshed,
                                  inputs=inputs))  # fmt: skip
    return changed
