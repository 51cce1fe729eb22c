"""The scenario generator and the demo that runs the main job on it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from batterytrace.cli.carbon import footprint_table
from batterytrace.cli.common import current_settings, make_uow, out, progress_bar, read_json
from batterytrace.cli.events import capture_file
from batterytrace.errors import ActivityError, BatteryTraceError

if TYPE_CHECKING:
    from batterytrace.services.unit_of_work import UnitOfWork
    from batterytrace.trace.genealogy import Trace


def scenario(
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for masterdata.json, contracts.json, custody.json (claim rules), "
            "carbon.json (the carbon model) and events-YYYY.jsonld.",
        ),
    ],
    scale: Annotated[
        float,
        typer.Option(
            help="Share of the agreement's full physical volume (1 = 5,000 t/yr sulfate)."
        ),
    ] = 0.001,
    seed: Annotated[
        int, typer.Option(help="Seed: the same scale and seed give the same files.")
    ] = 2025,
) -> None:
    """Generate the agreement's supply chain 2025-2031 as master data and EPCIS documents."""
    from batterytrace.scenario.generator import generate

    with progress_bar() as progress:
        task = progress.add_task("generating", total=None)
        result = generate(out_dir, scale, seed, lambda n: progress.update(task, completed=n))
    out.print(result.statement(), soft_wrap=True)
    for path in result.files:
        out.print(f"wrote {path}")


def demo(
    scale: Annotated[float, typer.Option(help="Share of the agreement's full volume.")] = 0.0005,
    seed: Annotated[int, typer.Option(help="Scenario seed.")] = 2025,
    workdir: Annotated[
        Path, typer.Option(help="Where the scenario files, the fresh store and its key are made.")
    ] = Path(".demo"),
) -> None:
    """The main job: the agreement's scenario generated and captured into a fresh SQLite store,
    the ledger verified, element mass balances checked, a pack traced back to its mines and an
    ore lot traced forward to the vehicles, the pack's carbon footprint and the targets."""
    from batterytrace.carbon import activity
    from batterytrace.masterdata import read_master_data
    from batterytrace.references import carbon_names, require
    from batterytrace.scenario.generator import ORE, PACK, generate
    from batterytrace.services import carbon, ledger, masterdata
    from batterytrace.services.trace import check_balance, trace
    from batterytrace.trace.lineage import node_id

    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("demo.db", "demo.db-wal", "demo.db-shm", "ledger.key", "ledger.key.pub"):
        (workdir / stale).unlink(missing_ok=True)
    store = {"db": f"sqlite:///{workdir / 'demo.db'}", "key": workdir / "ledger.key"}
    uow = make_uow(current_settings().model_copy(update=store))
    init_result = ledger.init(uow)
    out.print(Text.assemble(("batterytrace demo", "bold"), f": fresh store {init_result.store}"))
    with progress_bar() as progress:
        task = progress.add_task("generating", total=None)
        scenario = generate(
            workdir / "scenario", scale, seed, lambda n: progress.update(task, completed=n)
        )
    out.print(scenario.statement(), soft_wrap=True)
    masterdata_file = workdir / "scenario" / "masterdata.json"
    counts = masterdata.import_master_data(
        uow, read_master_data(masterdata_file), masterdata_file.name
    )
    out.print("master data: " + ", ".join(f"{n.added} {kind}" for kind, n in counts.items()))
    for path in sorted((workdir / "scenario").glob("events-*.jsonld")):
        result = capture_file(uow, path)
        if result.rejected:
            raise BatteryTraceError(f"{path}: {result.error}")
        out.print(f"  captured {path.name}: {result.captured:,} events")
    out.print(demo_summary(uow))
    report = ledger.verify(uow)
    if not report.ok:
        raise BatteryTraceError(f"ledger broken: {report.failure or report.checkpoint_failures}")
    out.print(
        f"ledger verified: {report.entries:,} entries chained, {report.checkpoints} checkpoints "
        f"signed with Ed25519, head {report.head[:16]}…"
    )
    balance = check_balance(uow)
    out.print(
        f"element mass balance: {balance.steps} transformations, {balance.checked} balances "
        f"checked, {len(balance.violations)} violations, {len(balance.unchecked)} without figures"
    )
    pack = _first(uow, {"eventType": "AggregationEvent", "MATCH_parentID": PACK.class_id})
    back = trace(uow, pack, "backward", "Co")
    out.print(_sources(back, f"backward trace of pack {pack}"))
    ore = ORE.lot(f"BA{2025}-0000")
    forward_trace = trace(uow, ore, "forward", "Co")
    packs = node_id(PACK.serial("x")).rsplit("/21/", 1)[0] + "/21/"
    reached = [o for o in forward_trace.objects.values() if o.id.startswith(packs)]
    kg = sum(o.element_kg or 0 for o in reached)
    out.print(
        f"forward trace of ore lot {ore}: {forward_trace.start_kg or 0:,.1f} kg Co, reaching "
        f"{len(forward_trace.objects):,} objects of which {len(reached):,} packs holding "
        f"{kg:,.2f} kg of it (the rest is in stock, in process losses or in later years' packs)"
    )
    out.print(f"rule: {back.rule}", soft_wrap=True)
    carbon_file = workdir / "scenario" / "carbon.json"
    model = activity.read_json(read_json(carbon_file, ActivityError), carbon_file.name)
    require(masterdata.master_data(uow), carbon_names(model), str(carbon_file))
    carbon.import_carbon(uow, model, "carbon.json")
    answer = carbon.footprint(uow, pack)
    out.print(footprint_table(answer.footprint, answer.interval()))
    goals = carbon.targets(uow, [])
    out.print(
        f"targets: 2020 baseline {goals.baseline:,.2f} kg CO2e/kWh; packs of "
        f"{max(goals.recorded.by_year)} at {goals.recorded.latest:,.2f} "
        f"({goals.recorded.latest / goals.baseline - 1:+.1%}; -20 % by 2025, -35 % by 2030); "
        "`batterytrace targets` for the years and the levers",
        soft_wrap=True,
    )


def _first(uow: UnitOfWork, params: dict[str, str]) -> str:
    from batterytrace.services import events

    page = events.query(
        uow, {**params, "orderBy": "eventTime", "orderDirection": "DESC", "perPage": "1"}
    )
    if not page.events or page.events[0].parentID is None:
        raise BatteryTraceError(f"no event matches {params}")
    return page.events[0].parentID


def _sources(trace: Trace, title: str) -> Table:
    """Where the traced object's element comes from: the lots at the start of the chain."""
    from batterytrace.trace.lineage import is_lot

    table = Table(title=f"{title}: {trace.start_kg or 0:.4f} kg {trace.element}")
    table.add_column("source lot (start of the chain)")
    for name in (f"kg {trace.element}", "share"):
        table.add_column(name, justify="right")
    leaves = [
        o for o in trace.objects.values() if is_lot(o.id) and not trace.children(o.id) and o.share
    ]
    for o in sorted(leaves, key=lambda o: -(o.share or 0)):
        table.add_row(o.id, f"{o.element_kg or 0:.4f}", f"{o.share or 0:.1%}")
    return table


def demo_summary(uow: UnitOfWork) -> Table:
    """Stored events by type and business step."""
    from batterytrace.services import events

    table = Table(title="stored events")
    table.add_column("event type", no_wrap=True)
    table.add_column("bizStep", no_wrap=True)
    table.add_column("events", justify="right")
    for kind, step, n in events.event_counts(uow):
        table.add_row(kind, step or "-", f"{n:,}")
    return table
