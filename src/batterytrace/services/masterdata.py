"""Master data as a service: parties, sites and materials, imported and read; as JSON (our
format: ``{"parties": […], "sites": […], "materials": […]}``) for the API and ``masterdata
export``."""

from __future__ import annotations

from typing import Any

from batterytrace import json_input
from batterytrace.masterdata import InvalidMasterData, MasterData, master_data_of_json
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import masterdata as masterdata_store
from batterytrace.store.imported import Imported


def import_master_data(
    uow: UnitOfWork, data: MasterData, source: str | None = None, owner: str | None = None
) -> dict[str, Imported]:
    """Add or replace parties, sites and materials (by id); checked with what is stored, all
    or nothing; records stored already as given are left as they are. What changed, per
    kind (parties, sites, materials)."""
    return uow.record("masterdata", "import", data.to_json(), source, owner)[0]


def master_data(uow: UnitOfWork) -> MasterData:
    """Every stored party, site and material."""
    with uow.reading() as conn:
        return masterdata_store.load(conn)


def export_json(uow: UnitOfWork) -> dict[str, Any]:
    """Every stored record as our JSON (what ``masterdata export --format json`` writes)."""
    return master_data(uow).to_json()


def import_json(uow: UnitOfWork, body: bytes, source: str) -> dict[str, Any]:
    """An import of our JSON as bytes (an API request's body), checked as an import file is
    (its syntax, format, each record and identifier; InvalidMasterData naming ``body``): what
    changed, per kind, as JSON."""
    data = master_data_of_json(json_input.loads(body, "body", InvalidMasterData), "body")
    done = import_master_data(uow, data, source)
    return {kind: effect.model_dump(mode="json") for kind, effect in done.items()}
