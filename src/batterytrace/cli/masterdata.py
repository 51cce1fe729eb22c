"""Master data: parties, sites, materials (masterdata import, export, show)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from batterytrace.cli.common import make_uow, naming, out

masterdata_app = typer.Typer(
    help="Supply-chain master data: parties, sites, materials.", no_args_is_help=True
)


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

    done = masterdata.import_master_data(make_uow(), read_master_data(source), source.name)
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

    for path in write_master_data(masterdata.master_data(make_uow()), target, form):
        out.print(f"wrote {path}")


@masterdata_app.command("show")
def masterdata_show() -> None:
    """List parties, sites and materials with their element fractions."""
    from batterytrace.masterdata import ELEMENTS
    from batterytrace.services import masterdata

    uow = make_uow()
    data, named = masterdata.master_data(uow), naming(uow)
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
