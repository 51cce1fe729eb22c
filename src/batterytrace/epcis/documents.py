"""Open an EPCIS document file of either syntax, whole or as a stream of events.

Streaming keeps memory constant for files of any size: JSON is walked member by member and each
event cut out on its own (``json.JSONDecoder.raw_decode`` over a sliding buffer) and handed on as
its JSON text, decoded where it is needed (in capture: in a worker process); XML uses lxml's
iterparse (:func:`batterytrace.epcis.xml.iter_document`). Every event is checked by
:mod:`batterytrace.epcis.rules` when it is decoded, unless the caller only wants the syntax.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from batterytrace import json_input
from batterytrace.epcis import json_ld, rules, schema
from batterytrace.epcis import xml as xml_syntax
from batterytrace.epcis.hash import event_hash, ignored_fields, prehash
from batterytrace.epcis.model import Document, DocumentKind, Event
from batterytrace.errors import FieldError, InvalidDocument, event_error
from batterytrace.limits import EVENT_SIZE
from batterytrace.workers import Pool

_CHUNK = 1 << 20
_WHITESPACE = " \t\n\r"


# A streamed event: a model already (XML), or its JSON text, still to be decoded (JSON).
Item = Event | str


@dataclass(slots=True)
class EventStream:
    """A document's header (``header.events`` is empty) and its events, in document order."""

    header: Document
    items: Iterator[Item]
    check: bool = True
    schema: Path | None = None  # the official JSON Schema JSON events are validated against too

    @classmethod
    def of(cls, document: Document) -> EventStream:
        """An already parsed document as a stream, its header and events checked first."""
        rules.check_document(document)
        header = Document(
            kind=document.kind,
            creationDate=document.creationDate,
            masterData=document.masterData,
            namespaces=document.namespaces,
        )
        return cls(header, iter(document.events))

    @property
    def events(self) -> Iterator[Event]:
        """The events decoded and (when ``check``) checked, one at a time."""
        namespaces = self.header.namespaces
        for index, item in enumerate(self.items):
            yield decode(item, index, namespaces, self.check, self.schema)


def decode(
    item: Item,
    index: int,
    namespaces: dict[str, str],
    check: bool = True,
    schema_path: Path | None = None,
) -> Event:
    """The event at ``index`` as a model, checked by the rules unless ``check`` is False (and,
    a JSON event, by the official JSON Schema at ``schema_path``, if any)."""
    if isinstance(item, str):
        try:
            obj = orjson.loads(item)
        except orjson.JSONDecodeError as exc:
            problem = json_input.explain(item) or f"not representable JSON ({exc})"
            raise InvalidDocument(f"event {index}: {problem}") from None
        if "\\u0000" in item and (nul := json_input.explain(item)):  # a NUL, escaped
            field, _, rule = nul.partition(": ")
            event_id = obj.get("eventID") if isinstance(obj, dict) else None
            named = event_id if isinstance(event_id, str) and "\x00" not in event_id else None
            raise event_error(index, named, FieldError(field, rule))
        if check and schema_path is not None:
            try:
                schema.check_event_json(obj, schema_path)
            except FieldError as exc:
                event_id = obj.get("eventID") if isinstance(obj, dict) else None
                raise event_error(
                    index, event_id if isinstance(event_id, str) else None, exc
                ) from None
        event = json_ld.event_at(index, obj, namespaces)
    else:
        event = item
    if check:
        try:
            rules.check_event(event)
        except FieldError as exc:
            raise event_error(index, event.eventID, exc) from None
    return event


def sniff_syntax(path: Path) -> str:
    """'json' or 'xml', from the first non-blank character of the file."""
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte order mark
        text = head.decode("utf-16", errors="ignore").lstrip("\ufeff \t\r\n")
        if text.startswith("<"):
            return "xml"  # XML 1.0 §4.3.3: the parser reads UTF-16 by its mark
        raise InvalidDocument(f"{path.name}: UTF-16 text that is not XML (JSON must be UTF-8)")
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json"
    raise InvalidDocument(f"{path.name}: neither JSON nor XML (starts with {head[:20]!r})")


def stream(path: Path, check: bool = True, schema: Path | None = None) -> EventStream:
    """Open ``path`` as a stream of events (constant memory), checked by the rules unless
    ``check`` is False (reading syntax only, as hashing needs), JSON events also by the
    official JSON Schema at ``schema``, if any."""
    if not path.is_file():
        raise InvalidDocument(f"{path}: no such file")
    items: Iterator[Item]
    if sniff_syntax(path) == "xml":
        header, items = xml_syntax.iter_document(path)
        if check:
            rules.check_header(header)
    else:
        # queryResults may put queryName after the events: the JSON stream checks the header
        # once it has read the body.
        header, items = _JsonStream(path).open()
    return EventStream(header, items, check, schema)


def read(path: Path, check: bool = True, schema: Path | None = None) -> Document:
    """The whole document, every event checked (unless ``check`` is False; :func:`stream`)."""
    opened = stream(path, check, schema)
    opened.header.events = list(opened.events)
    return opened.header


_HASH_BATCH = 1000


@dataclass(slots=True)
class _HashBatch:
    start: int
    items: list[Item]
    namespaces: dict[str, str]
    ignore: frozenset[str]
    canonical: bool  # the pre-hash strings, not their hash IDs


def _hash_batch(batch: _HashBatch) -> list[str]:
    digest = prehash if batch.canonical else event_hash
    namespaces, ignore = batch.namespaces, batch.ignore
    return [
        digest(decode(item, batch.start + i, namespaces, check=False), ignore)
        for i, item in enumerate(batch.items)
    ]


def hashes(
    path: Path, ignore: frozenset[str] = frozenset(), canonical: bool = False, workers: int = 1
) -> list[str]:
    """The CBV 2.0 hash ID (or pre-hash string) of every event of a file, in document order,
    leaving out ``ignore`` and the fields the document's own ``ignoreFields`` lists. Past one
    batch, the events are decoded and hashed in ``workers`` processes."""
    opened = stream(path, check=False)
    used: list[frozenset[str]] = []

    def batches() -> Iterator[_HashBatch]:
        starts = itertools.count(0, _HASH_BATCH)
        for items in iter(lambda: list(itertools.islice(opened.items, _HASH_BATCH)), []):
            if not used:  # a query document's ignoreFields is read as the stream reaches it
                used.append(ignored_fields(opened.header) | ignore)
            yield _HashBatch(next(starts), items, opened.header.namespaces, used[0], canonical)

    pool = Pool(_hash_batch, workers, start="fork")  # forked: the limits in force inherited
    lines = [line for part in pool.map(batches(), lambda b: len(b.items) == _HASH_BATCH)
             for line in part]  # fmt: skip
    if used and ignored_fields(opened.header) | ignore != used[0]:
        # ignoreFields written after the events: hash them again with the whole list
        return hashes(path, ignored_fields(opened.header) | ignore, canonical, workers)
    return lines


def parse_bytes(data: bytes) -> Document:
    """A document given as bytes (JSON or XML), every event checked."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        doc = xml_syntax.read_document(data)
    else:
        doc = json_ld.document_from_json(json_input.loads(text, "document", InvalidDocument))
    rules.check_document(doc)
    return doc


class _JsonStream:
    """Walks the top-level JSON object, decoding the event list one event at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[str] | None = None
        self.buf = ""
        self.pos = 0
        self.offset = 0  # characters dropped from the front of buf
        self.eof = False
        self.last_text = ""  # the JSON text of the value _value() read last
        # The scanner that cuts values out also finds repeated keys: a hook on each object
        # (decision 019); events are decoded again, by orjson, where they are used.
        self.repeated = False
        self.decoder = json.JSONDecoder(
            object_pairs_hook=self._pairs, parse_int=json_input.parse_int
        )

    # -- buffer ------------------------------------------------------------------------------

    def _fill(self) -> bool:
        assert self.file is not None
        try:
            chunk = self.file.read(_CHUNK)
        except UnicodeDecodeError as exc:
            where = self.offset + len(self.buf)
            raise InvalidDocument(
                f"not UTF-8 after character {where}: byte 0x{exc.object[exc.start]:02x} "
                f"({exc.reason})"
            ) from None
        if not chunk:
            self.eof = True
            return False
        if self.pos > _CHUNK:
            self.offset += self.pos
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += chunk
        return True

    def _peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                raise self._error("unexpected end of file")

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise self._error(f"expected {char!r}, found {self.buf[self.pos]!r}")
        self.pos += 1

    def _pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            self.repeated = True
        return obj

    def _value(self, where: str, whole: bool = True, index: int | None = None) -> Any:
        """The value at the cursor, read as :func:`json_input.loads` reads (``whole``) or only
        checked for repeated keys (an event, read again where it is decoded); for the event at
        ``index``, refused once its text is past the event size limit, before it is decoded."""
        self._peek()
        while True:
            self.repeated = False
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if index is not None:
                    self._bound(index, len(self.buf) - self.pos, partial=True)
                if self.eof or not self._fill():
                    raise self._error(exc.msg, exc.pos) from None
                continue
            except RecursionError:
                at = self.offset + self.pos
                raise InvalidDocument(
                    f"{where} (character {at}): nested deeper than {json_input.MAX_DEPTH} levels "
                    "(the limit)"
                ) from None
            # a number at the end of the buffer may continue in the next chunk
            if end == len(self.buf) and not self.eof and self._fill():
                continue
            if index is not None:
                self._bound(index, end - self.pos, partial=False)
            self.last_text = self.buf[self.pos : end]
            self.pos = end
            if whole or self.repeated:
                return json_input.loads(self.last_text, where, InvalidDocument)
            return value

    def _bound(self, index: int, size: int, partial: bool) -> None:
        rule = EVENT_SIZE.over(size)
        if rule is not None:
            raise InvalidDocument(f"event {index}: {'at least ' if partial else ''}{rule}")

    def _error(self, msg: str, pos: int | None = None) -> InvalidDocument:
        at = self.offset + (self.pos if pos is None else pos)
        return InvalidDocument(f"JSON not well-formed: {msg} (character {at})")

    def _members(self, where: str = "") -> Iterator[str]:
        """Keys of the object starting at the cursor (``where`` in the document); the caller
        consumes each value."""
        self._expect("{")
        if self._peek() == "}":
            self.pos += 1
            return
        seen: set[str] = set()
        while True:
            key = self._value(where or "document", whole=False)
            if not isinstance(key, str):
                raise self._error("object keys must be strings")
            if key in seen:
                raise InvalidDocument(
                    f"{where}{'.' if where else ''}{key}: key repeated in one object (each is "
                    "named once)"
                )
            seen.add(key)
            self._expect(":")
            yield key
            if self._peek() == ",":
                self.pos += 1
                continue
            self._expect("}")
            return

    # -- document ----------------------------------------------------------------------------

    def open(self) -> tuple[Document, Iterator[str]]:
        self.file = self.path.open("r", encoding="utf-8-sig")
        if self._peek() != "{":
            raise InvalidDocument(
                "document: must be a JSON object (an EPCISDocument or EPCISQueryDocument)"
            )
        members = self._members()
        top: dict[str, Any] = {}
        for key in members:
            if key == "epcisBody":
                break
            top[key] = self._value(key)
        else:
            self.file.close()
            json_ld.header_from_json(top)  # names a wrong type or header member first
            raise InvalidDocument("document: epcisBody: is required")
        if "@context" not in top or "type" not in top or "creationDate" not in top:
            # The header follows the body: read it in a first pass (events skipped, not kept).
            top.update(_JsonStream(self.path).header_members())
        header = json_ld.header_from_json(top)
        return header, self._events(header, members)

    def header_members(self) -> dict[str, Any]:
        self.file = self.path.open("r", encoding="utf-8-sig")
        try:
            out: dict[str, Any] = {}
            for key in self._members():
                if key == "epcisBody":
                    for _ in self._body_events(DocumentKind.QUERY, skip=True):
                        pass
                else:
                    out[key] = self._value(key)
            return out
        finally:
            self.file.close()

    def _events(self, header: Document, members: Iterator[str]) -> Iterator[str]:
        assert self.file is not None
        try:
            yield from self._body_events(header.kind, header=header)
            for key in members:  # members after epcisBody were read by header_members
                self._value(key)
            if self._peek_end():
                raise self._error("unexpected data after the document")
        finally:
            self.file.close()

    def _peek_end(self) -> bool:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return True
            if not self._fill():
                return False

    def _body_events(
        self, kind: DocumentKind, header: Document | None = None, skip: bool = False
    ) -> Iterator[str]:
        """Event texts of the epcisBody object at the cursor (EPCISDocument or query document)."""
        found = False
        for key in self._members("epcisBody"):
            if key == "eventList":
                found = True
                yield from self._event_list(skip)
            elif key == "queryResults":
                results = "epcisBody.queryResults"
                for rkey in self._members(results):
                    if rkey == "resultsBody":
                        for bkey in self._members(f"{results}.resultsBody"):
                            if bkey == "eventList":
                                found = True
                                yield from self._event_list(skip)
                            else:
                                self._value(f"{results}.resultsBody.{bkey}")
                    else:
                        value = self._value(f"{results}.{rkey}")
                        if header is not None:
                            json_ld.query_results_header(header, {rkey: value})
            else:
                self._value(f"epcisBody.{key}")
        if skip:
            return
        if not found:
            where = (
                "queryResults.resultsBody.eventList" if kind is DocumentKind.QUERY else "eventList"
            )
            raise InvalidDocument(f"document: epcisBody.{where}: is required")
        if header is not None:
            rules.check_header(header)

    def _event_list(self, skip: bool) -> Iterator[str]:
        self._expect("[")
        if self._peek() == "]":
            self.pos += 1
            return
        for index in itertools.count():
            self._value(f"event {index}", whole=False, index=index)
            if not skip:
                yield self.last_text
            if self._peek() == ",":
                self.pos += 1
                continue
            self._expect("]")
            return
