"""Certificates, assessments, ratings and memberships (decision 044): ``certificate import |
list | history``. Each import that changes something is a ledger record."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from batterytrace.cli.common import make_uow, out

certificate_app = typer.Typer(
    help="Certificates, assessments, ratings and memberships of suppliers (RMI RMAP, IRMA, "
    "ISO 14001, EcoVadis, CIRAF, Fair Cobalt Alliance...).",
    no_args_is_help=True,
)


@certificate_app.command("import")
def certificate_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            help='JSON ({"certificates": [...]}) or CSV (columns: id, scheme, issuer, holder, '
            "status, validFrom, validUntil, sites, materials, schemeVersion, assessor, level, "
            "evidence, evidenceSha256; lists space-separated)."
        ),
    ],
) -> None:
    """Keep certificate records: each names its holder (a party of the master data) and the
    holder's sites it covers. A record changed since it was stored becomes a new version (the
    old ones stay, `certificate history`); an unchanged one is not recorded again."""
    from batterytrace.certificates import read_certificates
    from batterytrace.services import certificates

    uow = make_uow()
    for path in files:
        done = certificates.import_certificates(uow, read_certificates(path), path.name)
        out.print(
            f"{path.name}: {done.added} added, {done.replaced} new versions, "
            f"{done.unchanged} unchanged"
        )


@certificate_app.command("list")
def certificate_list(
    party: Annotated[
        str | None, typer.Option("--party", help="Of this party (a party GLN).")
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site", help="Covering this site (an SGLN); also counts what its events cite."
        ),
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Valid on this day (YYYY-MM-DD; default today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The records in force, each valid or not on the day asked about; for a site, the
    certificates its events cite in certificationInfo, recorded or not."""
    from batterytrace.errors import CertificateError
    from batterytrace.services import certificates

    try:
        day = None if on is None else date.fromisoformat(on)
    except ValueError:
        raise CertificateError(f"--on: {on!r} is not a date (YYYY-MM-DD)") from None
    found = certificates.listing(make_uow(), party, site, day)
    if as_json:
        out.print_json(orjson.dumps(found.to_json()).decode())
        return
    table = Table("certificate", "scheme", "holder", "status", "valid", "until", "cited")
    for listed in found.certificates:
        c = listed.certificate
        until = c.valid_until.isoformat() if c.valid_until else "open"
        valid = f"yes on {found.on}" if listed.valid else f"NO on {found.on}"
        cited = "not counted" if listed.cited is None else str(listed.cited)
        table.add_row(c.id, c.scheme, c.holder, c.status, valid, until, cited)
    out.print(table)
    for uri, count in sorted(found.unrecorded.items()):
        out.print(f"cited by {count} event(s) at the site, no record: {uri}")


@certificate_app.command("history")
def certificate_history(
    identifier: Annotated[str, typer.Argument(help="The certificate's id (URI).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every version of a record, oldest first, with the ledger record that stated it."""
    from batterytrace.services import certificates

    versions = certificates.history(make_uow(), identifier)
    if as_json:
        body = [{"record": seq} | c.to_json() for seq, c in versions]
        out.print_json(orjson.dumps(body).decode())
        return
    if not versions:
        out.print(f"{identifier}: no such certificate")
        return
    for seq, c in versions:
        until = c.valid_until.isoformat() if c.valid_until else "open"
        out.print(f"record {seq}: {c.status}, valid {c.valid_from} to {until}")
