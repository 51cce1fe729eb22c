"""Shared fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from batterytrace.services import ledger
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT.parent / "shared" / "conformance"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The conformance data (../shared/conformance); skipped when absent, failed under CI."""
    if not CONFORMANCE.is_dir():
        reason = f"conformance data not found at {CONFORMANCE}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CONFORMANCE


EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agreement's scenario, small (scale 0.0002, seed 11), generated once per test
    process: master data, events, custody rules, the agreement, the carbon model. Tests read
    it; none writes into it."""
    from batterytrace.scenario.generator import generate

    out = tmp_path_factory.mktemp("scenario")
    generate(out, 0.0002, seed=11)
    return out


def _pg_admin_url() -> str | None:
    url = os.environ.get("BATTERYTRACE_TEST_PG")
    if url is None and os.environ.get("CI") == "true":
        pytest.fail("BATTERYTRACE_TEST_PG is not set: scripts/test starts PostgreSQL and sets it")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend the store supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip("no PostgreSQL server (BATTERYTRACE_TEST_PG unset; run scripts/test)")
    name = f"bt_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def uow(db_url: str, tmp_path: Path) -> Iterator[UnitOfWork]:
    """The unit of work of an initialised store (schema and signing key) on a fresh database."""
    uow = unit_of_work(db_url, tmp_path / "ledger.key")
    ledger.init(uow)
    yield uow
    uow.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite store and signing key in ``tmp_path`` (cli.db, cli.key), made by the
    command line's ``init``, where the commands under test find them (BATTERYTRACE_DB,
    BATTERYTRACE_KEY)."""
    from typer.testing import CliRunner

    from batterytrace.cli import app

    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "cli.key"))
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0 and "created" in result.output, result.output
    return tmp_path
