"""SimpleEventQuery parameters, ordering and pagination, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from batterytrace.errors import QueryError
from batterytrace.services import events as events_service
from batterytrace.services.unit_of_work import UnitOfWork
from factories import MINE, PLANT, document, object_event, write

SGTIN = "urn:epc:id:sgtin:3700000.012345.{n}"
PALLET = "urn:epc:id:sscc:3700000.0000000001"
SUB_PLANT = "urn:epc:id:sgln:6111111.00002.7"
PO = "urn:epc:id:gdti:3700000.00001.PO-2025-17"
DESADV = "https://managem.example/desadv/881"


def _uuid(n: int) -> str:
    return f"urn:uuid:00000000-0000-0000-0000-{n:012d}"


EVENTS = [
    object_event(1),  # ORE-1 commissioned at the mine, 2025-01-02
    object_event(
        2,
        eventID=_uuid(2),
        eventTime="2025-01-05T10:00:00.000+01:00",
        quantityList=None,
        epcList=[SGTIN.format(n=1), SGTIN.format(n=2)],
        action="OBSERVE",
        bizStep="urn:epcglobal:cbv:bizstep:shipping",
        disposition="in_transit",
        bizTransactionList=[
            {"type": "po", "bizTransaction": PO},
            {"type": "desadv", "bizTransaction": DESADV},
        ],
        sourceList=[{"type": "owning_party", "source": "urn:epc:id:pgln:6111111.00000"}],
        destinationList=[{"type": "location", "destination": "urn:epc:id:sgln:3012345.00001.0"}],
    ),
    {
        "type": "TransformationEvent",
        "eventID": _uuid(3),
        "eventTime": "2025-01-10T12:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "inputQuantityList": [
            {
                "epcClass": "urn:epc:class:lgtin:6111111.000001.ORE-1",
                "quantity": 60000,
                "uom": "KGM",
            },
            {
                "epcClass": "urn:epc:class:lgtin:6111111.000001.ORE-2",
                "quantity": 55000,
                "uom": "KGM",
            },
        ],
        "outputQuantityList": [
            {"epcClass": "urn:epc:class:lgtin:6111111.000002.SUL-1", "quantity": 4930, "uom": "KGM"}
        ],
        "transformationID": "urn:uuid:7a1c0000-0000-4000-8000-000000000001",
        "bizStep": "commissioning",
        "readPoint": {"id": SUB_PLANT},
        "bizLocation": {"id": SUB_PLANT},
        "ilmd": {"bt:cobaltMassFraction": 0.2097},
    },
    {
        "type": "AggregationEvent",
        "eventID": _uuid(4),
        "eventTime": "2025-02-01T09:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "parentID": PALLET,
        "childEPCs": [SGTIN.format(n=1), SGTIN.format(n=2)],
        "action": "ADD",
        "bizStep": "packing",
        "readPoint": {"id": PLANT},
    },
    {
        "type": "AssociationEvent",
        "eventID": _uuid(5),
        "eventTime": "2025-02-02T09:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "parentID": "urn:epc:id:giai:3700000.VIN123",
        "childEPCs": [SGTIN.format(n=3)],
        "action": "ADD",
        "bizStep": "assembling",
    },
    {
        "type": "TransactionEvent",
        "eventID": _uuid(6),
        "eventTime": "2025-02-03T09:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "bizTransactionList": [{"type": "po", "bizTransaction": PO}],
        "quantityList": [
            {"epcClass": "urn:epc:class:lgtin:6111111.000002.SUL-1", "quantity": 4930, "uom": "KGM"}
        ],
        "action": "ADD",
        "bizStep": "accepting",
        "bt:agreement": "RENAULT-MANAGEM-2022",
    },
    object_event(
        7,
        eventID=_uuid(7),
        eventTime="2025-02-04T09:00:00.000+01:00",
        action="OBSERVE",
        bizStep="inspecting",
        persistentDisposition={"set": ["completeness_verified"]},
        errorDeclaration={
            "declarationTime": "2025-02-05T09:00:00.000+01:00",
            "reason": "incorrect_data",
        },
        sensorElementList=[
            {"sensorReport": [{"type": "MassConcentration", "value": 20.9, "uom": "P1"}]}
        ],
    ),
]
MASTER_DATA = {
    "epcisMasterData": {
        "vocabularyList": [
            {
                "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                "vocabularyElementList": [{"id": PLANT, "children": [SUB_PLANT]}],
            }
        ]
    }
}


@pytest.fixture
def stocked(uow: UnitOfWork, tmp_path: Path) -> UnitOfWork:
    events_service.capture(
        uow, write(tmp_path / "d.jsonld", document(EVENTS, epcisHeader=MASTER_DATA))
    )
    return uow


def _ids(uow: UnitOfWork, **params: str) -> set[int]:
    page = events_service.query(uow, {**params, "perPage": "1000"})
    return {int(e.eventID.rsplit("-", 1)[1]) for e in page.events if e.eventID}


CASES: list[tuple[dict[str, str], set[int]]] = [
    ({}, {1, 2, 3, 4, 5, 6, 7}),
    ({"eventType": "ObjectEvent"}, {1, 2, 7}),
    ({"eventType": "AggregationEvent,AssociationEvent"}, {4, 5}),
    ({"GE_eventTime": "2025-01-05T09:00:00Z", "LT_eventTime": "2025-02-01T08:00:00Z"}, {2, 3}),
    ({"EQ_action": "OBSERVE"}, {2, 7}),
    ({"EQ_bizStep": "shipping"}, {2}),
    ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-packing,assembling"}, {4, 5}),
    ({"EQ_disposition": "urn:epcglobal:cbv:disp:in_transit"}, {2}),
    ({"EQ_persistentDisposition": "completeness_verified"}, {7}),
    ({"EQ_readPoint": MINE}, {1, 2, 7}),
    ({"EQ_readPoint": "https://id.gs1.org/414/6111111000019"}, {1, 2, 7}),
    ({"WD_readPoint": PLANT}, {3, 4}),
    ({"EQ_bizLocation": SUB_PLANT}, {3}),
    ({"WD_bizLocation": PLANT}, {3}),
    ({"EQ_transformationID": "urn:uuid:7a1c0000-0000-4000-8000-000000000001"}, {3}),
    ({"MATCH_epc": SGTIN.format(n=1)}, {2, 4}),
    # EPCIS 2.0: MATCH_epc looks in epcList and childEPCs (Association events included)
    ({"MATCH_epc": "urn:epc:idpat:sgtin:3700000.012345.*"}, {2, 4, 5}),
    ({"MATCH_epc": "urn:epc:idpat:sgtin:3700000.*.*"}, {2, 4, 5}),
    ({"MATCH_parentID": PALLET}, {4}),
    ({"MATCH_anyEPC": SGTIN.format(n=3)}, {5}),
    ({"MATCH_anyEPC": "urn:epc:idpat:sgtin:3700000.012345.*"}, {2, 4, 5}),
    ({"MATCH_anyEPC": "urn:epc:id:giai:3700000.VIN123"}, {5}),
    ({"MATCH_epcClass": "urn:epc:class:lgtin:6111111.000001.ORE-1"}, {1}),
    ({"MATCH_epcClass": "urn:epc:idpat:sgtin:6111111.000002.*"}, {6}),
    ({"MATCH_inputEPCClass": "urn:epc:class:lgtin:6111111.000001.ORE-2"}, {3}),
    ({"MATCH_outputEPCClass": "urn:epc:idpat:sgtin:6111111.000002.*"}, {3}),
    ({"MATCH_anyEPCClass": "urn:epc:idpat:sgtin:6111111.000001.*"}, {1, 3, 7}),
    ({"MATCH_inputEPC": SGTIN.format(n=1)}, set()),
    ({"EQ_bizTransaction_po": PO}, {2, 6}),
    ({"EQ_bizTransaction_urn:epcglobal:cbv:btt:desadv": DESADV}, {2}),
    ({"EQ_source_owning_party": "urn:epc:id:pgln:6111111.00000"}, {2}),
    ({"EQ_destination_location": "urn:epc:id:sgln:3012345.00001.0"}, {2}),
    ({"EQ_destination_owning_party": "urn:epc:id:sgln:3012345.00001.0"}, set()),
    ({"EQ_eventID": f"{_uuid(4)},{_uuid(5)}"}, {4, 5}),
    ({"EXISTS_errorDeclaration": ""}, {7}),
    ({"EXISTS_sensorElementList": ""}, {7}),
    ({"EXISTS_ilmd": ""}, {3}),
    ({"EXISTS_https://batterytrace.org/voc/agreement": ""}, {6}),
    ({"EXISTS_https://batterytrace.org/voc/cobaltMassFraction": ""}, {3}),
    ({"eventType": "ObjectEvent", "EQ_bizStep": "commissioning"}, {1}),
]


@pytest.mark.parametrize(("params", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_query_parameter(stocked: UnitOfWork, params: dict[str, str], expected: set[int]) -> None:
    assert _ids(stocked, **params) == expected
    assert events_service.count(stocked, params) == len(expected)


def test_order_and_count_limit(stocked: UnitOfWork) -> None:
    asc = events_service.query(
        stocked, {"orderBy": "eventTime", "orderDirection": "ASC", "eventCountLimit": "3"}
    )
    times = [e.eventTime for e in asc.events]
    assert times == sorted(times) and len(times) == 3 and asc.next_page_token is None
    desc = events_service.query(stocked, {"orderBy": "eventTime"}).events
    assert [e.eventTime for e in desc] == sorted((e.eventTime for e in desc), reverse=True)


def test_pagination_walks_every_event_once(stocked: UnitOfWork) -> None:
    params = {"orderBy": "eventTime", "orderDirection": "ASC", "perPage": "2"}
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = events_service.query(
            stocked, {**params, **({"nextPageToken": token} if token else {})}
        )
        seen += [e.eventID or "" for e in page.events]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert pages == 4 and len(seen) == 7 and len(set(seen)) == 7


def test_page_token_is_bound_to_its_query(stocked: UnitOfWork) -> None:
    token = events_service.query(stocked, {"perPage": "2"}).next_page_token
    assert token is not None
    with pytest.raises(QueryError, match="nextPageToken: was issued for a different query"):
        events_service.query(
            stocked, {"perPage": "2", "eventType": "ObjectEvent", "nextPageToken": token}
        )
    with pytest.raises(QueryError, match="nextPageToken: not a token"):
        events_service.query(stocked, {"nextPageToken": "garbage!"})


def test_max_event_count(stocked: UnitOfWork) -> None:
    with pytest.raises(QueryError, match="maxEventCount: 7 events match"):
        events_service.query(stocked, {"maxEventCount": "3"})
    assert len(events_service.query(stocked, {"maxEventCount": "7"}).events) == 7


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"EQ_colour": "red"}, "EQ_colour: not a SimpleEventQuery parameter"),
        ({"eventType": "MineEvent"}, "eventType: 'MineEvent' is not an EPCIS 2.0 event type"),
        ({"GE_eventTime": "yesterday"}, "GE_eventTime: 'yesterday' is not a timestamp"),
        ({"EQ_action": "CREATE"}, "EQ_action: 'CREATE' is not ADD, OBSERVE or DELETE"),
        ({"EQ_bizStep": "mining"}, "EQ_bizStep: 'mining' is neither a CBV bizStep term"),
        ({"orderBy": "weight"}, "orderBy: 'weight' is not eventTime or recordTime"),
        ({"perPage": "0"}, "perPage: must be at least 1"),
        ({"MATCH_epc": "urn:epc:id:sgtin:123"}, "MATCH_epc: urn:epc:id:sgtin:123"),
    ],
)
def test_bad_query_parameters_are_named(
    stocked: UnitOfWork, params: dict[str, str], message: str
) -> None:
    with pytest.raises(QueryError) as info:
        events_service.query(stocked, params)
    assert str(info.value).startswith(message)


def test_query_all_reads_every_event_once_page_by_page(
    stocked: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13, point 6: pages of 2 events (the cap lowered), the 7 events in the query's order,
    each once; eventCountLimit still holds across pages, perPage given is ignored."""
    monkeypatch.setattr("batterytrace.store.query.MAX_PER_PAGE", 2)
    pages: list[int] = []
    query = events_service.query
    monkeypatch.setattr(
        events_service, "query", lambda u, p, r=None: pages.append(1) or query(u, p, r)
    )
    events = list(
        events_service.query_all(stocked, {"orderBy": "eventTime", "orderDirection": "ASC"})
    )
    assert len(pages) == 4 and len(events) == 7 == len({e.eventID for e in events})
    assert [e.eventTime for e in events] == sorted(e.eventTime for e in events)
    limited = list(events_service.query_all(stocked, {"eventCountLimit": "3", "perPage": "1"}))
    assert len(limited) == 3


ID_STAR = "urn:epc:id:sgtin:0614141.107346.*"  # an id URI, not an idpat: no pattern


@pytest.mark.parametrize(
    ("params", "odd"),
    [
        ({"MATCH_anyEPC": "*"}, ["MATCH_anyEPC=*"]),
        ({"MATCH_epc": ID_STAR}, [f"MATCH_epc={ID_STAR}"]),
        ({"MATCH_epc": ["urn:epc:idpat:sgtin:0614141.107346.*", "0614141*"]},
         ["MATCH_epc=0614141*"]),
        ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.*", "EQ_bizStep": "*"}, []),
    ],
)  # fmt: skip
def test_match_values_that_are_no_pattern_are_named(
    stocked: UnitOfWork, params: dict[str, str], odd: list[str]
) -> None:
    """A ``*`` outside an EPC pattern URI is compared as it is, so it matches nothing here."""
    from batterytrace.store.query import unmatched_patterns

    assert unmatched_patterns(params) == odd
    if odd:
        assert events_service.query(stocked, params).events == []
