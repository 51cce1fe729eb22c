"""An initialised store served by the application (FastAPI's test client, its lifespan run:
the capture-job runner and the deliveries), and clients of each scope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from batterytrace.api.app import create_app
from batterytrace.services import clients
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.settings import Settings


@dataclass
class Api:
    http: TestClient
    uow: UnitOfWork
    headers: dict[str, dict[str, str]]  # scope -> Authorization header

    def token(self, client_id: str, secret: str, scope: str | None = None) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
        } | ({"scope": scope} if scope else {})
        answer = self.http.post("/oauth/token", data=form)
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def job(self, location: str, scope: str = "capture", timeout: float = 30) -> dict[str, Any]:
        """The capture job at ``location`` once it has finished."""
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.http.get(location, headers=self.headers[scope]).json()
            if not job["running"] or time.monotonic() > deadline:
                return job
            time.sleep(0.05)


def settings_for(uow: UnitOfWork, tmp_path: Path, **values: Any) -> Settings:
    return Settings(db=uow.url, key=uow.key_path, token_key=tmp_path / "token.key", **values)


@contextmanager
def serving(uow: UnitOfWork, settings: Settings) -> Iterator[Api]:
    """The application over ``uow`` (lifespan run), with a client of each scope."""
    with TestClient(create_app(settings, uow)) as http:
        made = Api(http, uow, {})
        for scope in ("capture", "query", "admin"):
            client = clients.create(uow, f"{scope} client", [scope], organisation=None)
            token = made.token(client.client_id, client.client_secret)
            made.headers[scope] = {"Authorization": f"Bearer {token}"}
        yield made


@pytest.fixture
def api(uow: UnitOfWork, tmp_path: Path) -> Iterator[Api]:
    with serving(uow, settings_for(uow, tmp_path)) as made:
        yield made
