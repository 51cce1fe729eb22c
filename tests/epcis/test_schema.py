"""Optional validation against the official EPCIS 2.0 JSON Schema, read from ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.epcis.documents import read
from batterytrace.errors import InvalidDocument, SettingError
from batterytrace.settings import Settings
from factories import document, object_event, write

ROOT = Path(__file__).resolve().parents[2]
URN_EXAMPLE = "epcis/gs1/examples-xml/WithEventHashID/event_with_identical_hash_id_7.json"


@pytest.fixture
def official(conformance: Path) -> Path:
    return conformance / "epcis/gs1/json-schema/EPCIS-JSON-Schema.json"


def test_schema_rejects_what_our_rules_accept(official: Path, conformance: Path) -> None:
    with pytest.raises(InvalidDocument) as info:
        read(conformance / URN_EXAMPLE, schema=official)
    message = str(info.value)
    assert message.startswith("event 0") and "(official EPCIS 2.0 JSON Schema)" in message


def test_schema_accepts_the_project_examples(official: Path) -> None:
    for path in sorted((ROOT / "examples").glob("*.jsonld")):
        assert read(path, schema=official).events


def test_without_the_variable_our_rules_alone_apply(
    conformance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BATTERYTRACE_EPCIS_SCHEMA", raising=False)
    assert Settings().epcis_schema is None
    assert read(conformance / URN_EXAMPLE).events


def test_a_wrong_schema_path_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTERYTRACE_EPCIS_SCHEMA", str(tmp_path / "missing.json"))
    with pytest.raises(SettingError, match=r"^BATTERYTRACE_EPCIS_SCHEMA: '.*missing\.json' is not"):
        Settings()
    not_a_schema = write(tmp_path / "other.json", {"title": "no definitions"})
    with pytest.raises(InvalidDocument, match=r"other\.json is not the EPCIS 2\.0 JSON Schema"):
        read(write(tmp_path / "d.jsonld", document([object_event(1)])), schema=not_a_schema)


def test_capture_schema_option(
    official: Path, conformance: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "k"))
    runner = CliRunner()
    runner.invoke(app, ["init"])
    result = runner.invoke(
        app, ["capture", "--schema", str(official), str(conformance / URN_EXAMPLE)]
    )
    assert result.exit_code == 1 and "official EPCIS 2.0 JSON Schema" in result.stderr
