"""The EPCIS Event Hash ID of CBV 2.0 §8.9: a canonical pre-hash string and its SHA-256.

The pre-hash follows CBV 2.0 §8.9.2 as the reference generator (RalphTro/epcis-event-hash-generator)
implements it and its test vectors fix it:

* ``eventType=<type>``, then the standard fields in the canonical property order, each leaf as
  ``key=value`` and each container as its bare name followed by its children, no separators;
  ``eventID``, ``recordTime`` and ``errorDeclaration`` take no part.
* Repeated children (EPCs, quantity elements, sensor elements and reports, extensions, typed
  pairs ``type=…bizTransaction=…``) are sorted by the code-point (= UTF-8 byte) order of their
  rendered substrings.
* Timestamps in UTC with exactly 3 fractional digits (half up), numbers without trailing zeros,
  CBV terms and URNs as Web URIs, GS1 identifiers as the constrained canonical Digital Link.
* Extensions are ``{namespace}name=value`` (nested: ``{ns}parent{ns}child=value``); those of
  readPoint, bizLocation, sensorElement, sensorMetadata and sensorReport close their parent.
* The fields the reference generator leaves out of its property order — bizTransactionList,
  sourceList, destinationList, ilmd, a sensorReport's bizRules — and the event's extensions
  are rendered as blocks and appended sorted, which is why the vectors show
  ``bizTransactionList`` < ``destinationList`` < ``sourceList`` after ``sensorElementList``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from batterytrace.epcis import vocab
from batterytrace.epcis.model import (
    Document,
    Event,
    Extension,
    Location,
    QuantityElement,
    Scalar,
    SensorElement,
    SensorMetadata,
    SensorReport,
)
from batterytrace.errors import InvalidIdentifier
from batterytrace.identifiers import to_digital_link

__all__ = ["event_hash", "prehash"]

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_START = frozenset("0123456789+-.")
_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", vocab.BIZ_STEP.web_prefix),
    ("urn:epcglobal:cbv:disp:", vocab.DISPOSITION.web_prefix),
    ("urn:epcglobal:cbv:btt:", vocab.BIZ_TRANSACTION_TYPE.web_prefix),
    ("urn:epcglobal:cbv:sdt:", vocab.SOURCE_DEST_TYPE.web_prefix),
    ("urn:epcglobal:cbv:er:", vocab.ERROR_REASON.web_prefix),
)
# rdfs:comment annotates JSON-LD as an XML comment annotates XML: not part of the event.
_RDFS = vocab.STANDARD_PREFIXES["rdfs"]
_HALF_MS = timedelta(microseconds=500)


def _number(value: float) -> str:
    """No trailing zeros and no ``.0``: ``26.0`` → ``26``, ``0.50`` → ``0.5``."""
    return str(int(value)) if value.is_integer() else repr(value)


def _text(value: str) -> str:
    """A string leaf: trimmed; a number canonical; a CBV URN as Web URI; a GS1 id as DL."""
    text = value.strip()
    if text.startswith(("urn:epc:", "https://", "http://")):
        try:
            return to_digital_link(text)  # cached there
        except InvalidIdentifier:
            return text  # not a well-formed GS1 identifier: hashed as written
    if text and text[0] in _NUMBER_START and _NUMBER.fullmatch(text):
        return _number(float(text))
    if text.startswith("urn:epcglobal:cbv:"):
        for urn, web in _CBV_URNS:
            if text.startswith(urn):
                return web + text[len(urn) :]
    try:
        return to_digital_link(text)
    except InvalidIdentifier:
        return text  # not a well-formed GS1 identifier: hashed as written


def _time(value: datetime) -> str:
    # CBV 2.0 §8.9.2: UTC, "Z", millisecond precision (rounded half up here).
    return (value + _HALF_MS).astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _term(voc: vocab.Vocabulary) -> Callable[[str], str]:
    """The Web URI of a model vocabulary value (bare term or URI), cached per vocabulary."""

    @lru_cache(maxsize=4096)
    def web_uri(value: str) -> str:
        return _text(voc.web_uri(value))

    return web_uri


_biz_step = _term(vocab.BIZ_STEP)
_disposition = _term(vocab.DISPOSITION)
_btt = _term(vocab.BIZ_TRANSACTION_TYPE)
_sdt = _term(vocab.SOURCE_DEST_TYPE)


def _scalar(value: Scalar) -> str:
    """An extension value; JSON numbers and XML xsi:type'd or plain text all meet here."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool):
        return _bool(value)
    return _number(float(value))


def _extension(ext: Extension) -> str:
    name = f"{{{ext.namespace}}}{ext.name}" if ext.namespace else ext.name
    if ext.children:
        return name + _extensions(ext.children)
    if ext.value is None:
        return name
    text = _scalar(ext.value)
    return f"{name}={text}" if text else name


def _extensions(items: Iterable[Extension]) -> str:
    return "".join(sorted(_extension(x) for x in items if not _is_comment(x)))


def _is_comment(ext: Extension) -> bool:
    return ext.name == "comment" and ext.namespace == _RDFS


_Table = tuple[tuple[str, Callable[[Any], str]], ...]

_METADATA: _Table = (
    ("time", _time),
    ("startTime", _time),
    ("endTime", _time),
    ("deviceID", _text),
    ("deviceMetadata", _text),
    ("rawData", _text),
    ("dataProcessingMethod", _text),
    ("bizRules", _text),
)
# CBV 2.0 §8.9.2 lists no bizRules for sensorReport; see _leftover_biz_rules.
_REPORT: _Table = (
    ("type", _term(vocab.MEASUREMENT_TYPE)),
    ("exception", _term(vocab.SENSOR_ALERT)),
    ("deviceID", _text),
    ("deviceMetadata", _text),
    ("rawData", _text),
    ("dataProcessingMethod", _text),
    ("time", _time),
    ("microorganism", _text),
    ("chemicalSubstance", _text),
    ("value", _number),
    ("component", _term(vocab.COMPONENT)),
    ("stringValue", _text),
    ("booleanValue", _bool),
    ("hexBinaryValue", _text),
    ("uriValue", _text),
    ("minValue", _number),
    ("maxValue", _number),
    ("meanValue", _number),
    ("sDev", _number),
    ("percRank", _number),
    ("percValue", _number),
    ("uom", _text),
    ("coordinateReferenceSystem", _text),
)


def _fields(obj: SensorMetadata | SensorReport, table: _Table) -> str:
    parts = [
        f"{name}={render(value)}"
        for name, render in table
        if (value := getattr(obj, name)) is not None
    ]
    parts.append(_extensions(obj.extensions))
    return "".join(parts)


def _sensor_element(element: SensorElement) -> str:
    parts = []
    if element.sensorMetadata is not None:
        metadata = _fields(element.sensorMetadata, _METADATA)
        if metadata:
            parts.append("sensorMetadata" + metadata)
    reports = [_fields(r, _REPORT) for r in element.sensorReport]
    parts.extend(sorted("sensorReport" + r for r in reports if r))
    parts.append(_extensions(element.extensions))
    body = "".join(parts)
    return "sensorElement" + body if body else ""


def _leftover_biz_rules(elements: tuple[SensorElement, ...]) -> str | None:
    """sensorReport bizRules, outside the property order, as the reference generator adds it."""
    rendered = []
    for element in elements:
        rules = sorted(
            f"sensorReportbizRules={_text(r.bizRules)}"
            for r in element.sensorReport
            if r.bizRules is not None
        )
        if rules:
            rendered.append("sensorElement" + "".join(rules))
    return "sensorElementList" + "".join(sorted(rendered)) if rendered else None


def _epcs(out: list[str], name: str, epcs: tuple[str, ...]) -> None:
    if epcs:
        out.append(name)
        out.extend(sorted("epc=" + _text(epc) for epc in epcs))


def _quantity(q: QuantityElement) -> str:
    text = "quantityElementepcClass=" + _text(q.epcClass)
    if q.quantity is not None:
        text += "quantity=" + _number(q.quantity)
    if q.uom is not None:
        text += "uom=" + _text(q.uom)
    return text


def _quantities(out: list[str], name: str, items: tuple[QuantityElement, ...]) -> None:
    if items:
        out.append(name)
        out.extend(sorted(map(_quantity, items)))


def _location(out: list[str], name: str, loc: Location | None) -> None:
    if loc is not None:
        out.extend((name, "id=", _text(loc.id), _extensions(loc.extensions)))


def ignored_fields(document: Document) -> frozenset[str]:
    """The fields a document's own ``ignoreFields`` extension lists, as namespace URI + name.

    The reference generator's extension (2024, not in CBV): in JSON-LD an array of CURIEs, in
    XML empty elements named after the fields; any namespace may carry it.
    """
    names: set[str] = set()
    for ext in document.extensions:
        if ext.name != "ignoreFields":
            continue
        names.update(child.namespace + child.name for child in ext.children)
        if isinstance(ext.value, str):
            prefix, _, local = ext.value.partition(":")
            names.add(document.namespaces.get(prefix, prefix + ":") + local)
    return frozenset(names)


def prehash(event: Event, ignore: frozenset[str] = frozenset()) -> str:
    """The CBV 2.0 §8.9 pre-hash string of one event.

    ``ignore`` names event-level extension fields (namespace URI + local name) a repository
    added itself and that must not change the hash (the reference generator's ignoreFields).
    """
    e = event
    out = [
        "eventType=",
        e.type.value,
        "eventTime=",
        _time(e.eventTime),
        "eventTimeZoneOffset=",
        e.eventTimeZoneOffset,
    ]
    if e.certificationInfo:
        out.extend(sorted("certificationInfo=" + _text(c) for c in e.certificationInfo))
    if e.parentID is not None:
        out.extend(("parentID=", _text(e.parentID)))
    _epcs(out, "epcList", e.epcList)
    _epcs(out, "inputEPCList", e.inputEPCList)
    _epcs(out, "childEPCs", e.childEPCs)
    _quantities(out, "quantityList", e.quantityList)
    _quantities(out, "childQuantityList", e.childQuantityList)
    _quantities(out, "inputQuantityList", e.inputQuantityList)
    _epcs(out, "outputEPCList", e.outputEPCList)
    _quantities(out, "outputQuantityList", e.outputQuantityList)
    if e.action is not None:
        out.extend(("action=", e.action.value))
    if e.transformationID is not None:
        out.extend(("transformationID=", _text(e.transformationID)))
    if e.bizStep is not None:
        out.extend(("bizStep=", _biz_step(e.bizStep)))
    if e.disposition is not None:
        out.extend(("disposition=", _disposition(e.disposition)))
    pd = e.persistentDisposition
    if pd is not None and (pd.set or pd.unset):
        out.append("persistentDisposition")
        out.extend(sorted("set=" + _disposition(d) for d in pd.set))
        out.extend(sorted("unset=" + _disposition(d) for d in pd.unset))
    _location(out, "readPoint", e.readPoint)
    _location(out, "bizLocation", e.bizLocation)
    if e.sensorElementList:
        elements = sorted(filter(None, map(_sensor_element, e.sensorElementList)))
        if elements:
            out.append("sensorElementList")
            out.extend(elements)

    tail = [
        _extension(x)
        for x in e.extensions
        if not _is_comment(x) and (not ignore or x.namespace + x.name not in ignore)
    ]
    if e.bizTransactionList:
        tail.append(
            "bizTransactionList"
            + "".join(
                sorted(
                    ("" if b.type is None else "type=" + _btt(b.type))
                    + "bizTransaction="
                    + _text(b.bizTransaction)
                    for b in e.bizTransactionList
                )
            )
        )
    if e.sourceList:
        tail.append(
            "sourceList"
            + "".join(sorted(f"type={_sdt(s.type)}source={_text(s.id)}" for s in e.sourceList))
        )
    if e.destinationList:
        tail.append(
            "destinationList"
            + "".join(
                sorted(f"type={_sdt(d.type)}destination={_text(d.id)}" for d in e.destinationList)
            )
        )
    if e.ilmd:
        ilmd = _extensions(e.ilmd)
        if ilmd:
            tail.append("ilmd" + ilmd)
    if e.sensorElementList:
        biz_rules = _leftover_biz_rules(e.sensorElementList)
        if biz_rules is not None:
            tail.append(biz_rules)
    tail.sort()
    out.extend(tail)
    return "".join(out)


def event_hash(event: Event, ignore: frozenset[str] = frozenset()) -> str:
    """The EPCIS Event Hash ID: ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920, CBV 2.0 §8.9)."""
    digest = hashlib.sha256(prehash(event, ignore).encode()).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"
