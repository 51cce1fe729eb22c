"""Data shipped inside the package cite public sources only, and computed rows recompute."""

from __future__ import annotations

import csv
import io
import re
from importlib import resources
from importlib.resources.abc import Traversable

import pytest

from batterytrace.units import mass_fractions


def _data_files(folder: Traversable) -> list[Traversable]:
    found: list[Traversable] = []
    for entry in folder.iterdir():
        if entry.is_dir():
            found += _data_files(entry)
        elif entry.name.endswith((".csv", ".json")):
            found.append(entry)
    return found


SHIPPED = sorted(_data_files(resources.files("batterytrace")), key=lambda f: str(f))

# A citation a reader of the installed package cannot follow: a repository note
# (shared/reference/battery.md), a relative or absolute path, a file URL.
LOCAL = re.compile(r"\.md\b|shared/|\.\./|file:|(?:^|[\s(\"'])/(?:work|home|tmp|usr)/", re.I)


def test_the_package_ships_its_data_tables() -> None:
    names = {f.name for f in SHIPPED}
    assert {"cobalt_intensity.csv", "batterytrace-2026.1.csv", "performance-classes.csv"} <= names


@pytest.mark.parametrize("data", SHIPPED, ids=lambda f: f.name)
def test_shipped_data_cite_no_local_file(data: Traversable) -> None:
    text = data.read_text("utf-8")
    assert LOCAL.search(text) is None, LOCAL.findall(text)
    if data.name.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and all((row.get("source") or "").strip() for row in rows)


COBALT = resources.files("batterytrace.contracts").joinpath("cobalt_intensity.csv")
COMPUTATION = re.compile(
    r"^computed: kg Co/kWh = kg CAM/kWh x Co mass fraction = "
    r"1000 / \((?P<mah_g>[\d.]+) mAh/g x (?P<volt>[\d.]+) V\) x "
    r"(?P<co_pct>[\d.]+) % = (?P<kg>[\d.]+);"
)


def _half_unit_in_last_place(figure: str) -> float:
    decimals = len(figure.partition(".")[2])
    return 0.5 * 10**-decimals


COBALT_ROWS = list(csv.DictReader(io.StringIO(COBALT.read_text("utf-8"))))


@pytest.mark.parametrize("row", COBALT_ROWS, ids=lambda r: r["chemistry"])
def test_cobalt_intensity_rows_recompute(row: dict[str, str]) -> None:
    # kg CAM per kWh = 1 / (Ah/kg x V) = 1000 / (mAh/g x V); times the Co mass fraction.
    m = COMPUTATION.match(row["source"])
    assert m is not None, row["source"]
    assert m["kg"] == row["kg_co_per_kwh"]
    co_pct = float(m["co_pct"])
    assert co_pct == pytest.approx(100 * mass_fractions(row["cam_formula"])["Co"], abs=0.005)
    recomputed = 1000 / (float(m["mah_g"]) * float(m["volt"])) * co_pct / 100
    assert abs(recomputed - float(m["kg"])) <= _half_unit_in_last_place(m["kg"])
