"""The EPCIS 2.0 XML syntax (EPCIS 2.0 §9, XSD ``EPCglobal-epcis-2_0.xsd``) ↔ the model.

Reading is one streaming pass of :func:`lxml.etree.iterparse` over 'start' and 'end' events:
the header (root attributes, ``EPCISHeader``, and ``queryName``/``subscriptionID`` of a query
document) is complete when the ``EventList`` start tag is reached, because it all comes
before that tag; each event is converted at its end tag, then cleared and dropped with its
preceding siblings, so memory stays constant whatever the size of the file.

What the reader accepts beyond the letter of the XSD, because published 2.0 files do it:

- the EPCIS 1.x namespaces ``urn:epcglobal:epcis:xsd:1`` / ``urn:epcglobal:epcis-query:xsd:1``
  on the root (the CBV 2.0 event-hash test vectors use them);
- event elements and fields qualified with the EPCIS namespace (``<epcis:eventTime>``);
- fields in any order;
- the 1.x ``<extension>`` / ``<baseExtension>`` wrappers, read as if their content stood in
  their place (the writer writes the 2.0 form, without wrappers);
- namespaced child elements in ``sensorMetadata`` / ``sensorReport`` (the XSD only has
  extension attributes there): both become ``extensions``.

Structure is checked here since no XSD is at hand: unknown un-namespaced elements, missing
required children, numbers, timestamps, ``action`` and CBV vocabulary. Identifiers, units and
which fields each event type needs are checked by :mod:`batterytrace.epcis.rules` on the model.
An error inside an event names it by its 0-based position in the event list (and its eventID
when it has one), then the field path, e.g. ``event 3 (urn:uuid:…): quantityList[0].quantity:
'ten' is not a number``.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TypeVar, cast

from lxml import etree
from lxml.etree import _Element

from batterytrace.epcis import vocab
from batterytrace.epcis.model import (
    Action,
    BizTransaction,
    Document,
    DocumentKind,
    ErrorDeclaration,
    Event,
    EventType,
    Extension,
    Location,
    PersistentDisposition,
    QuantityElement,
    Scalar,
    SensorElement,
    SensorMetadata,
    SensorReport,
    SourceDest,
    Vocabulary,
    VocabularyAttribute,
    VocabularyElement,
)
from batterytrace.epcis.timestamps import check_offset, format_timestamp, parse_timestamp
from batterytrace.errors import FieldError, InvalidDocument, event_error
from batterytrace.json_input import MAX_DEPTH

EPCIS_NS = "urn:epcglobal:epcis:xsd:2"
EPCIS_QUERY_NS = "urn:epcglobal:epcis-query:xsd:2"
_EPCIS1_NS = "urn:epcglobal:epcis:xsd:1"
_EPCIS1_QUERY_NS = "urn:epcglobal:epcis-query:xsd:1"
SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_XSI_TYPE = f"{{{XSI_NS}}}type"
_XSI_NIL = f"{{{XSI_NS}}}nil"

# Elements in no namespace or in an EPCIS namespace are EPCIS structure; any other namespace
# makes an element a user extension.
_STANDARD = frozenset({None, EPCIS_NS, EPCIS_QUERY_NS, _EPCIS1_NS, _EPCIS1_QUERY_NS})
_WRAPPERS = frozenset({"extension", "baseExtension"})
_EVENT_TYPES = frozenset(t.value for t in EventType)

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_NCNAME = re.compile(r"[A-Za-z_][\w.-]*")

_T = TypeVar("_T")
_Reader = Callable[[_Element], Any]


# --- reading: elements --------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _split(tag: str) -> tuple[str | None, str]:
    """``{namespace}local`` → (namespace, local); (None, tag) when un-namespaced."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def _std_name(el: _Element) -> str | None:
    """The local name of an EPCIS structure element, None for an extension element."""
    namespace, local = _split(el.tag)
    return local if namespace in _STANDARD else None


def _display(el: _Element) -> str:
    """The element name as written (``ext1:float``), for error messages."""
    local = _split(el.tag)[1]
    return f"{el.prefix}:{local}" if el.prefix else local


def _elements(el: _Element) -> Iterator[_Element]:
    """Child elements; entity references are skipped (comments and PIs are never parsed)."""
    return (child for child in el if isinstance(child.tag, str))


def _attributes(el: _Element) -> Iterator[tuple[str, str]]:
    return ((cast(str, key), cast(str, value)) for key, value in el.items())


def _fields(el: _Element) -> Iterator[tuple[str | None, _Element]]:
    """(EPCIS name or None for an extension, element) for each child, through 1.x wrappers."""
    for child in _elements(el):
        name = _std_name(child)
        if name in _WRAPPERS:
            yield from _fields(child)
        else:
            yield name, child


def _nested(err: FieldError, parent: str) -> FieldError:
    """``err`` seen from ``parent``; list positions attach without a dot (``epcList[2]``)."""
    if err.field.startswith("["):
        return FieldError(parent + err.field, err.rule)
    return err.nested(parent)


def _unknown(child: _Element, name: str | None, where: str) -> FieldError:
    if name is None:
        return FieldError(_display(child), f"extensions are not allowed in {where}")
    return FieldError(name, f"not an EPCIS 2.0 field of {where}; extensions need a namespace")


def _struct(
    el: _Element,
    where: str,
    readers: Mapping[str, _Reader],
    extensions: list[Extension] | None = None,
    repeated: Collection[str] = (),
) -> dict[str, Any]:
    """Read an EPCIS structure: each known child with its reader, extension children into
    ``extensions`` where the XSD has an ``xsd:any`` wildcard; anything else is an error.

    Readers raise FieldError with the field relative to the child; it is nested here.
    """
    values: dict[str, Any] = {}
    for name, child in _fields(el):
        if name is None and extensions is not None:
            extensions.append(_extension(child))
            continue
        read = None if name is None else readers.get(name)
        if name is None or read is None:
            raise _unknown(child, name, where)
        if name in repeated:
            items = values.setdefault(name, [])
            items.append(_read(read, child, f"{name}[{len(items)}]"))
        elif name in values:
            raise FieldError(name, "appears more than once")
        else:
            values[name] = _read(read, child, name)
    for name in repeated:
        if name in values:
            values[name] = tuple(values[name])
    return values


def _read(read: _Reader, el: _Element, path: str) -> Any:
    try:
        return read(el)
    except FieldError as err:
        raise _nested(err, path) from None


def _required(values: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if name not in values:
            raise FieldError(name, "is required")


def _text(el: _Element) -> str:
    """The value of a simple EPCIS field: non-empty text, no child elements."""
    child = next(_elements(el), None)
    if child is not None:
        raise FieldError("", f"must be a value, found element <{_display(child)}>")
    text = (el.text or "").strip()
    if not text:
        raise FieldError("", "must not be empty")
    return text


def _number(text: str, field: str) -> float:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise FieldError(field, f"{text!r} is not a number")
    number = float(text)
    if not math.isfinite(number):
        raise FieldError(field, f"must be a finite number, got {text!r}")
    return number


def _boolean(text: str, field: str) -> bool:
    value = _BOOLEANS.get(text.strip())
    if value is None:
        raise FieldError(field, f"{text!r} is not a boolean (true, false, 1, 0)")
    return value


def _normalise(vocabulary: vocab.Vocabulary, text: str, field: str) -> str:
    """A CBV value in the model's form (see vocab.Vocabulary.normalise)."""
    try:
        return vocabulary.normalise(text)
    except ValueError as exc:
        raise FieldError(field, str(exc)) from None


def _vocabulary(vocabulary: vocab.Vocabulary) -> _Reader:
    return lambda el: _normalise(vocabulary, _text(el), "")


def _list(
    name: str, item: str, read: Callable[[_Element], _T]
) -> Callable[[_Element], tuple[_T, ...]]:
    """A list element (``epcList``) of repeated ``item`` elements."""

    def read_list(el: _Element) -> tuple[_T, ...]:
        try:
            values = _struct(el, name, {item: read}, repeated=(item,))
        except FieldError as err:
            if err.field.startswith(f"{item}["):
                raise FieldError(err.field[len(item) :], err.rule) from None
            raise
        items: tuple[_T, ...] = values.get(item, ())
        return items

    return read_list


def _timestamp(el: _Element) -> datetime:
    return parse_timestamp(_text(el), "")


def _offset(el: _Element) -> str:
    return check_offset(_text(el), "")


def _action(el: _Element) -> Action:
    text = _text(el)
    try:
        return Action(text)
    except ValueError:
        raise FieldError("", f"{text!r} is not an action (ADD, OBSERVE, DELETE)") from None


def _quantity(el: _Element) -> QuantityElement:
    values = _struct(
        el, "quantityElement", {"epcClass": _text, "quantity": _quantity_value, "uom": _text}
    )
    _required(values, "epcClass")
    return QuantityElement(**values)


def _quantity_value(el: _Element) -> float | None:
    if el.get(_XSI_NIL) in ("true", "1"):
        return None
    return _number(_text(el), "")


def _location(el: _Element) -> Location:
    extensions: list[Extension] = []
    values = _struct(el, _split(el.tag)[1], {"id": _text}, extensions)
    _required(values, "id")
    return Location(values["id"], tuple(extensions))


def _biz_transaction(el: _Element) -> BizTransaction:
    kind = el.get("type")
    if kind is None:
        return BizTransaction(_text(el))
    return BizTransaction(_text(el), _normalise(vocab.BIZ_TRANSACTION_TYPE, kind, "type"))


def _source_dest(el: _Element) -> SourceDest:
    kind = el.get("type")
    if kind is None:
        raise FieldError("type", "is required")
    return SourceDest(_normalise(vocab.SOURCE_DEST_TYPE, kind, "type"), _text(el))


def _persistent_disposition(el: _Element) -> PersistentDisposition:
    disposition = _vocabulary(vocab.DISPOSITION)
    values = _struct(
        el,
        "persistentDisposition",
        {"set": disposition, "unset": disposition},
        repeated=("set", "unset"),
    )
    return PersistentDisposition(**values)


def _error_declaration(el: _Element) -> ErrorDeclaration:
    extensions: list[Extension] = []
    readers: dict[str, _Reader] = {
        "declarationTime": _timestamp,
        "reason": _vocabulary(vocab.ERROR_REASON),
        "correctiveEventIDs": _list("correctiveEventIDs", "correctiveEventID", _text),
    }
    values = _struct(el, "errorDeclaration", readers, extensions)
    _required(values, "declarationTime")
    return ErrorDeclaration(**values, extensions=tuple(extensions))


def _ilmd(el: _Element) -> tuple[Extension, ...]:
    extensions: list[Extension] = []
    _struct(el, "ilmd", {}, extensions)
    return tuple(extensions)


# Sensor data: values are attributes of sensorMetadata / sensorReport (XSD SensorReportType).
_SENSOR_VOCABULARIES = {
    "type": (vocab.MEASUREMENT_TYPE, "gs1:"),
    "exception": (vocab.SENSOR_ALERT, "gs1:"),
    "component": (vocab.COMPONENT, "cbv:Comp-"),
}
_SENSOR_TIMES = frozenset({"time", "startTime", "endTime"})
_SENSOR_NUMBERS = frozenset(
    {"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"}
)
_METADATA_ATTRIBUTES = frozenset(f.name for f in fields(SensorMetadata)) - {"extensions"}
_REPORT_ATTRIBUTES = frozenset(f.name for f in fields(SensorReport)) - {"extensions"}

_Part = TypeVar("_Part", SensorMetadata, SensorReport)


def _sensor_value(el: _Element, name: str, text: str) -> Any:
    if name in _SENSOR_TIMES:
        return parse_timestamp(text, name)
    if name in _SENSOR_NUMBERS:
        return _number(text, name)
    if name == "booleanValue":
        return _boolean(text, name)
    if name in _SENSOR_VOCABULARIES:
        return _normalise(_SENSOR_VOCABULARIES[name][0], text, name)
    return text.strip()


def _sensor_part(el: _Element, cls: type[_Part], allowed: frozenset[str]) -> _Part:
    where = _split(el.tag)[1]
    values: dict[str, Any] = {}
    extensions: list[Extension] = []
    for key, text in _attributes(el):
        namespace, local = _split(key)
        if namespace == XSI_NS:
            continue
        if namespace is not None:
            extensions.append(Extension(namespace, local, text))
        elif local in allowed:
            values[local] = _sensor_value(el, local, text)
        else:
            raise FieldError(
                local, f"not an EPCIS 2.0 attribute of {where}; extensions need a namespace"
            )
    for name, child in _fields(el):
        if name is not None:
            raise _unknown(child, name, where)
        extensions.append(_extension(child))
    if (el.text or "").strip():
        raise FieldError("", "text content is not supported (sensor data are attributes)")
    return cls(**values, extensions=tuple(extensions))


def _sensor_element(el: _Element) -> SensorElement:
    extensions: list[Extension] = []
    readers: dict[str, _Reader] = {
        "sensorMetadata": lambda e: _sensor_part(e, SensorMetadata, _METADATA_ATTRIBUTES),
        "sensorReport": lambda e: _sensor_part(e, SensorReport, _REPORT_ATTRIBUTES),
    }
    values = _struct(el, "sensorElement", readers, extensions, repeated=("sensorReport",))
    _required(values, "sensorReport")
    return SensorElement(**values, extensions=tuple(extensions))


_EVENT_READERS: dict[str, _Reader] = {
    "eventTime": _timestamp,
    "recordTime": _timestamp,
    "eventTimeZoneOffset": _offset,
    "eventID": _text,
    "certificationInfo": _text,
    "errorDeclaration": _error_declaration,
    "parentID": _text,
    "epcList": _list("epcList", "epc", _text),
    "childEPCs": _list("childEPCs", "epc", _text),
    "inputEPCList": _list("inputEPCList", "epc", _text),
    "outputEPCList": _list("outputEPCList", "epc", _text),
    "quantityList": _list("quantityList", "quantityElement", _quantity),
    "childQuantityList": _list("childQuantityList", "quantityElement", _quantity),
    "inputQuantityList": _list("inputQuantityList", "quantityElement", _quantity),
    "outputQuantityList": _list("outputQuantityList", "quantityElement", _quantity),
    "action": _action,
    "transformationID": _text,
    "bizStep": _vocabulary(vocab.BIZ_STEP),
    "disposition": _vocabulary(vocab.DISPOSITION),
    "persistentDisposition": _persistent_disposition,
    "readPoint": _location,
    "bizLocation": _location,
    "bizTransactionList": _list("bizTransactionList", "bizTransaction", _biz_transaction),
    "sourceList": _list("sourceList", "source", _source_dest),
    "destinationList": _list("destinationList", "destination", _source_dest),
    "sensorElementList": _list("sensorElementList", "sensorElement", _sensor_element),
    "ilmd": _ilmd,
}


def _event(el: _Element, index: int) -> Event:
    """One event element; a FieldError becomes the one-line event rejection."""
    try:
        name = _std_name(el)
        if name not in _EVENT_TYPES:
            raise FieldError(_display(el), "not an EPCIS 2.0 event type")
        kind = EventType(name)
        extensions: list[Extension] = []
        values = _struct(el, kind.value, _EVENT_READERS, extensions, ("certificationInfo",))
        _required(values, "eventTime", "eventTimeZoneOffset")
        return Event(type=kind, extensions=tuple(extensions), **values)
    except FieldError as err:
        raise event_error(index, _event_id(el), err) from None


def _event_id(el: _Element) -> str | None:
    for name, child in _fields(el):
        if name == "eventID":
            return (child.text or "").strip() or None
    return None


# --- reading: user extensions -----------------------------------------------------------------


def _extension(el: _Element) -> Extension:
    namespace, local = _split(el.tag)
    try:
        value, children = _content(el)
    except FieldError as err:
        raise _nested(err, _display(el)) from None
    return Extension(namespace or "", local, value, children)


def _content(
    el: _Element, skip: Collection[str] = ()
) -> tuple[Scalar | None, tuple[Extension, ...]]:
    """Value and children of an extension element (or a master-data attribute).

    XML attributes (but xsi:*) come first as child nodes, as the OpenEPCIS converter reads
    them, then child elements. The stripped text is the value, typed by xsi:type; empty or
    whitespace-only text is no value (as ``""`` is in JSON-LD).
    """
    children = [
        Extension(namespace or "", local, text)
        for key, text in _attributes(el)
        if key not in skip
        for namespace, local in [_split(key)]
        if namespace != XSI_NS
    ]
    elements = list(_elements(el))
    children.extend(_extension(child) for child in elements)
    text = "".join(t for t in [el.text, *(child.tail for child in elements)] if t).strip()
    return (_typed(el, text) if text else None), tuple(children)


def _typed(el: _Element, text: str) -> Scalar:
    """xsd:integer/int/long → int, xsd:double/decimal/float → float, xsd:boolean → bool."""
    prefix, _, kind = (el.get(_XSI_TYPE) or "").strip().rpartition(":")
    if prefix and el.nsmap.get(prefix, XSD_NS) != XSD_NS:
        return text
    if kind in ("integer", "int", "long"):
        if not _INTEGER.fullmatch(text):
            raise FieldError("", f"{text!r} is not an xsd:{kind}")
        # counted before int(): Python refuses more than 4,300 digits with its own error
        if len(text.lstrip("+-0")) > 20 or not -(2**63) <= int(text) < 2**64:
            shown = text if len(text) <= 24 else f"{text[:24]}…"
            raise FieldError("", f"xsd:{kind} {shown} is beyond the 64 bits stored")
        return int(text)
    if kind in ("double", "decimal", "float"):
        return _number(text, "")
    if kind == "boolean":
        return _boolean(text, "")
    return text


# --- reading: document header ---------------------------------------------------------------


def _child(el: _Element, name: str) -> _Element | None:
    return next((child for child in _elements(el) if _std_name(child) == name), None)


def _child_text(el: _Element, name: str) -> str | None:
    child = _child(el, name)
    return None if child is None else (child.text or "").strip()


def _kind(root: _Element) -> DocumentKind:
    namespace, local = _split(root.tag)
    if local == "EPCISDocument" and namespace in (EPCIS_NS, _EPCIS1_NS):
        return DocumentKind.CAPTURE
    if local == "EPCISQueryDocument" and namespace in (EPCIS_QUERY_NS, _EPCIS1_QUERY_NS):
        return DocumentKind.QUERY
    raise InvalidDocument(
        f"not an EPCIS document: the root element is <{root.tag}>, expected EPCISDocument in "
        f"{EPCIS_NS} or EPCISQueryDocument in {EPCIS_QUERY_NS}"
    )


def _header(root: _Element, kind: DocumentKind, event_list: _Element | None) -> Document:
    """The document without its events, from the part of the tree read so far."""
    creation = root.get("creationDate")
    version = root.get("schemaVersion")
    if creation is None or version is None:
        missing = "creationDate" if creation is None else "schemaVersion"
        raise FieldError(missing, f"is required (an attribute of {_split(root.tag)[1]})")
    header = _child(root, "EPCISHeader")
    body = _child(root, "EPCISBody")
    if event_list is None and body is None:
        raise InvalidDocument(f"{_split(root.tag)[1]} has no EPCISBody")
    results: _Element | None = None
    if kind is DocumentKind.QUERY:
        results = _results(event_list, body)
    sbdh = None if header is None else header.find(f"{{{SBDH_NS}}}StandardBusinessDocumentHeader")
    return Document(
        kind=kind,
        schemaVersion=version.strip(),
        creationDate=parse_timestamp(creation, "creationDate"),
        instanceIdentifier=_sbdh_text(sbdh, "DocumentIdentification", "InstanceIdentifier"),
        sender=_sbdh_text(sbdh, "Sender", "Identifier"),
        receiver=_sbdh_text(sbdh, "Receiver", "Identifier"),
        masterData=() if header is None else _master_data(header),
        queryName=None if results is None else _child_text(results, "queryName"),
        subscriptionID=None if results is None else _child_text(results, "subscriptionID"),
        extensions=_leading_extensions(root, event_list if event_list is not None else body),
        namespaces={prefix: uri for prefix, uri in root.nsmap.items() if prefix},
    )


def _leading_extensions(root: _Element, body: _Element | None) -> tuple[Extension, ...]:
    """Document-level extensions before the part that holds the events (those after it are
    read once the events are done: iterparse may have built them already, not yet ended)."""
    top = body
    while top is not None and top.getparent() is not root:
        top = top.getparent()
    out = []
    for child in _elements(root):
        if child is top:
            break
        if _std_name(child) is None:
            out.append(_extension(child))
    return tuple(out)


def _results(event_list: _Element | None, body: _Element | None) -> _Element:
    """The element holding queryName and resultsBody: the grandparent of the EventList."""
    parent = None if event_list is None else event_list.getparent()
    results = None if parent is None else parent.getparent()
    if results is None and body is not None:
        results = _child(body, "QueryResults")
    if results is None:
        found = "nothing" if body is None else ", ".join(_display(c) for c in _elements(body))
        raise InvalidDocument(f"EPCISQueryDocument without QueryResults (EPCISBody holds {found})")
    return results


def _sbdh_text(sbdh: _Element | None, *path: str) -> str | None:
    """Sender, receiver and instance identifier live in the StandardBusinessDocumentHeader."""
    if sbdh is None:
        return None
    text = sbdh.findtext("/".join(f"{{{SBDH_NS}}}{name}" for name in path))
    return None if text is None else text.strip()


def _master_data(header: _Element) -> tuple[Vocabulary, ...]:
    """EPCISHeader/extension/EPCISMasterData (also accepted directly under EPCISHeader)."""
    master = next((c for name, c in _fields(header) if name == "EPCISMasterData"), None)
    if master is None:
        return ()
    vocabularies: list[Vocabulary] = []
    for name, vocabulary_list in _fields(master):
        if name != "VocabularyList":
            continue
        for element in _elements(vocabulary_list):
            path = f"masterData[{len(vocabularies)}]"
            vocabularies.append(_master_vocabulary(element, path))
    return tuple(vocabularies)


def _master_vocabulary(el: _Element, path: str) -> Vocabulary:
    kind = el.get("type")
    if kind is None:
        raise FieldError(f"{path}.type", "is required")
    elements: list[VocabularyElement] = []
    for name, element_list in _fields(el):
        if name != "VocabularyElementList":
            continue
        for element in _elements(element_list):
            element_path = f"{path}.VocabularyElement[{len(elements)}]"
            elements.append(_master_element(element, element_path))
    return Vocabulary(kind.strip(), tuple(elements))


def _master_element(el: _Element, path: str) -> VocabularyElement:
    identifier = el.get("id")
    if identifier is None:
        raise FieldError(f"{path}.id", "is required")
    attributes: list[VocabularyAttribute] = []
    children: list[str] = []
    for name, child in _fields(el):
        if name == "attribute":
            attribute_id = child.get("id")
            if attribute_id is None:
                raise FieldError(f"{path}.attribute[{len(attributes)}].id", "is required")
            value, content = _content(child, skip=("id",))
            attributes.append(VocabularyAttribute(attribute_id.strip(), value, content))
        elif name == "children":
            children.extend((c.text or "").strip() for c in _elements(child))
    return VocabularyElement(identifier.strip(), tuple(attributes), tuple(children))


# --- reading: the stream ----------------------------------------------------------------------


def _not_well_formed(exc: etree.XMLSyntaxError) -> str:
    """One line with the place and libxml's rule, without its hints to programmers (", use
    XML_PARSE_HUGE option"), the internal values it adds in parentheses, nor the input it
    quotes."""
    rule = re.split(r",|\\n|\n", exc.msg or "syntax error", maxsplit=1)[0]  # no quoted input
    rule = re.sub(r"\s*\(.*$", "", rule).strip() or "syntax error"
    line, column = exc.position if exc.position else (exc.lineno, 0)
    return f"XML not well-formed at line {line}, column {column}: {rule}"


class _Stream:
    """One pass of iterparse over a document: :meth:`header` first, then :meth:`events`."""

    def __init__(self, source: str | IO[bytes]) -> None:
        self._steps = self._parse(source)

    @staticmethod
    def _parse(source: str | IO[bytes]) -> Iterator[tuple[str, _Element]]:
        parser: Iterable[tuple[str, _Element]] = etree.iterparse(
            source, events=("start", "end"), remove_comments=True, remove_pis=True
        )
        depth = 0
        try:
            for action, el in parser:
                depth += 1 if action == "start" else -1
                if depth > MAX_DEPTH:  # before the readers' recursion over an element's children
                    raise InvalidDocument(
                        f"line {el.sourceline}: {_display(el)}: elements nested deeper than "
                        f"{MAX_DEPTH} levels (the limit)"
                    )
                yield action, el
        except etree.XMLSyntaxError as exc:
            raise InvalidDocument(_not_well_formed(exc)) from None

    def header(self) -> Document:
        """Read up to the EventList start tag (or the end) and build the header."""
        _, root = next(self._steps)
        kind = _kind(root)
        for action, el in self._steps:
            if action == "start" and _std_name(el) == "EventList":
                return _header(root, kind, el)
        return _header(root, kind, None)

    def events(self, document: Document) -> Iterator[Event]:
        """The events of the EventList; each is dropped from the tree once converted.

        Namespace prefixes declared on events are added to ``document.namespaces``.
        """
        depth = 0  # relative to the EventList
        in_wrapper = False  # inside a 1.x <EventList><extension>
        index = 0
        for action, el in self._steps:
            if action == "start":
                depth += 1
                in_wrapper = in_wrapper or (depth == 1 and _std_name(el) in _WRAPPERS)
                continue
            depth -= 1
            if depth < 0:
                break
            if depth == 0 and in_wrapper:
                in_wrapper = False
            elif depth == (1 if in_wrapper else 0):
                for prefix, uri in el.nsmap.items():
                    if prefix:
                        document.namespaces.setdefault(prefix, uri)
                event = _event(el, index)
                index += 1
                el.clear()
                parent = el.getparent()
                if parent is not None:
                    del parent[: parent.index(el)]
                yield event
        for action, el in self._steps:  # a well-formedness error after the events still counts
            parent = el.getparent()
            at_top = action == "end" and parent is not None and parent.getparent() is None
            if at_top and _std_name(el) is None:  # a document-level extension after the body
                document.extensions += (_extension(el),)


def _open(source: bytes | str | Path) -> tuple[Document, Iterator[Event]]:
    if isinstance(source, Path):
        stream = _Stream(str(source))
    else:
        stream = _Stream(io.BytesIO(source.encode() if isinstance(source, str) else source))
    document = stream.header()
    return document, stream.events(document)


def read_document(source: bytes | str | Path) -> Document:
    """An EPCISDocument or EPCISQueryDocument: XML text (bytes or str) or a file (Path).

    A str must be UTF-8 if it carries an encoding declaration.
    """
    document, events = _open(source)
    document.events.extend(events)
    return document


def iter_document(path: Path) -> tuple[Document, Iterator[Event]]:
    """Stream a file of any size: its header (``events`` left empty) and an event iterator.

    The header is read before this returns; events are parsed as the iterator is consumed,
    in constant memory. Errors in an event are raised when the iterator reaches it.
    """
    return _open(path)


# --- writing ------------------------------------------------------------------------------------

_COMMON_ORDER = (
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "errorDeclaration",
    "certificationInfo",
)
# EPCIS 2.0 XSD sequence of each event type after the common fields.
_XSD_ORDER = {
    EventType.OBJECT: (
        "epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation",
        "bizTransactionList", "quantityList", "sourceList", "destinationList",
        "sensorElementList", "persistentDisposition", "ilmd",
    ),
    EventType.AGGREGATION: (
        "parentID", "childEPCs", "action", "bizStep", "disposition", "readPoint", "bizLocation",
        "bizTransactionList", "childQuantityList", "sourceList", "destinationList",
        "sensorElementList", "persistentDisposition",
    ),
    EventType.TRANSACTION: (
        "bizTransactionList", "parentID", "epcList", "action", "bizStep", "disposition",
        "readPoint", "bizLocation", "quantityList", "sourceList", "destinationList",
        "sensorElementList", "persistentDisposition",
    ),
    EventType.TRANSFORMATION: (
        "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
        "transformationID", "bizStep", "disposition", "readPoint", "bizLocation",
        "bizTransactionList", "sourceList", "destinationList", "sensorElementList",
        "persistentDisposition", "ilmd",
    ),
    EventType.ASSOCIATION: (
        "parentID", "childEPCs", "childQuantityList", "action", "bizStep", "disposition",
        "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList",
        "sensorElementList",
    ),
}  # fmt: skip
_EVENT_FIELDS = tuple(f.name for f in fields(Event) if f.name not in ("type", "extensions"))
# Fields a type does not have (rules.py rejects them) are still written, after its own.
_ORDER = {
    kind: (*_COMMON_ORDER, *own, *(f for f in _EVENT_FIELDS if f not in _COMMON_ORDER + own))
    for kind, own in _XSD_ORDER.items()
}
# Lists the XSD requires even when empty.
_ALWAYS = {
    EventType.OBJECT: "epcList",
    EventType.AGGREGATION: "childEPCs",
    EventType.TRANSACTION: "epcList",
}
_QUANTITY_LISTS = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
_EPC_LISTS = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList"})
_FIXED_PREFIXES = {
    "xsi": XSI_NS,
    "xsd": XSD_NS,
    "gs1": vocab.GS1,
    "cbv": vocab.CBV,
    "sbdh": SBDH_NS,
}


def _decimal(value: float) -> str:
    """Shortest text that reads back as the same float, without exponent (xsd:decimal)."""
    return format(Decimal(repr(value)), "f")


def _scalar(value: Scalar) -> tuple[str, str | None]:
    """Text and xsi:type of an extension value; a str has no annotation."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int):
        return str(value), "integer"
    if isinstance(value, float):
        return _decimal(value), "double"
    return value, None


def _extension_groups(event: Event) -> Iterator[tuple[Extension, ...]]:
    yield event.extensions
    yield event.ilmd
    for location in (event.readPoint, event.bizLocation):
        if location is not None:
            yield location.extensions
    if event.errorDeclaration is not None:
        yield event.errorDeclaration.extensions
    for element in event.sensorElementList:
        yield element.extensions
        if element.sensorMetadata is not None:
            yield element.sensorMetadata.extensions
        for report in element.sensorReport:
            yield report.extensions


def _vocabulary_values(event: Event) -> Iterator[str]:
    """Values written as they are that the reader expands as CURIEs."""
    yield from (v for v in (event.bizStep, event.disposition) if v is not None)
    if event.persistentDisposition is not None:
        yield from event.persistentDisposition.set
        yield from event.persistentDisposition.unset
    yield from (t.type for t in event.bizTransactionList if t.type is not None)
    yield from (s.type for s in (*event.sourceList, *event.destinationList))
    if event.errorDeclaration is not None and event.errorDeclaration.reason is not None:
        yield event.errorDeclaration.reason
    for element in event.sensorElementList:
        for report in element.sensorReport:
            for name, (vocabulary, _) in _SENSOR_VOCABULARIES.items():
                value = getattr(report, name)
                if value is not None and value not in vocabulary.terms:
                    yield value


class _Writer:
    """Builds the XML tree of one document; all namespaces are declared on the root."""

    def __init__(self, doc: Document) -> None:
        self._doc = doc
        self.nsmap: dict[str, str] = {}
        namespaces: dict[str, None] = {}  # ordered set of extension namespaces
        typed = False
        schemes: set[str] = set()
        for event in doc.events:
            for group in _extension_groups(event):
                typed |= self._scan(group, namespaces)
            schemes.update(value.partition(":")[0] for value in _vocabulary_values(event))
            for element in event.sensorElementList:
                for report in element.sensorReport:
                    for name, (vocabulary, curie) in _SENSOR_VOCABULARIES.items():
                        if getattr(report, name) in vocabulary.terms:
                            self._bind(curie.partition(":")[0])
        for vocabulary_ in doc.masterData:
            for element_ in vocabulary_.elements:
                for attribute in element_.attributes:
                    typed |= attribute.value is not None and not isinstance(attribute.value, str)
                    typed |= self._scan(attribute.children, namespaces)
        if typed:
            self._bind("xsi")
            self._bind("xsd")
        if _has_sbdh(doc):
            self._bind("sbdh")
        self._declare(namespaces, schemes)

    def _bind(self, prefix: str) -> None:
        self.nsmap[prefix] = _FIXED_PREFIXES[prefix]

    def _scan(self, extensions: Iterable[Extension], namespaces: dict[str, None]) -> bool:
        """Record the namespaces used; True when a value needs an xsi:type."""
        typed = False
        for ext in extensions:
            namespaces[ext.namespace] = None
            typed |= ext.value is not None and not isinstance(ext.value, str)
            typed |= self._scan(ext.children, namespaces)
        return typed

    def _declare(self, namespaces: Iterable[str], schemes: set[str]) -> None:
        """Prefixes from doc.namespaces where free, else ns1, ns2…; never a prefix that a
        vocabulary value written as a URI starts with (it would read back as a CURIE)."""
        taken = {"epcis", "epcisq", *_FIXED_PREFIXES, *schemes}
        preferred: dict[str, str] = {}
        for declared, uri in self._doc.namespaces.items():
            preferred.setdefault(uri, declared)
        generated = 0
        for uri in namespaces:
            if not uri or uri == _XML_NS or uri in self.nsmap.values():
                continue
            prefix = next((p for p, u in _FIXED_PREFIXES.items() if u == uri), None)
            if prefix is None:
                prefix = preferred.get(uri)
                while prefix is None or prefix in taken or not _NCNAME.fullmatch(prefix):
                    generated += 1
                    prefix = f"ns{generated}"
                taken.add(prefix)
            self.nsmap[prefix] = uri

    def document(self) -> _Element:
        doc = self._doc
        query = doc.kind is DocumentKind.QUERY
        namespace, prefix = (EPCIS_QUERY_NS, "epcisq") if query else (EPCIS_NS, "epcis")
        nsmap = {prefix: namespace, **self.nsmap}
        root = etree.Element(f"{{{namespace}}}{doc.kind.value}", nsmap=nsmap)
        root.set("schemaVersion", doc.schemaVersion)
        root.set("creationDate", format_timestamp(doc.creationDate))
        if _has_sbdh(doc) or doc.masterData:
            self._header(etree.SubElement(root, "EPCISHeader"))
        container = etree.SubElement(root, "EPCISBody")
        if query:
            container = etree.SubElement(container, f"{{{EPCIS_QUERY_NS}}}QueryResults")
            if doc.queryName is not None:
                _leaf(container, "queryName", doc.queryName)
            if doc.subscriptionID is not None:
                _leaf(container, "subscriptionID", doc.subscriptionID)
            container = etree.SubElement(container, "resultsBody")
        event_list = etree.SubElement(container, "EventList")
        for event in doc.events:
            self._event(event_list, event)
        for ext in doc.extensions:  # XSD: document-level extensions follow the body
            self._extension(root, ext)
        return root

    def _header(self, header: _Element) -> None:
        doc = self._doc
        if _has_sbdh(doc):
            sbdh = etree.SubElement(header, f"{{{SBDH_NS}}}StandardBusinessDocumentHeader")
            _sbdh(sbdh, ("HeaderVersion",), "1.0")
            _sbdh(sbdh, ("Sender", "Identifier"), doc.sender)
            _sbdh(sbdh, ("Receiver", "Identifier"), doc.receiver)
            identification = etree.SubElement(sbdh, f"{{{SBDH_NS}}}DocumentIdentification")
            _sbdh(identification, ("Standard",), "EPCglobal")
            _sbdh(identification, ("TypeVersion",), "2.0")
            _sbdh(identification, ("InstanceIdentifier",), doc.instanceIdentifier)
            _sbdh(identification, ("Type",), "Events")
            _sbdh(identification, ("CreationDateAndTime",), format_timestamp(doc.creationDate))
        if doc.masterData:
            master = etree.SubElement(etree.SubElement(header, "extension"), "EPCISMasterData")
            vocabulary_list = etree.SubElement(master, "VocabularyList")
            for vocabulary in doc.masterData:
                self._vocabulary(vocabulary_list, vocabulary)

    def _vocabulary(self, parent: _Element, vocabulary: Vocabulary) -> None:
        el = etree.SubElement(parent, "Vocabulary", type=vocabulary.type)
        if not vocabulary.elements:
            return
        element_list = etree.SubElement(el, "VocabularyElementList")
        for element in vocabulary.elements:
            element_el = etree.SubElement(element_list, "VocabularyElement", id=element.id)
            for attribute in element.attributes:
                attribute_el = etree.SubElement(element_el, "attribute", id=attribute.id)
                self._content(attribute_el, attribute.value, attribute.children)
            if element.children:
                children = etree.SubElement(element_el, "children")
                for child in element.children:
                    _leaf(children, "id", child)

    def _event(self, parent: _Element, event: Event) -> None:
        el = etree.SubElement(parent, event.type.value)
        always = _ALWAYS.get(event.type)
        for name in _ORDER[event.type]:
            value = getattr(event, name)
            if value is not None and (value != () or name == always):
                self._field(el, name, value)
        for ext in event.extensions:
            self._extension(el, ext)

    def _field(self, parent: _Element, name: str, value: Any) -> None:
        if name in _EPC_LISTS:
            _leaves(etree.SubElement(parent, name), "epc", value)
        elif name in _QUANTITY_LISTS:
            quantity_list = etree.SubElement(parent, name)
            for quantity in value:
                element = etree.SubElement(quantity_list, "quantityElement")
                _leaf(element, "epcClass", quantity.epcClass)
                if quantity.quantity is not None:
                    _leaf(element, "quantity", _decimal(quantity.quantity))
                if quantity.uom is not None:
                    _leaf(element, "uom", quantity.uom)
        elif name in ("eventTime", "recordTime"):
            _leaf(parent, name, format_timestamp(value))
        elif name == "certificationInfo":
            _leaves(parent, name, value)
        elif name == "action":
            _leaf(parent, name, value.value)
        elif name == "bizStep":
            _leaf(parent, name, vocab.BIZ_STEP.urn(value))
        elif name == "disposition":
            _leaf(parent, name, vocab.DISPOSITION.urn(value))
        elif name == "persistentDisposition":
            el = etree.SubElement(parent, name)
            _leaves(el, "unset", (vocab.DISPOSITION.urn(v) for v in value.unset))
            _leaves(el, "set", (vocab.DISPOSITION.urn(v) for v in value.set))
        elif name in ("readPoint", "bizLocation"):
            el = etree.SubElement(parent, name)
            _leaf(el, "id", value.id)
            for ext in value.extensions:
                self._extension(el, ext)
        elif name == "bizTransactionList":
            el = etree.SubElement(parent, name)
            for transaction in value:
                item = _leaf(el, "bizTransaction", transaction.bizTransaction)
                if transaction.type is not None:
                    item.set("type", vocab.BIZ_TRANSACTION_TYPE.urn(transaction.type))
        elif name in ("sourceList", "destinationList"):
            el = etree.SubElement(parent, name)
            for entry in value:
                item = _leaf(el, name.removesuffix("List"), entry.id)
                item.set("type", vocab.SOURCE_DEST_TYPE.urn(entry.type))
        elif name == "errorDeclaration":
            self._error_declaration(parent, value)
        elif name == "sensorElementList":
            el = etree.SubElement(parent, name)
            for element in value:
                self._sensor_element(el, element)
        elif name == "ilmd":
            el = etree.SubElement(parent, name)
            for ext in value:
                self._extension(el, ext)
        else:  # eventTimeZoneOffset, eventID, parentID, transformationID
            _leaf(parent, name, value)

    def _error_declaration(self, parent: _Element, value: ErrorDeclaration) -> None:
        el = etree.SubElement(parent, "errorDeclaration")
        _leaf(el, "declarationTime", format_timestamp(value.declarationTime))
        if value.reason is not None:
            _leaf(el, "reason", vocab.ERROR_REASON.urn(value.reason))
        if value.correctiveEventIDs:
            _leaves(
                etree.SubElement(el, "correctiveEventIDs"),
                "correctiveEventID",
                value.correctiveEventIDs,
            )
        for ext in value.extensions:
            self._extension(el, ext)

    def _sensor_element(self, parent: _Element, element: SensorElement) -> None:
        el = etree.SubElement(parent, "sensorElement")
        if element.sensorMetadata is not None:
            self._sensor_part(el, "sensorMetadata", element.sensorMetadata)
        for report in element.sensorReport:
            self._sensor_part(el, "sensorReport", report)
        for ext in element.extensions:
            self._extension(el, ext)

    def _sensor_part(self, parent: _Element, tag: str, part: SensorMetadata | SensorReport) -> None:
        """Values as attributes; string extensions as attributes, others as child elements."""
        el = etree.SubElement(parent, tag)
        for f in fields(part):
            value = getattr(part, f.name)
            if f.name != "extensions" and value is not None:
                el.set(f.name, _sensor_text(f.name, value))
        for ext in part.extensions:
            if not (ext.namespace and _as_attribute(el, ext)):
                self._extension(el, ext)

    def _extension(self, parent: _Element, ext: Extension) -> None:
        self._content(etree.SubElement(parent, ext.qname), ext.value, ext.children)

    def _content(self, el: _Element, value: Scalar | None, children: tuple[Extension, ...]) -> None:
        """The inverse of reading: with a value, leading string leaves become the attributes
        they were read from; the other children are elements."""
        if value is not None:
            count = 0
            while count < len(children) and _as_attribute(el, children[count]):
                count += 1
            children = children[count:]
            text, kind = _scalar(value)
            el.text = text
            if kind is not None:
                el.set(_XSI_TYPE, f"xsd:{kind}")
        for child in children:
            self._extension(el, child)


def _has_sbdh(doc: Document) -> bool:
    return any(v is not None for v in (doc.sender, doc.receiver, doc.instanceIdentifier))


def _as_attribute(el: _Element, ext: Extension) -> bool:
    """Write a string leaf as an attribute of ``el`` if it can be one."""
    if ext.children or not isinstance(ext.value, str) or ext.namespace == XSI_NS:
        return False
    if el.get(ext.qname) is not None:
        return False
    el.set(ext.qname, ext.value)
    return True


def _sensor_text(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _decimal(value)
    if name in _SENSOR_VOCABULARIES:
        vocabulary, curie = _SENSOR_VOCABULARIES[name]
        return curie + value if value in vocabulary.terms else str(value)
    return str(value)


def _leaf(parent: _Element, tag: str, text: str) -> _Element:
    el = etree.SubElement(parent, tag)
    el.text = text
    return el


def _leaves(parent: _Element, tag: str, texts: Iterable[str]) -> None:
    for text in texts:
        _leaf(parent, tag, text)


def _sbdh(parent: _Element, path: tuple[str, ...], text: str | None) -> None:
    if text is None:
        return
    for name in path:
        parent = etree.SubElement(parent, f"{{{SBDH_NS}}}{name}")
    parent.text = text


def write_document(doc: Document) -> bytes:
    """UTF-8 XML with declaration, pretty-printed, in the EPCIS 2.0 XSD field order.

    Standard CBV terms are written as URNs (sensor terms as ``gs1:``/``cbv:`` CURIEs); numbers
    in positional notation that reads back as the same float; extension prefixes come from
    ``doc.namespaces`` (ns1, ns2… where there is none). The document ``id`` has no place in
    the XML syntax and is not written.
    """
    root = _Writer(doc).document()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
