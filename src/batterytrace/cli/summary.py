"""The summary of a pack or lot: what its passport shows from the chain, in one answer."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from batterytrace.cli.common import make_uow, out, print_json, working


def summary(
    identifier: Annotated[
        str, typer.Argument(help="A pack, a lot or a serialised item (EPC URI or Digital Link).")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """What a passport shows from the chain, from the kept state: origin shares per element and
    country, recycled shares traced and claimed (Art. 8), claims carried, footprint per kWh
    with class and 95 % interval, the agreements it was delivered under, the ledger version;
    each part with its source."""
    from batterytrace.services.summary import summary as summary_of

    with working(f"summary of {identifier}"):
        found = summary_of(make_uow(), identifier)
    if json_output:
        print_json(found)
        return
    out.print(
        f"{found.id}" + (f" ({found.name})" if found.name else "")
        + f"; ledger version {found.version}",
        soft_wrap=True,
    )  # fmt: skip
    origin = Table(title="origin of each element (source lots by the country of their site)")
    for column in ("element", "kg in it", "country", "share", "lots"):
        origin.add_column(column, justify="left" if column in ("element", "country") else "right")
    for o in found.origin:
        kg = "unknown" if o.element_kg is None else f"{o.element_kg:,.4g}"
        for c in o.countries:
            origin.add_row(o.element, kg, c.country or "unknown site", f"{c.share:.2%}",
                           str(c.lots))  # fmt: skip
        if o.unknown_share is None or o.unknown_share > 0:
            share = "unknown" if o.unknown_share is None else f"{o.unknown_share:.2%}"
            origin.add_row(o.element, kg, "not traced (gaps)", share, "")
    out.print(origin)
    recycled = Table(title="recycled content (Art. 8): share of the element in the battery")
    for column in ("element", "traced", "claimed", "meets"):
        recycled.add_column(column, justify="left" if column in ("element", "meets") else "right")
    for r in found.recycled:
        meets = ", ".join(f"{day}: {'-' if ok is None else 'yes' if ok else 'no'}"
                          for day, ok in r.meets.items())  # fmt: skip
        recycled.add_row(r.element, _share(r.traced), _share(r.claimed), meets)
    out.print(recycled)
    for claim in found.claims:
        parts = ", ".join(f"{e} {s.share:.2%}" if s.share is not None else f"{e} unknown"
                          for e, s in claim.elements.items())  # fmt: skip
        out.print(f"claim {claim.claim}: {parts}", soft_wrap=True)
    fp = found.footprint
    if fp is None:
        out.print(f"footprint: none ({found.footprint_error})", soft_wrap=True)
    else:
        per = f"{fp.kg_co2e:,.4g} kg CO2e per {fp.unit}"
        if fp.kg_co2e_per_kwh is not None:
            per += f", {fp.kg_co2e_per_kwh:,.4g} kg CO2e/kWh, class {fp.performance_class}"
        out.print(
            f"footprint: {per}; 95 % {fp.low:,.4g} - {fp.high:,.4g}; {fp.factor_set}"
            + ("" if fp.complete else f"; INCOMPLETE ({fp.missing} data missing)"),
            soft_wrap=True,
        )
    for d in found.contracts:
        out.print(f"delivered under {d.agreement}: {', '.join(d.lots)}", soft_wrap=True)
    for part, source in found.sources.items():
        out.print(f"[dim]{part}: {source}[/dim]", soft_wrap=True)


def _share(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2%}"
