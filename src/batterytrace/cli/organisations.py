"""Organisations, their sites and what they share (decisions 040, 041): ``org create | list``,
``site assign | delegate``, ``share grant | revoke | list``. The command acts as the store's
operator; each act is a ledger record."""

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


share_app = typer.Typer(
    help="Sharing agreements: what an organisation lets another read.", no_args_is_help=True
)
_MANY = "repeat for several; none: no restriction"


@share_app.command("grant")
def share_grant(
    owner: Annotated[str, typer.Argument(help="The organisation whose data are shared.")],
    to: Annotated[str, typer.Option("--to", help="The organisation that may read them.")],
    event_type: Annotated[
        list[str],
        typer.Option("--event-type", help=f"ObjectEvent, TransformationEvent, …; {_MANY}."),
    ] = [],  # noqa: B006
    biz_step: Annotated[
        list[str], typer.Option("--biz-step", help=f"A CBV business step; {_MANY}.")
    ] = [],  # noqa: B006
    site: Annotated[
        list[str], typer.Option("--site", help=f"Events at this site (SGLN); {_MANY}.")
    ] = [],  # noqa: B006
    product: Annotated[
        list[str],
        typer.Option("--product", help=f"Events naming an EPC of this class or pattern; {_MANY}."),
    ] = [],  # noqa: B006
    since: Annotated[
        str | None, typer.Option("--from", help="Events at or after this time (RFC 3339).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Events before this time (RFC 3339).")
    ] = None,
    withhold: Annotated[
        list[str],
        typer.Option(
            "--withhold",
            help="An event field not shared: quantities (the amounts; classes stay), ilmd, "
            "sensorElementList, bizTransactionList, sourceList, destinationList, "
            "certificationInfo or extensions; repeat for several.",
        ),
    ] = [],  # noqa: B006
    footprint: Annotated[
        str, typer.Option("--footprint", help="none, total (and class) or breakdown.")
    ] = "none",
    custody: Annotated[
        str, typer.Option("--custody", help="none, claims (of lots) or balances (accounts).")
    ] = "none",
    json_output: Annotated[bool, typer.Option("--json", help="Print the share as JSON.")] = False,
) -> None:
    """Share events of OWNER (those in every part of the scope given) with another
    organisation, and how much of the figures made of them; a ledger record."""
    import orjson

    from batterytrace.services import organisations

    body = {
        "owner": owner,
        "grantee": to,
        "scope": {
            "eventTypes": event_type,
            "bizSteps": biz_step,
            "sites": site,
            "products": product,
            "from": since,
            "until": until,
        },
        "withheld": withhold,
        "footprint": footprint,
        "custody": custody,
    }
    share = organisations.grant(make_uow(), body)
    if json_output:
        sys.stdout.write(orjson.dumps(share.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    out.print(f"share {share.id}: {share.owner} -> {share.grantee}: recorded in the ledger")


@share_app.command("revoke")
def share_revoke(share_id: Annotated[int, typer.Argument(help="The share (share list).")]) -> None:
    """End a share: nothing more is read through it from the next request on."""
    from batterytrace.services import organisations

    organisations.revoke(make_uow(), share_id)
    out.print(f"share {share_id}: revoked, recorded in the ledger")


@share_app.command("list")
def share_list(
    org: Annotated[
        str | None, typer.Option("--org", help="Only the shares it granted or was granted.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """The shares in force."""
    import orjson

    from batterytrace.services import organisations

    found = organisations.shares(make_uow(), org)
    if json_output:
        body = [s.to_json() for s in found]
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not found:
        out.print("no shares in force: batterytrace share grant OWNER --to GRANTEE")
        return
    table = Table("id", "owner", "grantee", "scope", "withheld", "footprint", "custody", box=None)
    for s in found:
        scope = {k: v for k, v in s.to_json()["scope"].items() if v}
        said = "; ".join(
            f"{k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in scope.items()
        )
        table.add_row(
            str(s.id), s.owner, s.grantee, said or "all events",
            ", ".join(sorted(s.withheld)), s.footprint, s.custody,
        )  # fmt: skip
    out.print(table)
