"""Numbers that make no sense, refused by the command line (issue 13, point 4): options that
must be finite and not negative, periods that do not exist, amounts whose footprint passes
any float; one line naming the option or the datum, never "inf" and never a numpy warning."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.epcis.model import Action, Event, EventType, QuantityElement
from batterytrace.epcis.rules import check_event
from batterytrace.errors import FieldError
from carbon_examples import (
    DOCUMENTS,
    EXAMPLES,
    SULFATE,
    master_data_of_examples,
    model_of_examples,
)
from factories import write

runner = CliRunner()
SITE = "urn:epc:id:sgln:6111111.00300.0"
ALLOCATE = ["custody", "allocate", "urn:epc:class:lgtin:6111111.000101.P1", "low-carbon",
            "--site", SITE]  # fmt: skip
TRANSFER = ["custody", "transfer", SITE, "urn:epc:id:sgln:6111111.00400.0", "low-carbon"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--tolerance", "-0.1"], "'--tolerance': -0.1 is not a finite number ≥ 0"),
        (["check", "--tolerance", "nan"], "'--tolerance': nan is not a finite number ≥ 0"),
        (["targets", "--baseline", "-3"], "'--baseline': -3.0 is not a finite number > 0"),
        (["targets", "--baseline", "0"], "'--baseline': 0.0 is not a finite number > 0"),
        (["targets", "--baseline", "inf"], "'--baseline': inf is not a finite number > 0"),
        ([*ALLOCATE, "--co", "-1"], "'--co': -1.0 is not a finite number > 0"),
        ([*ALLOCATE, "--ni", "inf"], "'--ni': inf is not a finite number > 0"),
        ([*TRANSFER, "--li", "0"], "'--li': 0.0 is not a finite number > 0"),
    ],
)
def test_options_that_must_be_finite_and_not_negative(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2  # a usage error, as for any option value typer cannot take
    assert f"Error: Invalid value for {message}" in result.stderr
    assert "Traceback" not in result.output


def test_a_tolerance_of_zero_is_taken(env: Path) -> None:
    result = runner.invoke(app, ["check", "--tolerance", "0"])
    assert result.exit_code == 0
    assert result.stdout.strip() == (
        "0 transformations, 0 element balances checked, 0 violations, 0 not checkable"
    )


@pytest.mark.parametrize(
    ("period", "rule"),
    [
        ("2025-Q5", "a year has quarters Q1 to Q4"),
        ("2025-Q0", "a year has quarters Q1 to Q4"),
        ("2025-13", "months are 01 to 12"),
        ("2025-3", "months are 01 to 12"),
        ("25", "is not YYYY, YYYY-Qn or YYYY-MM"),
    ],
)
def test_periods_that_do_not_exist_are_refused(env: Path, period: str, rule: str) -> None:
    for args, field in (
        (["custody", "balance", "--period", period], "--period"),
        (["carbon", "unused", "--period", period], "period"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"error: {field}: {period!r}") and rule in line, line


def test_an_amount_whose_footprint_passes_any_float_is_named(env: Path) -> None:
    for name in DOCUMENTS:
        assert runner.invoke(app, ["capture", str(EXAMPLES / name)]).exit_code == 0
    md = write(env / "md.json", master_data_of_examples().to_json())
    assert runner.invoke(app, ["masterdata", "import", str(md)]).exit_code == 0
    model = model_of_examples()
    model["activities"][0]["amount"] = 1e308  # litres of diesel at the mine
    imported = runner.invoke(app, ["carbon", "import", str(write(env / "model.json", model))])
    assert imported.exit_code == 0, imported.output
    for args in (["footprint", SULFATE], ["footprint", SULFATE, "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: model.json: activities[0]: fuel 1e+308 L (diesel): 1e+308")
        # the kept roll-up's error, at the version it was kept
        assert re.search(
            r"is more than any finite number of kg CO2e \(kept roll-up at ledger version \d+\)$",
            line,
        )
        assert "inf" not in result.stdout and "Warning" not in result.output
    model["activities"][0]["amount"] = 1000
    replaced = write(env / "model.json", model)
    assert runner.invoke(app, ["carbon", "import", str(replaced), "--replace"]).exit_code == 0
    shown = json.loads(runner.invoke(app, ["footprint", SULFATE, "--json"]).stdout)
    assert 0 < shown["kgCO2e"] < 1e6


@pytest.mark.parametrize(
    ("quantity", "rule"), [(math.inf, "inf must be a finite number"), (-5.0, "-5.0 must not be")]
)
def test_an_event_built_in_code_with_an_infinite_quantity_is_refused(
    quantity: float, rule: str
) -> None:
    # The readers refuse inf in a file; an event a library caller builds goes by the rules alone.
    event = Event(
        type=EventType.OBJECT,
        eventTime=datetime(2025, 1, 1, tzinfo=UTC),
        eventTimeZoneOffset="+00:00",
        action=Action.ADD,
        quantityList=(QuantityElement("urn:epc:class:lgtin:6111111.000101.P1", quantity, "KGM"),),
    )
    with pytest.raises(FieldError) as refused:
        check_event(event)
    assert str(refused.value) == f"quantityList[0].quantity: {rule}" + (
        "" if quantity > 0 else " negative"
    )
