"""store.driver: a list of any length as one parameter, read back exactly on both backends."""

from __future__ import annotations

from sqlalchemy import create_engine

from batterytrace.store.driver import Driver

# Strings JSON must escape, and more values than the old 500-mark chunks held.
TEXTS = ['a"b', "c\\d", "x'y", "é\u00a0ü", "line\nbreak", "", *(f"urn:x:{i}" for i in range(1200))]
SEQS = [1, 2**40, *range(10, 1210)]


def test_lists_go_as_one_parameter_and_come_back_exactly(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            sql = Driver(conn)
            texts = sql.rows("SELECT * FROM {texts} AS listed", (sql.among(TEXTS),))
            seqs = sql.rows("SELECT * FROM {seqs} AS listed", (sql.among(SEQS),))
            none = sql.rows("SELECT * FROM {texts} AS listed", (sql.among([]),))
    finally:
        engine.dispose()
    assert sorted(value for (value,) in texts) == sorted(TEXTS)
    assert sorted(value for (value,) in seqs) == sorted(SEQS)
    assert all(type(value) is int for (value,) in seqs)
    assert none == []
