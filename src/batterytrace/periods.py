"""Calendar periods: a month, a quarter or a year, counted, named and read back.

Labels are ISO 8601-1 calendar dates at reduced precision (``2025`` a year, ``2025-03`` a
month) and, for a quarter, the common ``2025-Q1`` (January to March). Periods of one length are
counted from year 0 (a year by its number, a month as year * 12 + month - 1, a quarter as
year * 4 + quarter - 1), so the next period is the number plus one; a period covers the
instants from its first day's midnight UTC up to the next period's. The custody ledger's
accounting periods (ISO 22095 mass balance) and the carbon model's activity periods are these.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    def number(self, when: datetime) -> int:
        """The period ``when`` falls in, as a number that counts periods."""
        if self is Period.YEAR:
            return when.year
        months = when.year * 12 + when.month - 1
        return months if self is Period.MONTH else months // 3

    def label(self, index: int) -> str:
        """``2025-03``, ``2025-Q1`` or ``2025``."""
        if self is Period.YEAR:
            return f"{index:04d}"
        if self is Period.MONTH:
            return f"{index // 12:04d}-{index % 12 + 1:02d}"
        return f"{index // 4:04d}-Q{index % 4 + 1}"

    def parse(self, label: str) -> int:
        """The period a label names; ValueError when it is not one of this length."""
        length, index = parse_period(label)
        if length is not self:
            raise ValueError(
                f"{label!r} is a {length.value}, not a {self.value} "
                f"(e.g. {self.label(self.number(datetime(int(label[:4]), 1, 1)))})"
            )
        return index

    def names(self, label: str) -> bool:
        """Whether ``label`` is a period of this length."""
        try:
            self.parse(label)
        except ValueError:
            return False
        return True


_PERIOD = re.compile(r"([0-9]{4})(?:-Q([0-9]+)|-([0-9]+))?")
_PERIOD_FORMS = "YYYY, YYYY-Qn or YYYY-MM"


def parse_period(label: str) -> tuple[Period, int]:
    """The length and number of a period label: ``2025``, ``2025-Q1`` (quarters 1 to 4) or
    ``2025-03`` (months 01 to 12), years 0001 to 9998 (a period's end is an instant too).
    ValueError names the rule broken; callers raise it as their own error."""
    match = _PERIOD.fullmatch(label)
    if match is None:
        raise ValueError(f"{label!r} is not {_PERIOD_FORMS}")
    year, quarter, month = int(match[1]), match[2], match[3]
    if not 1 <= year <= 9998:
        raise ValueError(f"{label!r}: the year must be 0001 to 9998")
    if quarter is not None:
        if len(quarter) != 1 or not 1 <= int(quarter) <= 4:
            raise ValueError(f"{label!r}: a year has quarters Q1 to Q4")
        return Period.QUARTER, year * 4 + int(quarter) - 1
    if month is not None:
        if len(month) != 2 or not 1 <= int(month) <= 12:
            raise ValueError(f"{label!r}: months are 01 to 12")
        return Period.MONTH, year * 12 + int(month) - 1
    return Period.YEAR, year


def span(length: Period, number: int) -> tuple[datetime, datetime]:
    """The instants a period covers, [start, end) in UTC."""
    months = {Period.YEAR: 12, Period.QUARTER: 3, Period.MONTH: 1}[length]
    first, after = number * months, (number + 1) * months
    return (
        datetime(first // 12, first % 12 + 1, 1, tzinfo=UTC),
        datetime(after // 12, after % 12 + 1, 1, tzinfo=UTC),
    )
