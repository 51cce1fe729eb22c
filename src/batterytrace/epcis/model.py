"""The EPCIS 2.0 document model: one typed model for the JSON-LD and the XML syntax.

Attribute names are the EPCIS 2.0 names (``epcList``, ``bizStep``...), so one name means one
concept in JSON, XML, the event hash and the query parameters. Values are normalised on read:
CBV vocabulary is held as the bare CBV term (``shipping``) when it is a standard term and as
the full URI otherwise; timestamps are timezone-aware datetimes; identifiers are kept as
written (EPC URN or GS1 Digital Link) and normalised only where they are compared (hash,
index). User extensions are kept as an XML-infoset-like tree of :class:`Extension` nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

Scalar = str | int | float | bool


class EventType(StrEnum):
    """EPCIS 2.0 §7.4 event types."""

    OBJECT = "ObjectEvent"
    AGGREGATION = "AggregationEvent"
    TRANSACTION = "TransactionEvent"
    TRANSFORMATION = "TransformationEvent"
    ASSOCIATION = "AssociationEvent"


class Action(StrEnum):
    """EPCIS 2.0 §7.3.2 Action."""

    ADD = "ADD"
    OBSERVE = "OBSERVE"
    DELETE = "DELETE"


@dataclass(slots=True, frozen=True)
class Extension:
    """One extension element: ``{namespace}local`` name and a scalar value or children.

    A JSON array value is held as repeated elements of the same name, as XML holds it.
    ``namespace`` is empty for un-namespaced children inside a namespaced element.
    """

    namespace: str
    name: str
    value: Scalar | None = None
    children: tuple[Extension, ...] = ()

    @property
    def qname(self) -> str:
        return f"{{{self.namespace}}}{self.name}" if self.namespace else self.name


@dataclass(slots=True, frozen=True)
class QuantityElement:
    """EPCIS 2.0 §7.3.3.3: a quantity of an EPC class, uom a UN/CEFACT Rec. 20 code."""

    epcClass: str
    quantity: float | None = None
    uom: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.quantity, int) and not isinstance(self.quantity, bool):
            object.__setattr__(self, "quantity", float(self.quantity))  # one number type


@dataclass(slots=True, frozen=True)
class Location:
    """readPoint / bizLocation: an identifier plus optional extensions."""

    id: str
    extensions: tuple[Extension, ...] = ()


@dataclass(slots=True, frozen=True)
class BizTransaction:
    bizTransaction: str
    type: str | None = None


@dataclass(slots=True, frozen=True)
class SourceDest:
    """One entry of sourceList or destinationList (the list says which)."""

    type: str
    id: str


@dataclass(slots=True, frozen=True)
class PersistentDisposition:
    set: tuple[str, ...] = ()
    unset: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class ErrorDeclaration:
    declarationTime: datetime
    reason: str | None = None
    correctiveEventIDs: tuple[str, ...] = ()
    extensions: tuple[Extension, ...] = ()


@dataclass(slots=True, frozen=True)
class SensorMetadata:
    time: datetime | None = None
    startTime: datetime | None = None
    endTime: datetime | None = None
    deviceID: str | None = None
    deviceMetadata: str | None = None
    rawData: str | None = None
    dataProcessingMethod: str | None = None
    bizRules: str | None = None
    extensions: tuple[Extension, ...] = ()


@dataclass(slots=True, frozen=True)
class SensorReport:
    type: str | None = None
    exception: str | None = None
    deviceID: str | None = None
    deviceMetadata: str | None = None
    rawData: str | None = None
    dataProcessingMethod: str | None = None
    bizRules: str | None = None
    time: datetime | None = None
    microorganism: str | None = None
    chemicalSubstance: str | None = None
    coordinateReferenceSystem: str | None = None
    value: float | None = None
    component: str | None = None
    stringValue: str | None = None
    booleanValue: bool | None = None
    hexBinaryValue: str | None = None
    uriValue: str | None = None
    minValue: float | None = None
    maxValue: float | None = None
    meanValue: float | None = None
    sDev: float | None = None
    percRank: float | None = None
    percValue: float | None = None
    uom: str | None = None
    extensions: tuple[Extension, ...] = ()


@dataclass(slots=True, frozen=True)
class SensorElement:
    sensorReport: tuple[SensorReport, ...]
    sensorMetadata: SensorMetadata | None = None
    extensions: tuple[Extension, ...] = ()


@dataclass(slots=True, frozen=True, kw_only=True)
class Event:
    """An EPCIS 2.0 event of any of the five types; fields a type does not have stay empty.

    Which fields each type may carry, and which it must, is checked by
    :mod:`batterytrace.epcis.rules`; the model itself only holds values.
    """

    type: EventType
    eventTime: datetime
    eventTimeZoneOffset: str
    recordTime: datetime | None = None
    eventID: str | None = None
    certificationInfo: tuple[str, ...] = ()
    errorDeclaration: ErrorDeclaration | None = None
    # what
    parentID: str | None = None
    epcList: tuple[str, ...] = ()
    childEPCs: tuple[str, ...] = ()
    inputEPCList: tuple[str, ...] = ()
    outputEPCList: tuple[str, ...] = ()
    quantityList: tuple[QuantityElement, ...] = ()
    childQuantityList: tuple[QuantityElement, ...] = ()
    inputQuantityList: tuple[QuantityElement, ...] = ()
    outputQuantityList: tuple[QuantityElement, ...] = ()
    action: Action | None = None
    transformationID: str | None = None
    # why
    bizStep: str | None = None
    disposition: str | None = None
    persistentDisposition: PersistentDisposition | None = None
    # where
    readPoint: Location | None = None
    bizLocation: Location | None = None
    bizTransactionList: tuple[BizTransaction, ...] = ()
    sourceList: tuple[SourceDest, ...] = ()
    destinationList: tuple[SourceDest, ...] = ()
    # how
    sensorElementList: tuple[SensorElement, ...] = ()
    ilmd: tuple[Extension, ...] = ()
    extensions: tuple[Extension, ...] = ()


@dataclass(slots=True, frozen=True)
class VocabularyAttribute:
    """A master-data attribute: its id and either a plain value or extension children."""

    id: str
    value: Scalar | None = None
    children: tuple[Extension, ...] = ()


@dataclass(slots=True, frozen=True)
class VocabularyElement:
    id: str
    attributes: tuple[VocabularyAttribute, ...] = ()
    children: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Vocabulary:
    """EPCIS master data (§7.2): one vocabulary type (e.g. BusinessLocation) and its elements."""

    type: str
    elements: tuple[VocabularyElement, ...] = ()


class DocumentKind(StrEnum):
    CAPTURE = "EPCISDocument"
    QUERY = "EPCISQueryDocument"


@dataclass(slots=True, kw_only=True)
class Document:
    """An EPCISDocument or EPCISQueryDocument (§9).

    ``namespaces`` (prefix → URI) only guides how extension names are written back out; it is
    not part of the document's meaning and not compared.
    """

    kind: DocumentKind = DocumentKind.CAPTURE
    schemaVersion: str = "2.0"
    creationDate: datetime
    id: str | None = None
    instanceIdentifier: str | None = None
    sender: str | None = None
    receiver: str | None = None
    masterData: tuple[Vocabulary, ...] = ()
    events: list[Event] = field(default_factory=list)
    queryName: str | None = None
    subscriptionID: str | None = None
    extensions: tuple[Extension, ...] = ()  # document-level user extensions
    namespaces: dict[str, str] = field(default_factory=dict, compare=False)
