"""Verify the holdings: the table readers trust beside the events, derived again and compared.

``event_key`` and ``event_figure`` are derived from each entry's content alone and checked entry
by entry as the ledger is walked (ledger.verify). ``holding`` (decision 007) depends on every
earlier event, so it cannot be checked one entry at a time: the stored events are replayed into
a temporary table of the same shape (store.holdings.rebuild, memory bounded: one chunk of events
at a time) and the two tables are compared in the database, ``EXCEPT`` both ways. It costs what
deriving the table costs (decision 016: 147 s of a 1M-event store, 1,540 s at 10M) and a scan of
each table; the first differing row is named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Row, select

from batterytrace.store import holdings, schema

_CHECK = "holding_verify"
_COLUMNS = "source, container_class, container, items, level"
_CREATE = f"""
CREATE TEMPORARY TABLE {_CHECK} (
    source BIGINT NOT NULL, container_class TEXT NOT NULL, container TEXT NOT NULL,
    items BIGINT NOT NULL, level INTEGER NOT NULL,
    PRIMARY KEY (source, container_class, container)
)
"""
_INDEX = f"CREATE INDEX ix_{_CHECK} ON {_CHECK} (container, level, source, items)"
# Rows stored but not derived, and derived but not stored, by key (a changed row is both): the
# first three tell the first differing key whole and whether another differs.
_DIFFERENT = f"""
SELECT 'stored' AS side, d.* FROM (
    SELECT {_COLUMNS} FROM holding EXCEPT SELECT {_COLUMNS} FROM {_CHECK}
) d
UNION ALL
SELECT 'derived' AS side, d.* FROM (
    SELECT {_COLUMNS} FROM {_CHECK} EXCEPT SELECT {_COLUMNS} FROM holding
) d
ORDER BY source, container_class, container, side
LIMIT 3
"""
_E = schema.event


def check_holdings(
    conn: Connection, progress: Callable[[int], None] | None = None
) -> tuple[int, str | None, str] | None:
    """The first ``holding`` row that differs from what the stored events give, as (its source
    entry, that entry's event ID, the reason); None when the table is what the events give.
    ``progress`` gets the last entry replayed."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_CHECK}")
    conn.exec_driver_sql(_CREATE)
    conn.exec_driver_sql(_INDEX)
    holdings.rebuild(conn, progress, table=_CHECK)
    first: dict[str, Row[Any]] = {}  # side -> row, of the first differing key
    keys: set[tuple[int, str, str]] = set()  # the differing keys, counted up to two
    for row in conn.exec_driver_sql(_DIFFERENT).all():
        keys.add((row.source, row.container_class, row.container))
        if len(keys) == 1:
            first[row.side] = row
    conn.exec_driver_sql(f"DROP TABLE {_CHECK}")
    if not first:
        return None
    stored, derived = first.get("stored"), first.get("derived")
    some = stored or derived
    assert some is not None
    where = f"holding row (source {some.source}, container {some.container!r})"
    if stored is None:
        reason = f"{where} is missing (the events give {_figures(derived)})"
    elif derived is None:
        reason = f"{where} is stored ({_figures(stored)}) but the events give none"
    else:
        reason = f"{where} holds {_figures(stored)}, the events give {_figures(derived)}"
    if len(keys) > 1:
        reason += "; other holding rows differ too"
    event_id = conn.execute(select(_E.c.event_id).where(_E.c.seq == some.source)).scalar()
    return int(some.source), event_id, reason


def _figures(row: Row[Any] | None) -> str:
    assert row is not None
    return f"items={row.items}, level={row.level}"
