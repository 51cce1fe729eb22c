"""Where the services' unit of work is assembled (the bootstrap of "Architecture Patterns with
Python", ch. 13): its writes are followed by the refresh of the kept derived state (decision
029). Everything that opens the store (the CLI, the benchmarks, the tests) starts here."""

from __future__ import annotations

from pathlib import Path

from batterytrace.services import derived
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.settings import Settings


def unit_of_work(
    url: str | None = None, key_path: Path | None = None, settings: Settings | None = None
) -> UnitOfWork:
    """The store at ``url`` with its key at ``key_path``, by default those of ``settings``
    (read from the environment when not given: :class:`UnitOfWork`); every write that moves
    the ledger is followed by :func:`derived.refresh`."""
    return UnitOfWork(url, key_path, settings, follow_up=derived.refresh)
