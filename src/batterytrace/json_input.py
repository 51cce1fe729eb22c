"""JSON a user gives (EPCIS documents, import files, page tokens), read strictly (decision 019).

Refused, with the JSON path and the rule: a key repeated in one object (RFC 8259 §4 leaves
repeated names to the reader; orjson and the standard library keep the last silently, EPCIS has
no use for them and a repeated XML element is refused too); objects and arrays nested deeper
than :data:`MAX_DEPTH`; NaN, Infinity and numbers too large for a double (RFC 8259 §6), among
them Python's 4,300-digit bound on integers read from text; a NUL character in a key or string.

:func:`loads` reads with the standard library's hooks: exact, for import files and tokens. The
capture hot path keeps orjson for events and reads the document once with the standard
library's scanner to cut them out (:mod:`batterytrace.epcis.documents`); :func:`explain` says
where the problem of a text orjson refused is.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from typing import Any

from batterytrace.errors import BatteryTraceError

# Nesting levels of objects and arrays (XML: of elements) a document may have. EPCIS needs about
# a dozen; the recursive readers, hashing and orjson (255 levels when writing) need a bound.
MAX_DEPTH = 64

# U+0000: in no identifier, term, name or date, in no XML 1.0 document; PostgreSQL can neither
# store nor compare it
NUL = "a NUL character (U+0000), which no text here may hold"
_LARGEST = int(sys.float_info.max)
_LARGEST_DIGITS = len(str(_LARGEST))  # 309


def loads(text: bytes | str, where: str, error: type[BatteryTraceError]) -> Any:
    """The parsed value of ``text``; ``error`` names ``where``, the JSON path and the rule
    when it is not JSON, repeats a key, is nested deeper than :data:`MAX_DEPTH` or holds a
    number no reader can keep."""
    try:
        value = _read(text)
    except RecursionError:
        raise error(f"{where}: nested deeper than {MAX_DEPTH} levels (the limit)") from None
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise error(f"{where}: not JSON ({exc})") from None
    problem = _problem(value)
    if problem is not None:
        raise error(f"{where}: {problem}")
    return value


def explain(text: bytes | str) -> str | None:
    """``path: rule`` of what :func:`loads` refuses in ``text``, None if it takes it."""
    try:
        return _problem(_read(text))
    except RecursionError:
        return f"document: nested deeper than {MAX_DEPTH} levels (the limit)"
    except ValueError as exc:
        return f"not JSON ({exc})"


def parse_int(text: str) -> int | _Refused:
    """An integer, or a mark (found by :func:`loads`' check) of one too large for a double:
    never Python's own ValueError for an integer of more than 4,300 digits."""
    digits = len(text.lstrip("-"))
    if digits > _LARGEST_DIGITS or abs(number := int(text)) > _LARGEST:
        return _Refused(
            f"an integer of {digits:,} digits is too large (a number must fit a double)"
        )
    return number


# --- the marks the hooks leave, and the check that finds them -----------------------------------


class _Refused:
    """A value the reader cannot keep, left where it stood so that its path can be named."""

    def __init__(self, rule: str) -> None:
        self.rule = rule


class _Repeated(dict[str, Any]):
    """An object that named ``key`` twice (the only objects of this type: they are refused)."""

    key = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    repeated = _Repeated(obj)
    seen: set[str] = set()
    repeated.key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return repeated


def _float(text: str) -> float | _Refused:
    number = float(text)
    if not math.isfinite(number):
        return _Refused(f"number {text[:40]} is too large for a double")
    return number


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number")


def _read(text: bytes | str) -> Any:
    return json.loads(
        text,
        object_pairs_hook=_pairs,
        parse_int=parse_int,
        parse_float=_float,
        parse_constant=_constant,
    )


def _problem(value: Any) -> str | None:
    """``path: rule`` of the first mark, repeated key or too deep a value, in document order."""
    for path, item in _walk(value):
        if len(path) >= MAX_DEPTH and isinstance(item, dict | list):
            return f"{_path(path[:4])}… ({MAX_DEPTH} levels down): nested deeper than " \
                f"{MAX_DEPTH} levels (the limit)"  # fmt: skip
        if isinstance(item, _Refused):
            return f"{_path(path)}: {item.rule}"
        if isinstance(item, _Repeated):
            return f"{_path([*path, item.key])}: key repeated in one object (each is named once)"
        if isinstance(item, str) and "\x00" in item:
            return f"{_path(path)}: {NUL}"
        if isinstance(item, dict) and (key := next((k for k in item if "\x00" in k), None)):
            return f"{_path([*path, key])}: {NUL} (in the key)"
    return None


def _walk(value: Any) -> Iterator[tuple[list[str | int], Any]]:
    """Every value with its path, in document order (without recursion)."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        yield path, item
        if isinstance(item, dict):
            stack.extend(([*path, k], v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(([*path, i], v) for i, v in reversed(list(enumerate(item))))


def _path(path: list[str | int]) -> str:
    """``epcisBody.eventList[0].action``, as fields are named elsewhere; "document" for the
    top."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "document"
