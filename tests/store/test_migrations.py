"""The Alembic migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from batterytrace.repository import Repository
from batterytrace.store import schema


def test_migrated_schema_equals_the_declared_one(repo: Repository) -> None:
    with repo.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []


def test_sqlite_store_runs_in_wal_mode(repo: Repository) -> None:
    if repo.engine.dialect.name != "sqlite":
        return
    with repo.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def test_indexes_serve_the_query_parameters(repo: Repository) -> None:
    indexed = {
        column
        for index in inspect(repo.engine).get_indexes("event")
        for column in index["column_names"]
    }
    assert {"event_time", "record_time", "biz_step", "read_point", "biz_location"} <= indexed
    assert {"transformation_id", "hash_id", "disposition"} <= indexed
    key_pk = inspect(repo.engine).get_pk_constraint("event_key")["constrained_columns"]
    assert key_pk == ["role", "value", "seq"]  # MATCH_/EQ_bizTransaction_... look-ups


def test_init_twice_is_harmless(repo: Repository) -> None:
    assert repo.init().revision == "0011"
