"""Events and the top-level resources over HTTP: every page of a query walked by its
``Link``, the same events as the library's query, JSON-LD and XML, identifiers that need URL
encoding, bad parameters and tokens, the version headers and discovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from api.conftest import Api
from batterytrace.epcis import documents, json_ld
from batterytrace.epcis import xml as xml_syntax
from batterytrace.identifiers import to_digital_link
from batterytrace.services import events

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def stored(api: Api) -> Api:
    for path in sorted(EXAMPLES.glob("0*")):
        events.capture(api.uow, path)
    return api


def _ids(answer: Any) -> list[str]:
    body = answer.json()
    return [e["eventID"] for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


def _walk(api: Api, url: str) -> list[str]:
    ids: list[str] = []
    while url:
        answer = api.http.get(url, headers=api.headers["query"])
        assert answer.status_code == 200, answer.text
        assert answer.headers["GS1-EPCIS-Version"] == "2.0.0"
        ids += _ids(answer)
        link = answer.headers.get("link")
        url = link[1 : link.index(">")] if link else ""
        assert not link or link.endswith('; rel="next"')
    return ids


def test_every_page_walked_by_its_link_gives_the_librarys_answer(stored: Api) -> None:
    everything = [e.eventID for e in events.query_all(stored.uow, {"orderBy": "eventTime"})]
    assert len(everything) > 5
    for per_page in (1, 2, 7, 1000):
        url = f"/events?orderBy=eventTime&perPage={per_page}"
        assert _walk(stored, url) == everything
    shipped = [
        e.eventID for e in events.query_all(stored.uow, {"EQ_bizStep": ["shipping", "receiving"]})
    ]
    assert _walk(stored, "/events?EQ_bizStep=shipping%7Creceiving&perPage=2") == shipped
    assert _walk(stored, "/events?EQ_bizStep=shipping&EQ_bizStep=receiving") == shipped
    assert len(_walk(stored, "/events?eventCountLimit=3&perPage=2")) == 3


def test_xml_and_json_ld_carry_the_same_events(stored: Api) -> None:
    h = stored.headers["query"]
    as_json = stored.http.get("/events?perPage=100", headers=h | {"Accept": "application/ld+json"})
    assert as_json.headers["content-type"] == "application/ld+json"
    as_xml = stored.http.get("/events?perPage=100", headers=h | {"Accept": "application/xml"})
    assert as_xml.headers["content-type"].startswith("application/xml")
    from_xml = xml_syntax.read_document(as_xml.content)
    from_json = json_ld.document_from_json(as_json.json())
    assert [e.eventID for e in from_xml.events] == [e.eventID for e in from_json.events]
    assert from_xml.events == from_json.events
    plain = stored.http.get("/events", headers=h | {"Accept": "application/json;q=0.5, text/html"})
    assert plain.headers["content-type"] == "application/json"
    refused = stored.http.get("/events", headers=h | {"Accept": "text/html"})
    assert refused.status_code == 406
    assert refused.json()["type"] == "epcisException:NotAcceptableException"


def test_an_event_is_read_by_its_id_url_encoded(stored: Api) -> None:
    doc = documents.read(EXAMPLES / "01-mine-to-sulfate.jsonld")
    for event in doc.events[:3]:
        answer = stored.http.get(
            f"/events/{quote(event.eventID or '', safe='')}", headers=stored.headers["query"]
        )
        assert _ids(answer) == [event.eventID]
    from batterytrace.epcis.hash import event_hash

    hashed = event_hash(doc.events[0])  # ni:///sha-256;…?ver=CBV2.0: '/', ';' and '?' inside
    missing = stored.http.get(f"/events/{quote(hashed, safe='')}", headers=stored.headers["query"])
    assert missing.status_code == 404
    assert missing.json()["type"] == "epcisException:NoSuchResourceException"


def test_bad_parameters_and_page_tokens_are_query_parameter_exceptions(stored: Api) -> None:
    h = stored.headers["query"]
    first = stored.http.get("/events?perPage=2&EQ_bizStep=shipping", headers=h)
    token = first.headers["link"].split("nextPageToken=")[1].split(">")[0]
    for url, named in (
        ("/events?EQ_bizstep=shipping", "EQ_bizstep"),
        ("/events?GE_eventTime=yesterday", "GE_eventTime"),
        ("/events?perPage=0", "perPage"),
        ("/events?perPage=two", "perPage"),
        ("/events?EQ_action=MOVE", "EQ_action"),
        ("/events?nextPageToken=%%%", "nextPageToken"),
        ("/events?nextPageToken=eyJxIjoiMTIzIn0", "nextPageToken"),  # valid base64, no position
        (f"/events?perPage=2&EQ_bizStep=receiving&nextPageToken={token}", "nextPageToken"),
        ("/eventTypes?orderBy=eventTime", "orderBy"),
    ):
        answer = stored.http.get(url, headers=h)
        assert answer.status_code == 400, url
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "epcisException:QueryParameterException", url
        assert named in answer.json()["detail"], url
    too_many = stored.http.get("/events?maxEventCount=1", headers=h)
    assert too_many.status_code == 413
    assert too_many.json()["type"] == "epcisException:QueryTooLargeException"


def test_top_level_resources_list_what_events_hold(stored: Api) -> None:
    h = stored.headers["query"]
    types = stored.http.get("/eventTypes", headers=h).json()
    assert types["type"] == "Collection" and "TransformationEvent" in types["member"]
    steps = stored.http.get("/bizSteps", headers=h).json()["member"]
    assert "shipping" in steps and steps == sorted(steps)
    everything = list(events.query_all(stored.uow, {}))
    locations = {to_digital_link(e.bizLocation.id) for e in everything if e.bizLocation}
    assert set(_collect(stored, "/bizLocations?perPage=2")) == locations
    epcs = _collect(stored, "/epcs?perPage=3")
    assert len(epcs) == len(set(epcs)) and all(e.startswith("https://id.gs1.org/") for e in epcs)
    for resource, values, param in (
        ("bizSteps", steps[:2], "EQ_bizStep"),
        ("bizLocations", sorted(locations)[:2], "EQ_bizLocation"),
        ("epcs", epcs[:3], None),
    ):
        for value in values:
            path = f"/{resource}/{quote(value, safe='')}"
            assert stored.http.get(path, headers=h).json()["member"] == ["events"]
            got = _walk(stored, f"{path}/events?perPage=2")
            if param is not None:
                want = [e.eventID for e in events.query_all(stored.uow, {param: [value]})]
                assert got == want
            assert got
    for path in (
        "/bizSteps/destroying",
        "/eventTypes/QuantityEvent",
        "/epcs/urn%3Aepc%3Aid%3Asgtin%3A0614141.107346.2018",
        "/readPoints/not%20a%20uri",
        "/eventTypes/ObjectEvent/../nothing",
    ):
        answer = stored.http.get(path, headers=h)
        assert answer.status_code == 404, path
        assert answer.json()["type"] == "epcisException:NoSuchResourceException"
    by_type = _walk(stored, "/eventTypes/TransformationEvent/events")
    want = [e.eventID for e in events.query_all(stored.uow, {"eventType": ["TransformationEvent"]})]
    assert by_type == want and by_type


def _collect(api: Api, url: str) -> list[str]:
    found: list[str] = []
    while url:
        answer = api.http.get(url, headers=api.headers["query"])
        found += answer.json()["member"]
        link = answer.headers.get("link")
        url = link[1 : link.index(">")] if link else ""
    return found


def test_version_headers_are_declared_and_negotiated(stored: Api) -> None:
    h = stored.headers["query"]
    answer = stored.http.get("/events", headers=h)
    assert answer.headers["GS1-EPCIS-Version"] == "2.0.0"
    assert answer.headers["GS1-CBV-Version"] == "2.0.0"
    assert answer.headers["GS1-Extensions"] == "bt=https://batterytrace.org/voc/"
    for header, value, status in (
        ("GS1-EPCIS-Min", "2.1", 406),
        ("GS1-EPCIS-Max", "1.2.0", 406),
        ("GS1-CBV-Min", "3", 406),
        ("GS1-EPCIS-Version", "1.2", 406),
        ("GS1-EPCIS-Min", "two", 400),
        ("GS1-EPCIS-Min", "1.2", 200),
        ("GS1-EPCIS-Max", "2.0", 200),
        ("GS1-CBV-Max", "2.0.1", 200),
    ):
        got = stored.http.get("/events", headers=h | {header: value})
        assert got.status_code == status, (header, value)
        if status != 200:
            assert got.headers["content-type"] == "application/problem+json"
            assert header in got.json()["detail"]


def test_options_discovers_each_route(stored: Api) -> None:
    h = stored.headers["query"]
    for path, allowed in (
        ("/", {"GET"}),
        ("/events", {"GET", "POST"}),
        ("/queries/x", {"GET", "DELETE"}),
        ("/epcs/urn%3Ax/events", {"GET"}),
        ("/capture/abc", {"GET"}),
    ):
        answer = stored.http.options(path, headers=h)
        assert answer.status_code == 204, path
        assert set(answer.headers["allow"].split(", ")) == allowed | {"OPTIONS"}
        assert answer.headers["GS1-EPCIS-Max"] == "2.0.0"
    assert stored.http.options("/nothing", headers=h).status_code == 404
    assert stored.http.options("/events").status_code == 401
    top = stored.http.get("/", headers=h).json()
    assert set(top["member"]) == {
        "queries",
        "capture",
        "events",
        "eventTypes",
        "epcs",
        "readPoints",
        "bizLocations",
        "dispositions",
        "bizSteps",
    }
