"""Master data as a service: parties, sites and materials, imported and read."""

from __future__ import annotations

from batterytrace.masterdata import MasterData
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
