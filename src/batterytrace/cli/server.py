"""The HTTP server and its API clients: ``serve``, ``client create | list | revoke``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from batterytrace.cli.common import current_settings, fail, make_uow, out, print_json

client_app = typer.Typer(
    help="API clients of the HTTP server (OAuth2 client credentials).", no_args_is_help=True
)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes.", min=1, max=64)] = 1,
    cert: Annotated[
        Path | None,
        typer.Option(help="TLS certificate (PEM); with --key.", exists=True, dir_okay=False),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(help="TLS private key (PEM); with --cert.", exists=True, dir_okay=False),
    ] = None,
) -> None:
    """Serve the EPCIS 2.0 REST binding, the domain routes and OAuth2 over the store of
    BATTERYTRACE_DB; the API's description at /openapi.json, its documentation at /docs.
    Settings come from the environment (BATTERYTRACE_TOKEN_KEY, BATTERYTRACE_CAPTURE_LIMIT...;
    see the README)."""
    import uvicorn

    if (cert is None) != (key is None):
        raise typer.BadParameter("--cert and --key go together")
    settings = current_settings()
    make_uow(settings).ready()  # refuse an uninitialised store before listening
    scheme = "https" if cert else "http"
    out.print(f"batterytrace API on {scheme}://{host}:{port} (documentation: /docs)")
    uvicorn.run(
        "batterytrace.api.serve:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        log_level="info",
        proxy_headers=False,
    )


@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Argument(help="Who the client is (a system of a company).")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="capture, query or admin; repeat for several.")
    ] = ["query"],  # noqa: B006
    org: Annotated[
        str | None,
        typer.Option("--org", help="The organisation it acts for (a party GLN, org create)."),
    ] = None,
    operator: Annotated[
        bool,
        typer.Option("--operator", help="It acts for the store's operator instead: sees all."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the client as JSON.")] = False,
) -> None:
    """Create an API client for one organisation (--org) or for the store's operator
    (--operator); its secret is printed this once and kept only as a hash."""
    from batterytrace.services import clients

    if (org is None) == (not operator):
        fail("error", "say whom the client acts for: --org GLN or --operator (one of them)")
    made = clients.create(make_uow(), name, scope, organisation=org)
    if json_output:
        print_json(made)
        return
    out.print(f"client_id:     {made.client_id}")
    out.print(f"client_secret: {made.client_secret}")
    out.print(f"scopes:        {' '.join(made.scopes)}")
    out.print(f"acts for:      {made.organisation or 'the operator'}")
    out.print("the secret is shown this once: keep it now")


@client_app.command("list")
def client_list(
    json_output: Annotated[bool, typer.Option("--json", help="Print the clients as JSON.")] = False,
) -> None:
    """Every API client, revoked ones included (never a secret)."""
    import orjson

    from batterytrace.services import clients

    found = clients.every(make_uow())
    if json_output:
        out.print_json(orjson.dumps([c.model_dump(mode="json") for c in found]).decode())
        return
    if not found:
        out.print("no API clients yet: batterytrace client create NAME --scope query")
        return
    table = Table("client_id", "name", "scopes", "acts for", "created", "revoked", box=None)
    for c in found:
        table.add_row(
            c.client_id,
            c.name,
            " ".join(c.scopes),
            c.organisation or "the operator",
            f"{c.created_at:%Y-%m-%d %H:%M}",
            f"{c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "",
        )
    out.print(table)


@client_app.command("revoke")
def client_revoke(
    client_id: Annotated[str, typer.Argument(help="The client_id to revoke.")],
) -> None:
    """Revoke a client: its tokens are refused from the next request on."""
    from batterytrace.services import clients

    done = clients.revoke(make_uow(), client_id)
    out.print(f"revoked {done.client_id} ({done.name})")
