"""Carbon-footprint benchmark (not a test).

On the agreement scenario's store (prepared by ``bench/trace.py``: ``--store DIR`` reuses it,
``--events N`` makes one), with the scenario's carbon model imported, times in one process:

- reading the product system from the store (``services.carbon.product_system``), shared by both
  calculations below and reported apart;
- the roll-up of every lot, item batch and pack (``carbon.footprint.rollup``: per-unit amounts
  of every burden key, the kg CO2e sums, data quality, completeness);
- the baseline: the same system as a technosphere matrix A and intervention matrix B, built
  from flat arrays with scipy.sparse's COO constructor (``build_matrices_s``), and one sparse
  LU solve of Aᵀ X = Bᵀ for the same per-unit amounts (``lu_solve_s``); the two together
  (``solve_vectorised_s``) are what the roll-up is compared with, and the solve alone is shown
  beside it;
- a 95 % Monte Carlo interval of one pack with 10,000 draws.

Each calculation runs five times; the fastest run counts. Prints the table and writes
``bench/results/footprint.json`` with a flat ``summary``: ``packs``, ``rollup_s``,
``build_matrices_s``, ``lu_solve_s``, ``solve_vectorised_s``, ``ratio`` (rollup over
build + solve), ``ratio_vs_lu_solve`` (rollup over the solve alone), ``max_rel_diff`` (of every
product's kg CO2e per unit between the two), ``mc_10k_draws_s``, ``peak_rss_mb``, and beside
them the products, the burden keys and the read time.

Usage: ``python bench/footprint.py [--store DIR | --events N] [--out FILE]``
"""

from __future__ import annotations

import importlib.util
import re
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.footprint import footprint, rollup
from batterytrace.carbon.uncertainty import interval
from batterytrace.scenario.generator import carbon_model
from batterytrace.services import carbon, ledger
from report import publish
from scenario_store import open_store

ROOT = Path(__file__).resolve().parents[1]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _technosphere() -> Any:
    """tests/technosphere.py: the independent solve the tests check the roll-up against."""
    spec = importlib.util.spec_from_file_location(
        "technosphere", ROOT / "tests" / "technosphere.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    console = Console()
    args, uow, prepared = open_store("footprint", __doc__, console)
    ledger.init(uow)  # the carbon tables, on stores prepared before them
    if not carbon.carbon_model(uow).activities:
        scale = float(re.match(r"scale ([0-9.]+)", str(prepared["statement"])).group(1))  # type: ignore[union-attr]
        carbon.import_carbon(
            uow, from_json(orjson.loads(orjson.dumps(carbon_model(scale)))), "scenario"
        )

    started = time.perf_counter()
    system = carbon.product_system(uow)
    read_s = time.perf_counter() - started
    packs = [
        i
        for i, n in enumerate(system.nodes)
        if n.unit.value == "item" and n.inputs and "#" not in n.id
    ]
    console.print(f"read {len(system.nodes):,} products ({len(packs):,} packs) in {read_s:.1f} s")

    technosphere = _technosphere()
    rollups, builds, solves, result, solved = [], [], [], None, None
    for _ in range(5):
        started = time.perf_counter()
        result = rollup(system)
        rollups.append(time.perf_counter() - started)
        started = time.perf_counter()
        built = technosphere.matrices(system)
        builds.append(time.perf_counter() - started)
        started = time.perf_counter()
        solved = technosphere.lu_solve(*built) @ result.values
        solves.append(time.perf_counter() - started)
        console.print(
            f"roll-up {rollups[-1]:.2f} s, matrices {builds[-1]:.2f} s, LU solve {solves[-1]:.2f} s"
        )
    assert result is not None and solved is not None
    solve_s = min(b + s for b, s in zip(builds, solves, strict=True))
    totals = result.per_unit[:, len(result.values)]
    max_rel_diff = float(np.max(np.abs(totals - solved) / np.maximum(np.abs(solved), 1e-300)))

    pack = system.nodes[packs[len(packs) // 2]].id
    draws = []
    for _ in range(5):
        started = time.perf_counter()
        interval(footprint(result, pack), result.system.factors, 10_000)
        draws.append(time.perf_counter() - started)

    summary = {
        "packs": len(packs),
        "rollup_s": round(min(rollups), 3),
        "build_matrices_s": round(min(builds), 3),
        "lu_solve_s": round(min(solves), 3),
        "solve_vectorised_s": round(solve_s, 3),
        "ratio": round(min(rollups) / solve_s, 2),
        "ratio_vs_lu_solve": round(min(rollups) / min(solves), 2),
        "max_rel_diff": float(f"{max_rel_diff:.3g}"),
        "mc_10k_draws_s": round(min(draws), 4),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "products": len(system.nodes),
        "burden_keys": len(system.keys),
        "read_system_s": round(read_s, 1),
        "incomplete_products": int(result.incomplete.sum()),
    }
    publish(
        console, "footprint", f"{prepared['events']:,} events", summary, args.out,
        scenario=prepared["statement"],
        pack_sample={"id": pack, "kgCO2e": result.total(system.index[pack])},
    )  # fmt: skip


if __name__ == "__main__":
    main()
