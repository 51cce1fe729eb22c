"""What an import changed (decision 016): importing what is stored already changes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import ColumnElement, Connection, Table, delete, insert, select

Outcome = Literal["added", "replaced", "unchanged"]


class Imported(BaseModel):
    """Entries an import added, replaced (another content under a stored key), found stored
    already as given (unchanged) and removed (an import that replaces a whole set: custody
    rules); ``id``: the import record a carbon import is kept under (``carbon list``, ``carbon
    remove``), None when it changed nothing (nothing is recorded then)."""

    model_config = ConfigDict(frozen=True)

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    id: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)

    def counts(self) -> dict[str, int]:
        return {"added": self.added, "replaced": self.replaced, "unchanged": self.unchanged,
                "removed": self.removed}  # fmt: skip

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Imported:
        counted = Counter(outcomes)
        return cls(
            added=counted["added"], replaced=counted["replaced"], unchanged=counted["unchanged"]
        )

    def __str__(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        return f"{self.added} added, {self.replaced} replaced, {self.unchanged} unchanged{removed}"


def put(conn: Connection, table: Table, key: ColumnElement[bool], row: dict[str, Any]) -> Outcome:
    """Store ``row`` under ``key`` (a row stored there with other ``content`` is replaced); a
    row stored already with this content is left as it is."""
    stored = conn.execute(select(table.c.content).where(key)).scalar()
    if stored == row["content"]:
        return "unchanged"
    if stored is not None:
        conn.execute(delete(table).where(key))
    conn.execute(insert(table).values(**row))
    return "added" if stored is None else "replaced"
