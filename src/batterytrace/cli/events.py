"""Events: capture, query (``events``) and export, hash IDs."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from batterytrace.cli.common import current_settings, err, flag, make_uow, out, progress_bar
from batterytrace.errors import InvalidDocument, QueryError

if TYPE_CHECKING:
    from batterytrace.epcis.model import Event
    from batterytrace.services.events import Captured
    from batterytrace.services.unit_of_work import UnitOfWork


def capture(
    files: Annotated[list[Path], typer.Argument(help="EPCIS 2.0 documents, JSON-LD or XML.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    schema_file: Annotated[
        Path | None,
        typer.Option(
            "--schema",
            help="Also validate JSON events against this copy of the official EPCIS 2.0 JSON "
            "Schema (EPCIS-JSON-Schema.json; or set BATTERYTRACE_EPCIS_SCHEMA).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            help="Capture for this organisation (a party GLN): its events, refused at a site "
            "of another that did not delegate capture to it. Without it: the operator's.",
        ),
    ] = None,
) -> None:
    """Capture documents: each file is stored whole or not at all. An event whose hash ID is
    stored (the same event in any syntax or identifier form) is a duplicate and skipped; a
    document may carry master data alone."""
    settings = current_settings()
    if schema_file is not None:  # typer checked it is a file, as the settings check theirs
        settings = settings.model_copy(update={"epcis_schema": schema_file})
    uow = make_uow(settings)
    results = [capture_file(uow, path, org) for path in files]
    rejected = sum(1 for r in results if r.rejected)
    if json_output:
        body = [r.model_dump() for r in results]
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for r in results:
            if r.rejected or r.ledger_head is None:
                err.print(flag("rejected", f"{r.file}: {r.error}"), soft_wrap=True)
                continue
            out.print(
                f"{r.file}: captured {r.captured}, duplicates {r.duplicates}, "
                f"master data elements {r.master_data_elements}, "
                f"ledger at entry {r.ledger_head.seq}"
            )
            if r.fallback:
                err.print(flag("note", f"{r.file}: {r.fallback}"), soft_wrap=True)
            if r.declarations_not_applied:
                err.print(
                    flag("warning", f"{r.file}: {r.declarations_not_applied} duplicates carry "
                         "an errorDeclaration, not applied to the stored event (error "
                         "declarations are not supported yet)"),
                    soft_wrap=True,
                )  # fmt: skip
        total_c = sum(r.captured for r in results)
        total_d = sum(r.duplicates for r in results)
        out.print(f"total: captured {total_c}, duplicates {total_d}, rejected files {rejected}")
    if rejected:
        raise typer.Exit(1)


def capture_file(uow: UnitOfWork, path: Path, owner: str | None = None) -> Captured:
    """One file captured with a progress bar; a rejection is a result here."""
    from batterytrace.services import events

    with progress_bar() as progress:
        task = progress.add_task(path.name, total=None)
        return events.capture_file(uow, path, lambda n: progress.update(task, completed=n), owner)


def _params(raw: list[str]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for item in raw:
        name, sep, value = item.partition("=")
        if not name or not (sep or name.startswith("EXISTS_")):
            raise typer.BadParameter(f"{item!r}: write query parameters as NAME=VALUE")
        params.setdefault(name, []).extend(v for v in value.split(",") if v)
    return params


def events(
    params: Annotated[
        list[str] | None,
        typer.Argument(
            help="SimpleEventQuery parameters as NAME=VALUE (lists comma-separated), e.g. "
            "eventType=ObjectEvent EQ_bizStep=shipping "
            "MATCH_anyEPCClass=urn:epc:idpat:sgtin:6111111.000201.* "
            "GE_eventTime=2025-01-01T00:00:00Z orderBy=eventTime orderDirection=ASC perPage=50 "
            "eventCountLimit=100; the next page: nextPageToken=TOKEN (as a page prints it)"
        ),
    ] = None,
    count: Annotated[
        bool, typer.Option("--count", help="Print only the number of matching events.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print an EPCISQueryDocument (JSON-LD).")
    ] = False,
    xml_output: Annotated[
        bool, typer.Option("--xml", help="Print an EPCISQueryDocument (XML).")
    ] = False,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Every matching event, for exports: one JSON object a line (JSON Lines), or "
            "with --json one EPCISQueryDocument; read page by page, in bounded memory.",
        ),
    ] = False,
) -> None:
    """Query stored events (EPCIS 2.0 SimpleEventQuery); one page at a time (at most 10,000
    events), or --all of them. Why nothing matched, and a perPage capped, go to stderr."""
    from batterytrace.epcis import json_ld, xml
    from batterytrace.services import events

    query = _params(params or [])
    uow = make_uow()
    if count:
        number = events.count(uow, query)
        sys.stdout.write(
            orjson.dumps({"count": number}).decode() + "\n" if json_output else f"{number}\n"
        )
        if not number:
            _say_why_none(query)
        return
    if every:
        _export(uow, query, json_output, xml_output)
        return
    _say_capped(query)
    doc, token = events.query_document(uow, query)
    if not doc.events:
        _say_why_none(query)
    if json_output:
        body = json_ld.document_to_json(doc)
        if token:
            body["nextPageToken"] = token
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if xml_output:
        sys.stdout.write(xml.write_document(doc).decode() + "\n")
        if token:
            err.print(f"nextPageToken={token}")
        return
    table = Table(box=None, caption="(--json or --xml print every field)")
    table.add_column("eventTime (local)", no_wrap=True)
    for name in ("type", "action", "bizStep"):
        table.add_column(name, no_wrap=True)
    table.add_column("what", overflow="fold")
    table.add_column("eventID", overflow="fold")
    for e in doc.events:
        table.add_row(
            e.eventTime.strftime("%Y-%m-%d %H:%M"), e.type.value.removesuffix("Event"),
            e.action or "", e.bizStep or "", _what(e), e.eventID or "",
        )  # fmt: skip
    out.print(table)
    page = f"{len(doc.events)} events" + (f"; next page: nextPageToken={token}" if token else "")
    out.print(page, soft_wrap=True)


def _say_capped(query: Mapping[str, list[str]]) -> None:
    from batterytrace.store.query import MAX_PER_PAGE

    asked = query.get("perPage", [])
    if len(asked) == 1 and asked[0].isdigit() and int(asked[0]) > MAX_PER_PAGE:
        err.print(f"note: perPage {int(asked[0]):,} is capped at {MAX_PER_PAGE:,} events a page; "
                  "follow nextPageToken, or use --all for every event", soft_wrap=True)  # fmt: skip


def _say_why_none(query: Mapping[str, list[str]]) -> None:
    from batterytrace.store.query import MATCH_SYNTAX, unmatched_patterns

    odd = unmatched_patterns(query)
    if odd:
        err.print(f"note: nothing matched {', '.join(odd)}: {MATCH_SYNTAX}", soft_wrap=True)


def _export(
    uow: UnitOfWork, query: dict[str, list[str]], json_output: bool, xml_output: bool
) -> None:
    """``events --all``: JSON Lines, or one EPCISQueryDocument (JSON-LD) written as it is read."""
    from batterytrace.epcis import json_ld
    from batterytrace.epcis.model import Document, DocumentKind
    from batterytrace.services import events

    if xml_output:
        raise QueryError("--all writes JSON (lines, or --json one document); for XML, page with "
                         "--xml and nextPageToken")  # fmt: skip
    if json_output:
        doc = Document(kind=DocumentKind.QUERY, creationDate=datetime.now(UTC),
                       queryName=events.QUERY_NAME)  # fmt: skip
        chunks = json_ld.query_document_chunks(lambda: events.query_all(uow, query), doc)
    else:
        chunks = json_ld.event_lines(events.query_all(uow, query))
    written = 0
    for chunk in chunks:
        sys.stdout.buffer.write(chunk)
        written += 1
    sys.stdout.flush()
    if written == (2 if json_output else 0):  # a document's opening and closing, no event
        _say_why_none(query)


def _what(event: Event) -> str:
    """The first object an event is about, and how many more."""
    e = event
    objects = [e.parentID] if e.parentID else []
    objects += [*e.epcList, *e.childEPCs, *e.inputEPCList, *e.outputEPCList]
    lists = (e.quantityList, e.childQuantityList, e.inputQuantityList, e.outputQuantityList)
    objects += [f"{q.quantity or 0:,g} {q.uom or ''} {q.epcClass}" for ql in lists for q in ql]
    if not objects:
        return ""
    return objects[0] + (f" (+{len(objects) - 1} more)" if len(objects) > 1 else "")


def hash_(
    files: Annotated[
        list[Path], typer.Argument(help="EPCIS 2.0 documents, JSON-LD or XML.", metavar="FILE...")
    ],
    show_prehash: Annotated[
        bool, typer.Option("--prehash", help="Print the canonical pre-hash strings instead.")
    ] = False,
    ignore_field: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-field",
            help="An event extension to leave out of the hash, as namespace URI + name "
            "(e.g. https://repository-x.example.com/captureID); repeatable. Added to those the "
            "document's own ignoreFields extension lists.",
        ),
    ] = None,
) -> None:
    """Print the CBV 2.0 event hash ID of every event, one line each, in document order; with
    several files, each file's lines follow a line ``==> FILE <==`` (as ``head`` does).

    Fields the document lists in an ``ignoreFields`` extension are left out, as the reference
    generator does."""
    from batterytrace.epcis import documents

    for n, file in enumerate(files):
        try:
            lines = documents.hashes(
                file, frozenset(ignore_field or ()), show_prehash, current_settings().workers
            )
        except InvalidDocument as exc:
            raise InvalidDocument(f"{file}: {exc}") from None
        if len(files) > 1:
            sys.stdout.write(("\n" if n else "") + f"==> {file} <==\n")
        sys.stdout.writelines(line + "\n" for line in lines)
