"""The store and its ledger: init, verify, the kept derived state (changes, rebuild), signed
heads (checkpoint export), the signing key (key rotate), the import records."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from batterytrace.cli.common import err, flag, make_uow, out, progress_bar


def init(
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create (or upgrade) the store named by BATTERYTRACE_DB and the ledger signing key."""
    from batterytrace.services import ledger

    result = ledger.init(make_uow())
    if json_output:
        sys.stdout.write(result.model_dump_json() + "\n")
        return
    out.print(f"store   {result.store} (schema revision {result.revision})")
    state = "created" if result.key_created else "kept existing"
    out.print(f"key     {result.key} ({state}; public key in {result.key}.pub)")


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
            help="Also recompute the kept derived state (footprints, custody accounts and "
            "claims per lot, contract shipments) and compare it with what is kept; name the "
            "first difference.",
        ),
    ] = False,
) -> None:
    """Recompute every event hash, the whole chain, the rows derived from the events (key rows,
    event figures, holdings), the imported tables from the import records, and the signed
    checkpoints; name the first broken entry."""
    from batterytrace.services import ledger

    with progress_bar() as progress:
        task = progress.add_task("verifying entries", total=None)
        phase = {"now": "entries"}

        def step(what: str, done: int, total: int) -> None:
            if what != phase["now"]:  # the holdings after the entries: a bar of its own
                phase["now"] = what
                progress.reset(task, description=f"verifying {what}")
            progress.update(task, completed=done, total=total)

        report = ledger.verify(make_uow(), step, against, derived)
    if json_output:
        body = report.to_json()  # the body the API serves too
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif report.ok:
        out.print(
            f"ledger OK: {report.entries} entries, {report.import_records} import records, "
            f"{report.checkpoints} signed checkpoints, head {report.head}"
            + (f"; matches {against}" if against else "")
            + ("; kept derived state equal to a recomputation" if derived else "")
        )
    else:
        for problem in report.problems:
            err.print(flag("ledger broken:", problem), soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


def changes(
    since: Annotated[
        int, typer.Option("--since", min=0, help="Only what changed after this ledger version.")
    ] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> None:
    """What the kept derived state's refreshes changed (footprints and their pools, custody
    accounts and claims per lot, contract shipments), row by row and value by value, after a
    ledger version: late events, new rules or data, allocations."""
    from batterytrace.services import derived

    found = derived.changes(make_uow(), since)
    if json_output:
        sys.stdout.write(found.model_dump_json(indent=2) + "\n")
        return
    out.print(f"{len(found.changes)} changes after version {since} (now at {found.version})")
    for change in found.changes:
        out.print(f"  v{change.version} {change.area} {change.key}: {change.summary()}")


def rebuild(
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recompute all kept derived state (footprints, custody accounts and claims per lot,
    contract shipments) from the events and inputs, and replace what differs; say how many
    rows changed."""
    from batterytrace.services import derived

    with out.status("recomputing the kept derived state"):
        done = derived.refresh(make_uow(), every=True)
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


@checkpoint_app.command("export")
def checkpoint_export(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write it to this file (default: stdout).")
    ] = None,
) -> None:
    """The newest signed head (checkpoint number, both chains' length and head, signature) as
    JSON, to keep outside the store: `verify --against FILE` later catches a truncated tail."""
    from batterytrace.services import ledger

    body = orjson.dumps(ledger.export_head(make_uow()), option=orjson.OPT_INDENT_2) + b"\n"
    if out_file is None:
        sys.stdout.write(body.decode())
    else:
        out_file.write_bytes(body)
        out.print(f"wrote {out_file}")


key_app = typer.Typer(help="The ledger's signing key.", no_args_is_help=True)


@key_app.command("rotate")
def key_rotate() -> None:
    """Replace the signing key: the old key signs the new public key, the rotation is recorded
    in the ledger and signed with the new key; older checkpoints keep verifying under the old
    public key. The old private key is kept beside the new one as <file>.retired-<id>."""
    from batterytrace.services import ledger

    uow = make_uow()
    old, new = ledger.rotate_key(uow)
    out.print(f"key {uow.key_path}: rotated from {old[:16]}… to {new[:16]}… (recorded)")


def imports_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """Every recorded import (master data, the master data of captured document headers,
    carbon model, custody rules, contracts, factor sets, supplier footprints), removal and key
    rotation, in ledger order, with its content
    hash, time, source and effect."""
    from batterytrace.services import ledger

    records = ledger.import_records(make_uow())
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
