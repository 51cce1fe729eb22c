"""Genealogy trace benchmark (not a test).

Generates the agreement scenario sized to about ``--events`` events, captures it into a fresh
store (SQLite by default, or ``--db URL``), then times, on the same random samples:

- backward traces from packs and forward traces from cobalt sulfate lots with
  ``services.trace.trace`` (element-mass allocation included);
- the same reachability done by a hand-written recursive SQL CTE over the raw tables: the
  baseline backward;
- forward, the same answer by hand with the holding table the trace reads (the walk through
  lots, then the containers of the items each step made): the baseline forward. The raw-table
  CTE walks every cell a sulfate lot ends in (different, far larger work): shown beside it.

Prints the table and writes ``bench/results/trace.json`` with a flat ``summary``: ``events``,
``back_p50_ms``, ``back_p95_ms``, ``forward_p50_ms``, ``forward_p95_ms``, ``back_ratio_vs_cte``,
``forward_ratio_vs_cte`` (against the holding CTE, the same answer), ``generate_s``,
``capture_s``, and beside them the baselines' own figures, ``forward_ratio_vs_cell_cte``
(against the CTE walking every cell), objects reached, samples and ``holdings_replay_s`` (the
holdings the capture kept, recomputed from the stored events: the part of the capture time they
cost).

Usage: ``python bench/trace.py [--events N] [--samples K] [--forward-samples K] [--db URL]
[--store DIR] [--out FILE]``

``--store DIR`` keeps the generated scenario and the SQLite store in DIR, with the generation and
capture times in ``DIR/prepared.json``; a later run with the same DIR reuses them and times the
traces only (generating and capturing 10M events takes most of an hour).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from sqlalchemy import Connection, text

from batterytrace.masterdata import read_master_data
from batterytrace.scenario.generator import CO_SULFATE, PACK, generate
from batterytrace.services import events as events_service
from batterytrace.services import ledger, masterdata
from batterytrace.services import trace as tracing
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import holdings
from batterytrace.trace.lineage import node_id
from report import publish

ROOT = Path(__file__).resolve().parents[1]
EVENTS_PER_UNIT_SCALE = 11_424 / 0.0005  # events of the scenario at scale 1 (measured)

_MADE = "('outputEPC', 'outputEPCClass', 'parentID')"
_USED = "('inputEPC', 'inputEPCClass', 'childEPC', 'childEPCClass')"
# The trace's graph without its arithmetic: every object reachable through the steps a trace
# follows (transformations, and aggregations and associations that are not DELETEs), from each
# object to the events where it has a "near" role and on to the "far" objects of those events,
# then every link (object, event, object) among them, fetched by the caller as a trace is.
# UNION expands each object once (cycles end there). SQLite's CROSS JOIN fixes the loop order
# (walk outermost), as one would by hand.
CTE = """
WITH RECURSIVE walk(node) AS (
    SELECT :root
    UNION
    SELECT k2.value
    FROM walk
    {join} event_key k1 ON k1.role IN {near} AND k1.value = walk.node
    {join} event e ON e.seq = k1.seq AND (e.action IS NULL OR e.action <> 'DELETE')
    {join} event_key k2 ON k2.seq = k1.seq AND k2.role IN {far}
)
SELECT walk.node, k1.seq, k2.value
FROM walk
{join} event_key k1 ON k1.role IN {near} AND k1.value = walk.node
{join} event e ON e.seq = k1.seq AND (e.action IS NULL OR e.action <> 'DELETE')
{join} event_key k2 ON k2.seq = k1.seq AND k2.role IN {far}
"""


# The forward answer by hand with the index the trace uses: the walk through lots (not items),
# then the containers holding the items each step made, from the holding table.
HELD_CTE = (
    CTE
    + """UNION ALL
SELECT walk.node, h.source, h.container
FROM walk
{join} event_key k1 ON k1.role IN {near} AND k1.value = walk.node
{join} holding h ON h.source = k1.seq
"""
)


def ctes(dialect: str) -> tuple[str, str, str]:
    """(backward, forward, forward with holdings) baseline queries for a database dialect."""
    join = "CROSS JOIN" if dialect == "sqlite" else "JOIN"
    return (
        CTE.format(near=_MADE, far=_USED, join=join),
        CTE.format(near=_USED, far=_MADE, join=join),
        HELD_CTE.format(near=_USED, far="('outputEPCClass', 'parentID')", join=join),
    )


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def compare(
    uow: UnitOfWork, conn: Connection, direction: str, roots: list[str], *sqls: str
) -> tuple[list[float], list[list[float]], list[int]]:
    """ms of the trace and of each baseline for each root (which runs first alternates, so
    none always finds the others' pages in the cache), and the objects each trace reached."""
    ours: list[float] = []
    baselines: list[list[float]] = [[] for _ in sqls]
    objects: list[int] = []
    for i, root in enumerate(roots):
        reached: list[int] = []

        def trace(root: str = root, reached: list[int] = reached) -> None:
            reached.append(len(tracing.trace(uow, root, direction, "Co").objects))

        runs = [(ours, trace)] + [
            (times, lambda sql=sql, root=root: conn.execute(text(sql), {"root": root}).all())
            for times, sql in zip(baselines, sqls, strict=True)
        ]
        for times, run in runs[::-1] if i % 2 else runs:
            times.append(timed(run))
        objects.extend(reached)
    return ours, baselines, objects


def prepare(
    work: Path,
    events: int,
    db: str | None,
    console: Console,
    replay: bool = True,
    keep_documents: bool = True,
) -> tuple[UnitOfWork, dict[str, object]]:
    """Generate and capture the scenario into ``work``, or reuse what an earlier run left;
    ``replay``: time the holdings part of the capture again on its own (this bench's figure;
    an hour at 10M events that bench/online.py does without); not ``keep_documents``: each
    year's document deleted once captured (11 GB at 10M events, on a disk the store fills)."""
    done = work / "prepared.json"
    uow = unit_of_work(db or f"sqlite:///{work / 'trace.db'}", work / "ledger.key")
    if done.exists():
        prepared: dict[str, object] = json.loads(done.read_text())
        console.print(f"reusing the store in {work}: {prepared['statement']}", soft_wrap=True)
        # stores captured before the bench imported the master data
        if not masterdata.master_data(uow).materials:
            masterdata.import_master_data(
                uow, read_master_data(work / "scenario" / "masterdata.json")
            )
        return uow, prepared
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    scenario = generate(work / "scenario", events / EVENTS_PER_UNIT_SCALE, seed=2025)
    generate_s = time.perf_counter() - started
    console.print(scenario.statement(), soft_wrap=True)
    ledger.init(uow)
    masterdata.import_master_data(uow, read_master_data(work / "scenario" / "masterdata.json"))
    started = time.perf_counter()
    for path in sorted((work / "scenario").glob("events-*.jsonld")):
        events_service.capture(uow, path)
        if not keep_documents:
            path.unlink()
    capture_s = time.perf_counter() - started
    console.print(f"captured {scenario.events:,} events in {capture_s:,.0f} s")
    replay_s = None
    if replay:
        started = time.perf_counter()  # the holdings part of the capture, done again on its own
        with uow.engine.begin() as conn:
            holdings.rebuild(conn)
        replay_s = round(time.perf_counter() - started, 1)
    prepared = {
        "events": scenario.events,
        "statement": scenario.statement(),
        "generate_s": round(generate_s, 1),
        "capture_s": round(capture_s, 1),
        "holdings_replay_s": replay_s,
    }
    done.write_text(json.dumps(prepared, indent=2) + "\n")
    return uow, prepared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=200, help="backward traces (packs)")
    parser.add_argument("--forward-samples", type=int, default=20, help="sulfate lots")
    parser.add_argument("--db", help="SQLAlchemy URL of an empty database (default: SQLite)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "trace.json")
    parser.add_argument("--store", type=Path, help="keep (or reuse) scenario and store here")
    args = parser.parse_args()
    console = Console()
    work = args.store or Path(tempfile.mkdtemp(prefix="bt-trace-"))
    uow, prepared = prepare(work, args.events, args.db, console)

    rng = random.Random(7)
    with uow.engine.connect() as conn:
        packs = [
            row[0]
            for row in conn.execute(
                text("SELECT value FROM event_key WHERE role = 'parentID' AND value LIKE :p"),
                {"p": node_id(PACK.serial("x")).rsplit("/21/", 1)[0] + "/21/%"},
            )
        ]
        sulfates = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT DISTINCT value FROM event_key"
                    " WHERE role = 'inputEPCClass' AND value LIKE :p"
                ),
                {"p": node_id(CO_SULFATE.lot("x")).rsplit("/10/", 1)[0] + "/10/%"},
            )
        ]
    back_roots = rng.sample(packs, min(args.samples, len(packs)))
    forward_roots = rng.sample(sulfates, min(args.forward_samples, len(sulfates)))
    back_sql, forward_sql, held_sql = ctes(uow.engine.dialect.name)
    with uow.engine.connect() as conn:
        back, (back_cte,), back_objects = compare(uow, conn, "backward", back_roots, back_sql)
        forward, (cell_cte, held_cte), forward_objects = compare(
            uow, conn, "forward", forward_roots, forward_sql, held_sql
        )

    back_p50, back_p95 = percentiles(back)
    fwd_p50, fwd_p95 = percentiles(forward)
    summary = {
        "events": prepared["events"],
        "back_p50_ms": round(back_p50, 2),
        "back_p95_ms": round(back_p95, 2),
        "forward_p50_ms": round(fwd_p50, 2),
        "forward_p95_ms": round(fwd_p95, 2),
        "back_ratio_vs_cte": round(back_p50 / percentiles(back_cte)[0], 2),
        "forward_ratio_vs_cte": round(fwd_p50 / percentiles(held_cte)[0], 2),
        "generate_s": prepared["generate_s"],
        "capture_s": prepared["capture_s"],
        "holdings_replay_s": prepared.get("holdings_replay_s"),
        "back_cte_p50_ms": round(percentiles(back_cte)[0], 2),
        "forward_cte_p50_ms": round(percentiles(held_cte)[0], 2),
        "forward_cell_cte_p50_ms": round(percentiles(cell_cte)[0], 2),
        "forward_ratio_vs_cell_cte": round(fwd_p50 / percentiles(cell_cte)[0], 2),
        "back_objects_p50": int(statistics.median(back_objects)),
        "forward_objects_p50": int(statistics.median(forward_objects)),
        "back_samples": len(back_roots),
        "forward_samples": len(forward_roots),
        "backend": uow.engine.dialect.name,
    }
    publish(
        console,
        "trace",
        f"{prepared['events']:,} events",
        summary,
        args.out,
        scenario=prepared["statement"],
    )
    uow.close()
    if args.store is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
