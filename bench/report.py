"""How every benchmark reports: a table of its figures, and bench/results/<name>.json with the
date, the machine and a flat ``summary``."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def publish(
    console: Console,
    name: str,
    title: str,
    summary: dict[str, Any],
    out: Path,
    **context: Any,
) -> None:
    """Print the summary and write it to ``out`` (with ``context``, e.g. the scenario)."""
    table = Table("figure", "value", title=f"{name} benchmark, {title}")
    for figure, value in summary.items():
        table.add_row(figure, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        **context,
        "summary": summary,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out}")
