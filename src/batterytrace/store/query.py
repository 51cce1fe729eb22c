"""EPCIS 2.0 SimpleEventQuery (§8.2.7.1) over the store.

Parameters arrive as the REST binding writes them: a name and a string value, lists
comma-separated (a sequence of strings is accepted too). Every name is checked; an unknown one
or a bad value raises :class:`QueryError` naming it (QueryParameterException).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson
from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, or_, select

from batterytrace.epcis import vocab
from batterytrace.epcis.model import Action, Event, EventType
from batterytrace.epcis.timestamps import parse_timestamp, utc_millis
from batterytrace.errors import (
    FieldError,
    InvalidIdentifier,
    QueryError,
    QueryTooLarge,
    StoreError,
)
from batterytrace.identifiers import is_pattern
from batterytrace.sharing import WITHHELD, Grants, project
from batterytrace.store import schema
from batterytrace.store.patterns import class_like_patterns, like_pattern
from batterytrace.store.readers import visible
from batterytrace.store.records import canonical_id, event_from_content

ParamValue = str | Sequence[str]
E = schema.event
K = schema.event_key

# MATCH_ parameters: which event_key roles they look in, and whether values are classes.
_MATCH: dict[str, tuple[tuple[str, ...], bool]] = {
    "MATCH_epc": (("epc", "childEPC"), False),
    "MATCH_parentID": (("parentID",), False),
    "MATCH_inputEPC": (("inputEPC",), False),
    "MATCH_outputEPC": (("outputEPC",), False),
    "MATCH_anyEPC": (("epc", "childEPC", "inputEPC", "outputEPC", "parentID"), False),
    "MATCH_epcClass": (("epcClass", "childEPCClass"), True),
    "MATCH_inputEPCClass": (("inputEPCClass",), True),
    "MATCH_outputEPCClass": (("outputEPCClass",), True),
    "MATCH_anyEPCClass": (("epcClass", "childEPCClass", "inputEPCClass", "outputEPCClass"), True),
}
_TIMES = {
    "GE_eventTime": (E.c.event_time, True),
    "LT_eventTime": (E.c.event_time, False),
    "GE_recordTime": (E.c.record_time, True),
    "LT_recordTime": (E.c.record_time, False),
}
_VOCAB_COLUMNS = {
    "EQ_bizStep": (E.c.biz_step, vocab.BIZ_STEP),
    "EQ_disposition": (E.c.disposition, vocab.DISPOSITION),
}
_TYPED = {
    "EQ_bizTransaction_": ("bizTransaction", vocab.BIZ_TRANSACTION_TYPE),
    "EQ_source_": ("source", vocab.SOURCE_DEST_TYPE),
    "EQ_destination_": ("destination", vocab.SOURCE_DEST_TYPE),
}
_LOCATIONS = {"EQ_readPoint": E.c.read_point, "EQ_bizLocation": E.c.biz_location}
_WITH_DESCENDANTS = {"WD_readPoint": E.c.read_point, "WD_bizLocation": E.c.biz_location}
# EXISTS_ on standard fields looks at the stored JSON-LD content.
_EXISTS_FIELDS = frozenset(
    {
        "eventID",
        "certificationInfo",
        "errorDeclaration",
        "parentID",
        "epcList",
        "childEPCs",
        "inputEPCList",
        "outputEPCList",
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
        "action",
        "transformationID",
        "bizStep",
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "ilmd",
    }
)
_ORDER = {"eventTime": E.c.event_time, "recordTime": E.c.record_time}
_SHAPING = {
    "orderBy",
    "orderDirection",
    "eventCountLimit",
    "maxEventCount",
    "perPage",
    "nextPageToken",
}
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 10_000
MATCH_SYNTAX = (
    "MATCH_ parameters take EPC URIs, or EPC pattern URIs whose trailing components may be *: "
    "urn:epc:idpat:sgtin:0614141.112345.* (every serial of one GTIN), "
    "urn:epc:idpat:sgtin:0614141.*.* (every GTIN of a company prefix); any other value, such as "
    "a bare * or a * inside a component, is an identifier compared as it is"
)


def unmatched_patterns(params: Mapping[str, ParamValue]) -> list[str]:
    """``NAME=value`` of each MATCH_ value with a ``*`` that is not an EPC pattern URI: it can
    only match an identifier spelled that way, which is why a query finds nothing."""
    return [
        f"{name}={v}"
        for name, value in params.items()
        if name.startswith("MATCH_")
        for v in _values(name, value)
        if "*" in v and not is_pattern(v)
    ]


@dataclass(slots=True)
class QueryPage:
    events: list[Event]
    next_page_token: str | None


def _values(name: str, value: ParamValue) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    out = [v.strip() for v in items if v.strip()]
    if not out:
        raise QueryError(f"{name}: needs a value")
    return out


def _members(name: str, value: ParamValue, kind: type[StrEnum], what: str) -> list[str]:
    values = _values(name, value)
    for v in values:
        if v not in kind._value2member_map_:
            raise QueryError(f"{name}: {v!r} is not {what}")
    return values


def _single(name: str, value: ParamValue) -> str:
    values = [value] if isinstance(value, str) else list(value)
    if len(values) != 1 or not values[0].strip():
        raise QueryError(f"{name}: needs exactly one value")
    return values[0].strip()


def _int(name: str, value: ParamValue, minimum: int = 1) -> int:
    text = _single(name, value)
    try:
        number = int(text)
    except ValueError:
        raise QueryError(f"{name}: {text!r} is not an integer") from None
    if number < minimum:
        raise QueryError(f"{name}: must be at least {minimum}")
    return number


def _canonical(name: str, value: str) -> str:
    try:
        return canonical_id(value)
    except InvalidIdentifier as exc:
        raise QueryError(f"{name}: {exc}") from None


class SimpleEventQuery:
    """Parsed, validated query parameters, turned into SQL on demand."""

    def __init__(self, params: Mapping[str, ParamValue], reader: Grants | None = None) -> None:
        """``reader``: the organisation reading, with the shares it holds (decision 041):
        only the events it may read match, a parameter on a field only where it sees the
        field, and each event comes without the fields withheld; None: the operator."""
        self.params = dict(params)
        self.reader = reader
        self.conditions: list[ColumnElement[bool]] = []
        self.descendants: list[tuple[str, list[str]]] = []
        self.order_column = E.c.event_time
        self.descending = True
        self.limit: int | None = None
        self.max_count: int | None = None
        self.per_page = DEFAULT_PER_PAGE
        self.token: str | None = None
        for name, value in self.params.items():
            self._parse(name, value)

    def _parse(self, name: str, value: ParamValue) -> None:
        if name == "eventType":
            types = _members(name, value, EventType, "an EPCIS 2.0 event type")
            self.conditions.append(E.c.event_type.in_(types))
        elif name in _TIMES:
            column, lower = _TIMES[name]
            try:
                ms = utc_millis(parse_timestamp(_single(name, value), name))
            except FieldError as exc:
                raise QueryError(str(exc)) from None
            self.conditions.append(column >= ms if lower else column < ms)
        elif name == "EQ_action":
            actions = _members(name, value, Action, "ADD, OBSERVE or DELETE")
            self.conditions.append(E.c.action.in_(actions))
        elif name in _VOCAB_COLUMNS:
            column, voc = _VOCAB_COLUMNS[name]
            self.conditions.append(column.in_([_term(name, voc, v) for v in _values(name, value)]))
        elif name in (
            "EQ_persistentDisposition",
            "EQ_persistentDisposition_set",
            "EQ_persistentDisposition_unset",
        ):
            roles = {
                "EQ_persistentDisposition": (
                    "persistentDisposition:set",
                    "persistentDisposition:unset",
                ),
                "EQ_persistentDisposition_set": ("persistentDisposition:set",),
                "EQ_persistentDisposition_unset": ("persistentDisposition:unset",),
            }[name]
            terms = [_term(name, vocab.DISPOSITION, v) for v in _values(name, value)]
            self.conditions.append(_has_key(roles, K.c.value.in_(terms)))
        elif name in _LOCATIONS:
            ids = [_canonical(name, v) for v in _values(name, value)]
            self.conditions.append(_LOCATIONS[name].in_(ids))
        elif name in _WITH_DESCENDANTS:
            self.descendants.append((name, [_canonical(name, v) for v in _values(name, value)]))
        elif name == "EQ_transformationID":
            self.conditions.append(E.c.transformation_id.in_(_values(name, value)))
        elif name == "EQ_eventID":
            self.conditions.append(E.c.event_id.in_(_values(name, value)))
        elif name in _MATCH:
            roles, classes = _MATCH[name]
            self.conditions.append(_has_key(roles, _match_any(name, _values(name, value), classes)))
        elif name.startswith(tuple(_TYPED)):
            prefix = next(p for p in _TYPED if name.startswith(p))
            role, voc = _TYPED[prefix]
            kind = _term(name, voc, name[len(prefix) :]) if name[len(prefix) :] else ""
            ids = [_canonical(name, v) for v in _values(name, value)]
            found = _has_key((f"{role}:{kind}",), K.c.value.in_(ids))
            self.conditions.append(self._shown(f"{role}List", found))
        elif name.startswith("EXISTS_"):
            self.conditions.append(self._exists(name, name[len("EXISTS_") :]))
        elif name == "orderBy":
            key = _single(name, value)
            if key not in _ORDER:
                raise QueryError(f"orderBy: {key!r} is not eventTime or recordTime")
            self.order_column = _ORDER[key]
        elif name == "orderDirection":
            direction = _single(name, value)
            if direction not in ("ASC", "DESC"):
                raise QueryError(f"orderDirection: {direction!r} is not ASC or DESC")
            self.descending = direction == "DESC"
        elif name == "eventCountLimit":
            self.limit = _int(name, value)
        elif name == "maxEventCount":
            self.max_count = _int(name, value)
        elif name == "perPage":
            self.per_page = min(_int(name, value), MAX_PER_PAGE)
        elif name == "nextPageToken":
            self.token = _single(name, value)
        else:
            raise QueryError(f"{name}: not a SimpleEventQuery parameter")
        if self.limit is not None and self.max_count is not None:
            raise QueryError("eventCountLimit and maxEventCount cannot be used together")

    def _shown(self, field: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """``condition`` on a field a share may withhold, held only where the reader sees it
        (else filtering would tell what the field holds)."""
        if self.reader is None or field not in WITHHELD:
            return condition
        return and_(condition, visible(self.reader, field))

    def _exists(self, name: str, field: str) -> ColumnElement[bool]:
        if field in _EXISTS_FIELDS:
            return self._shown(field, E.c.content.contains(f'"{field}":'))
        if ":" in field:  # an extension element, named by its full URI (namespace + local name)
            return or_(
                self._shown("extensions", _has_key(("extension",), K.c.value == field)),
                self._shown("ilmd", _has_key(("ilmd",), K.c.value == field)),
            )
        raise QueryError(f"{name}: {field!r} is neither an EPCIS event field nor an extension URI")

    # -- SQL -----------------------------------------------------------------------------------

    def _where(self, conn: Connection) -> list[ColumnElement[bool]]:
        conditions = list(self.conditions)
        if self.reader is not None:
            conditions.append(visible(self.reader))
        for name, roots in self.descendants:
            column = _WITH_DESCENDANTS[name]
            conditions.append(column.in_(_with_descendants(conn, roots)))
        return conditions

    def count(self, conn: Connection) -> int:
        stmt = select(func.count()).select_from(E).where(*self._where(conn))
        total = int(conn.execute(stmt).scalar_one())
        return min(total, self.limit) if self.limit is not None else total

    def fingerprint(self) -> str:
        shown = {
            k: v for k, v in sorted(self.params.items()) if k not in ("perPage", "nextPageToken")
        }
        return hashlib.sha256(orjson.dumps(shown)).hexdigest()[:16]

    def page(self, conn: Connection) -> QueryPage:
        """One page of matching events, and the token of the next page when there is one."""
        where = self._where(conn)
        returned = 0
        if self.token is not None:
            after, returned = self._decode_token()
            order_value, seq = after
            if self.descending:
                where.append(
                    or_(
                        self.order_column < order_value,
                        and_(self.order_column == order_value, E.c.seq < seq),
                    )
                )
            else:
                where.append(
                    or_(
                        self.order_column > order_value,
                        and_(self.order_column == order_value, E.c.seq > seq),
                    )
                )
        if self.max_count is not None and self.token is None:
            total = int(
                conn.execute(select(func.count()).select_from(E).where(*where)).scalar_one()
            )
            if total > self.max_count:
                raise QueryTooLarge(
                    f"maxEventCount: {total} events match, more than {self.max_count}"
                )
        size = self.per_page
        if self.limit is not None:
            size = min(size, self.limit - returned)
        stmt = (
            select(E.c.content, self.order_column, E.c.seq, E.c.event_id, E.c.owner)
            .where(*where)
            .order_by(
                self.order_column.desc() if self.descending else self.order_column.asc(),
                E.c.seq.desc() if self.descending else E.c.seq.asc(),
            )
            .limit(size + 1)
        )
        rows = conn.execute(stmt).all() if size > 0 else []
        more = len(rows) > size
        rows = rows[:size]
        events = [self._read(row[0], row[3], row[4]) for row in rows]
        returned += len(events)
        token = None
        if more and (self.limit is None or returned < self.limit):
            token = self._encode_token((rows[-1][1], rows[-1][2]), returned)
        return QueryPage(events, token)

    def after(self, conn: Connection, seq: int, size: int) -> list[tuple[int, Event]]:
        """Up to ``size`` matching events stored after ledger entry ``seq``, in capture
        order, with their entries: what a subscription delivers next (its ordering and
        paging parameters do not apply)."""
        stmt = (
            select(E.c.seq, E.c.content, E.c.event_id, E.c.owner)
            .where(*self._where(conn), E.c.seq > seq)
            .order_by(E.c.seq)
            .limit(size)
        )
        return [(row[0], self._read(row[1], row[2], row[3])) for row in conn.execute(stmt)]

    def _read(self, content: str, event_id: str, owner: str | None) -> Event:
        """A stored event as the reader may see it."""
        event = event_from_content(content, event_id)
        if self.reader is None:
            return event
        withheld = self.reader.withheld(owner, event)
        if withheld is None:  # the SQL and the rules disagree: a defect, never a leak
            raise StoreError(f"event {event_id}: selected for a reader whose shares exclude it")
        return project(event, withheld)

    def _encode_token(self, after: tuple[int, int], returned: int) -> str:
        payload = orjson.dumps({"q": self.fingerprint(), "a": list(after), "n": returned})
        return base64.urlsafe_b64encode(payload).decode().rstrip("=")

    def _decode_token(self) -> tuple[tuple[int, int], int]:
        assert self.token is not None
        try:
            raw = base64.urlsafe_b64decode(self.token + "=" * (-len(self.token) % 4))
            obj = orjson.loads(raw)
            after = (obj["a"][0], obj["a"][1])
            returned = obj["n"]
            fingerprint = obj["q"]
            # positions and counts as issued: SQL integers (a forged huge one is not)
            if not all(type(v) is int and 0 <= v < 2**63 for v in (*after, returned)):
                raise ValueError
        except (
            binascii.Error,
            ValueError,
            KeyError,
            TypeError,
            IndexError,
            orjson.JSONDecodeError,
        ):
            raise QueryError("nextPageToken: not a token this repository issued") from None
        if fingerprint != self.fingerprint():
            raise QueryError("nextPageToken: was issued for a different query")
        return after, returned


def _term(name: str, voc: vocab.Vocabulary, value: str) -> str:
    try:
        return voc.normalise(value)
    except ValueError as exc:
        raise QueryError(f"{name}: {exc}") from None


def _has_key(roles: Sequence[str], value_condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(K.c.seq == E.c.seq, K.c.role.in_(roles), value_condition)


def _match_any(name: str, values: list[str], classes: bool) -> ColumnElement[bool]:
    exact: list[str] = []
    likes: list[str] = []
    for v in values:
        try:
            if classes and (is_pattern(v) or v.startswith("urn:epc:class:")):
                likes.extend(class_like_patterns(v))
            elif is_pattern(v):
                likes.append(like_pattern(v))
            else:
                exact.append(canonical_id(v))
        except InvalidIdentifier as exc:
            raise QueryError(f"{name}: {exc}") from None
    parts: list[ColumnElement[bool]] = [K.c.value.like(p, escape="\\") for p in likes]
    if exact:
        parts.append(K.c.value.in_(exact))
    return or_(*parts) if parts else false()


def _with_descendants(conn: Connection, roots: list[str]) -> list[str]:
    """The given locations and every descendant in the master-data hierarchy (§8.2.7.1 WD_)."""
    found = set(roots)
    frontier = list(roots)
    while frontier:
        children = conn.execute(
            select(schema.vocabulary_child.c.child).where(
                schema.vocabulary_child.c.parent.in_(frontier)
            )
        ).scalars()
        frontier = [c for c in children if c not in found]
        found.update(frontier)
    return sorted(found)


# The top-level resources of the REST binding that list values found in events (§12.5): the
# event column holding them (none: EPCs, in event_key), and the query parameters selecting
# their events (EPCs: instances, then classes and lots, which the battery chain mostly names).
_EPC_ROLES = ("epc", "childEPC", "inputEPC", "outputEPC", "parentID", "epcClass",
              "childEPCClass", "inputEPCClass", "outputEPCClass")  # fmt: skip
RESOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "epcs": ("", ("MATCH_anyEPC", "MATCH_anyEPCClass")),
    "bizSteps": ("biz_step", ("EQ_bizStep",)),
    "bizLocations": ("biz_location", ("EQ_bizLocation",)),
    "readPoints": ("read_point", ("EQ_readPoint",)),
    "dispositions": ("disposition", ("EQ_disposition",)),
}


def resource_members(
    conn: Connection, resource: str, after: str | None, size: int, reader: Grants | None = None
) -> list[str]:
    """The distinct values of a top-level resource in the stored events ``reader`` may read
    (None: all), in order, after ``after``: EPCs (instances, classes and lots) as their
    canonical GS1 Digital Links, the others as stored."""
    column_name, _ = RESOURCES[resource]
    column = E.c[column_name] if column_name else K.c.value
    present = column.is_not(None) if column_name else K.c.role.in_(_EPC_ROLES)
    stmt = select(column).where(present).group_by(column).order_by(column)
    if reader is not None:
        stmt = stmt.where(visible(reader))
        if not column_name:
            stmt = stmt.where(K.c.seq == E.c.seq)
    if after is not None:
        stmt = stmt.where(column > after)
    return [str(v) for v in conn.execute(stmt.limit(size)).scalars()]


def resource_parameter(
    conn: Connection, resource: str, value: str, reader: Grants | None = None
) -> str | None:
    """The query parameter that selects the stored events ``reader`` may read holding
    ``value`` in the resource's field; None when none does."""
    for param in RESOURCES[resource][1]:
        where = SimpleEventQuery({param: [value]}, reader)._where(conn)
        if conn.execute(select(E.c.seq).where(*where).limit(1)).first() is not None:
            return param
    return None


def last_entry_before(conn: Connection, record_time: int | None) -> int:
    """The ledger entry of the last event recorded before ``record_time`` (ms since the
    epoch; None: the last event), 0 when none is: where a subscription starts."""
    stmt = select(func.max(E.c.seq))
    if record_time is not None:
        stmt = stmt.where(E.c.record_time < record_time)
    return int(conn.execute(stmt).scalar_one() or 0)
