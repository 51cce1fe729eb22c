"""Plain SQL on a connection's DBAPI cursor, for the store's hot paths.

A trace or a capture batch runs many small statements; through the SQLAlchemy layer each
costs more than the query itself. Statements are written with ``{mark}`` (the driver's
placeholder), ``{marks}`` (``n`` of them), ``{texts}`` and ``{seqs}`` (a list of any length
as one parameter, see :meth:`Driver.among`), ``{join}`` (SQLite: CROSS JOIN, which fixes the
loop order as one would by hand; elsewhere JOIN) and any other names, given as constants of
the calling module, never as data: values always go as parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

# A JSON array parameter read as rows: one statement and one parameter, whatever the length
# of the list (no chunks of marks for the driver to parse, no per-value dumping).
_LISTED = {
    "sqlite": ("(SELECT value FROM json_each({mark}))",) * 2,
    "postgresql": (
        "(SELECT json_array_elements_text(CAST({mark} AS json)))",
        "(SELECT CAST(json_array_elements_text(CAST({mark} AS json)) AS bigint))",
    ),
}


class Driver:
    """Statements for one connection, run inside its transaction (begun here if need be, so
    every statement of one trace reads the same snapshot)."""

    def __init__(self, conn: Connection) -> None:
        if not conn.in_transaction():
            conn.begin()
        self.mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.join = "CROSS JOIN" if conn.dialect.name == "sqlite" else "JOIN"
        texts, seqs = _LISTED[conn.dialect.name]
        self.texts, self.seqs = texts.format(mark=self.mark), seqs.format(mark=self.mark)
        self.cursor = conn.connection.cursor()
        self._texts: dict[tuple[str, int, tuple[tuple[str, str], ...]], str] = {}

    def text(self, sql: str, n: int = 0, **names: str) -> str:
        key = (sql, n, tuple(sorted(names.items())))
        text = self._texts.get(key)
        if text is None:
            marks = ", ".join([self.mark] * n)
            text = sql.format(
                mark=self.mark,
                marks=marks,
                join=self.join,
                texts=self.texts,
                seqs=self.seqs,
                **names,
            )
            self._texts[key] = text
        return text

    def rows(self, sql: str, params: Sequence[Any], n: int = 0, **names: str) -> list[Any]:
        """The rows of a statement with ``n`` marks in ``{marks}``."""
        self.cursor.execute(self.text(sql, n, **names), tuple(params))
        return list(self.cursor.fetchall())

    @staticmethod
    def among(values: Iterable[str] | Iterable[int]) -> str:
        """The parameter of ``x IN {texts}`` (strings) or ``x IN {seqs}`` (integers)."""
        return orjson.dumps(list(values)).decode()

    def many(self, sql: str, rows: Sequence[Sequence[Any]], **names: str) -> None:
        if rows:
            self.cursor.executemany(self.text(sql, 0, **names), rows)
