"""Master data in the store, and the masterdata commands, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.masterdata import InvalidMasterData, MasterData, Site, SiteRole, write_master_data
from batterytrace.services import masterdata
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store.imported import Imported
from test_masterdata import GUEMASSA, MANAGEM, sample


def test_import_and_load(uow: UnitOfWork) -> None:
    data = sample()
    assert masterdata.import_master_data(uow, data) == {
        "parties": Imported(added=1),
        "sites": Imported(added=2),
        "materials": Imported(added=3),
    }
    assert masterdata.master_data(uow) == data


def test_import_replaces_records_of_the_same_id(uow: UnitOfWork) -> None:
    masterdata.import_master_data(uow, sample())
    update = MasterData()
    update.add_party(sample().parties[MANAGEM])
    update.add_site(
        Site(GUEMASSA, "Guemassa hydrometallurgical complex", MANAGEM, SiteRole.REFINERY, "MA")
    )
    masterdata.import_master_data(uow, update)
    stored = masterdata.master_data(uow)
    assert stored.sites[GUEMASSA].name == "Guemassa hydrometallurgical complex"
    assert len(stored.sites) == 2 and len(stored.materials) == 3


def test_import_is_checked_against_what_is_stored(uow: UnitOfWork) -> None:
    masterdata.import_master_data(uow, sample())
    orphan = MasterData(
        parties={"urn:x:p": sample().parties[MANAGEM].__class__("urn:x:p", "P", "FR")}
    )
    orphan.sites["urn:x:s"] = Site("urn:x:s", "s", "urn:x:unknown", SiteRole.PORT, "FR")
    with pytest.raises(InvalidMasterData, match="party: 'urn:x:unknown' is not a known party"):
        masterdata.import_master_data(uow, orphan)
    assert masterdata.master_data(uow) == sample()  # nothing of the rejected import was written


@pytest.mark.parametrize("form", ["json", "csv", "epcis"])
def test_cli_import_export_round_trip(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'm.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "k"))
    runner = CliRunner()
    runner.invoke(app, ["init"])
    source = tmp_path / f"source.{form}"
    write_master_data(sample(), source, form)
    imported = runner.invoke(app, ["masterdata", "import", str(source)])
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.startswith(
        "parties: 1 added, 0 replaced, 0 unchanged\nsites: 2 added, 0 replaced, 0 unchanged\n"
        "materials: 3 added, 0 replaced, 0 unchanged\n"
    )
    exported = tmp_path / f"exported.{form}"
    assert (
        runner.invoke(app, ["masterdata", "export", "--format", form, str(exported)]).exit_code == 0
    )
    from batterytrace.masterdata import read_master_data

    assert read_master_data(exported) == sample()
    shown = runner.invoke(app, ["masterdata", "show"], env={"COLUMNS": "200"})
    assert "stoichiometry:CoSO4·7H2O" in shown.stdout and "0.2097" in shown.stdout


def test_cli_reports_bad_master_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'm.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "k"))
    runner = CliRunner()
    runner.invoke(app, ["init"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"materials": [{"id": "urn:x:m", "name": "m", "kind": "ore", '
                   '"fractions": {"Co": 0.8, "Ni": 0.5}, "source": "assay"}]}')  # fmt: skip
    result = runner.invoke(app, ["masterdata", "import", str(bad)])
    assert result.exit_code == 1
    assert "material urn:x:m: fractions: Co 0.8, Ni 0.5 sum to 1.3, more than 1" in result.stderr
