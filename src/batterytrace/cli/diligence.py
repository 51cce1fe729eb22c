"""Due-diligence checks over the genealogy of a lot or pack (decision 045)."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from batterytrace.cli.common import make_uow, out, working


def diligence(
    identifier: Annotated[
        str, typer.Argument(help="A pack, a lot or a serialised item (EPC URI or Digital Link).")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The red flags of an object's backward genealogy, each with the events and records
    behind it: suppliers without an assessment or certificate valid on the events' dates,
    certificates cited and not backed, element-mass violations; and the checks not made, with
    why. Exit 1 when a high-severity flag is raised."""
    from batterytrace.services.diligence import check

    with working(f"due diligence of {identifier}"):
        found = check(make_uow(), identifier)
    if json_output:
        out.print_json(orjson.dumps(found.to_json()).decode())
    else:
        table = Table("check", "severity", "flag", "events")
        for flag in found.flags:
            table.add_row(flag.check, flag.severity, flag.message, str(len(flag.events)))
        out.print(f"{found.object}: {found.events} events on its genealogy read")
        out.print(table if found.flags else "no red flag raised by the checks made")
        out.print(f"checked: {', '.join(found.checked)}")
        for reason in found.not_checked.values():
            out.print(f"not checked: {reason}", soft_wrap=True)
    if any(f.severity == "high" for f in found.flags):
        raise typer.Exit(1)
