"""xsd:dateTime timestamps as EPCIS uses them (§7.3.1): an explicit offset is required."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from batterytrace.errors import FieldError

_TIMESTAMP = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))"
)
# EPCIS 2.0 JSON Schema, eventTimeZoneOffset.
_OFFSET = re.compile(r"[+-]((0\d|1[0-3]):[0-5]\d|14:00)")


def parse_timestamp(text: str, field: str) -> datetime:
    """A timezone-aware datetime; past 6 fractional digits, rounded half up to microseconds."""
    text = text.strip()
    if not _TIMESTAMP.fullmatch(text):
        raise FieldError(
            field, f"{text!r} is not a timestamp with a time zone (YYYY-MM-DDThh:mm:ss[.f]Z|±hh:mm)"
        )
    dot = text.find(".", 19)
    extra = timedelta(0)
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        digits = text[dot + 1 : end]
        if len(digits) > 6:
            scale = 10 ** (len(digits) - 6)
            micros = (int(digits) * 2 // scale + 1) // 2  # half up
            extra = timedelta(microseconds=micros)
            text = text[:dot] + text[end:]
    try:
        return datetime.fromisoformat(text) + extra
    except ValueError as exc:
        raise FieldError(field, f"{text!r} is not a valid date-time ({exc})") from None


def parse_moment(text: str, field: str) -> datetime:
    """A moment given on the command line: a timestamp with a time zone, or a date
    (YYYY-MM-DD), which stands for the end of that day in UTC."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        if "T" not in text:
            raise FieldError(field, f"{text!r} is not a date (YYYY-MM-DD) or a timestamp with a "
                             "time zone (YYYY-MM-DDThh:mm:ss[.f]Z|±hh:mm)") from None  # fmt: skip
        return parse_timestamp(text, field)
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999000, tzinfo=UTC)


def offset_of(moment: datetime) -> str:
    """The ±hh:mm offset of an aware datetime (its eventTimeZoneOffset)."""
    minutes = int((moment.utcoffset() or timedelta(0)).total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_timestamp(value: datetime) -> str:
    """ISO 8601 with milliseconds (or microseconds when needed) and the original offset."""
    spec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
    text = value.isoformat(timespec=spec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def check_offset(text: str, field: str = "eventTimeZoneOffset") -> str:
    text = text.strip()
    if not _OFFSET.fullmatch(text):
        raise FieldError(field, f"{text!r} is not a time zone offset (±hh:mm, -13:59..+14:00)")
    return text


def local_time(moment: datetime, offset: str) -> datetime:
    """``moment`` on the clock of ``offset`` (an event's eventTimeZoneOffset): the event's local
    time. The one rule by which custody and carbon place an event in a month, quarter or year
    (decision 014), whatever offset its eventTime was written in."""
    hours, minutes = check_offset(offset)[1:].split(":")
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return moment.astimezone(timezone(-delta if offset.strip()[0] == "-" else delta))


def utc_millis(value: datetime) -> int:
    """Milliseconds since the epoch, for the store's time indexes."""
    return (value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
