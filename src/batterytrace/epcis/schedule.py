"""The schedule of a standing query (EPCIS 2.0 §8.2.5.3, ``QuerySchedule``): each field a list
of numbers and ``[low-high]`` ranges that a time's second, minute, hour, day of month, month
and day of week must match; an omitted field matches any value. Times are in UTC (the
standard lets the service choose the time zone)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# field -> the legal range of its numbers
FIELDS = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (1, 7),  # 1 is Monday
}
_ELEMENT = re.compile(r"(\d+)|\[(\d+)-(\d+)\]")
_HORIZON = timedelta(days=366 * 5)  # a schedule matching no time in 5 years matches none


class ScheduleError(ValueError):
    """A field breaks the grammar or the legal range (SubscriptionControlsException)."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """The values each field matches (every legal value for an omitted field)."""

    values: Mapping[str, frozenset[int]]

    @classmethod
    def parse(cls, fields: Mapping[str, object]) -> Schedule:
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise ScheduleError(
                f"schedule: {', '.join(unknown)}: not a schedule field "
                f"(fields: {', '.join(FIELDS)})"
            )
        if not fields:
            raise ScheduleError("schedule: names no field (give at least one, e.g. minute)")
        values = {}
        for name, (low, high) in FIELDS.items():
            raw = fields.get(name)
            values[name] = (
                frozenset(range(low, high + 1)) if raw is None else _field(name, raw, low, high)
            )
        return cls(values)

    def next_after(self, at: datetime) -> datetime | None:
        """The first time after ``at`` (to the second) the schedule matches; None if no time
        in the next five years does (the 31st of February)."""
        start = at.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        end = start + _HORIZON
        v = self.values
        while day < end:
            if (
                day.month in v["month"]
                and day.day in v["dayOfMonth"]
                and day.isoweekday() in v["dayOfWeek"]
            ):
                for hour in sorted(v["hour"]):
                    for minute in sorted(v["minute"]):
                        for second in sorted(v["second"]):
                            when = day.replace(hour=hour, minute=minute, second=second)
                            if when >= start:
                                return when
            day += timedelta(days=1)
        return None


def _field(name: str, raw: object, low: int, high: int) -> frozenset[int]:
    text = str(raw).strip()
    found: set[int] = set()
    for element in text.split(","):
        m = _ELEMENT.fullmatch(element.strip())
        if m is None:
            raise ScheduleError(
                f"schedule.{name}: {text!r} is not a list of numbers and [low-high] ranges"
            )
        first, last = (int(m[1]), int(m[1])) if m[1] else (int(m[2]), int(m[3]))
        if not low <= first <= last <= high:
            raise ScheduleError(
                f"schedule.{name}: {element.strip()!r} is outside {low}-{high} "
                "or a range whose first number is above its last"
            )
        found.update(range(first, last + 1))
    return frozenset(found)
