"""The agreement scenario's store that ``bench/trace.py`` prepares, for the benchmarks that run
on it (custody, footprint): their common arguments and the store itself."""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from batterytrace.services.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[1]


def open_store(
    name: str, doc: str, console: Console
) -> tuple[argparse.Namespace, UnitOfWork, dict[str, Any]]:
    """``--store DIR`` (reuse or make the store there), ``--events N`` (its size when made),
    ``--out FILE`` (default ``bench/results/<name>.json``); the store, and what its preparation
    recorded (events, the scenario's statement)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--store", type=Path, help="a store bench/trace.py prepared (or will)")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / f"{name}.json")
    args = parser.parse_args()
    work = args.store or Path(tempfile.mkdtemp(prefix=f"bt-{name}-"))
    uow, prepared = trace_bench().prepare(work, args.events, None, console)
    return args, uow, prepared


def trace_bench() -> Any:
    """bench/trace.py by path (a module named "trace" would be the standard library's)."""
    spec = importlib.util.spec_from_file_location("bench_trace", ROOT / "bench" / "trace.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
