"""Chain-of-custody benchmark (not a test).

On the agreement scenario's store (prepared by ``bench/trace.py``: ``--store DIR`` reuses it,
``--events N`` makes one), imports the scenario's custody rules and times, each in a fresh
process and twice, alternating:

- the full recomputation of every mass-balance account and every lot's claims from the stored
  events (``services.custody.state``: event columns, the figures capture derived, the index);
- the baseline: a plain SQL select of the same events' JSON, in the same order, and
  ``orjson.loads`` of each (reading the events at all, with the fastest JSON parser at hand);
- beside it, the same events decoded into the event model (what the recompute did before).

Prints the table and writes ``bench/results/custody.json`` with a flat ``summary``: ``events``
(in the store), ``recompute_s``, ``sql_orjson_s`` (the faster of each pair),
``ratio_vs_sql_orjson``, ``peak_rss_mb`` (of the recomputing process), and beside them
``decode_s``, the events read, the accounts, the lots with claims and the violations found.

Usage: ``python bench/custody.py [--store DIR | --events N] [--out FILE]``
"""

from __future__ import annotations

import resource
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from sqlalchemy import create_engine, text

from batterytrace.custody.rules import CustodyRules
from batterytrace.scenario.generator import custody_rules
from batterytrace.services import custody as custody_service
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.store import custody as custody_store
from report import publish
from scenario_store import open_store


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


# The events custody reads (transformations, and events naming lots), in its order.
LOT_EVENTS = text(
    "SELECT content FROM event WHERE event_type = 'TransformationEvent'"
    " OR seq IN (SELECT seq FROM event_key WHERE role = 'epcClass') ORDER BY event_time, seq"
)


def sql_orjson(url: str, key: str) -> dict[str, Any]:
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=2000).execute(LOT_EVENTS)
        events = sum(1 for (content,) in rows if orjson.loads(content))
    return {"s": time.perf_counter() - started, "events": events, "rss_mb": _peak_rss_mb()}


def decode(url: str, key: str) -> dict[str, Any]:
    uow = unit_of_work(url, Path(key))
    started = time.perf_counter()
    with uow.engine.connect() as conn:
        events = sum(1 for _ in custody_store.lot_events(conn))
    return {"s": time.perf_counter() - started, "events": events, "rss_mb": _peak_rss_mb()}


def recompute(url: str, key: str) -> dict[str, Any]:
    uow = unit_of_work(url, Path(key))
    started = time.perf_counter()
    state = custody_service.state(uow)
    seconds = time.perf_counter() - started
    return {
        "s": seconds,
        "accounts": len(state.accounts),
        "lots": sum(1 for lot in state.lots if state.claimed(lot)),
        "violations": len(state.violations),
        "rss_mb": _peak_rss_mb(),
    }


def _alone(phase: Any, url: str, key: str) -> dict[str, Any]:
    """Run a phase in a process of its own (its peak memory is its own)."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        result: dict[str, Any] = pool.submit(phase, url, key).result()
        return result


def main() -> None:
    console = Console()
    args, uow, prepared = open_store("custody", __doc__, console)
    custody_service.import_rules(uow, CustodyRules.from_json(custody_rules()))
    url, key = str(uow.engine.url.render_as_string(hide_password=False)), str(uow.key_path)
    uow.close()

    reads, decodes, recomputes = [], [], []
    for _ in range(2):
        reads.append(_alone(sql_orjson, url, key))
        decodes.append(_alone(decode, url, key))
        recomputes.append(_alone(recompute, url, key))
        console.print(
            f"select + orjson {reads[-1]['s']:.2f} s, decode {decodes[-1]['s']:.2f} s, "
            f"recompute {recomputes[-1]['s']:.2f} s"
        )
    read_s = min(r["s"] for r in reads)
    recompute_s = min(r["s"] for r in recomputes)
    assert reads[-1]["events"] == decodes[-1]["events"]
    last = recomputes[-1]
    summary = {
        "events": prepared["events"],
        "recompute_s": round(recompute_s, 2),
        "sql_orjson_s": round(read_s, 2),
        "ratio_vs_sql_orjson": round(recompute_s / read_s, 2),
        "peak_rss_mb": round(max(r["rss_mb"] for r in recomputes), 1),
        "decode_s": round(min(r["s"] for r in decodes), 2),
        "sql_orjson_peak_rss_mb": round(max(r["rss_mb"] for r in reads), 1),
        "events_read": reads[-1]["events"],
        "accounts": last["accounts"],
        "lots_with_claims": last["lots"],
        "violations": last["violations"],
    }
    publish(
        console,
        "custody",
        f"{prepared['events']:,} events",
        summary,
        args.out,
        scenario=prepared["statement"],
    )


if __name__ == "__main__":
    main()
