"""Organisations and their sites (decision 040): ``org create | list``, ``site assign |
delegate``. The command acts as the store's operator; each act is a ledger record."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from batterytrace.cli.common import make_uow, out

org_app = typer.Typer(help="Organisations of the chain (party GLNs).", no_args_is_help=True)
site_app = typer.Typer(
    help="Which organisation owns a site, and who may capture there.", no_args_is_help=True
)

_GLN = "A party GLN: urn:epc:id:pgln:…, https://id.gs1.org/417/… or its 13 digits."
_SITE = "A site: urn:epc:id:sgln:…, https://id.gs1.org/414/… or its 13 digits."


@org_app.command("create")
def org_create(
    organisation: Annotated[str, typer.Argument(help=_GLN, metavar="GLN")],
    name: Annotated[str, typer.Option("--name", help="The company's name.")],
) -> None:
    """Register an organisation (given again, its name is replaced)."""
    from batterytrace.organisations import organisation_id
    from batterytrace.services import organisations

    done = organisations.create(make_uow(), organisation, name)
    out.print(f"{organisation_id(organisation)} ({name.strip()}): {_said(done.changed)}")


@org_app.command("list")
def org_list(
    json_output: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """Every organisation, its sites and the sites of others it may capture at."""
    import orjson

    from batterytrace.services import organisations

    found = organisations.every(make_uow())
    if json_output:
        body = [o.model_dump(mode="json") for o in found]
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not found:
        out.print("no organisations yet: batterytrace org create GLN --name NAME")
        return
    table = Table("organisation", "name", "sites", "captures also at", box=None)
    for o in found:
        table.add_row(o.id, o.name, "\n".join(o.sites), "\n".join(o.delegated_to_it))
    out.print(table)


@site_app.command("assign")
def site_assign(
    site: Annotated[str, typer.Argument(help=_SITE, metavar="SGLN")],
    org: Annotated[str, typer.Option("--org", help=_GLN)],
) -> None:
    """Give a site to an organisation: from now on only it (and those it delegates to) may
    capture events there. Capture rights a former owner gave end."""
    from batterytrace.services import organisations

    done = organisations.assign(make_uow(), site, org)
    out.print(f"{site} -> {org}: {_said(done.changed)}")


@site_app.command("delegate")
def site_delegate(
    site: Annotated[str, typer.Argument(help=_SITE, metavar="SGLN")],
    to: Annotated[str, typer.Option("--to", help="The organisation that may capture there.")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the right back.")] = False,
) -> None:
    """Let another organisation capture events at a site for its owner (a logistics provider
    for a shipper); --revoke takes it back."""
    from batterytrace.services import organisations

    done = organisations.delegate(make_uow(), site, to, granted=not revoke)
    verb = "may no longer capture" if revoke else "may capture"
    out.print(f"{to} {verb} at {site}: {_said(done.changed)}")


def _said(changed: bool) -> str:
    return "recorded in the ledger" if changed else "already so, nothing recorded"
