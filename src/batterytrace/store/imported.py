"""What an import changed (decision 016): importing what is stored already changes nothing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Imported:
    """Entries an import added, replaced (another content under a stored key), found stored
    already as given (unchanged) and removed (an import that replaces a whole set: custody
    rules); ``id``: the import record a carbon import is kept under (``carbon list``, ``carbon
    remove``), None when it changed nothing (nothing is recorded then)."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    id: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)

    def counts(self) -> dict[str, int]:
        return {"added": self.added, "replaced": self.replaced, "unchanged": self.unchanged,
                "removed": self.removed}  # fmt: skip

    def __str__(self) -> str:
        removed = f", {self.removed} removed" if self.removed else ""
        return f"{self.added} added, {self.replaced} replaced, {self.unchanged} unchanged{removed}"
