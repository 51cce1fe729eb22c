"""Named queries and their subscriptions over HTTP: the queries' lifecycle, webhook delivery
in capture order with its HMAC signature, retries with back-off against a receiver that fails
and stalls, dead letters that lose nothing, resumption after a restart, schedules, and
WebSocket subscriptions."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.conftest import Api, serving, settings_for
from api.receiver import receiver
from batterytrace.services import events
from batterytrace.services.unit_of_work import UnitOfWork
from factories import document, object_event

QUERY = {"eventType": ["ObjectEvent"], "EQ_bizStep": ["commissioning"]}
TOKEN = "a-secret-the-subscriber-chose-0123456789"


def _capture(api: Api, numbers: range, **fields: Any) -> list[str]:
    """Capture object events ``numbers`` (commissioning unless ``fields`` say otherwise) as
    one job; their eventIDs."""
    made = [object_event(n, **fields) for n in numbers]
    body = orjson.dumps(document(made))
    answer = api.http.post(
        "/capture",
        content=body,
        headers=api.headers["capture"] | {"Content-Type": "application/ld+json"},
    )
    assert api.job(answer.headers["location"])["success"]
    return [e["eventID"] for e in made]


def _query(api: Api, name: str = "commissioned", query: dict[str, Any] = QUERY) -> None:
    answer = api.http.post(
        "/queries", json={"name": name, "query": query}, headers=api.headers["query"]
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"] == f"/queries/{name}"


def _subscribe(api: Api, dest: str, name: str = "commissioned", **controls: Any) -> str:
    body = {"dest": dest, "signatureToken": TOKEN} | (controls or {"stream": True})
    answer = api.http.post(
        f"/queries/{name}/subscriptions", json=body, headers=api.headers["query"]
    )
    assert answer.status_code == 201, answer.text
    sid: str = answer.json()["subscriptionID"]
    assert answer.headers["location"] == f"/queries/{name}/subscriptions/{sid}"
    assert "signatureToken" not in answer.json() and TOKEN not in answer.text
    return sid


def _first_seen(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def test_named_queries_are_created_listed_run_and_deleted(api: Api) -> None:
    h = api.headers["query"]
    _query(api)
    again = api.http.post("/queries", json={"name": "commissioned", "query": {}}, headers=h)
    assert again.status_code == 409
    assert again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    for bad, named in (
        ({"name": "x y", "query": {}}, "name"),
        ({"name": "q", "query": {"EQ_bizstep": ["shipping"]}}, "EQ_bizstep"),
        ({"name": "q", "query": {"EQ_bizStep": [{"a": 1}]}}, "EQ_bizStep"),
        ({"name": "q"}, "query"),
        ({"name": "q", "query": {}, "x": 1}, "x"),
    ):
        answer = api.http.post("/queries", json=bad, headers=h)
        assert answer.status_code == 400, bad
        assert named in answer.json()["detail"], bad
    assert api.http.get("/queries/commissioned", headers=h).json() == [
        {"name": "commissioned", "query": QUERY}
    ]
    _query(api, "shipped", {"EQ_bizStep": ["shipping"], "eventCountLimit": 2})
    listed = api.http.get("/queries?perPage=1", headers=h)
    assert [q["name"] for q in listed.json()] == ["commissioned"] and "link" in listed.headers
    ids = _capture(api, range(1, 6))
    ran = api.http.get("/queries/commissioned/events?perPage=2", headers=h)
    got = ran.json()["epcisBody"]["queryResults"]
    assert got["queryName"] == "commissioned" and len(got["resultsBody"]["eventList"]) == 2
    want = [e.eventID for e in events.query_all(api.uow, QUERY)]
    assert sorted(want) == sorted(ids)
    other = api.http.delete("/queries/commissioned", headers=api.headers["admin"])
    assert other.status_code == 204
    gone = api.http.get("/queries/commissioned", headers=h)
    assert gone.status_code == 404 and gone.json()["type"] == "epcisException:NoSuchNameException"
    assert api.http.get("/queries/commissioned/events", headers=h).status_code == 404


def test_a_webhook_gets_new_matching_events_in_capture_order_signed(api: Api) -> None:
    _query(api)
    _capture(api, range(1, 4))  # before the subscription: not delivered
    with receiver() as hook:
        _subscribe(api, hook.url)
        first = _capture(api, range(10, 15))
        _capture(api, range(20, 23), bizStep="shipping")  # does not match
        second = _capture(api, range(30, 33))
        got = hook.wait(8)
        assert got == first + second
        for delivery in hook.taken:
            mac = hmac.new(TOKEN.encode(), delivery.body, hashlib.sha256).hexdigest()
            assert delivery.headers["GS1-Signature"] == f"sha256={mac}"
            results = delivery.document["epcisBody"]["queryResults"]
            assert results["queryName"] == "commissioned" and results["subscriptionID"]


def test_initial_record_time_delivers_what_was_captured_since(api: Api) -> None:
    _query(api)
    earlier = _capture(api, range(1, 4))
    with receiver() as hook:
        _subscribe(api, hook.url, stream=True, initialRecordTime="2000-01-01T00:00:00Z")
        assert hook.wait(3) == earlier


def test_a_failing_and_stalling_receiver_gets_everything_once_it_recovers(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    settings = settings_for(
        uow, tmp_path, webhook_timeout=0.5, webhook_backoff=0.05, webhook_attempts=6
    )
    with receiver([500, "stall", 503, 500], stall=1.0) as hook, serving(uow, settings) as api:
        _query(api)
        _subscribe(api, hook.url)
        ids = _capture(api, range(1, 6)) + _capture(api, range(6, 9))
        got = hook.wait(8)
        assert _first_seen(got) == ids
        assert hook.attempts >= 5  # four failures, then the deliveries
        sub = api.http.get("/queries/commissioned/subscriptions", headers=api.headers["query"])
        assert sub.json()[0]["deadLetters"] == 0 and sub.json()[0]["lastNotifiedAt"]


def test_after_the_last_attempt_a_batch_is_set_aside_and_delivery_goes_on(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    settings = settings_for(
        uow, tmp_path, webhook_timeout=0.5, webhook_backoff=0.05, webhook_attempts=3
    )
    with receiver([500, 500, 500]) as hook, serving(uow, settings) as api:
        _query(api)
        sid = _subscribe(api, hook.url)
        lost = _capture(api, range(1, 4))
        deadline = time.monotonic() + 10
        while hook.attempts < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        kept = _capture(api, range(4, 6))
        assert hook.wait(2) == kept
        letters = api.http.get(
            f"/queries/commissioned/subscriptions/{sid}/deadLetters", headers=api.headers["query"]
        ).json()
        assert len(letters) == 1 and letters[0]["events"] == 3 and letters[0]["attempts"] == 3
        assert letters[0]["reason"] == "HTTP 500"
        # nothing lost: the letter names the entries of exactly the events not delivered
        with uow.reading() as conn:
            from sqlalchemy import select

            from batterytrace.store import schema

            e = schema.event
            named = (
                conn.execute(
                    select(e.c.event_id)
                    .where(e.c.seq >= letters[0]["first_seq"], e.c.seq <= letters[0]["last_seq"])
                    .order_by(e.c.seq)
                )
                .scalars()
                .all()
            )
        assert named == lost
        one = api.http.get(
            f"/queries/commissioned/subscriptions/{sid}", headers=api.headers["query"]
        ).json()
        assert one["deadLetters"] == 1 and one["stream"] is True


def test_a_restarted_server_resumes_from_the_last_acknowledged_event(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    settings = settings_for(uow, tmp_path)
    with receiver() as hook:
        with serving(uow, settings) as api:
            _query(api)
            _subscribe(api, hook.url)
            before = _capture(api, range(1, 4))
            assert hook.wait(3) == before
        while_down = []
        for n in (10, 11):  # captured by the CLI's library while no server runs
            path = tmp_path / f"doc{n}.jsonld"
            path.write_bytes(orjson.dumps(document([object_event(n)])))
            events.capture(uow, path)
            while_down.append(object_event(n)["eventID"])
        with serving(uow, settings) as api:
            after = _capture(api, range(20, 22))
            got = hook.wait(7, timeout=60)  # a loaded machine: returns once all 7 came
    assert _first_seen(got) == before + while_down + after


def test_a_schedule_reports_even_when_empty_if_asked(api: Api) -> None:
    _query(api)
    with receiver() as hook:
        bad = api.http.post(
            "/queries/commissioned/subscriptions",
            json={"dest": hook.url, "schedule": {"minute": "[5-2]"}},
            headers=api.headers["query"],
        )
        assert bad.status_code == 400
        assert bad.json()["type"] == "epcisException:SubscriptionControlsException"
        both = api.http.post(
            "/queries/commissioned/subscriptions",
            json={"dest": hook.url, "stream": True, "schedule": {"second": "1"}},
            headers=api.headers["query"],
        )
        assert both.status_code == 400
        _subscribe(api, hook.url, schedule={"second": "[0-59]"}, reportIfEmpty=True)
        deadline = time.monotonic() + 10
        while len(hook.taken) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(hook.taken) >= 2 and hook.taken[0].event_ids == []


def test_unsubscribing_and_deleting_the_query_stop_deliveries(api: Api) -> None:
    _query(api)
    with receiver() as hook:
        sid = _subscribe(api, hook.url)
        h = api.headers["query"]
        other = api.http.delete(
            f"/queries/commissioned/subscriptions/{sid}", headers=api.headers["capture"]
        )
        assert other.status_code == 403  # another client's subscription (and a wrong scope)
        assert (
            api.http.delete(f"/queries/commissioned/subscriptions/{sid}", headers=h).status_code
            == 204
        )
        _capture(api, range(1, 3))
        time.sleep(1.5)
        assert hook.taken == []
        missing = api.http.get(f"/queries/commissioned/subscriptions/{sid}", headers=h)
        assert missing.status_code == 404


def test_a_websocket_subscription_streams_new_events(api: Api) -> None:
    _query(api)
    h = api.headers["query"]
    with api.http.websocket_connect("/queries/commissioned/events?stream=true", headers=h) as ws:
        ids = _capture(api, range(1, 4))
        got: list[str] = []
        while len(got) < 3:
            message = orjson.loads(ws.receive_text())
            got += [
                e["eventID"]
                for e in message["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            ]
        assert got == ids
    with (
        pytest.raises(Exception) as refused,
        api.http.websocket_connect("/queries/commissioned/events?stream=true") as ws,
    ):
        ws.receive_text()
    assert "1008" in str(refused.value) or "Disconnect" in type(refused.value).__name__
