"""Moments given on the command line (`--at`): a date, or a timestamp with its offset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from batterytrace.epcis.timestamps import offset_of, parse_moment
from batterytrace.errors import FieldError


def test_a_date_is_the_end_of_that_day_in_utc() -> None:
    assert parse_moment("2026-09-01", "--at") == datetime(
        2026, 9, 1, 23, 59, 59, 999000, tzinfo=UTC
    )


def test_a_timestamp_keeps_its_offset() -> None:
    moment = parse_moment("2026-09-01T10:00:00+02:00", "--at")
    assert moment == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    assert offset_of(moment) == "+02:00"
    assert offset_of(parse_moment("2026-09-01T10:00:00-03:30", "--at")) == "-03:30"
    assert offset_of(datetime(2026, 1, 1, tzinfo=timezone(timedelta(0)))) == "+00:00"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2026-09-01T10:00:00", "is not a timestamp with a time zone"),
        ("2026-13-01", "is not a date (YYYY-MM-DD) or a timestamp"),
        ("yesterday", "is not a date (YYYY-MM-DD) or a timestamp"),
    ],
)
def test_anything_else_is_refused_naming_the_option(text: str, rule: str) -> None:
    with pytest.raises(FieldError, match="^" + re.escape(f"--at: {text!r} {rule}")):
        parse_moment(text, "--at")
