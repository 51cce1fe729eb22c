"""The ``batterytrace`` command: a thin layer over the services (:mod:`batterytrace.services`)."""

from __future__ import annotations

import contextlib
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console, ConsoleDimensions
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text
from rich.tree import Tree
from typer._click.core import Context
from typer._click.globals import get_current_context
from typer.core import TyperGroup
from typer.exceptions import TyperException

from batterytrace.carbon import DRAWS, SEED
from batterytrace.errors import (
    ActivityError,
    BatteryTraceError,
    ContractError,
    CustodyError,
    FactorError,
    InvalidDocument,
    PactError,
    QueryError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from batterytrace.carbon.footprint import Contribution, Footprint
    from batterytrace.carbon.system import Unused
    from batterytrace.carbon.uncertainty import Interval
    from batterytrace.contracts.agreement import Agreement
    from batterytrace.contracts.deliveries import YearStatus
    from batterytrace.contracts.intensity import Intensity
    from batterytrace.custody.flows import Note
    from batterytrace.custody.ledger import Statement
    from batterytrace.epcis.model import Event
    from batterytrace.services.derived import Difference
    from batterytrace.services.unit_of_work import UnitOfWork
    from batterytrace.settings import Settings
    from batterytrace.trace.genealogy import Trace


class _Guarded(TyperGroup):
    """The edge of every command: the settings read from the environment once (a bad value is
    one line and exit 1), and the last resort around the command: what reaches the top is one
    line and exit 1, never a traceback (unless BATTERYTRACE_DEBUG=1 asks for one)."""

    def invoke(self, ctx: Context) -> Any:
        debug = False
        try:
            ctx.obj = _read_settings()  # the commands' contexts inherit it: _settings()
            debug = ctx.obj.debug
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # usage errors, --help: typer's
            raise
        except (BatteryTraceError, OSError, UnicodeDecodeError) as exc:  # unreadable file...
            _fail("error:", str(exc))
        except (RecursionError, MemoryError) as exc:
            _fail("error:", f"input too large or too deeply nested ({type(exc).__name__})")
        except Exception as exc:
            if debug:
                raise
            _fail("internal error:", f"{type(exc).__name__}: {exc} (a bug: please report it, "
                  "with the traceback BATTERYTRACE_DEBUG=1 shows)")  # fmt: skip


def _read_settings() -> Settings:
    """This command's settings, the limits of the process set from them."""
    from batterytrace import limits
    from batterytrace.settings import Settings  # here: `batterytrace --help` loads no pydantic

    settings = Settings()
    limits.configure(settings.limits)
    return settings


def _settings() -> Settings:
    """The settings the running command was given (:meth:`_Guarded.invoke`)."""
    settings: Settings = get_current_context().obj
    return settings


def _fail(label: str, text: str) -> NoReturn:
    err.print(_flag(label, " ".join(text.splitlines())), soft_wrap=True)
    raise typer.Exit(1)


app = typer.Typer(
    cls=_Guarded,
    help="EPCIS 2.0 event repository with a tamper-evident ledger, for battery raw materials.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: typer's rich help formatter alone takes 0.15 s to load
)

# Wider than any line: what goes to a file or a pipe is never wrapped nor folded.
UNWRAPPED = 1_000_000


class _Console(Console):
    """Rich output that fits a terminal's width, and in a file or pipe keeps each line whole
    (Rich would wrap at 80 columns there, splitting file names, identifiers and page tokens).
    Markup and emoji codes off: user data (``[0]``, ``urn:x:…``) is printed as it is."""

    def __init__(self, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False)

    @property
    def size(self) -> ConsoleDimensions:
        # Asked at each print: stdout may be swapped after start-up (tests, redirections).
        return super().size if self.is_terminal else ConsoleDimensions(UNWRAPPED, 25)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self.width, self.height = new_size


out = _Console()
err = _Console(stderr=True)


def _flag(label: str, text: str) -> Text:
    """``label`` in red, then the plain text."""
    return Text.assemble((label, "red"), " ", text)


def _finite_from(low: float, strict: bool = False) -> Callable[[float | None], float | None]:
    """An option's check: a finite number >= ``low`` (> when ``strict``); a usage error that
    names the option otherwise."""

    def check(value: float | None) -> float | None:
        if value is not None and not (
            math.isfinite(value) and (value > low if strict else value >= low)
        ):
            raise typer.BadParameter(
                f"{value} is not a finite number {'>' if strict else '≥'} {low:g}"
            )
        return value

    return check


_positive = _finite_from(0, strict=True)


def _uow(settings: Settings | None = None) -> UnitOfWork:
    """The unit of work over the store of ``settings``, by default the command's."""
    # Imported here: capture workers import this module (multiprocessing "spawn" re-imports
    # the main module) and need none of the database layer.
    from batterytrace.services.bootstrap import unit_of_work

    return unit_of_work(settings=settings or _settings())


class _EventRate(ProgressColumn):
    """Events per second since the task started."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} events/s", style="progress.data.speed")


def _progress() -> Progress:
    """A pulsing bar with the count and rate of events (the total is not known ahead)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} events"),
        _EventRate(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@contextlib.contextmanager
def _working(what: str) -> Iterator[None]:
    """While ``what`` runs: on a terminal, a spinner with the time elapsed on stderr; in a
    file or pipe, no bar but one line on stderr once it is done, with the time it took."""
    start = time.perf_counter()
    if err.is_terminal:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=err, transient=True) as progress:  # fmt: skip
            progress.add_task(what, total=None)
            yield
        return
    yield
    err.print(f"{what}: done in {time.perf_counter() - start:.2f} s")


def _print_json(result: BaseModel) -> None:
    """A service's result as the JSON the API serves (indented)."""
    sys.stdout.write(result.model_dump_json(indent=2) + "\n")


@app.command()
def init(
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create (or upgrade) the store named by BATTERYTRACE_DB and the ledger signing key."""
    from batterytrace.services import ledger

    result = ledger.init(_uow())
    if json_output:
        body = {"store": result.url, "revision": result.revision, "key": str(result.key_path),
                "key_created": result.key_created}  # fmt: skip
        sys.stdout.write(orjson.dumps(body).decode() + "\n")
        return
    out.print(f"store   {result.url} (schema revision {result.revision})")
    state = "created" if result.key_created else "kept existing"
    out.print(f"key     {result.key_path} ({state}; public key in {result.key_path}.pub)")


@app.command()
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
) -> None:
    """Capture documents: each file is stored whole or not at all. An event whose hash ID is
    stored (the same event in any syntax or identifier form) is a duplicate and skipped; a
    document may carry master data alone."""
    settings = _settings()
    if schema_file is not None:  # typer checked it is a file, as the settings check theirs
        settings = settings.model_copy(update={"epcis_schema": schema_file})
    uow = _uow(settings)
    results = [_capture_file(uow, path) for path in files]
    rejected = sum(1 for r in results if r["rejected"])
    if json_output:
        sys.stdout.write(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for r in results:
            if r["rejected"]:
                err.print(
                    _flag("rejected", f"{r['file']}: {r['error']}"),
                    soft_wrap=True,
                )
            else:
                out.print(
                    f"{r['file']}: captured {r['captured']}, duplicates {r['duplicates']}, "
                    f"master data elements {r['master_data_elements']}, "
                    f"ledger at entry {r['ledger_head']['seq']}"
                )
                if r["fallback"]:
                    err.print(_flag("note", f"{r['file']}: {r['fallback']}"), soft_wrap=True)
                if r["declarations_not_applied"]:
                    err.print(
                        _flag("warning", f"{r['file']}: {r['declarations_not_applied']} "
                              "duplicates carry an errorDeclaration, not applied to the stored "
                              "event (error declarations are not supported yet)"),
                        soft_wrap=True,
                    )  # fmt: skip
        total_c = sum(r.get("captured", 0) for r in results)
        total_d = sum(r.get("duplicates", 0) for r in results)
        out.print(f"total: captured {total_c}, duplicates {total_d}, rejected files {rejected}")
    if rejected:
        raise typer.Exit(1)


def _capture_file(uow: UnitOfWork, path: Path) -> dict[str, Any]:
    from batterytrace.services import events

    with _progress() as progress:
        task = progress.add_task(path.name, total=None)
        try:
            res = events.capture(uow, path, progress=lambda n: progress.update(task, completed=n))
        except BatteryTraceError as exc:
            return {"file": str(path), "rejected": True, "error": str(exc)}
    head = {"seq": res.head_seq, "hash": res.head}
    return {"file": str(path), "rejected": False, "captured": res.captured,
            "duplicates": res.duplicates, "master_data_elements": res.master_data_elements,
            "declarations_not_applied": res.declarations_not_applied,
            "ledger_head": head, "fallback": res.fallback}  # fmt: skip


def _params(raw: list[str]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for item in raw:
        name, sep, value = item.partition("=")
        if not name or not (sep or name.startswith("EXISTS_")):
            raise typer.BadParameter(f"{item!r}: write query parameters as NAME=VALUE")
        params.setdefault(name, []).extend(v for v in value.split(",") if v)
    return params


@app.command()
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
    uow = _uow()
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


@app.command("hash")
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
                file, frozenset(ignore_field or ()), show_prehash, _settings().workers
            )
        except InvalidDocument as exc:
            raise InvalidDocument(f"{file}: {exc}") from None
        if len(files) > 1:
            sys.stdout.write(("\n" if n else "") + f"==> {file} <==\n")
        sys.stdout.writelines(line + "\n" for line in lines)


@app.command()
def verify(
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="A head exported earlier (`checkpoint export`): the store must still hold it "
            "and both chains up to it, unchanged (a truncated tail fails).",
        ),
    ] = None,
    derived: Annotated[
        bool,
        typer.Option(
            "--derived",
            help="Also recompute the kept derived state (custody accounts, claims per lot, "
            "violations) and compare it with what is kept; name the first difference.",
        ),
    ] = False,
) -> None:
    """Recompute every event hash, the whole chain, the rows derived from the events (key rows,
    event figures, holdings), the imported tables from the import records, and the signed
    checkpoints; name the first broken entry."""
    from batterytrace.services import derived as derived_state
    from batterytrace.services import ledger

    uow = _uow()
    with _progress() as progress:
        task = progress.add_task("verifying entries", total=None)
        phase = {"now": "entries"}

        def step(what: str, done: int, total: int) -> None:
            if what != phase["now"]:  # the holdings after the entries: a bar of its own
                phase["now"] = what
                progress.reset(task, description=f"verifying {what}")
            progress.update(task, completed=done, total=total)

        report = ledger.verify(uow, step, against)
    first = str(report.failure) if report.failure else None
    if first and report.broken > 1:
        first += f" ({report.broken} entries fail their own check in all)"
    problems = [p for p in (first, report.import_failure) if p] + report.checkpoint_failures
    if derived:
        difference = derived_state.check(uow)
        if difference is not None:
            problems.append(_difference(difference))
    ok = not problems
    if json_output:
        body = {"ok": ok, "entries": report.entries, "broken": report.broken,
                "importRecords": report.records, "checkpoints": report.checkpoints,
                "head": report.head, "problems": problems}  # fmt: skip
        if derived:
            body["derived"] = "differs" if difference else "equal to a recomputation"
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif ok:
        out.print(
            f"ledger OK: {report.entries} entries, {report.records} import records, "
            f"{report.checkpoints} signed checkpoints, head {report.head}"
            + (f"; matches {against}" if against else "")
            + ("; kept derived state equal to a recomputation" if derived else "")
        )
    else:
        for problem in problems:
            err.print(_flag("ledger broken:", problem), soft_wrap=True)
    if not ok:
        raise typer.Exit(1)


def _difference(found: Difference) -> str:
    """A kept-state difference (services.derived.Difference) in one line."""
    if not found.area:
        return (f"kept {found.unit} state reflects version {found.kept_version}, the ledger is at "
                f"{found.version}: run `batterytrace rebuild`")  # fmt: skip
    what = ("missing" if found.kept is None
            else "not in a recomputation" if found.recomputed is None else "differs")  # fmt: skip
    return f"kept {found.area} row {found.key!r} {what} (version {found.version})"


@app.command()
def changes(
    since: Annotated[
        int, typer.Option("--since", min=0, help="Only what changed after this ledger version.")
    ] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """What the kept derived state's refreshes changed (custody accounts, claims per lot,
    violations), row by row, after a ledger version: late events, new rules, allocations."""
    from batterytrace.services import derived

    found = derived.changes(_uow(), since)
    if json_output:
        sys.stdout.write(found.model_dump_json(indent=2) + "\n")
        return
    out.print(f"{len(found.changes)} changes after version {since} (now at {found.version})")
    for change in found.changes:
        out.print(f"  v{change.version} {change.area} {change.key}: {change.summary()}")


@app.command()
def rebuild(
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recompute all kept derived state (custody accounts, claims per lot, violations) from the
    events and inputs, and replace what differs; say how many rows changed."""
    from batterytrace.services import derived

    with out.status("recomputing the kept derived state"):
        done = derived.refresh(_uow(), every=True)
    if json_output:
        sys.stdout.write(done.model_dump_json(indent=2) + "\n")
        return
    out.print(
        f"kept derived state ({', '.join(done.units)}) rebuilt at version {done.version}: "
        f"{len(done.changed)} rows changed"
    )
    for area, key in done.changed[:20]:
        out.print(f"  {area} {key}")
    if len(done.changed) > 20:
        out.print(f"  ... and {len(done.changed) - 20} more")


checkpoint_app = typer.Typer(help="Signed heads of the ledger.", no_args_is_help=True)
app.add_typer(checkpoint_app, name="checkpoint")


@checkpoint_app.command("export")
def checkpoint_export(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write it to this file (default: stdout).")
    ] = None,
) -> None:
    """The newest signed head (checkpoint number, both chains' length and head, signature) as
    JSON, to keep outside the store: `verify --against FILE` later catches a truncated tail."""
    from batterytrace.services import ledger

    body = orjson.dumps(ledger.export_head(_uow()), option=orjson.OPT_INDENT_2) + b"\n"
    if out_file is None:
        sys.stdout.write(body.decode())
    else:
        out_file.write_bytes(body)
        out.print(f"wrote {out_file}")


key_app = typer.Typer(help="The ledger's signing key.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("rotate")
def key_rotate() -> None:
    """Replace the signing key: the old key signs the new public key, the rotation is recorded
    in the ledger and signed with the new key; older checkpoints keep verifying under the old
    public key. The old private key is kept beside the new one as <file>.retired-<id>."""
    from batterytrace.services import ledger

    uow = _uow()
    old, new = ledger.rotate_key(uow)
    out.print(f"key {uow.key_path}: rotated from {old[:16]}… to {new[:16]}… (recorded)")


@app.command("imports")
def imports_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """Every recorded import (master data, the master data of captured document headers,
    carbon model, custody rules, contracts, factor sets, supplier footprints), removal and key
    rotation, in ledger order, with its content
    hash, time, source and effect."""
    from batterytrace.services import ledger

    records = ledger.import_records(_uow())
    if json_output:
        body = [r.to_json() for r in records]
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not records:
        out.print("no imports recorded yet (master data, carbon, custody, contracts...)")
    for r in records:
        effect = ", ".join(f"{n} {what}" for what, n in r.effect.items()) or "-"
        out.print(
            f"{r.seq:>4}  {r.when:%Y-%m-%d %H:%M:%S} UTC  {r.kind} {r.action}  "
            f"{r.source or '-'}  {effect}  sha256 {r.content_hash}",
            soft_wrap=True,
        )


masterdata_app = typer.Typer(
    help="Supply-chain master data: parties, sites, materials.", no_args_is_help=True
)
app.add_typer(masterdata_app, name="masterdata")


@masterdata_app.command("import")
def masterdata_import(
    source: Annotated[
        Path,
        typer.Argument(
            help="Our JSON file, a folder of parties.csv / sites.csv / materials.csv, or an EPCIS "
            "document whose header carries master data."
        ),
    ],
) -> None:
    """Add or replace records (by id); checked with what is stored, all or nothing. Records
    stored already as given are left as they are; a record of a stored id with other content
    replaces it. An import that changes nothing is not recorded."""
    from batterytrace.masterdata import read_master_data
    from batterytrace.services import masterdata

    done = masterdata.import_master_data(_uow(), read_master_data(source), source.name)
    for kind, effect in done.items():
        out.print(f"{kind}: {effect}")
    if not any(effect.changed for effect in done.values()):
        out.print(f"{source.name}: nothing changed, not recorded")


@masterdata_app.command("export")
def masterdata_export(
    target: Annotated[Path, typer.Argument(help="File (json, epcis) or folder (csv) to write.")],
    form: Annotated[str, typer.Option("--format", help="json, csv or epcis.")] = "json",
) -> None:
    """Write every stored record as JSON, CSV tables or an EPCIS master-data document."""
    from batterytrace.masterdata import write_master_data
    from batterytrace.services import masterdata

    for path in write_master_data(masterdata.master_data(_uow()), target, form):
        out.print(f"wrote {path}")


@masterdata_app.command("show")
def masterdata_show() -> None:
    """List parties, sites and materials with their element fractions."""
    from batterytrace.masterdata import ELEMENTS
    from batterytrace.services import masterdata

    uow = _uow()
    data, named = masterdata.master_data(uow), _named(uow)
    sites = Table("site", "name", "role", "country", "party", title="sites")
    for s in data.sites.values():
        sites.add_row(s.id, s.name, s.role.value, s.country, named(s.party))
    materials = Table("material", "name", "kind", *ELEMENTS, "source", title="materials (kg/kg)")
    for m in data.materials.values():
        shown = [m.fraction(e) for e in ELEMENTS]
        source = m.fractions[0].source if m.fractions else "-"
        materials.add_row(
            m.id, m.name, m.kind.value, *("?" if f is None else f"{f:.4g}" for f in shown), source
        )
    out.print(f"{len(data.parties)} parties")
    out.print(sites)
    out.print(materials)


def _named(uow: UnitOfWork) -> Callable[[str], str]:
    """``id (name)`` for a site or party of the stored master data, in any identifier form;
    unknown identifiers as they are. The one helper every table naming sites or parties uses."""
    from batterytrace.services import masterdata
    from batterytrace.trace.lineage import node_id

    data = masterdata.master_data(uow)
    names: dict[str, str] = {}
    pairs = [(p.id, p.name) for p in data.parties.values()]
    for identifier, name in pairs + [(s.id, s.name) for s in data.sites.values()]:
        names[identifier] = name
        with contextlib.suppress(BatteryTraceError, ValueError):  # a URI that is no GS1 key
            names[node_id(identifier)] = name

    def named(identifier: str) -> str:
        name = names.get(identifier)
        if name is None:
            with contextlib.suppress(BatteryTraceError, ValueError):
                name = names.get(node_id(identifier))
        return identifier if name is None else f"{identifier} ({name})"

    return named


# a site or party named in a sentence
_PLACE = re.compile(
    r"urn:epc:id:(?:sgln|pgln):[0-9A-Za-z.\-]*[0-9A-Za-z\-]"
    r"|https://id\.gs1\.org/41[47]/[0-9]{13}(?:/254/[0-9A-Za-z\-]+)?"  # GS1 Digital Link 1.2
)


def _named_in(named: Callable[[str], str], text: str) -> str:
    """``text`` with each site or party identifier in it named (``id (name)``)."""
    return _PLACE.sub(lambda m: named(m.group()), text)


def _read_json(source: Path, error: type[BatteryTraceError]) -> Any:
    from batterytrace import json_input

    return json_input.loads(source.read_bytes(), str(source), error)


custody_app = typer.Typer(
    help="Chain of custody (ISO 22095): claims on lots, mass-balance accounts.",
    no_args_is_help=True,
)
app.add_typer(custody_app, name="custody")


@custody_app.command("import")
def custody_import(
    source: Annotated[Path, typer.Argument(help="JSON rules: origins and site policies.")],
) -> None:
    """Replace the custody rules: where claims originate (with their evidence) and the model
    each site runs per claim (decision 008). The stored rules again change nothing."""
    from batterytrace.custody.rules import CustodyRules
    from batterytrace.formats import CustodyRulesFormat, checked, named
    from batterytrace.services import custody

    data = checked(CustodyRulesFormat, _read_json(source, CustodyError), str(source), CustodyError)
    with named(source):
        rules = CustodyRules.from_json(data)
    done = custody.import_rules(_uow(), rules, source.name, where=str(source))
    out.print(
        f"custody rules: {done}" + ("" if done.changed else "; nothing changed, not recorded")
    )


@custody_app.command("balance")
def custody_balance(
    site: Annotated[
        str | None, typer.Argument(help="A site (SGLN); every account if none.")
    ] = None,
    period: Annotated[str | None, typer.Option(help="One period: 2025-03, 2025-Q1, 2025.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the accounts as JSON.")
    ] = False,
) -> None:
    """Mass-balance accounts per site, claim and element, period by period (kg of element),
    recomputed from the stored events; violations (overdrafts...) on stderr, and why nothing
    shows when nothing does (a period of another length, a site given by name...)."""
    from batterytrace.services import custody

    uow = _uow()
    with _working("recomputing the chain of custody"):
        found = custody.balances(uow, site, period)
    if found.why_empty:
        err.print(_flag("note:", found.why_empty), soft_wrap=True)
    if json_output:
        _print_json(found)
        return
    table = Table(
        "site", "claim", "el.", "period", "opening", "credits", "debits", "losses", "expired",
        "closing", "carried", title="mass-balance accounts (kg of element)",
    )  # fmt: skip
    named = _named(uow)
    for a in found.accounts:
        for s in a.statements:
            figures = (s.opening, s.credits, s.debits, s.losses, s.expired, s.closing)
            carried = "open" if s.carried is None else f"{s.carried:,.3f}"
            table.add_row(
                named(a.site), a.claim, a.element, s.period,
                *(f"{f:,.3f}" for f in figures), carried,
            )  # fmt: skip
    out.print(table)
    for a in found.accounts:
        for s in a.statements:
            for ref in s.unknown_credits:
                out.print(
                    f"  {a.name} {s.period}: a credit of unknown kg ({ref}): figures are floors"
                )
    for note in found.violations:
        err.print(_flag("violation:", f"{note.event}: {note.text}"), soft_wrap=True)


@custody_app.command("report")
def custody_report(
    lot: Annotated[str, typer.Argument(help="A lot (LGTIN, EPC class URI or Digital Link).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The claims a lot carries, kg and share of each element, under which model, backed by
    what (origin evidence, inputs, allocations); notes about claims it lost."""
    from batterytrace.services import custody

    uow = _uow()
    with _working("recomputing the chain of custody"):
        found = custody.report(uow, lot)
    if json_output:
        _print_json(found)
        return
    claims = found.claims
    out.print(f"{found.lot}: {len(claims)} claims" + ("" if claims else " (none carried)"))
    named = _named(uow)
    for c in claims:
        figures = ", ".join(
            ("unknown kg" if v.kg is None else f"{v.kg:.6g} kg")
            + f" {e} ("
            + ("share unknown" if v.share is None else f"{v.share:.1%}")
            + ")"
            for e, v in c.elements.items()
        )
        out.print(f"  {c.claim}: {figures}", soft_wrap=True)
        for why in c.backing:
            out.print(f"    backed by {_named_in(named, why)}", soft_wrap=True)
    for note in found.notes:
        out.print(f"  note: {note.event}: {_named_in(named, note.text)}", soft_wrap=True)


_AT = typer.Option(
    "--at",
    help="When: YYYY-MM-DD (the end of that day, UTC) or a timestamp with a time zone "
    "(2026-09-01T12:00:00+02:00); default now. Its account period must not be closed.",
)
_CO = typer.Option("--co", help="kg of cobalt.", callback=_positive)
_NI = typer.Option("--ni", help="kg of nickel.", callback=_positive)
_LI = typer.Option("--li", help="kg of lithium.", callback=_positive)


def _moment(at: str | None) -> datetime:
    from batterytrace.epcis.timestamps import parse_moment

    return datetime.now(UTC) if at is None else parse_moment(at, "--at")


@custody_app.command("allocate")
def custody_allocate(
    lot: Annotated[str, typer.Argument(help="The lot the claim goes on.")],
    claim: Annotated[str, typer.Argument(help="low-carbon, recycled, certified:..., origin:...")],
    site: Annotated[str, typer.Option(help="The site whose account it draws on (SGLN).")],
    co: Annotated[float | None, _CO] = None,
    ni: Annotated[float | None, _NI] = None,
    li: Annotated[float | None, _LI] = None,
    at: Annotated[str | None, _AT] = None,
) -> None:
    """Claim kg of element of a lot from a site's mass-balance account, at a date: refused
    with the shortfall if the balance then cannot cover it, or if its period is closed;
    otherwise captured as an allocation event."""
    from batterytrace.services import custody

    command = custody.Allocate(
        lot=lot, claim=claim, kg=_element_kg(co, ni, li), site=site, at=_moment(at)
    )
    done = custody.allocate(_uow(), command)
    out.print(
        f"allocated {done.claim} on {done.lot} from {done.site} at {done.at.isoformat()}: "
        f"event {done.event_id}",
        soft_wrap=True,
    )


@custody_app.command("transfer")
def custody_transfer(
    source: Annotated[str, typer.Argument(help="The site (SGLN) whose credits move.")],
    target: Annotated[str, typer.Argument(help="The site (SGLN) that receives them.")],
    claim: Annotated[str, typer.Argument(help="The claim both run book-and-claim.")],
    co: Annotated[float | None, _CO] = None,
    ni: Annotated[float | None, _NI] = None,
    li: Annotated[float | None, _LI] = None,
    at: Annotated[str | None, _AT] = None,
) -> None:
    """Book and claim: move credits between two sites' accounts, apart from any material, at
    a date; refused with the shortfall when the source's balance then cannot cover it, or if
    its period is closed."""
    from batterytrace.services import custody

    command = custody.Transfer(
        source=source, target=target, claim=claim, kg=_element_kg(co, ni, li), at=_moment(at)
    )
    done = custody.transfer(_uow(), command)
    out.print(
        f"transferred {done.claim} from {done.source} to {done.target} at "
        f"{done.at.isoformat()}: {done.ref}",
        soft_wrap=True,
    )


@custody_app.command("close")
def custody_close(
    site: Annotated[str, typer.Argument(help="The site (SGLN) whose accounts close.")],
    claim: Annotated[str, typer.Argument(help="The claim: low-carbon, recycled, ...")],
    period: Annotated[str, typer.Argument(help="The period: 2025-03, 2025-Q1 or 2025.")],
) -> None:
    """Close a period of a site's mass-balance accounts for a claim (once, after it ended):
    entries recorded later in it are refused and reported as violations."""
    from batterytrace.services import custody

    done = custody.close(_uow(), custody.Close(site=site, claim=claim, period=period))
    out.print(f"closed {done.period} of {done.claim} at {done.site}")


@custody_app.command("changes")
def custody_changes() -> None:
    """What the chain of custody gives now that differs from the last time this was asked:
    claims on lots and account closings changed by late events or new rules."""
    from batterytrace.services import custody

    found = custody.changes(_uow())
    if not found.compared:
        out.print("first custody recomputation kept: later runs report what changes")
        return
    for change in found.changes:
        out.print(change, soft_wrap=True)
    out.print(f"{len(found.changes)} changes since the last recomputation")


@custody_app.command("recycled")
def custody_recycled(
    battery: Annotated[str, typer.Argument(help="A pack (or any object) to trace back.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the shares as JSON.")] = False,
) -> None:
    """Recycled share of the battery's cobalt, nickel and lithium: traced (from recyclers'
    output through the genealogy) and claimed (backed by the chain of custody), against the
    minimums of Regulation (EU) 2023/1542 Art. 8."""
    from batterytrace.custody.recycled import MINIMUMS
    from batterytrace.custody.recycled import SOURCE as MINIMUM_SOURCE
    from batterytrace.services import custody
    from batterytrace.trace.lineage import node_id

    with _working("recycled content"):
        shares = custody.recycled(_uow(), battery)
    rows = [
        {"element": s.element, "element_kg": s.element_kg, "traced": s.traced,
         "claimed": s.claimed, "unknown": list(s.unknown), "meets": s.meets()}
        for s in shares
    ]  # fmt: skip
    minimums = [{"from": str(day), "shares": m} for day, m in MINIMUMS]
    if json_output:
        body = {"battery": node_id(battery), "shares": rows, "minimums": minimums,
                "source": MINIMUM_SOURCE}  # fmt: skip
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table("element", "kg", "traced", "claimed",
                  *(f"min. from {day}" for day, _ in MINIMUMS),
                  title=f"recycled content of {node_id(battery)}")  # fmt: skip
    verdicts = {True: "met", False: "not met", None: "?"}
    for s in shares:
        meets = s.meets()
        marks = [
            f"{m[s.element]:.0%} {verdicts[meets[str(day)]]}" if s.element in m else "-"
            for day, m in MINIMUMS
        ]
        figures = ("?" if v is None else f"{v:.2%}" for v in (s.traced, s.claimed))
        kg = "?" if s.element_kg is None else f"{s.element_kg:.4g}"
        table.add_row(s.element, kg, *figures, *marks)
    out.print(table)
    for s in shares:
        if s.unknown:
            out.print(f"{s.element}: claimed share unknown on {', '.join(s.unknown)}")
    out.print(f"minimums: {MINIMUM_SOURCE}", soft_wrap=True)


def _element_kg(co: float | None, ni: float | None, li: float | None) -> dict[str, float]:
    kg = {e: v for e, v in (("Co", co), ("Ni", ni), ("Li", li)) if v is not None}
    if not kg:
        raise CustodyError("kg: give --co, --ni or --li")
    return kg


def _statement(s: Statement) -> dict[str, Any]:
    return {
        "period": s.period, "opening": s.opening, "credits": s.credits, "debits": s.debits,
        "losses": s.losses, "expired": s.expired, "closing": s.closing, "carried": s.carried,
        "forfeited": s.forfeited, "closed": s.closed, "unknown_credits": s.unknown,
    }  # fmt: skip


def _note(note: Note) -> dict[str, Any]:
    return {"event": note.event, "claim": str(note.claim) if note.claim else None,
            "text": note.text}  # fmt: skip


contract_app = typer.Typer(
    help="Offtake agreements: volumes, deliveries from events, cobalt and GWh.",
    no_args_is_help=True,
)
app.add_typer(contract_app, name="contract")


@contract_app.command("import")
def contract_import(
    source: Annotated[Path, typer.Argument(help="JSON: one agreement, or a list of them.")],
) -> None:
    """Add or replace offtake agreements (by id); one stored already as given is left as it
    is."""
    from batterytrace.contracts.agreement import Agreement
    from batterytrace.formats import AgreementFormat, checked, named
    from batterytrace.services import contracts, masterdata

    data = _read_json(source, ContractError)
    items = data if isinstance(data, list) else [data]
    at = [f"[{i}]" if isinstance(data, list) else "" for i in range(len(items))]
    for item, path in zip(items, at, strict=True):
        checked(AgreementFormat, item, str(source), ContractError, at=path)
    with named(source):
        agreements = [Agreement.from_json(i, f"${p}") for i, p in zip(items, at, strict=True)]
    from batterytrace.references import contract_names, require

    uow = _uow()
    require(masterdata.master_data(uow), contract_names(agreements), str(source))
    done = contracts.import_contracts(uow, agreements, source.name)
    out.print(f"agreements: {done}" + ("" if done.changed else "; nothing changed, not recorded"))


@contract_app.command("status")
def contract_status(
    contract: Annotated[str | None, typer.Argument(help="An agreement id; all if none.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Date of the status: YYYY-MM-DD (its end, UTC) or a timestamp with a time zone "
            "(default: the latest event).",
        ),
    ] = None,
    intensity: Annotated[
        Path | None, typer.Option(help="CSV of kg Co per kWh by chemistry (default: shipped).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Per contract year, as of a date: committed, delivered, in transit, remaining, element
    contained, the GWh it enables per chemistry, and the year's forecast with what it rests on
    (final once the year is over; a run rate only from 3 lots and a quarter of the year);
    findings (events naming unknown agreements...) on stderr."""
    from batterytrace.contracts.intensity import intensities
    from batterytrace.epcis.timestamps import parse_moment
    from batterytrace.services import contracts

    uow = _uow()
    table = intensities(intensity)
    when = parse_moment(as_of, "--as-of") if as_of else None
    with _working("contract status"):
        state = contracts.deliveries(uow)
    chosen = [a for a in state.agreements if contract in (None, a.id)]
    if contract is not None and not chosen:
        raise ContractError(f"contract: {contract!r} is not a stored agreement")
    reports = [_contract_report(a, state.status(a, table, when), table) for a in chosen]
    findings = [{"event": f.event, "text": f.text} for f in state.findings]
    moment = state.as_of(when)
    source = "--as-of" if when else "the latest event" if state.latest else "now"
    if json_output:
        body = {"unit": "kg", "asOf": moment.isoformat(), "asOfSource": source,
                "contracts": reports, "findings": findings}  # fmt: skip
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(f"as of {moment.isoformat()} ({source})", soft_wrap=True)
    named = _named(uow)
    for report in reports:
        _print_contract(report, named)
    for finding in findings:
        err.print(_flag("finding:", f"{finding['event']}: {finding['text']}"), soft_wrap=True)


def _contract_report(
    agreement: Agreement, years: list[YearStatus], table: Mapping[str, Intensity]
) -> dict[str, Any]:
    from batterytrace.contracts.deliveries import capacity, enabled

    annual = capacity(agreement, table)
    term = {
        name: sum(getattr(y, name) for y in years)
        for name in ("committed", "delivered", "in_transit", "remaining", "element_delivered")
    }
    return {
        "agreement": agreement.to_json(),
        "annual": {
            "committed_kg": agreement.annual_kg,
            "element_kg": annual.element_kg,
            "gwh": annual.gwh,
            "matching_chemistry": annual.chemistry,
            "stated_gwh": annual.stated_gwh,
        },
        "intensity": {c: {"kg_co_per_kwh": i.kg_co_per_kwh, "source": i.source}
                      for c, i in table.items()},
        "years": [
            {"year": y.year, "committed_kg": y.committed, "delivered_kg": y.delivered,
             "in_transit_kg": y.in_transit, "remaining_kg": y.remaining,
             "element_delivered_kg": y.element_delivered, "forecast_kg": y.forecast,
             "shortfall_kg": y.shortfall, "gwh": y.gwh, "lots": y.lots,
             "elapsed_days": y.elapsed_days, "days": y.days, "forecast_basis": y.basis}
            for y in years
        ],
        "term": {f"{k}_kg": v for k, v in term.items()}
        | {"gwh": enabled(term["element_delivered"], agreement.element, table)},
    }  # fmt: skip


def _print_contract(report: dict[str, Any], named: Callable[[str], str]) -> None:
    a, annual = report["agreement"], report["annual"]
    element = a["element"]
    out.print(
        f"{a['id']}: {named(a['seller'])} -> {named(a['buyer'])}, {a['product']}, "
        f"{a['deliveryTerms']} at {named(a['deliverySite'])}; "
        f"{a['annualKg'] / 1000:,.0f} t a year {a['startYear']}-{a['startYear'] + a['years'] - 1} "
        f"(±{a['tolerance']:.0%}), {a['elementFraction']:.2%} {element} ({a['fractionSource']})",
        soft_wrap=True,
    )
    gwh = ", ".join(f"{c} {_gwh(v)}" for c, v in annual["gwh"].items())
    out.print(
        f"a year: {annual['element_kg'] / 1000:,.3f} t {element} committed"
        + (f", enabling GWh: {gwh}" if gwh else ""),
        soft_wrap=True,
    )
    chemistry = annual["matching_chemistry"]
    if chemistry:
        out.print(
            f"stated: {_gwh(annual['stated_gwh'])} GWh a year; the nearest chemistry, "
            f"{chemistry}, gives {_gwh(annual['gwh'][chemistry])} GWh",
            soft_wrap=True,
        )
    chemistry = chemistry or next(iter(annual["gwh"]), None)
    table = Table("year", "committed t", "delivered t", "in transit t", "remaining t",
                  f"{element} t", "forecast t", "shortfall t",
                  *([f"GWh {chemistry}"] if chemistry else []), "forecast from")  # fmt: skip
    for y in [*report["years"], {"year": "term", **report["term"], "forecast_kg": None,
                                 "shortfall_kg": None, "forecast_basis": ""}]:  # fmt: skip
        tonnes = [y["committed_kg"], y["delivered_kg"], y["in_transit_kg"], y["remaining_kg"],
                  y["element_delivered_kg"], y["forecast_kg"], y["shortfall_kg"]]  # fmt: skip
        cells = ["-" if t is None else f"{t / 1000:,.3f}" for t in tonnes]
        table.add_row(
            str(y["year"]),
            *cells,
            *([_gwh(y["gwh"][chemistry])] if chemistry else []),
            y["forecast_basis"],
        )
    out.print(table)


def _gwh(value: float) -> str:
    """GWh as the summary and the table print them (four significant digits)."""
    return f"{value:,.4g}"


trace_app = typer.Typer(
    help="Genealogy with element mass: what went into an object, where a lot went.",
    no_args_is_help=True,
)
app.add_typer(trace_app, name="trace")

_ELEMENT = typer.Option("--element", help="Co, Ni, Li, Mn or Cu.")
_FORMAT = typer.Option("--format", help="tree (terminal), json or dot (Graphviz).")
_JSON = typer.Option("--json", help="Print the trace as JSON (the same as --format json).")


def _trace(
    direction: str, identifier: str, element: str, form: str, json_output: bool,
    items: bool = False,
) -> None:  # fmt: skip
    if form not in ("tree", "json", "dot"):
        raise typer.BadParameter(f"--format {form!r}: tree, json or dot")
    if json_output and form not in ("tree", "json"):
        raise typer.BadParameter(f"--json with --format {form}: give one of them")
    form = "json" if json_output else form
    from batterytrace.services.trace import contents, trace

    uow = _uow()
    with _working(f"tracing {direction}"):
        result = trace(uow, identifier, direction, element)
        held = contents(uow, identifier) if items else None
    if form == "json":
        body = result.to_json()
        if held is not None:
            body["held"] = [{"id": node, "level": level} for node, level in held]
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if form == "dot":
        sys.stdout.write(result.to_dot())
        return
    out.print(_trace_tree(result))
    if held is not None:
        out.print(_held_table(result.start, held))
    out.print(f"rule: {result.rule}", soft_wrap=True)
    for gap in result.gaps:
        out.print(_flag("gap:", gap), soft_wrap=True)
    for cycle in result.cycles:
        out.print(_flag("cycle:", cycle), soft_wrap=True)


def _held_table(container: str, held: list[tuple[str, int]]) -> Table:
    from batterytrace.trace.lineage import class_of

    table = Table("level", "object", "class", title=f"{len(held):,} objects held by {container}")
    for node, level in held:
        table.add_row(str(level), node, class_of(node))
    return table


_TREE_FANOUT, _TREE_SAMPLE = 30, 10


def _trace_tree(result: Trace) -> Tree:
    """The trace as a tree; an object reached again is shown once, then referred to."""
    from batterytrace.trace.lineage import class_of

    def label(node: str, kind: str | None = None, held: int | None = None) -> str:
        o = result.objects[node]
        kg = "?" if o.element_kg is None else f"{o.element_kg:,.6g} kg {result.element}"
        share = "" if o.share is None else f" ({o.share * 100:.3g} %)"
        items = f"  {o.items:,} items" if o.items is not None else ""
        items = items or ("" if held is None else f"  holding {held:,} items")
        return f"{f'[{kind}] ' if kind else ''}{node}{items}  {kg}{share}"

    shown = {result.start}

    def grow(branch: Tree, node: str) -> None:
        targets = {link.target: link for link in result.children(node)}  # one line per object
        held = Counter[str]()
        for link in result.children(node):
            held[link.target] += link.items or 0
        links = sorted(targets.values(), key=lambda k: (result.objects[k.target].depth, k.target))
        if len(links) > _TREE_FANOUT:  # thousands of modules and packs: a sample, then counts
            rest = Counter(class_of(link.target) for link in links[_TREE_SAMPLE:])
            by_class = ", ".join(f"{n:,} of {c}" for c, n in sorted(rest.items()))
            branch.add(f"... {len(links) - _TREE_SAMPLE:,} more: {by_class} (all: --format json)")
            links = links[:_TREE_SAMPLE]
        for link in links:
            if link.target in shown:
                branch.add(f"[{link.kind}] {link.target}  (shown above)")
            else:
                shown.add(link.target)
                child = branch.add(label(link.target, link.kind, held[link.target] or None))
                for hop in result.objects[link.target].custody:
                    to = f" -> {hop.destination}" if hop.destination else ""
                    child.add(f"{hop.step} {hop.time:%Y-%m-%d} at {hop.location}{to}")
                grow(child, link.target)

    root = Tree(label(result.start))
    grow(root, result.start)
    return root


@trace_app.command("back")
def trace_back(
    identifier: Annotated[
        str, typer.Argument(help="EPC URI or Digital Link of a pack, cell, lot...")
    ],
    element: Annotated[str, _ELEMENT] = "Co",
    form: Annotated[str, _FORMAT] = "tree",
    json_output: Annotated[bool, _JSON] = False,
    items: Annotated[
        bool,
        typer.Option(
            "--items",
            help="Also list every object it holds (modules, cells...) by serial, with its "
            "containment level; the trace itself counts same-class items per class.",
        ),
    ] = False,
) -> None:
    """Everything upstream, down to the mines, with the element mass each object contributed."""
    _trace("backward", identifier, element, form, json_output, items)


@trace_app.command("forward")
def trace_forward(
    identifier: Annotated[str, typer.Argument(help="EPC URI or Digital Link of a lot or item.")],
    element: Annotated[str, _ELEMENT] = "Co",
    form: Annotated[str, _FORMAT] = "tree",
    json_output: Annotated[bool, _JSON] = False,
) -> None:
    """Every downstream lot, pack and vehicle holding some of it (recall, due diligence)."""
    _trace("forward", identifier, element, form, json_output)


@app.command()
def scenario(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for masterdata.json, contracts.json, custody.json (claim rules), "
            "carbon.json (the carbon model) and events-YYYY.jsonld.",
        ),
    ],
    scale: Annotated[
        float,
        typer.Option(
            help="Share of the agreement's full physical volume (1 = 5,000 t/yr sulfate)."
        ),
    ] = 0.001,
    seed: Annotated[
        int, typer.Option(help="Seed: the same scale and seed give the same files.")
    ] = 2025,
) -> None:
    """Generate the agreement's supply chain 2025-2031 as master data and EPCIS documents."""
    from batterytrace.scenario.generator import generate

    with _progress() as progress:
        task = progress.add_task("generating", total=None)
        result = generate(out_dir, scale, seed, lambda n: progress.update(task, completed=n))
    out.print(result.statement(), soft_wrap=True)
    for path in result.files:
        out.print(f"wrote {path}")


@app.command("check")
def check_balance(
    tolerance: Annotated[
        float,
        typer.Option(
            help="Allowed excess of element out over in, kg per kg in (≥ 0).",
            callback=_finite_from(0),
        ),
    ] = 0.005,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Element mass balance of every transformation: no element out of nothing, stated yields
    kept. Exit 1 when a step breaks it."""
    from batterytrace.services import trace

    with _working("checking element mass balances"):
        report = trace.check_balance(_uow(), tolerance)
    if json_output:
        body = {"ok": report.ok, "steps": report.steps, "checked": report.checked,
                "violations": [f.to_json() for f in report.violations],
                "unchecked": [f.to_json() for f in report.unchecked]}  # fmt: skip
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for finding in report.violations:
            err.print(
                _flag("violation:", f"step {finding.step}: {finding.message}"), soft_wrap=True
            )
        for finding in report.unchecked:
            out.print(f"unchecked: step {finding.step}: {finding.message}", soft_wrap=True)
        out.print(
            f"{report.steps} transformations, {report.checked} element balances checked, "
            f"{len(report.violations)} violations, {len(report.unchecked)} not checkable"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def demo(
    scale: Annotated[float, typer.Option(help="Share of the agreement's full volume.")] = 0.0005,
    seed: Annotated[int, typer.Option(help="Scenario seed.")] = 2025,
    workdir: Annotated[
        Path, typer.Option(help="Where the scenario files, the fresh store and its key are made.")
    ] = Path(".demo"),
) -> None:
    """The main job: the agreement's scenario generated and captured into a fresh SQLite store,
    the ledger verified, element mass balances checked, a pack traced back to its mines and an
    ore lot traced forward to the vehicles, the pack's carbon footprint and the targets."""
    from batterytrace.carbon import activity
    from batterytrace.carbon.uncertainty import interval
    from batterytrace.masterdata import read_master_data
    from batterytrace.references import carbon_names, require
    from batterytrace.scenario.generator import ORE, PACK, generate
    from batterytrace.services import carbon, ledger, masterdata
    from batterytrace.services.trace import check_balance, trace
    from batterytrace.trace.lineage import node_id

    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("demo.db", "demo.db-wal", "demo.db-shm", "ledger.key", "ledger.key.pub"):
        (workdir / stale).unlink(missing_ok=True)
    store = {"db": f"sqlite:///{workdir / 'demo.db'}", "key": workdir / "ledger.key"}
    uow = _uow(_settings().model_copy(update=store))
    init_result = ledger.init(uow)
    out.print(Text.assemble(("batterytrace demo", "bold"), f": fresh store {init_result.url}"))
    with _progress() as progress:
        task = progress.add_task("generating", total=None)
        scenario = generate(
            workdir / "scenario", scale, seed, lambda n: progress.update(task, completed=n)
        )
    out.print(scenario.statement(), soft_wrap=True)
    masterdata_file = workdir / "scenario" / "masterdata.json"
    counts = masterdata.import_master_data(
        uow, read_master_data(masterdata_file), masterdata_file.name
    )
    out.print("master data: " + ", ".join(f"{n.added} {kind}" for kind, n in counts.items()))
    for path in sorted((workdir / "scenario").glob("events-*.jsonld")):
        result = _capture_file(uow, path)
        if result["rejected"]:
            raise BatteryTraceError(f"{path}: {result['error']}")
        out.print(f"  captured {path.name}: {result['captured']:,} events")
    out.print(demo_summary(uow))
    report = ledger.verify(uow)
    if not report.ok:
        raise BatteryTraceError(f"ledger broken: {report.failure or report.checkpoint_failures}")
    out.print(
        f"ledger verified: {report.entries:,} entries chained, {report.checkpoints} checkpoints "
        f"signed with Ed25519, head {report.head[:16]}…"
    )
    balance = check_balance(uow)
    out.print(
        f"element mass balance: {balance.steps} transformations, {balance.checked} balances "
        f"checked, {len(balance.violations)} violations, {len(balance.unchecked)} without figures"
    )
    pack = _first(uow, {"eventType": "AggregationEvent", "MATCH_parentID": PACK.class_id})
    back = trace(uow, pack, "backward", "Co")
    out.print(_sources(back, f"backward trace of pack {pack}"))
    ore = ORE.lot(f"BA{2025}-0000")
    forward_trace = trace(uow, ore, "forward", "Co")
    packs = node_id(PACK.serial("x")).rsplit("/21/", 1)[0] + "/21/"
    reached = [o for o in forward_trace.objects.values() if o.id.startswith(packs)]
    kg = sum(o.element_kg or 0 for o in reached)
    out.print(
        f"forward trace of ore lot {ore}: {forward_trace.start_kg or 0:,.1f} kg Co, reaching "
        f"{len(forward_trace.objects):,} objects of which {len(reached):,} packs holding "
        f"{kg:,.2f} kg of it (the rest is in stock, in process losses or in later years' packs)"
    )
    out.print(f"rule: {back.rule}", soft_wrap=True)
    carbon_file = workdir / "scenario" / "carbon.json"
    model = activity.read_json(_read_json(carbon_file, ActivityError), carbon_file.name)
    require(masterdata.master_data(uow), carbon_names(model), str(carbon_file))
    carbon.import_carbon(uow, model, "carbon.json")
    fp, rolled = carbon.footprint(uow, pack)
    out.print(_footprint_table(fp, interval(fp, rolled.system.factors)))
    goals = carbon.targets(uow, [])
    out.print(
        f"targets: 2020 baseline {goals.baseline:,.2f} kg CO2e/kWh; packs of "
        f"{max(goals.recorded.by_year)} at {goals.recorded.latest:,.2f} "
        f"({goals.recorded.latest / goals.baseline - 1:+.1%}; -20 % by 2025, -35 % by 2030); "
        "`batterytrace targets` for the years and the levers",
        soft_wrap=True,
    )


def _first(uow: UnitOfWork, params: dict[str, str]) -> str:
    from batterytrace.services import events

    page = events.query(
        uow, {**params, "orderBy": "eventTime", "orderDirection": "DESC", "perPage": "1"}
    )
    if not page.events or page.events[0].parentID is None:
        raise BatteryTraceError(f"no event matches {params}")
    return page.events[0].parentID


carbon_app = typer.Typer(
    help="Carbon-footprint inputs: activity data, allocation, lanes, proxies, factor sets; "
    "and what no product takes.",
    no_args_is_help=True,
)
app.add_typer(carbon_app, name="carbon")


@carbon_app.command("import")
def carbon_import(
    source: Annotated[
        Path,
        typer.Argument(
            help="JSON model (activities, lanes, allocation, proxies) or CSV activities."
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace stored data of the same site, period, kind and factor (and settings "
            "of the same lane, site or product) that the file states otherwise.",
        ),
    ] = False,
) -> None:
    """Add activity data and modelling choices (decision 010). What is stored already changes
    nothing; a datum for a site, period, kind and factor already stored with other values (or
    another lane, allocation or proxy setting) is refused, nothing written, unless --replace."""
    from batterytrace.carbon import activity
    from batterytrace.services import carbon, masterdata

    if source.suffix.lower() == ".csv":
        model = activity.from_csv(source.read_text(encoding="utf-8"), source.name)
    else:
        model = activity.read_json(_read_json(source, ActivityError), source.name)
    from batterytrace.references import carbon_names, require

    uow = _uow()
    require(masterdata.master_data(uow), carbon_names(model), str(source))
    done = carbon.import_carbon(uow, model, source.name, replace=replace)
    if done.id is None:
        out.print(
            f"{source.name}: nothing changed, {done.unchanged} entries stored already "
            "(not recorded)"
        )
        return
    kept = next(m for id_, _, _, m in carbon.carbon_imports(uow) if id_ == done.id)
    out.print(f"carbon import {done.id} ({source.name}): {done} ({len(kept.activities)} activity "
              f"data, {len(kept.lanes)} lanes, {len(kept.allocation)} allocation rules, "
              f"{len(kept.proxies)} proxies kept)", soft_wrap=True)  # fmt: skip


@carbon_app.command("list")
def carbon_list(
    json_output: Annotated[bool, typer.Option("--json", help="Print the imports as JSON.")] = False,
) -> None:
    """The carbon imports kept, each by its import record's number, with what it added or
    replaced (`carbon remove` undoes one)."""
    from batterytrace.services import carbon

    rows = [
        {"id": id_, "source": source, "imported": when.isoformat(timespec="seconds"),
         "activities": len(m.activities), "lanes": len(m.lanes),
         "allocation": len(m.allocation), "proxies": len(m.proxies)}
        for id_, source, when, m in carbon.carbon_imports(_uow())
    ]  # fmt: skip
    if json_output:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(*rows[0].keys() if rows else ("id",), title="carbon imports")
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    out.print(table)


@carbon_app.command("remove")
def carbon_remove(
    import_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="The import's record number (`carbon list`, `imports`)."),
    ],
) -> None:
    """Undo one carbon import: its data and settings go, what it replaced applies again. The
    removal is recorded in the ledger like an import."""
    from batterytrace.services import carbon

    carbon.remove_carbon(_uow(), import_id)
    out.print(f"carbon import {import_id} removed")


@carbon_app.command("factors")
def carbon_factors(
    label: Annotated[
        str | None, typer.Argument(help="A set (name@version); the shipped one if none.")
    ] = None,
    add: Annotated[
        Path | None, typer.Option("--add", help="Add a set from this CSV (with --name, --version).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name of the set added.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Version of the set added.")
    ] = None,
) -> None:
    """List the emission factors of a set with their sources, or add a set of your own (only
    the factors it overrides are needed: the shipped set stands under it). Adding the same set
    again changes nothing; other factors under a stored name@version are refused."""
    from batterytrace.carbon import factors
    from batterytrace.services import carbon

    uow = _uow()
    if add is not None:
        if not name or not version:
            raise FactorError("--add needs --name and --version")
        from batterytrace.formats import named

        with named(add):
            read = factors.read_csv(add.read_text(encoding="utf-8"), name, version)
        done = carbon.import_factors(uow, read)
        out.print(f"factor set {name}@{version} " + ("added" if done.added else "unchanged"))
        return
    chosen = carbon.factor_set(uow, label)
    table = Table(title=f"emission factors {chosen.label} (kg CO2e per unit); sets: "
                  + ", ".join(s.label for s in carbon.factor_sets(uow)))  # fmt: skip
    for column in ("id", "per", "kg CO2e", "geo", "year", "GSD", "source"):
        table.add_column(column, justify="right" if column in ("kg CO2e", "GSD") else "left")
    for f in sorted(chosen.factors.values(), key=lambda f: f.id):
        table.add_row(f.id, f.unit, f"{f.value:.6g}", f.geography, str(f.year),
                      f"{math.exp(f.sigma):.3g}", f.source)  # fmt: skip
    out.print(table)


@carbon_app.command("unused")
def carbon_unused(
    period: Annotated[
        str | None,
        typer.Option("--period", help="Only what overlaps this period: YYYY, YYYY-Qn or YYYY-MM."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """What no product's footprint takes: activity data of a site and period in which it made
    nothing, and transport legs not counted (with why); footprints list them too."""
    from batterytrace.services import carbon

    unused = carbon.not_counted(_uow(), period)
    if json_output:
        out.print_json(orjson.dumps([u.to_json() for u in unused]).decode())
        return
    out.print(_not_counted_table(unused, f"not counted{f' in {period}' if period else ''}"))


NOT_COUNTED_SHOWN = 20  # rows a footprint table shows; `carbon unused` and --json show all


def _not_counted_table(unused: list[Unused], title: str, limit: int | None = None) -> Table:
    table = Table(title=f"{title}: {len(unused)}")
    for column in ("kind", "what", "when", "why"):
        table.add_column(column)
    for u in unused[:limit]:
        when = f"{u.start:%Y-%m-%d}" + ("" if u.end == u.start else f" - {u.end:%Y-%m-%d}")
        table.add_row(u.kind, "\n".join((u.what, *u.data)), when, u.reason)
    if limit is not None and len(unused) > limit:
        table.add_row("...", f"{len(unused) - limit} more: batterytrace carbon unused", "", "")
    return table


@app.command("footprint")
def footprint_command(
    identifier: Annotated[
        str,
        typer.Argument(
            help="A lot, a pack, a module or a serialised item (EPC URI or Digital Link)."
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the footprint as JSON.")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="The tree of contributions down to each activity datum and factor."
        ),
    ] = False,
    factor_set: Annotated[
        str | None,
        typer.Option("--factors", help="Factor set name@version (default: the shipped one)."),
    ] = None,
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            help="Monte Carlo draws for the 95 % interval (2 to 1,000,000; "
            "BATTERYTRACE_MAX_DRAWS changes the limit).",
        ),
    ] = DRAWS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws.")] = SEED,
) -> None:
    """Cradle-to-gate carbon footprint of one unit of a product (a kg of a lot, an item, a
    pack): total, per kWh, by life-cycle stage and material, primary-data share, data quality,
    performance class, and where every number comes from."""
    from batterytrace.carbon.uncertainty import check_draws, interval
    from batterytrace.services import carbon

    check_draws(draws)  # before the footprint is computed
    uow = _uow()
    with _working(f"footprint of {identifier}"):
        fp, result = carbon.footprint(uow, identifier, factor_set)
        spread = interval(fp, result.system.factors, draws, seed)
    if json_output:
        data = fp.to_json() | {"uncertainty": spread.to_json()}
        if explain:
            data["explain"] = _contribution_json(carbon.explain_footprint(uow, result, identifier))
        out.print_json(orjson.dumps(data).decode())
        return
    out.print(_footprint_table(fp, spread))
    if fp.not_counted:
        out.print(
            _not_counted_table(
                list(fp.not_counted), "not counted in any product", NOT_COUNTED_SHOWN
            )
        )
    if explain:
        out.print(_contribution_tree(carbon.explain_footprint(uow, result, identifier)))


pact_app = typer.Typer(
    help="PACT (WBCSD Pathfinder) product footprints: export ours, import suppliers'.",
    no_args_is_help=True,
)
app.add_typer(pact_app, name="pact")


@pact_app.command("export")
def pact_export(
    identifier: Annotated[str, typer.Argument(help="A lot, a pack or a serialised item.")],
    version: Annotated[
        str, typer.Option("--version", help="2 (PACT v2.3) or 3 (PACT v3.0).")
    ] = "3",
    factor_set: Annotated[
        str | None, typer.Option("--factors", help="Factor set name@version.")
    ] = None,
) -> None:
    """Print the PACT ProductFootprint of a product (a lot per kg, a battery per kWh)."""
    from batterytrace.services import carbon

    out.print_json(
        orjson.dumps(carbon.pact_footprint(_uow(), identifier, version, factor_set)).decode()
    )


@pact_app.command("import")
def pact_import(
    source: Annotated[Path, typer.Argument(help="A PACT ProductFootprint (v2.x or v3.x) as JSON.")],
    product: Annotated[
        str,
        typer.Option(
            "--product", help="The product class (EPC class pattern) or lot it stands for."
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace the supplier footprint the product has."),
    ] = False,
) -> None:
    """Use a supplier's PACT footprint for a product class or lot: it replaces the proxy
    factor (or the site's activity data), and footprints downstream say so. The same footprint
    again changes nothing; another for a product that has one is refused unless --replace."""
    from batterytrace.services import carbon

    document = _read_json(source, PactError)
    read, done = carbon.import_supplier_footprint(
        _uow(), document, product, source.name, replace=replace
    )
    if not done.changed:
        out.print(f"supplier footprint {read.id}: stored already for {product}, nothing changed")
        return
    out.print(f"supplier footprint {read.id} ({read.company_name}): {read.kg_co2e_per_kg:.6g} "
              f"kg CO2e/kg, PACT {read.spec_version}, used for {product}")  # fmt: skip


@app.command("targets")
def targets_command(
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="LEVER=VALUE: wind=0.9, recycled=0.16, transport=rail, cell-grid=FI, "
            "chemistry=NMC622 (repeat; default: one of each).",
        ),
    ] = None,
    baseline: Annotated[
        float | None,
        typer.Option(
            "--baseline",
            help="2020 baseline in kg CO2e/kWh, > 0 (default: the recorded chain with "
            "conventional sulfate and grid power).",
            callback=_finite_from(0, strict=True),
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    factor_set: Annotated[
        str | None, typer.Option("--factors", help="Factor set name@version.")
    ] = None,
) -> None:
    """The battery footprint per kWh against the agreement's targets (-20 % by 2025, -35 % by
    2030, against 2020), year by year, and what each lever would change; recorded data are
    never touched."""
    from batterytrace.carbon.targets import TARGETS
    from batterytrace.services import carbon

    with _working("footprints against the targets"):
        report = carbon.targets(_uow(), list(what_if or ()), baseline, factor_set)
    if json_output:
        out.print_json(orjson.dumps(report.to_json()).decode())
        return
    data = report.to_json()
    base = data["baseline"]
    out.print(f"2020 baseline {report.baseline:,.2f} kg CO2e/kWh ({base['source']})")  # type: ignore[index]
    table = Table(title="packs assembled, kg CO2e per kWh of capacity")
    for column in ("year", "kg CO2e/kWh", "vs 2020", "target", "met"):
        table.add_column(column, justify="right")
    for row in data["progress"]:  # type: ignore[attr-defined]
        target = row["target"]
        table.add_row(str(row["year"]), f"{row['kgCO2ePerKWh']:,.2f}", f"{row['vsBaseline']:+.1%}",
                      "-" if target is None else f"{target:,.2f}",
                      "-" if row["met"] is None else ("yes" if row["met"] else "no"))  # fmt: skip
    out.print(table)
    levers = Table(title=f"what-if, on the latest year ({max(report.recorded.by_year)})")
    for column in ("lever", "kg CO2e/kWh", "change", *(f"reaches {y}" for y, _ in TARGETS)):
        levers.add_column(column, justify="left" if column == "lever" else "right")
    for lv, ev in report.levers:
        reached = report.reaches(ev)
        levers.add_row(str(lv) if lv else "all together", f"{ev.latest:,.2f}",
                       f"{ev.latest / report.recorded.latest - 1:+.1%}",
                       *("yes" if reached[y] else "no" for y, _ in TARGETS))  # fmt: skip
    out.print(levers)


def _footprint_table(fp: Footprint, spread: Interval) -> Table:
    per = f"{fp.kg_co2e:,.4g} kg CO2e per {fp.unit}"
    if fp.per_kwh is not None:
        per += f", {fp.per_kwh:,.4g} kg CO2e/kWh of {fp.capacity_kwh:g} kWh"
    table = Table(title=f"{fp.id}: {per}" + ("" if fp.complete else "  (INCOMPLETE)"))
    table.add_column("breakdown")
    table.add_column("kg CO2e", justify="right")
    table.add_column("share", justify="right")
    for title, parts in (("stage", fp.stages), ("material", fp.materials)):
        for name, kg in parts.items():
            table.add_row(
                f"{title}: {name}", f"{kg:,.4g}", f"{kg / fp.kg_co2e:.1%}" if fp.kg_co2e else "-"
            )
    table.add_row("fossil / biogenic", f"{fp.fossil:,.4g} / {fp.biogenic:,.4g}", "")
    table.add_row(f"95 % interval ({spread.draws:,} Monte Carlo draws, seed {spread.seed})",
                  f"{spread.low:,.4g} - {spread.high:,.4g}", "")  # fmt: skip
    table.add_row("primary data share", "", f"{fp.primary_share:.1%}")
    dqr = ", ".join(f"{k} {v:.2f}" for k, v in fp.dqr.items())
    table.add_row(f"data quality (PACT DQR, 1 best .. 3): {dqr}", "", "")
    if fp.performance is not None:
        table.add_row(f"performance class {fp.performance.label} ({fp.performance.status})", "", "")
    table.add_row(f"factors: {fp.factor_set}; allocation: {'; '.join(fp.allocation)}", "", "")
    for doc in fp.supplier_documents:
        table.add_row(f"supplier PACT footprint {doc} used instead of a proxy", "", "")
    for missing in fp.missing:
        table.add_row(f"missing: {missing}", "", "")
    return table


def _contribution_tree(c: Contribution) -> Tree:

    def grow(branch: Tree, node: Contribution) -> None:
        for child in node.children:
            grow(branch.add(f"{child.kg_co2e:,.4g} kg CO2e  {child.label}"
                            + (f"  [{child.detail}]" if child.detail else "")), child)  # fmt: skip

    root = Tree(f"{c.kg_co2e:,.4g} kg CO2e  {c.label}  [{c.detail}]")
    grow(root, c)
    return root


def _contribution_json(c: Contribution) -> dict[str, Any]:
    return {"label": c.label, "kgCO2e": float(c.kg_co2e), "detail": c.detail,  # numpy's too
            "children": [_contribution_json(k) for k in c.children]}  # fmt: skip


def _sources(trace: Trace, title: str) -> Table:
    """Where the traced object's element comes from: the lots at the start of the chain."""
    from batterytrace.trace.lineage import is_lot

    table = Table(title=f"{title}: {trace.start_kg or 0:.4f} kg {trace.element}")
    table.add_column("source lot (start of the chain)")
    for name in (f"kg {trace.element}", "share"):
        table.add_column(name, justify="right")
    leaves = [
        o for o in trace.objects.values() if is_lot(o.id) and not trace.children(o.id) and o.share
    ]
    for o in sorted(leaves, key=lambda o: -(o.share or 0)):
        table.add_row(o.id, f"{o.element_kg or 0:.4f}", f"{o.share or 0:.1%}")
    return table


def demo_summary(uow: UnitOfWork) -> Table:
    """Stored events by type and business step."""
    from batterytrace.services import events

    table = Table(title="stored events")
    table.add_column("event type", no_wrap=True)
    table.add_column("bizStep", no_wrap=True)
    table.add_column("events", justify="right")
    for kind, step, n in events.event_counts(uow):
        table.add_row(kind, step or "-", f"{n:,}")
    return table


if __name__ == "__main__":
    app()
