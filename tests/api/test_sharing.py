"""Every event route filtered by what the caller's organisation may read (issue 16.3): its
own events and what others share with it, without the fields withheld; what it may not read
answers as what does not exist; a revoked share holds from the next request."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from api.conftest import Api
from batterytrace.epcis import documents
from batterytrace.organisations import organisation_id
from batterytrace.services import clients, events, organisations
from factories import document, object_event

REFINER, BUYER, MINER = (
    "urn:epc:id:pgln:3012345.00000",
    "urn:epc:id:pgln:0614141.00000",
    "urn:epc:id:pgln:6111111.00000",
)
PLANT, MINE = "urn:epc:id:sgln:3012345.00100.0", "urn:epc:id:sgln:6111111.00001.0"
SULFATE = "urn:epc:class:lgtin:3012345.000810.S{n}"
OTHER = "urn:epc:class:lgtin:3012345.000811.X{n}"
ORE = "urn:epc:class:lgtin:6111111.000001.ORE-{n}"


def _event(n: int, step: str, lot: str, where: str) -> dict[str, Any]:
    return object_event(
        n, bizStep=step, action="OBSERVE", readPoint={"id": where}, bizLocation={"id": where},
        quantityList=[{"epcClass": lot, "quantity": 1000.0 + n, "uom": "KGM"}],
        ilmd=None, **{"bt:energy": 40 + n},
    )  # fmt: skip


@pytest.fixture
def chain(api: Api) -> dict[str, Any]:
    """The refiner's events (sulfate shipped and received, another product shipped), the
    miner's ore shipped; the refiner shares its sulfate shipments with the buyer, activity
    data (the extensions) withheld; a client of each organisation."""
    for org, name in ((REFINER, "Refiner"), (BUYER, "Carmaker"), (MINER, "Miner")):
        organisations.create(api.uow, org, name)
    organisations.assign(api.uow, PLANT, REFINER)
    organisations.assign(api.uow, MINE, MINER)
    refined = [
        _event(1, "shipping", SULFATE.format(n=1), PLANT),
        _event(2, "shipping", SULFATE.format(n=2), PLANT),
        _event(3, "receiving", SULFATE.format(n=3), PLANT),
        _event(4, "shipping", OTHER.format(n=1), PLANT),
    ]
    mined = [_event(5, "shipping", ORE.format(n=1), MINE)]
    for owner, evs in ((REFINER, refined), (MINER, mined)):
        parsed = documents.parse_bytes(orjson.dumps(document(evs)))
        events.capture_document(api.uow, parsed, owner=owner)
    share = organisations.grant(
        api.uow,
        {"owner": REFINER, "grantee": BUYER,
         "scope": {"bizSteps": ["shipping"], "products": ["urn:epc:idpat:sgtin:3012345.000810.*"]},
         "withheld": ["extensions"], "footprint": "total", "custody": "claims"},
    )  # fmt: skip
    headers = {}
    for org, name in ((REFINER, "refiner"), (BUYER, "buyer"), (MINER, "miner")):
        made = clients.create(api.uow, f"{name} ERP", ["query"], organisation=org)
        token = api.token(made.client_id, made.client_secret)
        headers[name] = {"Authorization": f"Bearer {token}"}
    ids = {n: e["eventID"] for n, e in enumerate(refined + mined, start=1)}
    return {"headers": headers, "ids": ids, "share": share.id}


def _listed(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["epcisBody"]["queryResults"]["resultsBody"][
        "eventList"
    ]
    return found


def _ids(answer: Any) -> set[str]:
    return {e["eventID"] for e in _listed(answer)}


def test_each_organisation_reads_its_own_events_and_what_is_shared_with_it(
    api: Api, chain: dict[str, Any]
) -> None:
    h, ids = chain["headers"], chain["ids"]
    assert _ids(api.http.get("/events", headers=h["refiner"])) == {ids[n] for n in (1, 2, 3, 4)}
    assert _ids(api.http.get("/events", headers=h["miner"])) == {ids[5]}
    shared = _listed(api.http.get("/events", headers=h["buyer"]))
    assert {e["eventID"] for e in shared} == {ids[1], ids[2]}
    assert all(b"energy" not in orjson.dumps(e) for e in shared)
    assert all(e["quantityList"][0]["quantity"] > 1000 for e in shared)
    owned = _listed(api.http.get("/events", headers=h["refiner"]))
    assert all(b"energy" in orjson.dumps(e) for e in owned)  # the owner sees its activity data
    xml = api.http.get("/events", headers=h["buyer"] | {"Accept": "application/xml"})
    assert (
        xml.status_code == 200 and b"energy" not in xml.content and ids[1].encode() in xml.content
    )
    everything = api.http.get("/events", headers=api.headers["query"])  # the operator's client
    assert _ids(everything) == set(ids.values())


def test_what_a_reader_may_not_read_answers_as_what_does_not_exist(
    api: Api, chain: dict[str, Any]
) -> None:
    h, ids = chain["headers"], chain["ids"]
    hidden = api.http.get(f"/events/{quote(ids[3], safe='')}", headers=h["buyer"])
    nothing = quote("urn:uuid:00000000-0000-0000-0000-00000000dead", safe="")
    absent = api.http.get(f"/events/{nothing}", headers=h["buyer"])
    assert hidden.status_code == absent.status_code == 404
    assert (
        hidden.json()["type"] == absent.json()["type"] == "epcisException:NoSuchResourceException"
    )
    assert api.http.get(f"/events/{quote(ids[1], safe='')}", headers=h["buyer"]).status_code == 200
    # filters on another's site, lot or withheld field find nothing
    for params in (
        {"EQ_bizLocation": MINE},
        {"MATCH_anyEPCClass": ORE.format(n=1)},
        {"MATCH_anyEPCClass": SULFATE.format(n=3)},  # received, not shipped: not shared
        {"EXISTS_https://batterytrace.org/voc/energy": ""},
    ):
        assert _ids(api.http.get("/events", params=params, headers=h["buyer"])) == set(), params
    energy = {"EXISTS_https://batterytrace.org/voc/energy": ""}
    assert len(_ids(api.http.get("/events", params=energy, headers=h["refiner"]))) == 4
    # top-level resources list only what the reader's events hold
    epcs = api.http.get("/epcs", headers=h["buyer"]).json()["member"]
    assert len(epcs) == 2 and not any("6111111" in e or "S3" in e for e in epcs)
    locations = api.http.get("/bizLocations", headers=h["buyer"]).json()["member"]
    assert locations == ["https://id.gs1.org/414/3012345001007"]
    mine = quote(MINE, safe="")
    for path in (f"/bizLocations/{mine}", f"/bizLocations/{mine}/events"):
        assert api.http.get(path, headers=h["buyer"]).status_code == 404
        assert api.http.get(path, headers=h["miner"]).status_code == 200


def test_a_named_query_answers_what_its_reader_may_read_and_a_revoked_share_hides_at_once(
    api: Api, chain: dict[str, Any]
) -> None:
    h, ids = chain["headers"], chain["ids"]
    made = api.http.post(
        "/queries",
        json={"name": "shipments", "query": {"EQ_bizStep": ["shipping"]}},
        headers=h["buyer"],
    )
    assert made.status_code == 201, made.text
    assert _ids(api.http.get("/queries/shipments/events", headers=h["buyer"])) == {ids[1], ids[2]}
    assert _ids(api.http.get("/queries/shipments/events", headers=h["miner"])) == {ids[5]}
    next_batch = events.query(api.uow, {"EQ_bizStep": "shipping"}, organisation_id(BUYER))
    assert {e.eventID for e in next_batch.events} == {ids[1], ids[2]}
    organisations.revoke(api.uow, chain["share"])
    assert _ids(api.http.get("/events", headers=h["buyer"])) == set()
    assert _ids(api.http.get("/queries/shipments/events", headers=h["buyer"])) == set()
    hidden = api.http.get(f"/events/{quote(ids[1], safe='')}", headers=h["buyer"])
    assert hidden.status_code == 404


def test_the_ledger_status_tells_an_organisation_how_many_problems_not_whose(
    api: Api, chain: dict[str, Any]
) -> None:
    from sqlalchemy import update

    from batterytrace.store import schema

    h, ids = chain["headers"], chain["ids"]
    sound = api.http.get("/ledger/verify", headers=h["buyer"]).json()
    assert sound["ok"] is True and sound["problems"] == []
    with api.uow.engine.begin() as conn:
        conn.execute(
            update(schema.event).where(schema.event.c.event_id == ids[5]).values(owner=None)
        )
    told = api.http.get("/ledger/verify", headers=api.headers["query"]).json()
    counted = api.http.get("/ledger/verify", headers=h["buyer"]).json()
    assert told["ok"] is counted["ok"] is False
    assert any(ids[5] in line for line in told["problems"])
    assert counted["problems"] == [
        f"{len(told['problems'])} problem(s); the store's operator sees them"
    ]


def test_subscriptions_deliver_what_their_owner_may_read_at_delivery_time(
    api: Api, chain: dict[str, Any]
) -> None:
    """A webhook and a WebSocket of the buyer get the refiner's shared shipments, withheld
    fields removed, and nothing of what is not shared; after the share is revoked, nothing
    more, though the refiner goes on shipping."""
    from api.receiver import receiver

    h = chain["headers"]
    made = api.http.post(
        "/queries",
        json={"name": "shipped", "query": {"EQ_bizStep": ["shipping"]}},
        headers=h["buyer"],
    )
    assert made.status_code == 201, made.text

    def ship(numbers: range, lot: str) -> list[str]:
        evs = [_event(n, "shipping", lot.format(n=n), PLANT) for n in numbers]
        parsed = documents.parse_bytes(orjson.dumps(document(evs)))
        events.capture_document(api.uow, parsed, owner=REFINER)
        return [e["eventID"] for e in evs]

    with (
        receiver() as hook,
        api.http.websocket_connect("/queries/shipped/events?stream=true", headers=h["buyer"]) as ws,
    ):
        body = {"dest": hook.url, "signatureToken": "a-token-of-the-buyer-0123456789abcdef",
                "stream": True}  # fmt: skip
        assert (
            api.http.post(
                "/queries/shipped/subscriptions", json=body, headers=h["buyer"]
            ).status_code
            == 201
        )
        ship(range(100, 102), OTHER)  # another product: not shared
        shared = ship(range(110, 113), SULFATE)
        assert hook.wait(3, timeout=20) == shared
        streamed: list[dict[str, Any]] = []
        while len(streamed) < 3:
            message = orjson.loads(ws.receive_text())
            streamed += message["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert [e["eventID"] for e in streamed] == shared
        delivered = [e for d in hook.taken for e in d.document["epcisBody"]["queryResults"]
                     ["resultsBody"]["eventList"]]  # fmt: skip
        assert all(b"energy" not in orjson.dumps(e) for e in delivered + streamed)
        organisations.revoke(api.uow, chain["share"])
        ship(range(120, 122), SULFATE)
        time.sleep(2.5)  # the deliveries look again every second
        assert [i for d in hook.taken for i in d.event_ids] == shared
