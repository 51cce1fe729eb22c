"""Semantic rules of EPCIS 2.0 events, checked on the model so both syntaxes obey the same ones.

These are the structural rules of the EPCIS 2.0 JSON Schema and XSD per event type (which
fields a type may carry, which it must), plus what the schema leaves out: GS1 identifiers
(EPC URI / Digital Link syntax and check digits), UN/CEFACT Rec. 20 unit codes, absolute URIs,
non-negative quantities. CBV vocabulary and timestamp syntax are checked while reading.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from batterytrace.epcis.model import (
    Action,
    Document,
    DocumentKind,
    Event,
    EventType,
    Extension,
    QuantityElement,
)
from batterytrace.epcis.timestamps import local_time
from batterytrace.epcis.vocab import is_absolute_uri
from batterytrace.errors import FieldError, InvalidDocument, InvalidIdentifier, event_error
from batterytrace.identifiers import validate_identifier
from batterytrace.limits import EXTENSION_VALUE, IDENTIFIER
from batterytrace.units import is_rec20

_COMMON = {
    "type", "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo",
    "errorDeclaration", "bizStep", "disposition", "readPoint", "bizLocation",
    "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "extensions",
}  # fmt: skip

# EPCIS 2.0 §7.4: the fields each event type has beyond the common ones.
ALLOWED: dict[EventType, frozenset[str]] = {
    EventType.OBJECT: frozenset(
        _COMMON | {"epcList", "quantityList", "action", "persistentDisposition", "ilmd"}
    ),
    EventType.AGGREGATION: frozenset(
        _COMMON | {"parentID", "childEPCs", "childQuantityList", "action", "persistentDisposition"}
    ),
    EventType.TRANSACTION: frozenset(
        _COMMON | {"parentID", "epcList", "quantityList", "action", "persistentDisposition"}
    ),
    EventType.TRANSFORMATION: frozenset(
        _COMMON
        | {
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "transformationID",
            "persistentDisposition",
            "ilmd",
        }
    ),
    EventType.ASSOCIATION: frozenset(
        _COMMON | {"parentID", "childEPCs", "childQuantityList", "action"}
    ),
}
_FLOOR = IDENTIFIER.floor
_VALUE_FLOOR = EXTENSION_VALUE.floor
_EMPTY: dict[str, object] = {
    name: Event.__dataclass_fields__[name].default for name in Event.__dataclass_fields__
}


def check_event(event: Event) -> None:
    """Raise FieldError for the first rule the event breaks."""
    kind = event.type
    allowed = ALLOWED[kind]
    for name, empty in _EMPTY.items():
        if name not in allowed and getattr(event, name) != empty:
            raise FieldError(name, f"is not a field of {kind.value}")
    try:  # the clock custody and carbon read it on (decision 014)
        local_time(event.eventTime, event.eventTimeZoneOffset)
    except OverflowError:
        raise FieldError(
            "eventTime", "falls outside the years 1 to 9999 on the clock of its eventTimeZoneOffset"
        ) from None
    _check_shape(event)
    _check_uris(event)
    _check_extension_values(event)
    for name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        _check_quantities(getattr(event, name), name)
    for i, element in enumerate(event.sensorElementList):
        for j, report in enumerate(element.sensorReport):
            if report.uom is not None and not is_rec20(report.uom):
                field = f"sensorElementList[{i}].sensorReport[{j}].uom"
                raise FieldError(
                    field, f"{report.uom!r} is not a known UN/CEFACT Rec. 20 unit code"
                )
            if report.hexBinaryValue is not None and not _is_hex(report.hexBinaryValue):
                field = f"sensorElementList[{i}].sensorReport[{j}].hexBinaryValue"
                raise FieldError(field, "must be hexadecimal digits")


def _check_shape(e: Event) -> None:
    kind = e.type
    if kind is EventType.TRANSFORMATION:
        if e.action is not None:
            raise FieldError("action", "TransformationEvent has no action")
        has_in = bool(e.inputEPCList or e.inputQuantityList)
        has_out = bool(e.outputEPCList or e.outputQuantityList)
        if not e.transformationID and not (has_in and has_out):
            raise FieldError(
                "inputEPCList/outputEPCList",
                "a TransformationEvent needs inputs and outputs, or a transformationID",
            )
        if e.transformationID and not (has_in or has_out):
            raise FieldError("inputEPCList/outputEPCList", "needs at least one input or output")
        return
    if e.action is None:
        raise FieldError("action", f"is required in {kind.value}")
    deleting = e.action is Action.DELETE
    if kind is EventType.OBJECT:
        if e.ilmd and e.action is not Action.ADD:
            raise FieldError("ilmd", "is only allowed with action ADD")
        if not (e.epcList or e.quantityList or (e.sensorElementList and e.readPoint)):
            raise FieldError(
                "epcList/quantityList",
                "an ObjectEvent needs EPCs, quantities, or sensor data with a readPoint",
            )
    elif kind in (EventType.AGGREGATION, EventType.ASSOCIATION):
        if e.parentID is None and (kind is EventType.ASSOCIATION or not deleting):
            raise FieldError("parentID", f"is required in {kind.value} with action {e.action}")
        if not deleting and not (e.childEPCs or e.childQuantityList):
            raise FieldError("childEPCs/childQuantityList", f"required with action {e.action}")
    elif kind is EventType.TRANSACTION:
        if not e.bizTransactionList:
            raise FieldError("bizTransactionList", "a TransactionEvent needs at least one")
        if not deleting and not (e.epcList or e.quantityList):
            raise FieldError("epcList/quantityList", f"required with action {e.action}")


def _identifiers(field: str, values: Iterable[str]) -> None:
    for i, value in enumerate(values):
        _identifier(f"{field}[{i}]", value)


def _uri(field: str, value: str) -> None:
    """An absolute URI within the identifier length limit (the length is checked first)."""
    if len(value) > _FLOOR:  # at or below the floor, no limit can refuse it
        rule = IDENTIFIER.over(len(value))
        if rule is not None:
            raise FieldError(field, rule)
    if not is_absolute_uri(value):
        raise FieldError(field, f"{value!r} is not an absolute URI")


def _identifier(field: str, value: str) -> None:
    _uri(field, value)
    try:
        validate_identifier(value)
    except InvalidIdentifier as exc:
        raise FieldError(field, str(exc)) from None


def _check_uris(e: Event) -> None:
    if e.eventID is not None:
        _uri("eventID", e.eventID)
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        _identifiers(name, getattr(e, name))
    if e.parentID is not None:
        _identifier("parentID", e.parentID)
    for name in ("readPoint", "bizLocation"):
        location = getattr(e, name)
        if location is not None:
            _identifier(f"{name}.id", location.id)
    for i, b in enumerate(e.bizTransactionList):
        _identifier(f"bizTransactionList[{i}].bizTransaction", b.bizTransaction)
    for name in ("sourceList", "destinationList"):
        for i, sd in enumerate(getattr(e, name)):
            _identifier(f"{name}[{i}]", sd.id)
    for i, uri in enumerate(e.certificationInfo):
        _uri(f"certificationInfo[{i}]", uri)
    if e.errorDeclaration is not None:
        for i, uri in enumerate(e.errorDeclaration.correctiveEventIDs):
            _uri(f"errorDeclaration.correctiveEventIDs[{i}]", uri)


def _extension_groups(e: Event) -> Iterable[tuple[str, tuple[Extension, ...]]]:
    """Every place of an event that holds user extensions, with its field path."""
    yield "", e.extensions
    yield "ilmd.", e.ilmd
    for name in ("readPoint", "bizLocation", "errorDeclaration"):
        part = getattr(e, name)
        if part is not None:
            yield f"{name}.", part.extensions
    for i, element in enumerate(e.sensorElementList):
        where = f"sensorElementList[{i}]"
        yield f"{where}.", element.extensions
        if element.sensorMetadata is not None:
            yield f"{where}.sensorMetadata.", element.sensorMetadata.extensions
        for j, report in enumerate(element.sensorReport):
            yield f"{where}.sensorReport[{j}].", report.extensions


def _long_values(extensions: Iterable[Extension]) -> bool:
    """Whether any value, at any depth, is longer than the extension limit's floor."""
    for x in extensions:
        value = x.value
        if (type(value) is str and len(value) > _VALUE_FLOOR) or (
            x.children and _long_values(x.children)
        ):
            return True
    return False


def _check_extension_values(e: Event) -> None:
    """No user extension value longer than the limit, at any depth."""
    groups = list(_extension_groups(e))
    if not any(_long_values(group) for _, group in groups):
        return  # the common case: nothing to name
    stack = [(where, ext) for where, group in groups for ext in group]
    while stack:
        where, ext = stack.pop()
        if isinstance(ext.value, str):
            rule = EXTENSION_VALUE.over(len(ext.value))
            if rule is not None:
                raise FieldError(f"{where}{ext.name}", rule)
        stack.extend((f"{where}{ext.name}.", child) for child in ext.children)


def _check_quantities(items: tuple[QuantityElement, ...], field: str) -> None:
    for i, q in enumerate(items):
        where = f"{field}[{i}]"
        _identifier(f"{where}.epcClass", q.epcClass)
        if q.quantity is not None and not 0 <= q.quantity < math.inf:
            rule = "must not be negative" if q.quantity < 0 else "must be a finite number"
            raise FieldError(f"{where}.quantity", f"{q.quantity} {rule}")
        if q.uom is not None:
            if not is_rec20(q.uom):
                raise FieldError(
                    f"{where}.uom", f"{q.uom!r} is not a known UN/CEFACT Rec. 20 unit code"
                )
            if q.quantity is None:
                raise FieldError(f"{where}.uom", "a unit needs a quantity")


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


def check_header(doc: Document) -> None:
    """Header rules both syntaxes share (the XSD and the JSON Schema require a queryName)."""
    if doc.kind is DocumentKind.QUERY and doc.queryName is None:
        raise InvalidDocument("document: queryName: is required in an EPCISQueryDocument")


def check_document(doc: Document) -> None:
    """Check the header and every event; the error names the event, the field and the rule."""
    check_header(doc)
    for index, event in enumerate(doc.events):
        try:
            check_event(event)
        except FieldError as exc:
            raise event_error(index, event.eventID, exc) from None
