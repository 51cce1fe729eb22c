"""Cobalt intensity of cathode chemistries (kg Co per kWh of cell), the data table shipped
with the package (``cobalt_intensity.csv``, every row with its source), overridable."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from batterytrace.errors import ContractError


@dataclass(frozen=True, slots=True)
class Intensity:
    chemistry: str
    cam_formula: str
    kg_co_per_kwh: float
    source: str


def intensities(path: Path | None = None) -> dict[str, Intensity]:
    """The table shipped with the package, or the CSV at ``path`` (same columns)."""
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files(__package__).joinpath("cobalt_intensity.csv").read_text("utf-8")
    )
    table: dict[str, Intensity] = {}
    for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            kg = float(row["kg_co_per_kwh"])
        except (KeyError, TypeError, ValueError):
            raise ContractError(f"line {n}: kg_co_per_kwh: a number is required") from None
        if not kg > 0:
            raise ContractError(f"line {n}: kg_co_per_kwh: {kg} is not positive")
        if not (row.get("chemistry") or "").strip() or not (row.get("source") or "").strip():
            raise ContractError(f"line {n}: chemistry and source are required")
        table[row["chemistry"].strip()] = Intensity(
            row["chemistry"].strip(), (row.get("cam_formula") or "").strip(), kg, row["source"]
        )
    return table
