"""Offtake agreements: contract import, contract status."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from batterytrace.cli.common import err, flag, make_uow, naming, out, read_json, working
from batterytrace.errors import ContractError

if TYPE_CHECKING:
    from batterytrace.services.contracts import ContractReport


contract_app = typer.Typer(
    help="Offtake agreements: volumes, deliveries from events, cobalt and GWh.",
    no_args_is_help=True,
)


@contract_app.command("import")
def contract_import(
    source: Annotated[Path, typer.Argument(help="JSON: one agreement, or a list of them.")],
) -> None:
    """Add or replace offtake agreements (by id); one stored already as given is left as it
    is."""
    from batterytrace.contracts.agreement import Agreement
    from batterytrace.formats import AgreementFormat, checked, named
    from batterytrace.services import contracts, masterdata

    data = read_json(source, ContractError)
    items = data if isinstance(data, list) else [data]
    at = [f"[{i}]" if isinstance(data, list) else "" for i in range(len(items))]
    for item, path in zip(items, at, strict=True):
        checked(AgreementFormat, item, str(source), ContractError, at=path)
    with named(source):
        agreements = [Agreement.from_json(i, f"${p}") for i, p in zip(items, at, strict=True)]
    from batterytrace.references import contract_names, require

    uow = make_uow()
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
    from batterytrace.epcis.timestamps import parse_moment
    from batterytrace.services import contracts

    uow = make_uow()
    when = parse_moment(as_of, "--as-of") if as_of else None
    if json_output:  # the body the API serves too
        with working("contract status"):
            body = contracts.status_json(uow, contract, when, intensity)
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    with working("contract status"):
        status = contracts.status(uow, contract, when, intensity)
    out.print(f"as of {status.as_of} ({status.as_of_source})", soft_wrap=True)
    named = naming(uow)
    for report in status.contracts:
        _print_contract(report, named)
    for finding in status.findings:
        err.print(flag("finding:", f"{finding.event}: {finding.text}"), soft_wrap=True)


def _print_contract(report: ContractReport, named: Callable[[str], str]) -> None:
    a, annual = report.agreement, report.annual
    element = a["element"]
    out.print(
        f"{a['id']}: {named(a['seller'])} -> {named(a['buyer'])}, {a['product']}, "
        f"{a['deliveryTerms']} at {named(a['deliverySite'])}; "
        f"{a['annualKg'] / 1000:,.0f} t a year {a['startYear']}-{a['startYear'] + a['years'] - 1} "
        f"(±{a['tolerance']:.0%}), {a['elementFraction']:.2%} {element} ({a['fractionSource']})",
        soft_wrap=True,
    )
    gwh = ", ".join(f"{c} {_gwh(v)}" for c, v in annual.gwh.items())
    out.print(
        f"a year: {annual.element_kg / 1000:,.3f} t {element} committed"
        + (f", enabling GWh: {gwh}" if gwh else ""),
        soft_wrap=True,
    )
    chemistry = annual.matching_chemistry
    if chemistry and annual.stated_gwh is not None:
        out.print(
            f"stated: {_gwh(annual.stated_gwh)} GWh a year; the nearest chemistry, "
            f"{chemistry}, gives {_gwh(annual.gwh[chemistry])} GWh",
            soft_wrap=True,
        )
    chemistry = chemistry or next(iter(annual.gwh), None)
    table = Table("year", "committed t", "delivered t", "in transit t", "remaining t",
                  f"{element} t", "forecast t", "shortfall t",
                  *([f"GWh {chemistry}"] if chemistry else []), "forecast from")  # fmt: skip
    term = report.term
    rows = [(str(y.year), y.committed_kg, y.delivered_kg, y.in_transit_kg, y.remaining_kg,
             y.element_delivered_kg, y.forecast_kg, y.shortfall_kg, y.gwh, y.forecast_basis)
            for y in report.years]  # fmt: skip
    rows.append(("term", term.committed_kg, term.delivered_kg, term.in_transit_kg,
                 term.remaining_kg, term.element_delivered_kg, None, None, term.gwh,
                 ""))  # fmt: skip
    for year, *tonnes, gwh_of, basis in rows:
        cells = ["-" if t is None else f"{t / 1000:,.3f}" for t in tonnes]
        table.add_row(year, *cells, *([_gwh(gwh_of[chemistry])] if chemistry else []), basis)
    out.print(table)


def _gwh(value: float) -> str:
    """GWh as the summary and the table print them (four significant digits)."""
    return f"{value:,.4g}"
