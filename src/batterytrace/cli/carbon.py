"""Carbon: the footprint inputs (carbon import, list, remove, factors, unused), footprints,
PACT export and import, the targets."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table
from rich.tree import Tree

from batterytrace.carbon import DRAWS, SEED
from batterytrace.cli.common import (
    current_settings,
    fail,
    finite_from,
    make_uow,
    out,
    read_json,
    working,
)
from batterytrace.errors import ActivityError, FactorError, PactError

if TYPE_CHECKING:
    from batterytrace.carbon.footprint import Contribution, Footprint
    from batterytrace.carbon.system import Unused
    from batterytrace.carbon.uncertainty import Interval


carbon_app = typer.Typer(
    help="Carbon-footprint inputs: activity data, allocation, lanes, proxies, factor sets; "
    "and what no product takes.",
    no_args_is_help=True,
)


@carbon_app.command("import")
def carbon_import(
    source: Annotated[
        Path,
        typer.Argument(
            help="JSON model (activities, lanes, allocation, proxies) or CSV activities."
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace stored data of the same site, period, kind and factor (and settings "
            "of the same lane, site or product) that the file states otherwise.",
        ),
    ] = False,
) -> None:
    """Add activity data and modelling choices (decision 010). What is stored already changes
    nothing; a datum for a site, period, kind and factor already stored with other values (or
    another lane, allocation or proxy setting) is refused, nothing written, unless --replace."""
    from batterytrace.carbon import activity
    from batterytrace.services import carbon, masterdata

    if source.suffix.lower() == ".csv":
        model = activity.from_csv(source.read_text(encoding="utf-8"), source.name)
    else:
        model = activity.read_json(read_json(source, ActivityError), source.name)
    from batterytrace.references import carbon_names, require

    uow = make_uow()
    require(masterdata.master_data(uow), carbon_names(model), str(source))
    done = carbon.import_carbon(uow, model, source.name, replace=replace)
    if done.id is None:
        out.print(
            f"{source.name}: nothing changed, {done.unchanged} entries stored already "
            "(not recorded)"
        )
        return
    kept = next(m for id_, _, _, m in carbon.carbon_imports(uow) if id_ == done.id)
    out.print(f"carbon import {done.id} ({source.name}): {done} ({len(kept.activities)} activity "
              f"data, {len(kept.lanes)} lanes, {len(kept.allocation)} allocation rules, "
              f"{len(kept.proxies)} proxies kept)", soft_wrap=True)  # fmt: skip


@carbon_app.command("list")
def carbon_list(
    json_output: Annotated[bool, typer.Option("--json", help="Print the imports as JSON.")] = False,
) -> None:
    """The carbon imports kept, each by its import record's number, with what it added or
    replaced (`carbon remove` undoes one)."""
    from batterytrace.services import carbon

    rows = [
        {"id": id_, "source": source, "imported": when.isoformat(timespec="seconds"),
         "activities": len(m.activities), "lanes": len(m.lanes),
         "allocation": len(m.allocation), "proxies": len(m.proxies)}
        for id_, source, when, m in carbon.carbon_imports(make_uow())
    ]  # fmt: skip
    if json_output:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(*rows[0].keys() if rows else ("id",), title="carbon imports")
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    out.print(table)


@carbon_app.command("remove")
def carbon_remove(
    import_id: Annotated[
        int,
        typer.Argument(metavar="ID", help="The import's record number (`carbon list`, `imports`)."),
    ],
) -> None:
    """Undo one carbon import: its data and settings go, what it replaced applies again. The
    removal is recorded in the ledger like an import."""
    from batterytrace.services import carbon

    carbon.remove_carbon(make_uow(), import_id)
    out.print(f"carbon import {import_id} removed")


@carbon_app.command("factors")
def carbon_factors(
    label: Annotated[
        str | None, typer.Argument(help="A set (name@version); the shipped one if none.")
    ] = None,
    add: Annotated[
        Path | None, typer.Option("--add", help="Add a set from this CSV (with --name, --version).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name of the set added.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Version of the set added.")
    ] = None,
    use: Annotated[
        str | None,
        typer.Option(
            "--use",
            metavar="NAME@VERSION",
            help="Figure the kept footprints with this stored set (the shipped one's label "
            "goes back to it).",
        ),
    ] = None,
    remove: Annotated[
        str | None,
        typer.Option(
            "--remove", metavar="NAME@VERSION", help="Forget a stored set (not the one in use)."
        ),
    ] = None,
) -> None:
    """List the emission factors of a set with their sources; add a set of your own (only the
    factors it overrides are needed: the shipped set stands under it); choose the set the kept
    footprints are figured with; remove a set no kept footprint uses. Adding the same set again
    changes nothing; other factors under a stored name@version are refused."""
    from batterytrace.carbon import factors
    from batterytrace.services import carbon

    uow = make_uow()
    if use is not None:
        done = carbon.use_factors(uow, use)
        out.print(f"kept footprints figured with {use}" + ("" if done.changed else " already"))
        return
    if remove is not None:
        carbon.remove_factors(uow, remove)
        out.print(f"factor set {remove} removed")
        return
    if add is not None:
        if not name or not version:
            raise FactorError("--add needs --name and --version")
        from batterytrace.formats import named

        with named(add):
            read = factors.read_csv(add.read_text(encoding="utf-8"), name, version)
        done = carbon.import_factors(uow, read)
        out.print(f"factor set {name}@{version} " + ("added" if done.added else "unchanged"))
        return
    chosen = carbon.factor_set(uow, label)
    table = Table(title=f"emission factors {chosen.label} (kg CO2e per unit); sets: "
                  + ", ".join(s.label for s in carbon.factor_sets(uow))
                  + f"; in use: {carbon.in_use(uow)}")  # fmt: skip
    for column in ("id", "per", "kg CO2e", "geo", "year", "GSD", "source"):
        table.add_column(column, justify="right" if column in ("kg CO2e", "GSD") else "left")
    for f in sorted(chosen.factors.values(), key=lambda f: f.id):
        table.add_row(f.id, f.unit, f"{f.value:.6g}", f.geography, str(f.year),
                      f"{math.exp(f.sigma):.3g}", f.source)  # fmt: skip
    out.print(table)


@carbon_app.command("unused")
def carbon_unused(
    period: Annotated[
        str | None,
        typer.Option("--period", help="Only what overlaps this period: YYYY, YYYY-Qn or YYYY-MM."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """What no product's footprint takes: activity data of a site and period in which it made
    nothing, and transport legs not counted (with why); footprints list them too."""
    from batterytrace.services import carbon

    unused = carbon.not_counted(make_uow(), period)
    if json_output:
        out.print_json(orjson.dumps([u.to_json() for u in unused]).decode())
        return
    out.print(_not_counted_table(unused, f"not counted{f' in {period}' if period else ''}"))


NOT_COUNTED_SHOWN = 20  # rows a footprint table shows; `carbon unused` and --json show all


def _not_counted_table(unused: list[Unused], title: str, limit: int | None = None) -> Table:
    table = Table(title=f"{title}: {len(unused)}")
    for column in ("kind", "what", "when", "why"):
        table.add_column(column)
    for u in unused[:limit]:
        when = f"{u.start:%Y-%m-%d}" + ("" if u.end == u.start else f" - {u.end:%Y-%m-%d}")
        table.add_row(u.kind, "\n".join((u.what, *u.data)), when, u.reason)
    if limit is not None and len(unused) > limit:
        table.add_row("...", f"{len(unused) - limit} more: batterytrace carbon unused", "", "")
    return table


def footprint_command(
    identifier: Annotated[
        str,
        typer.Argument(
            help="A lot, a pack, a module or a serialised item (EPC URI or Digital Link)."
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the footprint as JSON.")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="The tree of contributions down to each activity datum and factor."
        ),
    ] = False,
    factor_set: Annotated[
        str | None,
        typer.Option(
            "--factors",
            help="Factor set name@version (default: the one in use, `carbon factors --use`; "
            "another is rolled up for this answer).",
        ),
    ] = None,
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            help="Monte Carlo draws for the 95 % interval (2 to 1,000,000; "
            "BATTERYTRACE_MAX_DRAWS changes the limit).",
        ),
    ] = DRAWS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws.")] = SEED,
) -> None:
    """Cradle-to-gate carbon footprint of one unit of a product (a kg of a lot, an item, a
    pack): total, per kWh, by life-cycle stage and material, primary-data share, data quality,
    performance class, and where every number comes from; read from the kept footprints (the
    ledger version it reflects is printed), --explain reads the whole product system."""
    from batterytrace.carbon.uncertainty import check_draws
    from batterytrace.services import carbon

    check_draws(draws)  # before the footprint is computed
    uow = make_uow()
    if json_output:  # the body the API serves too
        with working(f"footprint of {identifier}"):
            data = carbon.footprint_json(uow, identifier, factor_set, draws, seed, explain)
        out.print_json(orjson.dumps(data).decode())
        return
    with working(f"footprint of {identifier}"):
        answer = carbon.footprint(uow, identifier, factor_set)
        spread = answer.interval(draws, seed)
    fp = answer.footprint
    out.print(footprint_table(fp, spread))
    out.print(
        f"ledger version {answer.version}: "
        + ("kept footprint" if answer.kept else f"rolled up for this answer ({fp.factor_set} "
           "is not the set the kept footprints use)")
    )  # fmt: skip
    if fp.not_counted:
        out.print(
            _not_counted_table(
                list(fp.not_counted), "not counted in any product", NOT_COUNTED_SHOWN
            )
        )
    if explain:
        out.print(_contribution_tree(carbon.explain_footprint(uow, identifier, factor_set)))


pact_app = typer.Typer(
    help="PACT (WBCSD Pathfinder) product footprints: export ours, publish them on the PACT "
    "host, import suppliers', see what partners sent.",
    no_args_is_help=True,
)


@pact_app.command("export")
def pact_export(
    identifier: Annotated[str, typer.Argument(help="A lot, a pack or a serialised item.")],
    version: Annotated[
        str, typer.Option("--version", help="2 (PACT v2.3) or 3 (PACT v3.0).")
    ] = "3",
    factor_set: Annotated[
        str | None, typer.Option("--factors", help="Factor set name@version.")
    ] = None,
) -> None:
    """Print the PACT ProductFootprint of a product (a lot per kg, a battery per kWh)."""
    from batterytrace.services import carbon

    out.print_json(
        orjson.dumps(carbon.pact_footprint(make_uow(), identifier, version, factor_set)).decode()
    )


@pact_app.command("import")
def pact_import(
    source: Annotated[Path, typer.Argument(help="A PACT ProductFootprint (v2.x or v3.x) as JSON.")],
    product: Annotated[
        str,
        typer.Option(
            "--product", help="The product class (EPC class pattern) or lot it stands for."
        ),
    ],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace the supplier footprint the product has."),
    ] = False,
) -> None:
    """Use a supplier's PACT footprint for a product class or lot: it replaces the proxy
    factor (or the site's activity data), and footprints downstream say so. The same footprint
    again changes nothing; another for a product that has one is refused unless --replace."""
    from batterytrace.services import carbon

    document = read_json(source, PactError)
    read, done = carbon.import_supplier_footprint(
        make_uow(), document, product, source.name, replace=replace
    )
    if not done.changed:
        out.print(f"supplier footprint {read.id}: stored already for {product}, nothing changed")
        return
    out.print(f"supplier footprint {read.id} ({read.company_name}): {read.kg_co2e_per_kg:.6g} "
              f"kg CO2e/kg, PACT {read.spec_version}, used for {product}")  # fmt: skip


@pact_app.command("publish")
def pact_publish(
    identifier: Annotated[str, typer.Argument(help="A lot, a pack or a serialised item.")],
    factor_set: Annotated[
        str | None, typer.Option("--factors", help="Factor set name@version.")
    ] = None,
) -> None:
    """Publish a product's footprint on the PACT host (/2/footprints, /3/footprints) for the
    partners it is shared with. Publishing it again after its figures changed makes a new
    footprint that names the old one (precedingPfIds); the old one becomes Deprecated."""
    from batterytrace.services import pact

    with working("figuring the footprint"):
        made, new = pact.publish(make_uow(), identifier, factor_set)
    if not new:
        out.print(f"{made.product}: figures unchanged since footprint {made.id}, nothing published")
        return
    pcf = made.documents["3"]["pcf"]
    out.print(f"published footprint {made.id} (publication {made.number}) of {made.product}: "
              f"{pcf['pcfExcludingBiogenicUptake']} kg CO2e per {pcf['declaredUnitAmount']} "
              f"{pcf['declaredUnitOfMeasurement']}")  # fmt: skip


@pact_app.command("published")
def pact_published(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the footprints published on the PACT host, oldest first."""
    from batterytrace.services import pact

    found = pact.published(make_uow())
    if as_json:
        rows = [{"id": p.id, "product": p.product, "number": p.number, "created": p.created,
                 "status": p.status, "updated": p.updated} for p in found]  # fmt: skip
        out.print_json(orjson.dumps(rows).decode())
        return
    table = Table("id", "product", "n", "created", "status")
    for p in found:
        table.add_row(p.id, p.product, str(p.number), p.created, p.status)
    out.print(table)


@pact_app.command("received")
def pact_received(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the PACT events partners sent (requests and how they were answered, footprints
    fulfilled and what was done with them, updates published), newest first."""
    from batterytrace.services import pact

    found = pact.received(make_uow(), limit)
    if as_json:
        out.print_json(orjson.dumps([x.to_json() for x in found]).decode())
        return
    table = Table("event", "kind", "from", "state", "outcome")
    for x in found:
        table.add_row(x.event_id, f"{x.kind} (v{x.version})", x.source, x.state, x.outcome or "")
    out.print(table)


partner_app = typer.Typer(
    help="Partners' PACT hosts and this store's client credentials there: the footprints "
    "their events name are read from their host, answers sent to them carry a token.",
    no_args_is_help=True,
)
pact_app.add_typer(partner_app, name="partner")


@partner_app.command("add")
def partner_add(
    base_url: Annotated[str, typer.Argument(help="The partner's PACT host: https://host[/path].")],
    client_id: Annotated[str, typer.Option("--client-id", help="Our client id at that host.")],
    client_secret: Annotated[
        str,
        typer.Option(
            "--client-secret",
            prompt=True,
            hide_input=True,
            envvar="BATTERYTRACE_PACT_SECRET",
            help="Our client secret there (asked for when not given; or the environment).",
        ),
    ],
) -> None:
    """Keep a partner's PACT host and our credentials there (the secret encrypted with the
    server's token key, BATTERYTRACE_TOKEN_KEY), replacing those kept for it."""
    from batterytrace.api.security import Tokens
    from batterytrace.services import pact

    settings = current_settings()
    sealed = Tokens(settings.token_key, settings.token_ttl).seal(client_secret)
    made = pact.add_partner(make_uow(), base_url, client_id, sealed)
    out.print(f"partner {made.base_url}: client {made.client_id}")


@partner_app.command("list")
def partner_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The partners' hosts kept, with our client id at each (never the secret)."""
    from batterytrace.services import pact

    found = [{"baseUrl": p.base_url, "clientId": p.client_id} for p in pact.partners(make_uow())]
    if as_json:
        out.print_json(orjson.dumps(found).decode())
        return
    table = Table("host", "client id")
    for p in found:
        table.add_row(p["baseUrl"], p["clientId"])
    out.print(table)


@partner_app.command("remove")
def partner_remove(
    base_url: Annotated[str, typer.Argument(help="The partner's PACT host, as added.")],
) -> None:
    """Forget a partner's host and our credentials there."""
    from batterytrace.services import pact

    if not pact.remove_partner(make_uow(), base_url):
        fail("error", f"{base_url}: no such partner (pact partner list)")
    out.print(f"partner {base_url.rstrip('/')}: removed")


def targets_command(
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="LEVER=VALUE: wind=0.9, recycled=0.16, transport=rail, cell-grid=FI, "
            "chemistry=NMC622 (repeat; default: one of each).",
        ),
    ] = None,
    baseline: Annotated[
        float | None,
        typer.Option(
            "--baseline",
            help="2020 baseline in kg CO2e/kWh, > 0 (default: the recorded chain with "
            "conventional sulfate and grid power).",
            callback=finite_from(0, strict=True),
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    factor_set: Annotated[
        str | None, typer.Option("--factors", help="Factor set name@version.")
    ] = None,
) -> None:
    """The battery footprint per kWh against the agreement's targets (-20 % by 2025, -35 % by
    2030, against 2020), year by year, and what each lever would change; recorded data are
    never touched."""
    from batterytrace.carbon.targets import TARGETS
    from batterytrace.services import carbon

    if json_output:  # the body the API serves too
        with working("footprints against the targets"):
            body = carbon.targets_json(make_uow(), list(what_if or ()), baseline, factor_set)
        out.print_json(orjson.dumps(body).decode())
        return
    with working("footprints against the targets"):
        report = carbon.targets(make_uow(), list(what_if or ()), baseline, factor_set)
    data = report.to_json()
    base = data["baseline"]
    out.print(f"2020 baseline {report.baseline:,.2f} kg CO2e/kWh ({base['source']})")  # type: ignore[index]
    table = Table(title="packs assembled, kg CO2e per kWh of capacity")
    for column in ("year", "kg CO2e/kWh", "vs 2020", "target", "met"):
        table.add_column(column, justify="right")
    for row in data["progress"]:  # type: ignore[attr-defined]
        target = row["target"]
        table.add_row(str(row["year"]), f"{row['kgCO2ePerKWh']:,.2f}", f"{row['vsBaseline']:+.1%}",
                      "-" if target is None else f"{target:,.2f}",
                      "-" if row["met"] is None else ("yes" if row["met"] else "no"))  # fmt: skip
    out.print(table)
    levers = Table(title=f"what-if, on the latest year ({max(report.recorded.by_year)})")
    for column in ("lever", "kg CO2e/kWh", "change", *(f"reaches {y}" for y, _ in TARGETS)):
        levers.add_column(column, justify="left" if column == "lever" else "right")
    for lv, ev in report.levers:
        reached = report.reaches(ev)
        levers.add_row(str(lv) if lv else "all together", f"{ev.latest:,.2f}",
                       f"{ev.latest / report.recorded.latest - 1:+.1%}",
                       *("yes" if reached[y] else "no" for y, _ in TARGETS))  # fmt: skip
    out.print(levers)


def footprint_table(fp: Footprint, spread: Interval) -> Table:
    """A footprint, its breakdown, interval, data quality and sources, as one table."""
    per = f"{fp.kg_co2e:,.4g} kg CO2e per {fp.unit}"
    if fp.per_kwh is not None:
        per += f", {fp.per_kwh:,.4g} kg CO2e/kWh of {fp.capacity_kwh:g} kWh"
    table = Table(title=f"{fp.id}: {per}" + ("" if fp.complete else "  (INCOMPLETE)"))
    table.add_column("breakdown")
    table.add_column("kg CO2e", justify="right")
    table.add_column("share", justify="right")
    for title, parts in (("stage", fp.stages), ("material", fp.materials)):
        for name, kg in parts.items():
            table.add_row(
                f"{title}: {name}", f"{kg:,.4g}", f"{kg / fp.kg_co2e:.1%}" if fp.kg_co2e else "-"
            )
    table.add_row("fossil / biogenic", f"{fp.fossil:,.4g} / {fp.biogenic:,.4g}", "")
    table.add_row(f"95 % interval ({spread.draws:,} Monte Carlo draws, seed {spread.seed})",
                  f"{spread.low:,.4g} - {spread.high:,.4g}", "")  # fmt: skip
    table.add_row("primary data share", "", f"{fp.primary_share:.1%}")
    dqr = ", ".join(f"{k} {v:.2f}" for k, v in fp.dqr.items())
    table.add_row(f"data quality (PACT DQR, 1 best .. 3): {dqr}", "", "")
    if fp.performance is not None:
        table.add_row(f"performance class {fp.performance.label} ({fp.performance.status})", "", "")
    table.add_row(f"factors: {fp.factor_set}; allocation: {'; '.join(fp.allocation)}", "", "")
    for doc in fp.supplier_documents:
        table.add_row(f"supplier PACT footprint {doc} used instead of a proxy", "", "")
    for missing in fp.missing:
        table.add_row(f"missing: {missing}", "", "")
    return table


def _contribution_tree(c: Contribution) -> Tree:

    def grow(branch: Tree, node: Contribution) -> None:
        for child in node.children:
            grow(branch.add(f"{child.kg_co2e:,.4g} kg CO2e  {child.label}"
                            + (f"  [{child.detail}]" if child.detail else "")), child)  # fmt: skip

    root = Tree(f"{c.kg_co2e:,.4g} kg CO2e  {c.label}  [{c.detail}]")
    grow(root, c)
    return root
