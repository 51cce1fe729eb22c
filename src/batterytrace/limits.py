"""Upper bounds on what one input may ask of the tool, checked before any expensive work.

Each limit has a default and is changed with an environment variable, read when the limit is
used (so one process can be given another value by the next command). A value at or below a
limit's floor never needs the variable to be read: the floor is the least a limit may be set
to, large enough for every well-formed input of its kind, which keeps the check free on the
common path. A refusal names the limit, its value and the variable that changes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from batterytrace.errors import SettingError


@dataclass(frozen=True, slots=True)
class Limit:
    """One upper bound: ``what`` is counted in ``unit``; ``env`` changes ``default``."""

    what: str
    unit: str
    env: str
    default: int
    floor: int

    def value(self) -> int:
        """The limit in force: the environment variable when set, else the default."""
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            value = -1
        if value < self.floor:
            raise SettingError(
                f"{self.env}: {raw[:40]!r} is not a whole number of {self.unit} "
                f"of at least {self.floor:,}"
            )
        return value

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
