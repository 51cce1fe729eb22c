"""The settings (issue 14, point 4): every variable read once at the edge, typed, its defaults
as before; a bad value refused in one line naming the variable and the rule; the limits in
force reach the capture's worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest
from typer.testing import CliRunner

from batterytrace import limits
from batterytrace.cli import app
from batterytrace.errors import SettingError
from batterytrace.limits import DRAWS, EVENT_SIZE, EXTENSION_VALUE, IDENTIFIER
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.settings import Settings
from factories import document, object_event, write

runner = CliRunner()
LIMITS = (IDENTIFIER, EXTENSION_VALUE, EVENT_SIZE, DRAWS)
VARIABLES = (
    *(f"BATTERYTRACE_{name}" for name in ("DB", "KEY", "WORKERS", "EPCIS_SCHEMA", "DEBUG")),
    *(limit.env for limit in LIMITS),
)


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    limits.configure({})  # what a command configured does not outlive the test


def test_the_defaults() -> None:
    settings = Settings()
    assert settings.db == "sqlite:///batterytrace.db"
    assert settings.key == Path("batterytrace-ledger.key")
    assert settings.workers == (os.cpu_count() or 1)
    assert settings.epcis_schema is None
    assert settings.debug is False
    assert settings.limits == {
        "BATTERYTRACE_MAX_IDENTIFIER_LENGTH": 2_048,
        "BATTERYTRACE_MAX_EXTENSION_LENGTH": 65_536,
        "BATTERYTRACE_MAX_EVENT_SIZE": 16 * 1_048_576,
        "BATTERYTRACE_MAX_DRAWS": 1_000_000,
    }


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("BATTERYTRACE_DB", "postgresql+psycopg://bt@db/bt", "db", "postgresql+psycopg://bt@db/bt"),
        ("BATTERYTRACE_KEY", "/keys/ledger.key", "key", Path("/keys/ledger.key")),
        ("BATTERYTRACE_WORKERS", "3", "workers", 3),
        ("BATTERYTRACE_DEBUG", "1", "debug", True),
        ("BATTERYTRACE_DEBUG", "0", "debug", False),
        ("BATTERYTRACE_MAX_IDENTIFIER_LENGTH", "300", "max_identifier_length", 300),
        ("BATTERYTRACE_MAX_EXTENSION_LENGTH", "10_000", "max_extension_length", 10_000),
        ("BATTERYTRACE_MAX_EVENT_SIZE", " 70000 ", "max_event_size", 70_000),
        ("BATTERYTRACE_MAX_DRAWS", "2", "max_draws", 2),
        ("BATTERYTRACE_MAX_DRAWS", "", "max_draws", 1_000_000),  # empty: the default
    ],
)
def test_each_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(variable, raw)
    settings = Settings()
    assert getattr(settings, field) == expected
    if variable.startswith("BATTERYTRACE_MAX_"):
        assert settings.limits[variable] == expected


def test_the_schema_variable_names_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = write(tmp_path / "EPCIS-JSON-Schema.json", {"definitions": {}})
    monkeypatch.setenv("BATTERYTRACE_EPCIS_SCHEMA", str(schema))
    assert Settings().epcis_schema == schema


WORKERS_RULE = "is not a whole number of worker processes of at least 1"


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("BATTERYTRACE_WORKERS", "many", f"'many' {WORKERS_RULE}"),
        ("BATTERYTRACE_WORKERS", "0", f"'0' {WORKERS_RULE}"),
        (EVENT_SIZE.env, "1000", "'1000' is not a whole number of characters of JSON of at least "
         "65,536"),
        (DRAWS.env, "1.5", "'1.5' is not a whole number of draws of at least 2"),
        ("BATTERYTRACE_EPCIS_SCHEMA", "/no/such/schema.json", "'/no/such/schema.json' is not a "
         "file"),
        ("BATTERYTRACE_EPCIS_SCHEMA", "/", "'/' is not a file"),
        ("BATTERYTRACE_DEBUG", "maybe", "'maybe' is not valid: Input should be a valid boolean, "
         "unable to interpret input"),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_in_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, message: str
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SettingError) as refused:
        Settings()
    assert str(refused.value) == f"{variable}: {message}"


def test_a_hostile_value_is_quoted_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTERYTRACE_MAX_DRAWS", "9\n" * 10_000)
    with pytest.raises(SettingError) as refused:
        Settings()
    assert len(str(refused.value)) < 500 and "\n" not in str(refused.value)


def test_the_command_line_refuses_a_bad_value_in_one_line() -> None:
    result = runner.invoke(app, ["events", "--count"], env={"BATTERYTRACE_MAX_DRAWS": "1"})
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: BATTERYTRACE_MAX_DRAWS: '1' is not a whole number of draws of at least 2"
    ]


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(pydantic.ValidationError):
        settings.workers = 3  # type: ignore[misc]


def test_the_unit_of_work_takes_its_settings_and_sets_the_limits(tmp_path: Path) -> None:
    given = Settings(db=f"sqlite:///{tmp_path / 'given.db'}", key=tmp_path / "given.key",
                     max_identifier_length="300")  # fmt: skip
    uow = unit_of_work(settings=given)
    try:
        assert (uow.url, uow.key_path, uow.settings) == (given.db, given.key, given)
        assert IDENTIFIER.value() == 300
    finally:
        uow.close()


def test_a_limit_set_in_the_environment_reaches_the_capture_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the first batch of 1,000 events, events are prepared by spawned worker processes,
    which inherit nothing: the lowered identifier limit goes to them with each batch."""
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "w.key"))
    monkeypatch.setenv("BATTERYTRACE_WORKERS", "2")
    assert runner.invoke(app, ["init"]).exit_code == 0
    long_uri = "urn:x:" + "a" * 394  # 400 characters: within the default of 2,048
    events = [object_event(n) for n in range(1, 1_501)]
    events[1_400] = object_event(1_401, readPoint={"id": long_uri})
    source = write(tmp_path / "big.jsonld", document(events))

    lowered = runner.invoke(
        app, ["capture", str(source)], env={"BATTERYTRACE_MAX_IDENTIFIER_LENGTH": "300"}
    )
    assert lowered.exit_code == 1
    (line,) = lowered.stderr.strip().splitlines()
    assert line.startswith(f"rejected {source}: event 1400 (")
    assert line.endswith(
        "readPoint.id: 400 characters, more than the limit of 300 for an identifier or URI "
        "(set BATTERYTRACE_MAX_IDENTIFIER_LENGTH to change it)"
    )
    # The same document under the default limit: captured, by the workers (no fallback note).
    captured = runner.invoke(app, ["capture", str(source)])
    assert captured.exit_code == 0, captured.output
    assert "captured 1500" in captured.stdout and "note" not in captured.stderr
