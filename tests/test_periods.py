"""Calendar periods: numbers, labels, parsing and the instants a period covers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.periods import Period, parse_period, span


def day(month: int, d: int = 1, year: int = 2025) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "when", "label"),
    [
        (Period.MONTH, day(3), "2025-03"),
        (Period.QUARTER, day(11), "2025-Q4"),
        (Period.YEAR, day(1), "2025"),
    ],
)
def test_period_labels(period: Period, when: datetime, label: str) -> None:
    assert period.label(period.number(when)) == label and period.parse(label) == period.number(when)


def test_a_label_of_another_length_is_refused_with_an_example() -> None:
    # the example is a period of the right length in the year asked for (was "e.g. 8100")
    with pytest.raises(ValueError, match=r"^'2027-Q3' is a quarter, not a year \(e\.g\. 2027\)$"):
        Period.YEAR.parse("2027-Q3")
    with pytest.raises(ValueError, match=r"is a year, not a month \(e\.g\. 2026-01\)$"):
        Period.MONTH.parse("2026")
    with pytest.raises(ValueError, match=r"^'2025-13': months are 01 to 12$"):
        Period.MONTH.parse("2025-13")


@pytest.mark.parametrize(
    ("label", "length", "number"),
    [
        ("2025", Period.YEAR, 2025),
        ("2025-Q1", Period.QUARTER, 2025 * 4),
        ("2025-Q4", Period.QUARTER, 2025 * 4 + 3),
        ("2025-01", Period.MONTH, 2025 * 12),
        ("2025-12", Period.MONTH, 2025 * 12 + 11),
    ],
)
def test_a_period_label_gives_its_length_and_number(
    label: str, length: Period, number: int
) -> None:
    assert parse_period(label) == (length, number)
    assert length.label(number) == label


@pytest.mark.parametrize(
    ("label", "rule"),
    [
        ("2025-Q5", "'2025-Q5': a year has quarters Q1 to Q4"),
        ("2025-Q0", "'2025-Q0': a year has quarters Q1 to Q4"),
        ("2025-Q01", "'2025-Q01': a year has quarters Q1 to Q4"),
        ("2025-13", "'2025-13': months are 01 to 12"),
        ("2025-00", "'2025-00': months are 01 to 12"),
        ("2025-3", "'2025-3': months are 01 to 12"),
        ("0000", "'0000': the year must be 0001 to 9998"),
        ("9999-12", "'9999-12': the year must be 0001 to 9998"),
        ("2025-q1", "'2025-q1' is not YYYY, YYYY-Qn or YYYY-MM"),
        ("2025\n", "'2025\\n' is not YYYY, YYYY-Qn or YYYY-MM"),
        ("\uff12\uff10\uff12\uff15", "is not YYYY, YYYY-Qn or YYYY-MM"),  # full-width digits
        ("", "'' is not YYYY, YYYY-Qn or YYYY-MM"),
    ],
)
def test_a_period_that_does_not_exist_is_refused(label: str, rule: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_period(label)
    assert rule in str(refused.value)


@settings(max_examples=200)
@given(st.sampled_from(list(Period)), st.integers(1, 9998))
def test_every_label_reads_back_as_its_period(length: Period, year: int) -> None:
    per_year = {Period.YEAR: 1, Period.QUARTER: 4, Period.MONTH: 12}[length]
    for number in range(year * per_year, (year + 1) * per_year):
        assert parse_period(length.label(number)) == (length, number)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2025", day(1), day(1, year=2026)),
        ("2025-Q4", day(10), day(1, year=2026)),
        ("2025-02", day(2), day(3)),
        ("9998-12", day(12, year=9998), day(1, year=9999)),
    ],
)
def test_a_period_covers_its_first_day_up_to_the_next_period(
    label: str, start: datetime, end: datetime
) -> None:
    length, number = parse_period(label)
    assert span(length, number) == (start, end)
    assert length.number(start) == number and length.number(end) == number + 1
