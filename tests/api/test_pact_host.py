"""The PACT host (issue 16.4, decision 042): footprints published and listed to the partners
they are shared with, in PACT v2.3 and v3.0, valid against the official schemas; filters,
paging, PACT's error codes; requests answered at the requester's host, footprints received
kept for the roll-up."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.conftest import Api
from batterytrace.api.security import Tokens
from batterytrace.carbon.publications import footprint_id
from batterytrace.epcis.documents import read
from batterytrace.scenario.generator import PACK
from batterytrace.services import carbon, clients, organisations, pact
from batterytrace.store import carbon as carbon_store
from batterytrace.trace.lineage import node_id
from factories import scenario_store
from pact_schema import validators

MAKER, BUYER, OTHER = (
    "urn:epc:id:pgln:3700000.00000",
    "urn:epc:id:pgln:0614141.00000",
    "urn:epc:id:pgln:6111111.00000",
)
CE = {"Content-Type": "application/cloudevents+json; charset=UTF-8"}
TYPES = pact.EVENTS


@dataclass
class Host:
    api: Api
    packs: list[str]
    buyer: dict[str, str]  # Authorization header of the buyer's client
    other: dict[str, str]  # of a third organisation's, shown nothing


def _bearer(api: Api, organisation: str, scopes: list[str]) -> dict[str, str]:
    made = clients.create(api.uow, organisation, scopes, organisation=organisation)
    return {"Authorization": f"Bearer {api.token(made.client_id, made.client_secret)}"}


@pytest.fixture
def host(api: Api, scenario: Path) -> Host:
    """The scenario made by the carmaker, two packs' footprints published; the carmaker
    shares its footprint totals with the buyer."""
    for org, name in ((MAKER, "Carmaker"), (BUYER, "Buyer"), (OTHER, "Miner")):
        organisations.create(api.uow, org, name)
    scenario_store(api.uow, scenario, owner=MAKER)
    last = read(sorted(scenario.glob("events-*.jsonld"))[-1]).events
    made = [e.parentID for e in last if (e.parentID or "").startswith(PACK.serial(""))]
    packs = list(dict.fromkeys(p for p in made if p))[-2:]
    for pack in packs:
        assert pact.publish(api.uow, pack)[1]
    organisations.grant(api.uow, {"owner": MAKER, "grantee": BUYER, "footprint": "total"})
    return Host(
        api, packs, _bearer(api, BUYER, ["query", "capture"]), _bearer(api, OTHER, ["query"])
    )


@dataclass
class Receiver:
    """A partner's PACT host: what was sent to it (method, path, headers, body); it answers
    events with ``answer``, tokens for ``(client id, secret)``, the footprints it holds."""

    url: str
    received: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    answer: int = 200
    credentials: tuple[str, str] = ("buyer-at-supplier", "s3cret")
    footprints: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def wait(self, count: int, timeout: float = 30) -> list[tuple[str, dict[str, str], Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            host = made[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            host.calls.append(("POST", self.path, dict(self.headers)))
            if self.path == "/auth/token":
                basic = base64.b64encode(":".join(host.credentials).encode()).decode()
                good = self.headers.get("Authorization") == f"Basic {basic}"
                self._answer(200 if good else 401, {"access_token": "partner-token"})
                return
            host.received.append((self.path, dict(self.headers), orjson.loads(body)))
            self._answer(host.answer, None)

        def do_GET(self) -> None:
            host = made[0]
            host.calls.append(("GET", self.path, dict(self.headers)))
            document = host.footprints.get(self.path.rsplit("/", 1)[-1])
            if self.path.startswith("/3/footprints/") and document is not None:
                self._answer(200, {"data": document})
            else:
                self._answer(404, {"code": "NotFound", "message": "no"})

        def _answer(self, status: int, body: Any) -> None:
            raw = b"" if body is None else orjson.dumps(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    made.append(Receiver(f"http://127.0.0.1:{server.server_port}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield made[0]
    server.shutdown()


def _event(version: str, kind: str, id: str, source: str, data: Any) -> dict[str, Any]:
    """A PACT CloudEvent of ``kind`` (request, fulfilled, published...) for the routes of
    ``version``."""
    return {"specversion": "1.0", "id": id, "source": source, "type": TYPES[version][kind],
            "time": "2026-12-07T10:00:00Z", "data": data}  # fmt: skip


def _send(host: Host, version: str, event: Any) -> Any:
    """``event`` POSTed to the host's ``/{version}/events`` by the buyer's client."""
    return host.api.http.post(
        f"/{version}/events", content=orjson.dumps(event), headers=CE | host.buyer
    )


def _partner(api: Api, receiver: Receiver) -> None:
    """The receiver kept as a partner's host, with our credentials there."""
    sealed = api.http.app.state.tokens.seal(receiver.credentials[1])  # type: ignore[attr-defined]
    pact.add_partner(api.uow, receiver.url + "/", receiver.credentials[0], sealed)


def test_the_footprints_published_are_listed_in_both_versions_valid_and_alike(
    host: Host, conformance: Path
) -> None:
    schemas = validators(conformance)
    for version in ("2", "3"):
        answer = host.api.http.get(f"/{version}/footprints", headers=host.buyer)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        data = answer.json()["data"]
        assert {d["id"]: d["productIds"] for d in data} == {
            footprint_id(node_id(p), 1): [f"urn:epc:id:sgtin:{p.split(':')[-1]}"]
            for p in host.packs
        }
        assert data == sorted(data, key=lambda d: (d["created"], d["id"]))
        for document in data:
            assert [e.message for e in schemas[version].iter_errors(document)] == []
            assert document["status"] == "Active"
            one = host.api.http.get(f"/{version}/footprints/{document['id']}", headers=host.buyer)
            assert one.status_code == 200 and one.json() == {"data": document}
    # the figures are the footprint's own, as `pact export` states them
    first = footprint_id(node_id(host.packs[0]), 1)
    v3 = host.api.http.get(f"/3/footprints/{first}", headers=host.buyer).json()["data"]
    assert v3["pcf"] == carbon.pact_footprint(host.api.uow, host.packs[0])["pcf"]


def test_a_footprint_is_listed_to_whom_its_maker_shares_it_with_and_no_one_else(
    host: Host,
) -> None:
    everything = host.api.http.get("/3/footprints", headers=host.api.headers["query"]).json()
    assert len(everything["data"]) == 2  # the operator's client
    assert host.api.http.get("/3/footprints", headers=host.other).json() == {"data": []}
    known = everything["data"][0]["id"]
    for version, code in (("2", "NoSuchFootprint"), ("3", "NotFound")):
        hidden = host.api.http.get(f"/{version}/footprints/{known}", headers=host.other)
        unknown = host.api.http.get(
            f"/{version}/footprints/00000000-0000-0000-0000-000000000000", headers=host.other
        )
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["code"] == unknown.json()["code"] == code
        assert hidden.json()["message"].replace(known, "X") == unknown.json()["message"].replace(
            "00000000-0000-0000-0000-000000000000", "X"
        )


def test_publishing_again_deprecates_the_old_footprint_only_when_the_figures_changed(
    host: Host, conformance: Path
) -> None:
    pack = host.packs[0]
    first = footprint_id(node_id(pack), 1)
    (kept,) = [p for p in pact.published(host.api.uow) if p.id == first]
    assert pact.publish(host.api.uow, pack) == (kept, False)
    # a supplier's footprint for the cathode's cobalt changes the pack's figures
    before = carbon.footprint(host.api.uow, pack).footprint.kg_co2e
    supplier = _supplier_footprint(conformance)
    sulfate = "urn:epc:idpat:sgtin:6111111.000201.*"
    carbon.import_supplier_footprint(host.api.uow, supplier, sulfate)
    assert carbon.footprint(host.api.uow, pack).footprint.kg_co2e != before
    made, new = pact.publish(host.api.uow, pack)
    assert new and made.number == 2 and made.id == footprint_id(node_id(pack), 2)
    data = host.api.http.get("/2/footprints", headers=host.buyer).json()["data"]
    by_id = {d["id"]: d for d in data}
    assert by_id[first]["status"] == "Deprecated" and by_id[first]["updated"] == made.created
    assert by_id[made.id]["precedingPfIds"] == [first] and by_id[made.id]["version"] == 2
    schema = validators(conformance)["2"]
    assert all(not list(schema.iter_errors(d)) for d in data)
    # a request is answered with Active footprints only
    v3 = host.api.http.get(f"/3/footprints/{first}", headers=host.buyer).json()["data"]
    assert v3["status"] == "Deprecated" and "updated" not in v3


def _supplier_footprint(conformance: Path) -> dict[str, Any]:
    example = orjson.loads(
        (conformance / "pact" / "examples" / "v3-valid-list-footprints-response.json").read_bytes()
    )
    document: dict[str, Any] = example["data"][0]
    return document | {"productIds": ["urn:epc:idpat:sgtin:6111111.000201.*"]}


def test_v3_filters_or_within_and_across_bogus_values_empty(host: Host) -> None:
    http, headers = host.api.http, host.buyer
    data = http.get("/3/footprints", headers=headers).json()["data"]
    first = data[0]
    product, company = first["productIds"][0], first["companyIds"][0]
    start = first["pcf"]["referencePeriodEnd"]

    def ids(query: str) -> list[str]:
        answer = http.get(f"/3/footprints?{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        return [d["id"] for d in answer.json()["data"]]

    assert ids(f"productId={product}") == [first["id"]]
    assert ids(f"productId={product.upper().replace('URN', 'urn')}") == [first["id"]]
    assert ids(f"productId={product}&productId={data[1]['productIds'][0]}") == [
        d["id"] for d in data
    ]
    assert ids(f"companyId={company}&companyId=abc&companyId=def") == [d["id"] for d in data]
    assert ids(f"companyId={company}&productId=urn:bogus:x") == []
    assert ids(f"geography={first['pcf']['geographyCountry']}") == [d["id"] for d in data]
    assert ids("geography=XX") == []
    assert ids(f"classification={first['productClassifications'][0]}") == [d["id"] for d in data]
    assert ids(f"validOn={start}") == [d["id"] for d in data]
    assert ids("validOn=1900-01-01T00:00:00Z") == []
    assert ids("validAfter=2099-12-31T23:59:59.000Z") == []
    assert ids("validBefore=1900-01-01T00:00:00Z") == []
    assert ids("status=Active") == [d["id"] for d in data]
    assert ids("status=BogusStatus") == []
    assert ids("classification=") == [d["id"] for d in data]  # empty: no filter
    bad = http.get("/3/footprints?validOn=yesterday", headers=headers)
    assert bad.status_code == 400
    assert bad.json() == {"code": "BadRequest", "message": bad.json()["message"]}
    assert "validOn" in bad.json()["message"]


def test_v2_filter_takes_the_odata_subset_and_names_what_it_does_not(host: Host) -> None:
    http, headers = host.api.http, host.buyer
    data = http.get("/2/footprints", headers=headers).json()["data"]
    created = data[0]["created"]
    found = http.get(f"/2/footprints?$filter=created ge '{created}'", headers=headers)
    assert [d["id"] for d in found.json()["data"]] == [d["id"] for d in data]
    assert http.get(f"/2/footprints?$filter=created gt '{created}'", headers=headers).json() == {
        "data": []
    }
    product = data[1]["productIds"][0]
    query = f"productIds/any(p:(p eq '{product}')) and status eq 'Active'"
    assert [
        d["id"] for d in http.get(f"/2/footprints?$filter={query}", headers=headers).json()["data"]
    ] == [data[1]["id"]]
    bad = http.get("/2/footprints?$filter=created between 1 and 2", headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "BadRequest"
    assert "$filter" in bad.json()["message"]


def test_pages_link_to_the_next_one_keeping_the_filters(host: Host) -> None:
    http, headers = host.api.http, host.buyer
    every = http.get("/3/footprints?status=Active", headers=headers).json()["data"]
    first = http.get("/3/footprints?status=Active&limit=1", headers=headers)
    assert first.json()["data"] == every[:1]
    link = first.headers["link"]
    assert link.startswith("<http://testserver/3/footprints?") and link.endswith('>; rel="next"')
    following = link[1 : link.index(">")]
    assert "status=Active" in following
    second = http.get(following, headers=headers)
    assert second.json()["data"] == every[1:2] and "link" not in second.headers
    for query in ("limit=0", "limit=x", "offset=-1"):
        bad = http.get(f"/3/footprints?{query}", headers=headers)
        assert bad.status_code == 400 and bad.json()["code"] == "BadRequest", query


def test_bad_expired_and_narrow_tokens_get_pact_errors(host: Host, tmp_path: Path) -> None:
    http = host.api.http
    made = clients.create(host.api.uow, "late", ["query"], organisation=BUYER)
    client = clients.Client(**made.model_dump(exclude={"client_secret"}))
    expired = Tokens(tmp_path / "token.key", -10).issue(client, ["query"])
    for path in ("/2/footprints", "/3/footprints/00000000-0000-0000-0000-000000000000"):
        for headers, status, code in (
            ({}, 400, "BadRequest"),
            ({"Authorization": "Bearer very-invalid-access-token"}, 400, "BadRequest"),
            ({"Authorization": f"Bearer {expired}"}, 401, "TokenExpired"),
        ):
            answer = http.get(path, headers=headers)
            assert answer.status_code == status, (path, headers)
            assert answer.headers["content-type"] == "application/json"
            assert answer.json()["code"] == code
    published = _event(
        "3", "published", "1", "https://x.example", {"pfIds": [footprint_id("x", 1)]}
    )
    bad = http.post(
        "/2/events",
        content=orjson.dumps(published),
        headers=CE | {"Authorization": "Bearer nope"},
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "BadRequest")
    narrow = http.post("/3/events", content=orjson.dumps(published), headers=CE | host.other)
    assert (narrow.status_code, narrow.json()["code"]) == (403, "AccessDenied")


def test_the_token_endpoint_answers_pact_partners_with_basic_credentials(host: Host) -> None:
    http = host.api.http
    made = clients.create(host.api.uow, "partner", ["query"], organisation=BUYER)
    form = {"grant_type": "client_credentials"}
    good = http.post("/auth/token", data=form, auth=(made.client_id, made.client_secret))
    assert good.status_code == 200 and good.json()["access_token"]
    wrong = http.post("/auth/token", data=form, auth=(made.client_id, "wrong"))
    assert wrong.status_code == 401
    discovery = http.get("/.well-known/openid-configuration").json()
    assert discovery["token_endpoint"] == "http://testserver/auth/token"
    token = good.json()["access_token"]
    assert (
        http.get("/3/footprints", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


@pytest.mark.parametrize("version", ["2", "3"])
def test_a_request_is_answered_once_at_the_requesters_host(
    host: Host, receiver: Receiver, version: str, conformance: Path
) -> None:
    http = host.api.http
    data = http.get(f"/{version}/footprints", headers=host.buyer).json()["data"]
    wanted = data[1]["productIds"]

    def request(id: str, products: list[str]) -> dict[str, Any]:
        asked = {"pf": {"productIds": products}} if version == "2" else {"productId": products}
        return _event(version, "request", id, receiver.url, asked | {"comment": "this year"})

    for event in (
        request("run/12", wanted),
        request("run/12", wanted),
        request("run/14.A", ["urn:pact:null"]),
    ):
        answer = _send(host, version, event)
        assert answer.status_code == 200 and answer.content == b""
    received = receiver.wait(2)
    time.sleep(1.5)  # nothing more comes: the repeated request is answered once
    assert len(received) == 2
    assert {path for path, _, _ in received} == {f"/{version}/events"}
    by_request = {body["data"]["requestEventId"]: body for _, _, body in received}
    fulfilled, rejected = by_request["run/12"], by_request["run/14.A"]
    assert fulfilled["type"] == TYPES[version]["fulfilled"]
    assert [pf["id"] for pf in fulfilled["data"]["pfs"]] == [data[1]["id"]]
    schema = validators(conformance)[version]
    assert all(not list(schema.iter_errors(pf)) for pf in fulfilled["data"]["pfs"])
    assert fulfilled["source"] == f"http://testserver/{version}/events"
    assert rejected["type"] == TYPES[version]["rejected"]
    assert rejected["data"]["error"]["code"] == "NotFound" and rejected["data"]["error"]["message"]
    assert all(h["Content-Type"].startswith("application/cloudevents+json") for _, h, _ in received)
    # what another organisation asks for is answered from what it may see: nothing
    other = request("other/1", wanted)
    http.post(
        f"/{version}/events",
        content=orjson.dumps(other),
        headers=CE | _bearer(host.api, OTHER, ["query"]),
    )
    (*_, (_, _, last)) = receiver.wait(3)
    assert (
        last["data"]["requestEventId"] == "other/1" and last["type"] == TYPES[version]["rejected"]
    )
    states = {x.event_id: (x.state, x.outcome) for x in pact.received(host.api.uow)}
    assert states["run/12"][0] == "done" and TYPES[version]["fulfilled"] in str(states["run/12"][1])


def test_an_answer_the_requester_refuses_is_tried_again(host: Host, receiver: Receiver) -> None:
    receiver.answer = 503
    event = _event("3", "request", "retry/1", receiver.url, {"productId": ["urn:pact:null"]})
    assert _send(host, "3", event).status_code == 200
    receiver.wait(1)
    receiver.answer = 200
    received = receiver.wait(2)
    assert [body["data"]["requestEventId"] for _, _, body in received] == ["retry/1", "retry/1"]
    time.sleep(0.5)
    (kept,) = [x for x in pact.received(host.api.uow) if x.event_id == "retry/1"]
    assert (kept.state, kept.failures) == ("done", 1)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e | {"data": {"pfIds": ["urn:gtin:4712345060507"]}}, "data.pfIds"),
        (lambda e: e | {"type": "org.wbcsd.pact.Unknown.3"}, "type"),
        (lambda e: {k: v for k, v in e.items() if k != "id"}, "id"),
        (lambda e: e | {"specversion": "0.3"}, "specversion"),
        (lambda e: e | {"data": []}, "data"),
        (lambda e: e | {"type": TYPES["3"]["request"], "data": {"comment": "?"}}, "data"),
        (
            lambda e: (
                e
                | {
                    "type": TYPES["3"]["request"],
                    "source": "file:///etc/passwd",
                    "data": {"productId": ["x"]},
                }
            ),
            "source",
        ),
    ],
)
def test_a_malformed_event_is_400_naming_the_field(host: Host, change: Any, words: str) -> None:
    event = _event("3", "published", "e/1", "https://x.example", {"pfIds": [footprint_id("x", 1)]})
    answer = _send(host, "3", change(event))
    assert answer.status_code == 400
    assert answer.json()["code"] == "BadRequest" and words in answer.json()["message"]
    not_json = host.api.http.post("/3/events", content=b"{", headers=CE | host.buyer)
    assert (not_json.status_code, not_json.json()["code"]) == (400, "BadRequest")
    assert [x.event_id for x in pact.received(host.api.uow)] == []


def test_an_update_published_by_a_host_that_is_no_partners_is_noted_not_kept(host: Host) -> None:
    event = _event(
        "2", "published", "p/1", "https://supplier.example", {"pfIds": [footprint_id("x", 1)]}
    )
    assert _send(host, "2", event).status_code == 200
    (noted,) = pact.received(host.api.uow)
    assert (noted.kind, noted.state, noted.source) == (
        "published",
        "done",
        "https://supplier.example",
    )
    assert str(noted.outcome).startswith("not kept: 1 footprint(s) of https://supplier.example")


def test_footprints_fulfilled_to_us_are_read_from_the_partner_and_used_by_the_roll_up(
    host: Host, receiver: Receiver, conformance: Path
) -> None:
    """A RequestFulfilled event from a partner's host: its footprints are read from that host
    (never taken from the event) and kept for the products of ours they name; the pack's
    footprint uses them. From a host that is no partner's, nothing is kept."""
    pack = host.packs[0]
    before = carbon.footprint(host.api.uow, pack).footprint.kg_co2e
    supplier = _supplier_footprint(conformance)
    unknown = supplier | {"id": footprint_id("y", 1), "productIds": ["urn:gtin:4712345060507"]}
    event = _event(
        "3",
        "fulfilled",
        "f/1",
        receiver.url,
        {"requestEventId": "ours/1", "pfs": [supplier, unknown]},
    )
    assert _send(host, "3", event).status_code == 200
    (noted,) = pact.received(host.api.uow)
    assert noted.state == "done" and "no partner's host" in str(noted.outcome)
    assert carbon.footprint(host.api.uow, pack).footprint.kg_co2e == before
    _partner(host.api, receiver)
    receiver.footprints |= {supplier["id"]: supplier, unknown["id"]: unknown}
    again = event | {"id": "f/2"}
    assert _send(host, "3", again).status_code == 200
    kept = _settled(host.api, "f/2")
    assert f"kept {supplier['id']}" in str(kept.outcome)
    assert f"not used (no product of ours among its productIds): {unknown['id']}" in str(
        kept.outcome
    )
    assert carbon.footprint(host.api.uow, pack).footprint.kg_co2e != before
    broken = event | {"id": "f/3", "data": {"requestEventId": "ours/1", "pfs": [{"id": "x"}]}}
    answer = _send(host, "3", broken)
    assert answer.status_code == 400 and "data.pfs[0]" in answer.json()["message"]


def _settled(api: Api, event_id: str) -> Any:
    deadline = time.monotonic() + 30
    while True:
        (found,) = [x for x in pact.received(api.uow) if x.event_id == event_id]
        if found.state != "queued":
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def test_an_update_a_partner_published_is_fetched_from_its_host_and_kept(
    host: Host, receiver: Receiver, conformance: Path
) -> None:
    """With our credentials at the publisher's host, the footprints of a Published event
    are read from there (a token first, then each footprint) and kept for the products of
    ours they name; one it does not hold is named."""
    _partner(host.api, receiver)
    supplier = _supplier_footprint(conformance)
    gone = footprint_id("gone", 1)
    receiver.footprints[supplier["id"]] = supplier
    event = _event("3", "published", "p/2", receiver.url, {"pfIds": [supplier["id"], gone]})
    answer = _send(host, "3", event)
    assert answer.status_code == 200
    noted = _settled(host.api, "p/2")
    assert noted.state == "done", noted.outcome
    assert f"kept {supplier['id']}" in str(noted.outcome)
    assert f"not found at {receiver.url}: {gone}" in str(noted.outcome)
    fetched = [(m, p, h.get("Authorization")) for m, p, h in receiver.calls]
    assert fetched[-2:] == [
        ("GET", f"/3/footprints/{supplier['id']}", "Bearer partner-token"),
        ("GET", f"/3/footprints/{gone}", "Bearer partner-token"),
    ]
    assert ("POST", "/auth/token") in [(m, p) for m, p, _ in fetched]
    with host.api.uow.reading() as conn:
        kept = dict(carbon_store.suppliers(conn))
    assert kept[node_id("urn:epc:idpat:sgtin:6111111.000201.*")]["id"] == supplier["id"]


def test_an_answer_to_a_partner_carries_a_token_of_its_host(host: Host, receiver: Receiver) -> None:
    _partner(host.api, receiver)
    event = _event("3", "request", "t/1", receiver.url, {"productId": ["urn:pact:null"]})
    assert _send(host, "3", event).status_code == 200
    ((_, headers, body),) = receiver.wait(1)
    assert headers["Authorization"] == "Bearer partner-token"
    assert body["data"]["requestEventId"] == "t/1"
    receiver.credentials = ("buyer-at-supplier", "changed")  # our secret no longer works there
    again = event | {"id": "t/2"}
    _send(host, "3", again)
    deadline = time.monotonic() + 30
    while not (
        failed := [x for x in pact.received(host.api.uow) if x.event_id == "t/2" and x.failures]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "gave no access token (HTTP 401)" in str(failed[0].outcome)
    assert len(receiver.received) == 1  # nothing sent without the token
