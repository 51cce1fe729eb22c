"""Upper bounds on what one input may ask of the tool, checked before any expensive work.

Each limit has a default, changed by an environment variable that the edge reads once with the
other settings (:class:`batterytrace.settings.Settings`, which checks it) and hands to
:func:`configure`: the CLI at each command, ``UnitOfWork`` when it is made.
Capture workers are spawned, so they inherit none of it: each batch carries :func:`in_force`
(decision 030). A size at or below a limit's floor, the least the limit may be set to and
large enough for every well-formed input of its kind, passes without the limit being looked up,
which keeps the check free on the common path. A refusal names the limit, its value and the
variable that changes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_in_force: dict[str, int] = {}  # by variable name; a limit not here has its default


@dataclass(frozen=True, slots=True)
class Limit:
    """One upper bound: ``what`` is counted in ``unit``; ``env`` changes ``default``."""

    what: str
    unit: str
    env: str
    default: int
    floor: int

    def value(self) -> int:
        """The limit in force: as :func:`configure` set it, else the default."""
        return _in_force.get(self.env, self.default)

    def over(self, size: int) -> str | None:
        """The rule ``size`` breaks, or None when it is within the limit."""
        if size <= self.floor:
            return None
        limit = self.value()
        if size <= limit:
            return None
        return (
            f"{size:,} {self.unit}, more than the limit of {limit:,} for {self.what} "
            f"(set {self.env} to change it)"
        )


def configure(values: Mapping[str, int]) -> None:
    """Make ``values`` (by variable name, checked by the settings) this process's limits; a
    limit not named has its default."""
    _in_force.clear()
    _in_force.update(values)


def in_force() -> dict[str, int]:
    """What :func:`configure` set, for worker processes to configure themselves the same."""
    return dict(_in_force)


# GS1 identifiers are short: the longest EPC URI (an ITIP or a CPI) is under 100 characters and
# a Digital Link with every key qualifier under 150; 2,048 characters is the length URLs are
# commonly kept to (the sitemaps protocol's limit, most browsers' and proxies' practice), room
# enough for user-vocabulary URIs of any sane design.
IDENTIFIER = Limit(
    "an identifier or URI", "characters", "BATTERYTRACE_MAX_IDENTIFIER_LENGTH", 2_048, 256
)
# A user extension holds a value (a note, a measurement, a reference), not a file.
EXTENSION_VALUE = Limit(
    "an extension value", "characters", "BATTERYTRACE_MAX_EXTENSION_LENGTH", 65_536, 1_024
)
# One event's JSON text: an aggregation of 100,000 SGTINs takes about 7 MB.
EVENT_SIZE = Limit(
    "one event", "characters of JSON", "BATTERYTRACE_MAX_EVENT_SIZE", 16 * 1_048_576, 65_536
)
# Monte Carlo draws: a million give percentiles to well under 0.1 %; each draw costs eight bytes
# of the totals kept for the percentiles.
DRAWS = Limit("Monte Carlo draws", "draws", "BATTERYTRACE_MAX_DRAWS", 1_000_000, 2)
