"""The Alembic migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from batterytrace.epcis.model import Document
from batterytrace.services import events as events_service
from batterytrace.services import ledger
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import database, schema
from factories import T0, chain


def test_migrated_schema_equals_the_declared_one(uow: UnitOfWork) -> None:
    with uow.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []


def test_sqlite_store_runs_in_wal_mode(uow: UnitOfWork) -> None:
    if uow.engine.dialect.name != "sqlite":
        return
    with uow.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_indexes_serve_the_query_parameters(uow: UnitOfWork) -> None:
    indexed = {
        column
        for index in inspect(uow.engine).get_indexes("event")
        for column in index["column_names"]
    }
    assert {"event_time", "record_time", "biz_step", "read_point", "biz_location"} <= indexed
    assert {"transformation_id", "hash_id", "disposition"} <= indexed
    key_pk = inspect(uow.engine).get_pk_constraint("event_key")["constrained_columns"]
    assert key_pk == ["role", "value", "seq"]  # MATCH_/EQ_bizTransaction_... look-ups


def test_init_twice_is_harmless(uow: UnitOfWork) -> None:
    assert ledger.init(uow).revision == "0022"


def test_the_time_zone_offset_column_is_derived_for_stored_events(uow: UnitOfWork) -> None:
    """Events captured before the column: the migration reads each one's eventTimeZoneOffset
    from its content, as capture writes it, and verify checks it."""
    events = tuple(
        replace(e, eventTimeZoneOffset=offset)
        for e, offset in zip(chain()[:3], ("-02:00", "+05:30", "+00:00"), strict=True)
    )
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=events)
    )
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).with_name("migrations")))
    with uow.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0011")
    database.migrate(uow.engine)
    with uow.engine.connect() as conn:
        stored = [o for (o,) in conn.execute(text("SELECT event_time_zone_offset FROM event"))]
    assert stored == ["-02:00", "+05:30", "+00:00"]
    assert ledger.verify(uow).ok
    with uow.engine.begin() as conn:
        conn.execute(text("UPDATE event SET event_time_zone_offset = '+01:00' WHERE seq = 2"))
    failure = ledger.verify(uow).failure
    assert failure is not None and failure.seq == 2 and "event_time_zone_offset" in failure.reason
