"""The EPCIS 2.0 JSON / JSON-LD syntax (EPCIS 2.0 §12) to and from the model.

Reading checks the JSON shape itself (types, required members, namespaced extension keys) and
raises :class:`FieldError`; the caller names the event. Per-event-type rules, identifiers and
units are checked on the model by :mod:`batterytrace.epcis.rules`, the same for both syntaxes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

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

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
_STANDARD_PREFIX_OF = {uri: prefix for prefix, uri in vocab.STANDARD_PREFIXES.items()}

JsonObj = dict[str, Any]
Namespaces = Mapping[str, str]


# --- reading: scalars ------------------------------------------------------------------------


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string, got {_json_type(value)}")
    text: str = value.strip()
    if not text:
        raise FieldError(field, "must not be empty")
    return text


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, f"must be a number, got {_json_type(value)} {value!r}")
    number = float(value) if isinstance(value, float) or abs(value) < 10**300 else math.inf
    if not math.isfinite(number):
        raise FieldError(field, f"must be a finite number, got {value!r}")
    return number


def _plain_number(value: Any) -> bool:
    """A number _number takes as it is."""
    kind = type(value)
    return (kind is float and math.isfinite(value)) or (kind is int and abs(value) < 10**300)


def _boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise FieldError(field, f"must be true or false, got {_json_type(value)}")
    return value


def _time(value: Any, field: str) -> datetime:
    return parse_timestamp(_string(value, field), field)


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise FieldError(field, f"must be an array, got {_json_type(value)}")
    return value


def _object(value: Any, field: str) -> JsonObj:
    if not isinstance(value, dict):
        raise FieldError(field, f"must be an object, got {_json_type(value)}")
    return value


def _strings(value: Any, field: str) -> tuple[str, ...]:
    items = _list(value, field)
    if all(type(v) is str for v in items):  # the common case, without a name per item
        texts = tuple(v.strip() for v in items)
        if all(texts):
            return texts
    return tuple(_string(v, f"{field}[{i}]") for i, v in enumerate(items))


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _vocab(voc: vocab.Vocabulary) -> Callable[[Any, str, Namespaces], str]:
    def parse(value: Any, field: str, ns: Namespaces) -> str:
        try:
            return voc.normalise(_string(value, field))
        except ValueError as exc:
            raise FieldError(field, str(exc)) from None

    return parse


_biz_step = _vocab(vocab.BIZ_STEP)
_disposition = _vocab(vocab.DISPOSITION)
_btt = _vocab(vocab.BIZ_TRANSACTION_TYPE)
_sdt = _vocab(vocab.SOURCE_DEST_TYPE)
_error_reason = _vocab(vocab.ERROR_REASON)
_component = _vocab(vocab.COMPONENT)
_measurement = _vocab(vocab.MEASUREMENT_TYPE)
_alert = _vocab(vocab.SENSOR_ALERT)


# --- reading: extensions ---------------------------------------------------------------------


def split_name(key: str, ns: Namespaces, field: str) -> tuple[str, str]:
    """``prefix:local`` or a full URI to (namespace URI, local name)."""
    if "://" in key or key.startswith("urn:"):
        cut = max(key.rfind("/"), key.rfind("#"), key.rfind(":"))
        return key[: cut + 1], key[cut + 1 :]
    prefix, sep, local = key.partition(":")
    if not sep or not local:
        raise FieldError(field, f"{key!r} is not namespaced (an extension needs prefix:name)")
    uri = ns.get(prefix) or vocab.STANDARD_PREFIXES.get(prefix)
    if uri is None:
        raise FieldError(field, f"prefix {prefix!r} of {key!r} is not declared in @context")
    return uri, local


def _extension_nodes(
    key: str, value: Any, ns: Namespaces, field: str, top: bool, depth: int
) -> list[Extension]:
    if top or ":" in key:
        namespace, name = split_name(key, ns, field)
    else:
        namespace, name = "", key
    items = value if isinstance(value, list) else [value]
    return [_extension_node(namespace, name, item, ns, field, depth) for item in items]


def _extension_node(
    namespace: str, name: str, value: Any, ns: Namespaces, field: str, depth: int
) -> Extension:
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:  # before recursing: the hash and the stores recurse too
            raise FieldError(field, f"nested deeper than {MAX_DEPTH} levels (the limit)")
        # An element with text and attributes/children (XML mixed content) keeps its text
        # under "@value", as a JSON-LD value object does.
        text = value.get("@value")
        if isinstance(text, dict | list):
            raise FieldError(field, f"{name}: @value must be a plain value")
        children = {k: v for k, v in value.items() if k != "@value"}
        return Extension(
            namespace, name, text, _extensions(children, ns, field, top=False, depth=depth + 1)
        )
    if isinstance(value, list):
        raise FieldError(field, f"{name}: nested arrays cannot be expressed in EPCIS")
    return Extension(namespace, name, None if value == "" else value)


def _extensions(
    obj: Mapping[str, Any], ns: Namespaces, field: str, top: bool, depth: int = 0
) -> tuple[Extension, ...]:
    out: list[Extension] = []
    for key, value in obj.items():
        if key == "@context":
            continue
        where = f"{field}.{key}" if field else key
        out.extend(_extension_nodes(key, value, ns, where, top, depth))
    return tuple(out)


def _split_standard(
    obj: Any, field: str, known: frozenset[str], ns: Namespaces
) -> tuple[JsonObj, tuple[Extension, ...]]:
    """The standard members of an object, and its namespaced extension members."""
    obj = _object(obj, field)
    if obj.keys() <= known:  # no extensions: the common case
        return obj, ()
    standard = {k: v for k, v in obj.items() if k in known}
    extra = {k: v for k, v in obj.items() if k not in known}
    return standard, _extensions(extra, ns, field, top=True)


# --- reading: structured fields ----------------------------------------------------------------


_QUANTITY = frozenset({"epcClass", "quantity", "uom"})


def _quantities(value: Any, field: str) -> tuple[QuantityElement, ...]:
    out = []
    for i, item in enumerate(_list(value, field)):
        obj = _object(item, f"{field}[{i}]")
        epc_class, quantity, uom = obj.get("epcClass"), obj.get("quantity"), obj.get("uom")
        if (  # the common case, without a name per member
            obj.keys() <= _QUANTITY
            and type(epc_class) is str
            and epc_class.strip()
            and (quantity is None or (type(quantity) in (int, float) and math.isfinite(quantity)))
            and (uom is None or (type(uom) is str and uom.strip()))
        ):
            number = None if quantity is None else float(quantity)
            out.append(QuantityElement(epc_class.strip(), number, uom and uom.strip()))
            continue
        where = f"{field}[{i}]"
        for key in obj:
            if key not in _QUANTITY:
                raise FieldError(f"{where}.{key}", "not a member of a quantityElement")
        if epc_class is None:
            raise FieldError(f"{where}.epcClass", "is required")
        out.append(
            QuantityElement(
                _string(epc_class, f"{where}.epcClass"),
                None if quantity is None else _number(quantity, f"{where}.quantity"),
                None if uom is None else _string(uom, f"{where}.uom"),
            )
        )
    return tuple(out)


_LOCATION = frozenset({"id"})


def _location(value: Any, field: str, ns: Namespaces) -> Location:
    standard, ext = _split_standard(value, field, _LOCATION, ns)
    if "id" not in standard:
        raise FieldError(f"{field}.id", "is required")
    return Location(_string(standard["id"], f"{field}.id"), ext)


def _biz_transactions(value: Any, field: str, ns: Namespaces) -> tuple[BizTransaction, ...]:
    out = []
    for i, item in enumerate(_list(value, field)):
        where = f"{field}[{i}]"
        obj = _object(item, where)
        if "bizTransaction" not in obj:
            raise FieldError(f"{where}.bizTransaction", "is required")
        kind = obj.get("type")
        out.append(
            BizTransaction(
                _string(obj["bizTransaction"], f"{where}.bizTransaction"),
                None if kind is None else _btt(kind, f"{where}.type", ns),
            )
        )
    return tuple(out)


def _source_dests(member: str) -> Callable[[Any, str, Namespaces], tuple[SourceDest, ...]]:
    def parse(value: Any, field: str, ns: Namespaces) -> tuple[SourceDest, ...]:
        out = []
        for i, item in enumerate(_list(value, field)):
            where = f"{field}[{i}]"
            obj = _object(item, where)
            for key in ("type", member):
                if key not in obj:
                    raise FieldError(f"{where}.{key}", "is required")
            out.append(
                SourceDest(
                    _sdt(obj["type"], f"{where}.type", ns),
                    _string(obj[member], f"{where}.{member}"),
                )
            )
        return tuple(out)

    return parse


def _persistent_disposition(value: Any, field: str, ns: Namespaces) -> PersistentDisposition:
    obj = _object(value, field)
    for key in obj:
        if key not in ("set", "unset"):
            raise FieldError(f"{field}.{key}", "not a member of persistentDisposition (set, unset)")

    def terms(key: str) -> tuple[str, ...]:
        where = f"{field}.{key}"
        return tuple(
            _disposition(v, f"{where}[{i}]", ns)
            for i, v in enumerate(_list(obj.get(key, []), where))
        )

    return PersistentDisposition(terms("set"), terms("unset"))


_DECLARATION = frozenset({"declarationTime", "reason", "correctiveEventIDs"})


def _error_declaration(value: Any, field: str, ns: Namespaces) -> ErrorDeclaration:
    standard, ext = _split_standard(value, field, _DECLARATION, ns)
    if "declarationTime" not in standard:
        raise FieldError(f"{field}.declarationTime", "is required")
    reason = standard.get("reason")
    return ErrorDeclaration(
        _time(standard["declarationTime"], f"{field}.declarationTime"),
        None if reason is None else _error_reason(reason, f"{field}.reason", ns),
        _strings(standard.get("correctiveEventIDs", []), f"{field}.correctiveEventIDs"),
        ext,
    )


_METADATA_TIMES = ("time", "startTime", "endTime")
_METADATA_URIS = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules")
_REPORT_URIS = (
    "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules",
    "microorganism", "chemicalSubstance", "coordinateReferenceSystem", "uriValue",
)  # fmt: skip
_REPORT_NUMBERS = ("value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue")
_REPORT_STRINGS = ("stringValue", "hexBinaryValue", "uom")
_REPORT_VOCAB = {"type": _measurement, "exception": _alert, "component": _component}
_METADATA = frozenset(_METADATA_TIMES + _METADATA_URIS)
_REPORT = frozenset(
    (*_REPORT_URIS, *_REPORT_NUMBERS, *_REPORT_STRINGS, *_REPORT_VOCAB, "time", "booleanValue")
)
_SENSOR_ELEMENT = frozenset({"sensorMetadata", "sensorReport"})


def _sensor_metadata(value: Any, field: str, ns: Namespaces) -> SensorMetadata:
    standard, ext = _split_standard(value, field, _METADATA, ns)
    kwargs: dict[str, Any] = {}
    for key, v in standard.items():
        where = f"{field}.{key}"
        kwargs[key] = _time(v, where) if key in _METADATA_TIMES else _string(v, where)
    return SensorMetadata(**kwargs, extensions=ext)


def _sensor_report(value: Any, field: str, ns: Namespaces) -> SensorReport:
    standard, ext = _split_standard(value, field, _REPORT, ns)
    kwargs: dict[str, Any] = {}
    for key, v in standard.items():
        where = f"{field}.{key}"
        if key in _REPORT_NUMBERS:
            kwargs[key] = _number(v, where)
        elif key in _REPORT_VOCAB:
            kwargs[key] = _REPORT_VOCAB[key](v, where, ns)
        elif key == "time":
            kwargs[key] = _time(v, where)
        elif key == "booleanValue":
            kwargs[key] = _boolean(v, where)
        else:
            kwargs[key] = _string(v, where)
    return SensorReport(**kwargs, extensions=ext)


def _sensor_elements(value: Any, field: str, ns: Namespaces) -> tuple[SensorElement, ...]:
    out = []
    for i, item in enumerate(_list(value, field)):
        where = f"{field}[{i}]"
        standard, ext = _split_standard(item, where, _SENSOR_ELEMENT, ns)
        if "sensorReport" not in standard:
            raise FieldError(f"{where}.sensorReport", "is required")
        reports = _list(standard["sensorReport"], f"{where}.sensorReport")
        metadata = standard.get("sensorMetadata")
        out.append(
            SensorElement(
                tuple(
                    _sensor_report(r, f"{where}.sensorReport[{j}]", ns)
                    for j, r in enumerate(reports)
                ),
                None
                if metadata is None
                else _sensor_metadata(metadata, f"{where}.sensorMetadata", ns),
                ext,
            )
        )
    return tuple(out)


def _certification_info(value: Any, field: str) -> tuple[str, ...]:
    return (_string(value, field),) if isinstance(value, str) else _strings(value, field)


def _action(value: Any, field: str) -> Action:
    text = _string(value, field)
    try:
        return Action(text)
    except ValueError:
        raise FieldError(field, f"{text!r} is not an action (ADD, OBSERVE, DELETE)") from None


def _ilmd(value: Any, field: str, ns: Namespaces) -> tuple[Extension, ...]:
    return _extensions(_object(value, field), ns, field, top=True)


_Parser = Callable[[Any, str, Namespaces], Any]


def _plain(fn: Callable[[Any, str], Any]) -> _Parser:
    return lambda value, field, ns: fn(value, field)


_EVENT_FIELDS: dict[str, _Parser] = {
    "eventTime": _plain(_time),
    "recordTime": _plain(_time),
    "eventTimeZoneOffset": _plain(lambda v, f: check_offset(_string(v, f), f)),
    "eventID": _plain(_string),
    "certificationInfo": _plain(_certification_info),
    "errorDeclaration": _error_declaration,
    "parentID": _plain(_string),
    "epcList": _plain(_strings),
    "childEPCs": _plain(_strings),
    "inputEPCList": _plain(_strings),
    "outputEPCList": _plain(_strings),
    "quantityList": _plain(_quantities),
    "childQuantityList": _plain(_quantities),
    "inputQuantityList": _plain(_quantities),
    "outputQuantityList": _plain(_quantities),
    "action": _plain(_action),
    "transformationID": _plain(_string),
    "bizStep": _biz_step,
    "disposition": _disposition,
    "persistentDisposition": _persistent_disposition,
    "readPoint": _location,
    "bizLocation": _location,
    "bizTransactionList": _biz_transactions,
    "sourceList": _source_dests("source"),
    "destinationList": _source_dests("destination"),
    "sensorElementList": _sensor_elements,
    "ilmd": _ilmd,
}


def context_namespaces(context: Any, field: str = "@context") -> dict[str, str]:
    """Prefix → namespace URI declared by a JSON-LD ``@context`` (string, object or array)."""
    out: dict[str, str] = {}
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, dict):
            for prefix, uri in item.items():
                if isinstance(uri, str) and not prefix.startswith("@"):
                    out[prefix] = uri
        elif not isinstance(item, str):
            raise FieldError(field, "must be a URI, an object or an array of them")
    return out


def event_from_json(obj: Any, ns: Namespaces) -> Event:
    """One event object to the model; raises FieldError naming the member."""
    obj = _object(obj, "event")
    if "@context" in obj:
        ns = {**ns, **context_namespaces(obj["@context"])}
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in EventType._value2member_map_:
        raise FieldError("type", f"{kind!r} is not an EPCIS 2.0 event type")
    event_type = EventType(kind)
    kwargs: dict[str, Any] = {"type": event_type}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        parser = _EVENT_FIELDS.get(key)
        if parser is not None:
            kwargs[key] = parser(value, key, ns)
        elif key not in ("type", "@context"):
            if ":" not in key:
                raise FieldError(
                    key, f"not an EPCIS 2.0 field of {kind}; extensions need a namespace prefix"
                )
            extra[key] = value
    for required in ("eventTime", "eventTimeZoneOffset"):
        if required not in kwargs:
            raise FieldError(required, "is required")
    kwargs["extensions"] = _extensions(extra, ns, "", top=True)
    return Event(**kwargs)


# --- reading: documents ----------------------------------------------------------------------


def _vocabularies(value: Any, field: str, ns: Namespaces) -> tuple[Vocabulary, ...]:
    out = []
    for i, item in enumerate(_list(value, field)):
        where = f"{field}[{i}]"
        obj = _object(item, where)
        elements = []
        for j, element in enumerate(
            _list(obj.get("vocabularyElementList", []), f"{where}.vocabularyElementList")
        ):
            ewhere = f"{where}.vocabularyElementList[{j}]"
            eobj = _object(element, ewhere)
            attributes = []
            for k, attribute in enumerate(
                _list(eobj.get("attributes", []), f"{ewhere}.attributes")
            ):
                awhere = f"{ewhere}.attributes[{k}]"
                aobj = _object(attribute, awhere)
                value_ = aobj.get("attribute")
                if isinstance(value_, dict):
                    attributes.append(
                        VocabularyAttribute(
                            _string(aobj.get("id"), f"{awhere}.id"),
                            None,
                            _extensions(value_, ns, awhere, top=False),
                        )
                    )
                else:
                    attributes.append(
                        VocabularyAttribute(_string(aobj.get("id"), f"{awhere}.id"), value_)
                    )
            elements.append(
                VocabularyElement(
                    _string(eobj.get("id"), f"{ewhere}.id"),
                    tuple(attributes),
                    _strings(eobj.get("children", []), f"{ewhere}.children"),
                )
            )
        out.append(Vocabulary(_string(obj.get("type"), f"{where}.type"), tuple(elements)))
    return tuple(out)


_DOCUMENT_MEMBERS = frozenset(
    {"@context", "type", "id", "schemaVersion", "creationDate", "instanceIdentifier", "sender",
     "receiver", "epcisHeader", "epcisBody"}
)  # fmt: skip


def header_from_json(obj: Mapping[str, Any]) -> Document:
    """The document without its events: kind, header members, master data, namespaces."""
    try:
        kind = DocumentKind(str(obj.get("type")))
    except ValueError:
        raise InvalidDocument(
            f"type: {obj.get('type')!r} is not EPCISDocument or EPCISQueryDocument"
        ) from None
    try:
        if "@context" not in obj:
            raise FieldError("@context", "is required in a JSON-LD EPCIS document")
        ns = context_namespaces(obj["@context"])
        for key in ("schemaVersion", "creationDate"):
            if key not in obj:
                raise FieldError(key, "is required")
        version = _string(obj["schemaVersion"], "schemaVersion")
        if not version.startswith("2."):
            raise FieldError("schemaVersion", f"{version!r} is not an EPCIS 2.x version")
        header = obj.get("epcisHeader")
        master = None
        if header is not None:
            master = _object(header, "epcisHeader").get("epcisMasterData")
        doc = Document(
            kind=kind,
            schemaVersion=version,
            creationDate=_time(obj["creationDate"], "creationDate"),
            namespaces=ns,
        )
        for key in ("id", "instanceIdentifier", "sender", "receiver"):
            if key in obj:
                setattr(doc, key, _string(obj[key], key))
        extra = {k: v for k, v in obj.items() if k not in _DOCUMENT_MEMBERS}
        for key in extra:
            if ":" not in key:
                raise FieldError(
                    key, "not an EPCIS document member; extensions need a namespace prefix"
                )
        doc.extensions = _extensions(extra, ns, "", top=True)
        if master is not None:
            doc.masterData = _vocabularies(
                _object(master, "epcisHeader.epcisMasterData").get("vocabularyList", []),
                "epcisHeader.epcisMasterData.vocabularyList",
                ns,
            )
        return doc
    except FieldError as exc:
        raise InvalidDocument(f"document: {exc}") from None


def query_results_header(doc: Document, results: Mapping[str, Any]) -> None:
    """Take the members of ``queryResults`` other than ``resultsBody`` (those present):
    queryName, subscriptionID, and namespaced extensions (kept with the document's)."""
    extra: dict[str, Any] = {}
    try:
        for key, value in results.items():
            where = f"epcisBody.queryResults.{key}"
            if key in ("queryName", "subscriptionID"):
                setattr(doc, key, _string(value, where))
            elif key != "resultsBody":
                if ":" not in key:
                    raise FieldError(
                        where, "not a member of queryResults; extensions need a prefix"
                    )
                extra[key] = value
        doc.extensions += _extensions(extra, doc.namespaces, "", top=True)
    except FieldError as exc:
        raise InvalidDocument(f"document: {exc}") from None


def event_list_of(
    obj: Mapping[str, Any], kind: DocumentKind
) -> tuple[list[Any], Mapping[str, Any] | None]:
    """Where the event list sits in a document of this kind (and the queryResults object)."""
    try:
        body = _object(obj.get("epcisBody"), "epcisBody")
        if kind is DocumentKind.QUERY:
            results = _object(body.get("queryResults"), "epcisBody.queryResults")
            results_body = _object(results.get("resultsBody"), "epcisBody.queryResults.resultsBody")
            return _list(
                results_body.get("eventList"), "epcisBody.queryResults.resultsBody.eventList"
            ), results
        return _list(body.get("eventList"), "epcisBody.eventList"), None
    except FieldError as exc:
        raise InvalidDocument(f"document: {exc}") from None


def document_from_json(obj: Any) -> Document:
    """A whole parsed JSON document to the model (syntax checks only; see rules.check_document)."""
    if not isinstance(obj, dict):
        raise InvalidDocument(
            "document: must be a JSON object (an EPCISDocument or EPCISQueryDocument)"
        )
    doc = header_from_json(obj)
    events, results = event_list_of(obj, doc.kind)
    if results is not None:
        query_results_header(doc, results)
        if doc.queryName is None:
            raise InvalidDocument("document: epcisBody.queryResults.queryName: is required")
    doc.events = [event_at(i, item, doc.namespaces) for i, item in enumerate(events)]
    return doc


def event_at(index: int, obj: Any, ns: Namespaces) -> Event:
    """event_from_json with the error naming the event by index and eventID."""
    try:
        return event_from_json(obj, ns)
    except FieldError as exc:
        event_id = obj.get("eventID") if isinstance(obj, dict) else None
        raise event_error(index, event_id if isinstance(event_id, str) else None, exc) from None


# --- writing ---------------------------------------------------------------------------------


class JsonNames:
    """Chooses the JSON-LD prefix of each extension namespace, declaring new ones as needed.

    ``used`` collects the prefixes written, for the ``@context`` of the output.
    """

    def __init__(self, namespaces: Mapping[str, str]) -> None:
        self.prefix_of: dict[str, str] = {}
        for prefix, uri in namespaces.items():
            # a document prefix bound elsewhere than the standard context binds it is not reused
            if vocab.STANDARD_PREFIXES.get(prefix, uri) == uri:
                self.prefix_of.setdefault(uri, prefix)
        self.taken = set(namespaces) | set(vocab.STANDARD_PREFIXES)
        self.used: dict[str, str] = {}

    def key(self, ext: Extension) -> str:
        if not ext.namespace:
            return ext.name
        prefix = self.prefix_of.get(ext.namespace) or _STANDARD_PREFIX_OF.get(ext.namespace)
        if prefix is None:
            n = 1
            while f"ns{n}" in self.taken:
                n += 1
            prefix = f"ns{n}"
            self.taken.add(prefix)
            self.prefix_of[ext.namespace] = prefix
        self.used[prefix] = ext.namespace
        return f"{prefix}:{ext.name}"

    def extensions(self, nodes: Iterable[Extension]) -> JsonObj:
        out: JsonObj = {}
        for node in nodes:
            key = self.key(node)
            value: Any = node.value
            if node.children:
                value = self.extensions(node.children)
                if node.value is not None:
                    value = {"@value": node.value, **value}
            if key in out:
                previous = out[key]
                out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                out[key] = value
        return out


def _number_out(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _quantities_out(items: Iterable[QuantityElement]) -> list[JsonObj]:
    out = []
    for q in items:
        obj: JsonObj = {"epcClass": q.epcClass}
        if q.quantity is not None:
            obj["quantity"] = _number_out(q.quantity)
        if q.uom is not None:
            obj["uom"] = q.uom
        out.append(obj)
    return out


def _location_out(loc: Location, names: JsonNames) -> JsonObj:
    return {"id": loc.id, **names.extensions(loc.extensions)}


def _drop_none(obj: JsonObj) -> JsonObj:
    return {k: v for k, v in obj.items() if v is not None}


def _sensor_out(element: SensorElement, names: JsonNames) -> JsonObj:
    out: JsonObj = {}
    if element.sensorMetadata is not None:
        m = element.sensorMetadata
        out["sensorMetadata"] = _drop_none(
            {
                **{k: _time_out(getattr(m, k)) for k in _METADATA_TIMES},
                **{k: getattr(m, k) for k in _METADATA_URIS},
                **names.extensions(m.extensions),
            }
        )
    reports = []
    for r in element.sensorReport:
        obj: JsonObj = {}
        for key in SensorReport.__dataclass_fields__:
            value = getattr(r, key)
            if value is None or key == "extensions":
                continue
            if key in _REPORT_NUMBERS:
                value = _number_out(value)
            elif key == "time":
                value = format_timestamp(value)
            obj[key] = value
        obj.update(names.extensions(r.extensions))
        reports.append(obj)
    out["sensorReport"] = reports
    out.update(names.extensions(element.extensions))
    return out


def _time_out(value: datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def event_to_json(event: Event, names: JsonNames | None = None) -> JsonObj:
    """One event as an EPCIS 2.0 JSON-LD object (standard CBV terms as bare words)."""
    names = names or JsonNames({})
    e = event
    out: JsonObj = {"type": e.type.value}
    if e.eventID is not None:
        out["eventID"] = e.eventID
    out["eventTime"] = format_timestamp(e.eventTime)
    if e.recordTime is not None:
        out["recordTime"] = format_timestamp(e.recordTime)
    out["eventTimeZoneOffset"] = e.eventTimeZoneOffset
    if e.certificationInfo:
        ci = e.certificationInfo
        out["certificationInfo"] = ci[0] if len(ci) == 1 else list(ci)
    if e.errorDeclaration is not None:
        d = e.errorDeclaration
        out["errorDeclaration"] = _drop_none(
            {
                "declarationTime": format_timestamp(d.declarationTime),
                "reason": d.reason,
                "correctiveEventIDs": list(d.correctiveEventIDs) or None,
                **names.extensions(d.extensions),
            }
        )
    if e.parentID is not None:
        out["parentID"] = e.parentID
    for key in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        values = getattr(e, key)
        if values or (
            key == "epcList"
            and e.type in (EventType.OBJECT, EventType.TRANSACTION)
            and not e.quantityList
        ):
            out[key] = list(values)
    for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        values = getattr(e, key)
        if values:
            out[key] = _quantities_out(values)
    if e.action is not None:
        out["action"] = e.action.value
    for key in ("transformationID", "bizStep", "disposition"):
        if getattr(e, key) is not None:
            out[key] = getattr(e, key)
    if e.persistentDisposition is not None:
        p = e.persistentDisposition
        out["persistentDisposition"] = _drop_none(
            {"set": list(p.set) or None, "unset": list(p.unset) or None}
        )
    if e.readPoint is not None:
        out["readPoint"] = _location_out(e.readPoint, names)
    if e.bizLocation is not None:
        out["bizLocation"] = _location_out(e.bizLocation, names)
    if e.bizTransactionList:
        out["bizTransactionList"] = [
            _drop_none({"type": b.type, "bizTransaction": b.bizTransaction})
            for b in e.bizTransactionList
        ]
    if e.sourceList:
        out["sourceList"] = [{"type": s.type, "source": s.id} for s in e.sourceList]
    if e.destinationList:
        out["destinationList"] = [{"type": d.type, "destination": d.id} for d in e.destinationList]
    if e.sensorElementList:
        out["sensorElementList"] = [_sensor_out(s, names) for s in e.sensorElementList]
    if e.ilmd:
        out["ilmd"] = names.extensions(e.ilmd)
    out.update(names.extensions(e.extensions))
    return out


def extension_context(used: Mapping[str, str]) -> dict[str, str]:
    """The prefixes an output must declare beyond those of the standard EPCIS context."""
    return {p: uri for p, uri in used.items() if vocab.STANDARD_PREFIXES.get(p) != uri}


def _context(used: Mapping[str, str]) -> list[Any]:
    extra = extension_context(used)
    return [EPCIS_CONTEXT, extra] if extra else [EPCIS_CONTEXT]


def vocabulary_element_to_json(element: VocabularyElement, names: JsonNames) -> JsonObj:
    """One master-data element in the JSON-LD form of EPCIS 2.0 §7.2."""
    obj: JsonObj = {"id": element.id}
    if element.attributes:
        obj["attributes"] = [
            {"id": a.id, "attribute": names.extensions(a.children) if a.children else a.value}
            for a in element.attributes
        ]
    if element.children:
        obj["children"] = list(element.children)
    return obj


def document_to_json(doc: Document) -> JsonObj:
    """The whole document as an EPCIS 2.0 JSON-LD object."""
    names = JsonNames(doc.namespaces)
    events = [event_to_json(e, names) for e in doc.events]
    extensions = names.extensions(doc.extensions)
    master = [
        {
            "type": voc.type,
            "vocabularyElementList": [vocabulary_element_to_json(el, names) for el in voc.elements],
        }
        for voc in doc.masterData
    ]
    out: JsonObj = {"@context": _context(names.used), "type": doc.kind.value}
    for key in ("id", "schemaVersion"):
        if getattr(doc, key) is not None:
            out[key] = getattr(doc, key)
    out["creationDate"] = format_timestamp(doc.creationDate)
    for key in ("instanceIdentifier", "sender", "receiver"):
        if getattr(doc, key) is not None:
            out[key] = getattr(doc, key)
    if master:
        out["epcisHeader"] = {"epcisMasterData": {"vocabularyList": master}}
    out.update(extensions)  # before the body, so that a streaming reader meets them first
    if doc.kind is DocumentKind.QUERY:
        results: JsonObj = {"queryName": doc.queryName or "SimpleEventQuery"}
        if doc.subscriptionID is not None:
            results["subscriptionID"] = doc.subscriptionID
        results["resultsBody"] = {"eventList": events}
        out["epcisBody"] = {"queryResults": results}
    else:
        out["epcisBody"] = {"eventList": events}
    return out


def event_lines(events: Iterable[Event]) -> Iterator[bytes]:
    """Each event as one line of JSON (JSON Lines), with an ``@context`` of its own when it
    names extension namespaces beyond the standard context."""
    for event in events:
        names = JsonNames({})
        obj = event_to_json(event, names)
        if extension_context(names.used):
            obj = {"@context": _context(names.used), **obj}
        yield orjson.dumps(obj) + b"\n"


def query_document_chunks(events: Callable[[], Iterable[Event]], doc: Document) -> Iterator[bytes]:
    """The EPCISQueryDocument ``doc`` with ``events()`` as its event list, written event by
    event (bounded memory): a first pass over the events collects the extension namespaces
    the ``@context`` at the top must declare, the second writes them."""
    names = JsonNames(doc.namespaces)
    for event in events():
        event_to_json(event, names)
    head = document_to_json(doc)
    head["@context"] = _context(names.used)
    text = orjson.dumps(head)
    at = text.rindex(b'"eventList":[]') + len(b'"eventList":[')
    yield text[:at]
    for i, event in enumerate(events()):
        yield (b"," if i else b"") + orjson.dumps(event_to_json(event, names))
    yield text[at:] + b"\n"
