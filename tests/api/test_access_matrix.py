"""The access matrix (issue 16, tests): every route that names an object (the PACT host's
too), for the organisation that made it, for another without a share, and for the other once
shared; a refused read answers as the same route does for an object stored nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest

from api.conftest import Api, serving, settings_for
from batterytrace.scenario.generator import AGREEMENT_ID, PACK
from batterytrace.services import clients, organisations, pact
from batterytrace.services.unit_of_work import UnitOfWork
from factories import scenario_store

MAKER, OTHER = "urn:epc:id:pgln:3700000.00000", "urn:epc:id:pgln:3012345.00000"
NOWHERE = PACK.serial("999999999")


@pytest.fixture
def matrix(uow: UnitOfWork, tmp_path: Path, scenario: Path) -> Iterator[dict[str, Any]]:
    """The scenario captured by the carmaker (the agreement's buyer) with all its inputs; a
    client of the carmaker and one of another organisation."""
    for org, name in ((MAKER, "Carmaker"), (OTHER, "Other")):
        organisations.create(uow, org, name)
    pack = scenario_store(uow, scenario, owner=MAKER)
    with serving(uow, settings_for(uow, tmp_path)) as api:
        headers = {}
        for org, name in ((MAKER, "maker"), (OTHER, "other")):
            made = clients.create(uow, name, ["query"], organisation=org)
            token = api.token(made.client_id, made.client_secret)
            headers[name] = {"Authorization": f"Bearer {token}"}
        yield {"api": api, "pack": pack, "headers": headers, "agreement": AGREEMENT_ID}


# Each route naming an object: its path for an object, and what a refusal answers.
ROUTES = [
    "/trace/back/{}",
    "/trace/forward/{}",
    "/footprints/{}",
    "/products/{}/pact",
    "/custody/recycled/{}",
    "/summary/{}",
    "/epcs/{}",
    "/epcs/{}/events",
]


def _get(api: Api, path: str, headers: dict[str, str]) -> Any:
    return api.http.get(path, headers=headers)


@pytest.mark.parametrize("route", ROUTES)
def test_a_route_answers_the_maker_and_refuses_another_as_it_does_nothing(
    matrix: dict[str, Any], route: str
) -> None:
    api, h = matrix["api"], matrix["headers"]
    pack = matrix["pack"]
    own = _get(api, route.format(quote(pack, safe="")), h["maker"])
    assert own.status_code == 200, own.text
    refused = _get(api, route.format(quote(pack, safe="")), h["other"])
    absent = _get(api, route.format(quote(NOWHERE, safe="")), h["other"])
    assert refused.status_code == absent.status_code == 404, (refused.text, absent.text)
    assert refused.json()["type"] == absent.json()["type"]
    assert refused.json()["detail"].replace(pack, "ID") == absent.json()["detail"].replace(
        NOWHERE, "ID"
    )
    organisations.grant(
        api.uow,
        {"owner": MAKER, "grantee": OTHER, "footprint": "breakdown", "custody": "balances"},
    )
    shared = _get(api, route.format(quote(pack, safe="")), h["other"])
    assert shared.status_code == 200, shared.text
    mine, theirs = own.json(), shared.json()
    for volatile in ("version", "created", "updated", "derived_at", "creationDate"):
        mine.pop(volatile, None), theirs.pop(volatile, None)
    if route == "/summary/{}":  # the agreement is shown to its parties alone
        assert mine.pop("contracts") and theirs.pop("contracts") == []
    if route != "/products/{}/pact":  # a PACT document is stamped when made
        assert theirs == mine


def test_collections_hold_only_what_the_reader_may_read(matrix: dict[str, Any]) -> None:
    api, h = matrix["api"], matrix["headers"]
    for path in ("/events", "/epcs", "/bizSteps", "/bizLocations", "/readPoints"):
        assert _get(api, path, h["maker"]).status_code == 200
    other_events = _get(api, "/events", h["other"]).json()
    assert other_events["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    for path in ("/epcs", "/bizSteps", "/bizLocations", "/readPoints", "/dispositions"):
        assert _get(api, path, h["other"]).json()["member"] == [], path
    assert _get(api, "/custody/balances", h["other"]).json()["accounts"] == []
    assert _get(api, "/contracts/status", h["other"]).json()["contracts"] == []
    assert len(_get(api, "/contracts/status", h["maker"]).json()["contracts"]) == 1
    agreement = quote(matrix["agreement"], safe="")
    assert _get(api, f"/contracts/{agreement}/status", h["other"]).status_code == 404
    assert _get(api, "/targets", h["maker"]).status_code == 200
    assert _get(api, "/targets", h["other"]).status_code == 403
    assert _get(api, "/check", h["other"]).json()["steps"] == 0
    assert _get(api, "/check", h["maker"]).json()["steps"] > 0


@pytest.mark.parametrize("version", ["2", "3"])
def test_pact_footprints_are_listed_and_read_as_far_as_they_are_shared(
    matrix: dict[str, Any], version: str
) -> None:
    """The PACT host's routes: a footprint published is the maker's to read; another sees it
    neither in the list nor by id (answered as an id published nowhere) until it is shared."""
    api, h = matrix["api"], matrix["headers"]
    published, _ = pact.publish(api.uow, matrix["pack"])
    one, nowhere = f"/{version}/footprints/{published.id}", f"/{version}/footprints/{uuid4()}"
    own = _get(api, one, h["maker"])
    assert own.status_code == 200 and _get(api, f"/{version}/footprints", h["maker"]).json() == {
        "data": [own.json()["data"]]
    }
    assert _get(api, f"/{version}/footprints", h["other"]).json() == {"data": []}
    refused, absent = _get(api, one, h["other"]), _get(api, nowhere, h["other"])
    assert refused.status_code == absent.status_code == 404
    assert refused.json()["code"] == absent.json()["code"]
    assert refused.json()["message"].replace(published.id, "ID") == absent.json()[
        "message"
    ].replace(nowhere.rsplit("/", 1)[1], "ID")
    organisations.grant(api.uow, {"owner": MAKER, "grantee": OTHER, "footprint": "total"})
    assert _get(api, one, h["other"]).json() == own.json()
