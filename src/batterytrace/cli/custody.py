"""The chain of custody: rules, mass-balance accounts, claims on lots, allocations and
transfers, closings, recycled content."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from batterytrace.cli.common import (
    err,
    finite_from,
    flag,
    make_uow,
    named_in,
    naming,
    out,
    print_json,
    read_json,
    working,
)
from batterytrace.errors import CustodyError

custody_app = typer.Typer(
    help="Chain of custody (ISO 22095): claims on lots, mass-balance accounts.",
    no_args_is_help=True,
)


@custody_app.command("import")
def custody_import(
    source: Annotated[Path, typer.Argument(help="JSON rules: origins and site policies.")],
) -> None:
    """Replace the custody rules: where claims originate (with their evidence) and the model
    each site runs per claim (decision 008). The stored rules again change nothing."""
    from batterytrace.custody.rules import CustodyRules
    from batterytrace.formats import CustodyRulesFormat, checked, named
    from batterytrace.services import custody

    data = checked(CustodyRulesFormat, read_json(source, CustodyError), str(source), CustodyError)
    with named(source):
        rules = CustodyRules.from_json(data)
    done = custody.import_rules(make_uow(), rules, source.name, where=str(source))
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

    uow = make_uow()
    with working("recomputing the chain of custody"):
        found = custody.balances(uow, site, period)
    if found.why_empty:
        err.print(flag("note:", found.why_empty), soft_wrap=True)
    if json_output:
        print_json(found)
        return
    table = Table(
        "site", "claim", "el.", "period", "opening", "credits", "debits", "losses", "expired",
        "closing", "carried", title="mass-balance accounts (kg of element)",
    )  # fmt: skip
    named = naming(uow)
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
        err.print(flag("violation:", f"{note.event}: {note.text}"), soft_wrap=True)


@custody_app.command("report")
def custody_report(
    lot: Annotated[str, typer.Argument(help="A lot (LGTIN, EPC class URI or Digital Link).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The claims a lot carries, kg and share of each element, under which model, backed by
    what (origin evidence, inputs, allocations); notes about claims it lost."""
    from batterytrace.services import custody

    uow = make_uow()
    with working("recomputing the chain of custody"):
        found = custody.report(uow, lot)
    if json_output:
        print_json(found)
        return
    claims = found.claims
    out.print(f"{found.lot}: {len(claims)} claims" + ("" if claims else " (none carried)"))
    named = naming(uow)
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
            out.print(f"    backed by {named_in(named, why)}", soft_wrap=True)
    for note in found.notes:
        out.print(f"  note: {note.event}: {named_in(named, note.text)}", soft_wrap=True)


_positive = finite_from(0, strict=True)


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
    otherwise captured as an allocation event. The same allocation again (same lot, claim,
    kg, site and time) is named, not counted twice."""
    from batterytrace.services import custody

    command = custody.Allocate(
        lot=lot, claim=claim, kg=_element_kg(co, ni, li), site=site, at=_moment(at)
    )
    done = custody.allocate(make_uow(), command)
    said = "allocated" if done.recorded else "recorded already:"
    out.print(
        f"{said} {done.claim} on {done.lot} from {done.site} at {done.at.isoformat()}: "
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
    done = custody.transfer(make_uow(), command)
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

    done = custody.close(make_uow(), custody.Close(site=site, claim=claim, period=period))
    out.print(f"closed {done.period} of {done.claim} at {done.site}")


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

    if json_output:  # the body the API serves too
        with working("recycled content"):
            body = custody.recycled_json(make_uow(), battery)
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    with working("recycled content"):
        shares = custody.recycled(make_uow(), battery)
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
