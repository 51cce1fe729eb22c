"""Every example the OpenAPI document shows is one its route takes: each request body example
sent to its route, each path parameter example asked for, on a store holding the project's
example chain (examples/: mine, refinery, cathode plant, cells, a pack) and its master data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
import pytest

from batterytrace.api import examples
from batterytrace.carbon.activity import from_json
from batterytrace.custody.rules import CustodyRules
from batterytrace.services import carbon, custody, events, masterdata
from carbon_examples import master_data_of_examples, model_of_examples
from conftest import EXAMPLES

if TYPE_CHECKING:
    from api.conftest import Api


def _examples(content: dict[str, Any]) -> list[Any]:
    """The examples of a media type (``example``, ``examples``) or of its schema."""
    found = [content["example"]] if "example" in content else []
    found += [e["value"] for e in content.get("examples", {}).values()]
    return found + list(content.get("schema", {}).get("examples", []))


def _body_examples(api: Api) -> list[tuple[str, str, str, Any]]:
    """(method, path, media type, example) of every request body example."""
    found = []
    for path, operations in api.http.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                schema = content.get("schema", {})
                if "$ref" in schema:  # a pydantic model's examples are in its component
                    name = schema["$ref"].rsplit("/", 1)[1]
                    components = api.http.get("/openapi.json").json()["components"]
                    content = {"schema": components["schemas"][name]}
                found += [(method, path, media, e) for e in _examples(content)]
    return found


# the refinery's wind power backs low-carbon claims, booked and claimed apart from material
RULES = {
    "origins": [{"claim": "low-carbon", "site": examples.REFINERY,
                 "evidence": {"reference": "PPA-WIND-1"}}],
    "policies": [{"site": site, "claim": "low-carbon", "model": "book-and-claim",
                  "period": "year"} for site in (examples.REFINERY, examples.CATHODE_PLANT)],
}  # fmt: skip


@pytest.fixture
def chain(api: Api) -> Api:
    masterdata.import_master_data(api.uow, master_data_of_examples())
    custody.import_rules(api.uow, CustodyRules.from_json(RULES))
    carbon.import_carbon(api.uow, from_json(model_of_examples(), "ex.json"), "ex.json")
    for path in sorted(EXAMPLES.glob("*.jsonld")) + sorted(EXAMPLES.glob("*.xml")):
        events.capture(api.uow, path)
    return api


def test_every_path_parameter_example_names_something_stored(chain: Api) -> None:
    asked = 0
    for path, operations in chain.http.get("/openapi.json").json()["paths"].items():
        get = operations.get("get", {})
        named = [p for p in get.get("parameters", []) if p["in"] == "path"]
        if len(named) != 1 or not named[0].get("schema", {}).get("examples"):
            continue
        for value in named[0]["schema"]["examples"]:
            url = path.replace("{" + named[0]["name"] + "}", quote(value, safe=""))
            answer = chain.http.get(url, headers=chain.headers["admin"])
            assert answer.status_code == 200, (url, answer.text)
            asked += 1
    assert asked >= 9


def test_every_request_body_example_is_taken(chain: Api) -> None:
    sent = _body_examples(chain)
    assert {(m, p) for m, p, _, _ in sent} >= {
        ("post", "/capture"),
        ("post", "/events"),
        ("post", "/queries"),
        ("post", "/queries/{queryName}/subscriptions"),
        ("post", "/masterdata"),
        ("post", "/custody/allocations"),
        ("post", "/custody/transfers"),
    }
    posted: set[bytes] = set()
    # the single event first: the capture examples hold it too, a duplicate there (success)
    for method, path, media, example in sorted(sent, key=lambda s: s[1] != "/events"):
        body = example.encode() if isinstance(example, str) else orjson.dumps(example)
        answer = chain.http.request(
            method.upper(),
            path.replace("{queryName}", "sulfateShipments"),
            content=body,
            headers=chain.headers["admin"] | {"Content-Type": media},
        )
        if path == "/events" and body in posted:  # the same event again: stored already
            assert answer.status_code == 409, answer.text
            continue
        posted.add(body)
        assert answer.status_code < 300, (method, path, answer.text)
        if path == "/capture":
            job = chain.job(answer.headers["location"], "admin")
            assert job["success"], job
