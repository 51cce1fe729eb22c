"""Plain SQL on a connection's DBAPI cursor, for the store's hot paths.

A trace or a capture batch runs many small statements; through the SQLAlchemy layer each
costs more than the query itself. Statements are written with ``{mark}`` (the driver's
placeholder), ``{marks}`` (``n`` of them), ``{join}`` (SQLite: CROSS JOIN, which fixes the
loop order as one would by hand; elsewhere JOIN) and any other names, given as constants of
the calling module, never as data: values always go as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


class Driver:
    """Statements for one connection, run inside its transaction (begun here if need be, so
    every statement of one trace reads the same snapshot)."""

    def __init__(self, conn: Connection) -> None:
        if not conn.in_transaction():
            conn.begin()
        self.mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.join = "CROSS JOIN" if conn.dialect.name == "sqlite" else "JOIN"
        self.cursor = conn.connection.cursor()
        self._texts: dict[tuple[str, int, tuple[tuple[str, str], ...]], str] = {}

    def text(self, sql: str, n: int = 0, **names: str) -> str:
        key = (sql, n, tuple(sorted(names.items())))
        text = self._texts.get(key)
        if text is None:
            marks = ", ".join([self.mark] * n)
            text = sql.format(mark=self.mark, marks=marks, join=self.join, **names)
            self._texts[key] = text
        return text

    def rows(self, sql: str, params: Sequence[Any], n: int = 0, **names: str) -> list[Any]:
        """The rows of a statement with ``n`` marks in ``{marks}``."""
        self.cursor.execute(self.text(sql, n, **names), tuple(params))
        return list(self.cursor.fetchall())

    def many(self, sql: str, rows: Sequence[Sequence[Any]], **names: str) -> None:
        if rows:
            self.cursor.executemany(self.text(sql, 0, **names), rows)
