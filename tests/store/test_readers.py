"""The SQL of what a reader may read (store.readers) equals the rules of sharing.Grants, event
by event and field by field, for shares hypothesis draws, on SQLite and PostgreSQL (issue
16.3, decision 041)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from batterytrace.epcis import documents
from batterytrace.organisations import organisation_id
from batterytrace.services import events, organisations
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.sharing import WITHHELD, Grants, Share, project, share_of_json
from batterytrace.store import schema
from batterytrace.store.query import SimpleEventQuery
from factories import document, object_event

ORGS = {
    "refiner": "urn:epc:id:pgln:3012345.00000",
    "buyer": "urn:epc:id:pgln:0614141.00000",
    "miner": "urn:epc:id:pgln:6111111.00000",
}
SITES = {
    "refiner": "urn:epc:id:sgln:3012345.00100.0",
    "buyer": "urn:epc:id:sgln:0614141.00100.0",
    "miner": "urn:epc:id:sgln:6111111.00001.0",
}
GATE = "urn:epc:id:sgln:3012345.00100.9"  # a part of the refinery
LOTS = ("urn:epc:class:lgtin:3012345.000810.S{n}", "urn:epc:class:lgtin:3012345.000811.X{n}")
PATTERNS = ("urn:epc:idpat:sgtin:3012345.000810.*", "urn:epc:class:lgtin:3012345.000810.S1",
            "urn:epc:idpat:sgtin:3012345.000811.*")  # fmt: skip
STEPS = ("shipping", "receiving", "commissioning")
FIELD_FILTERS = (
    ("EXISTS_ilmd", "ilmd"),
    ("EXISTS_bizTransactionList", "bizTransactionList"),
    ("EXISTS_https://batterytrace.org/voc/energy", "extensions"),
)


def _store(uow: UnitOfWork) -> None:
    """Each organisation's events at its sites: steps, lots, months and fields that vary."""
    for name, org in ORGS.items():
        organisations.create(uow, org, name)
        organisations.assign(uow, SITES[name], org)
    n = 0
    for name in ORGS:
        evs: list[dict[str, Any]] = []
        for i in range(8):
            n += 1
            site = GATE if name == "refiner" and i % 4 == 3 else SITES[name]
            lot = LOTS[i % 2].format(n=i % 3)
            fields: dict[str, Any] = {
                "bizStep": STEPS[i % 3],
                "action": "OBSERVE",
                "eventTime": f"2026-{1 + i:02d}-10T08:00:00.000Z",
                "eventTimeZoneOffset": "+00:00",
                "readPoint": {"id": site},
                "bizLocation": {"id": site},
                "quantityList": [{"epcClass": lot, "quantity": 100.0 + n, "uom": "KGM"}],
            }
            if i % 2 == 0:
                fields["ilmd"] = {"bt:co": 0.2}
                fields["action"] = "ADD"
            if i % 3 == 0:
                fields["bt:energy"] = 12 + i
            if i % 4 == 1:
                fields["bizTransactionList"] = [
                    {"type": "po", "bizTransaction": f"urn:epcglobal:cbv:bt:3012345000007:{n}"}
                ]
            evs.append(object_event(n, **fields))
        events.capture_document(
            uow, documents.parse_bytes(orjson.dumps(document(evs))), owner=ORGS[name]
        )


@st.composite
def shares(draw: st.DrawFn) -> list[Share]:
    made = []
    for i in range(draw(st.integers(0, 3))):
        owner, grantee = draw(st.permutations(list(ORGS.values())))[:2]
        start = draw(st.none() | st.integers(1, 9))
        body = {
            "owner": owner,
            "grantee": grantee,
            "scope": {
                "eventTypes": draw(st.lists(st.just("ObjectEvent"), max_size=1)),
                "bizSteps": draw(st.lists(st.sampled_from(STEPS), max_size=2, unique=True)),
                "sites": draw(st.lists(st.sampled_from(list(SITES.values())), max_size=2)),
                "products": draw(st.lists(st.sampled_from(PATTERNS), max_size=2)),
                "from": None if start is None else f"2026-{start:02d}-01T00:00:00Z",
            },
            "withheld": draw(st.lists(st.sampled_from(WITHHELD), unique=True, max_size=3)),
        }
        made.append(share_of_json(body, i + 1))
    return made


def test_what_the_sql_selects_is_what_the_rules_let_each_reader_read(uow: UnitOfWork) -> None:
    _store(uow)
    with uow.reading() as conn:
        stored = [
            (row.owner, row.event_id)
            for row in conn.execute(schema.event.select().order_by(schema.event.c.seq))
        ]
    every = {e.eventID: e for e in events.query_all(uow, {})}  # as the operator: all of them
    owners = {event_id: owner for owner, event_id in stored}
    assert len(every) == 24 and len(set(owners.values())) == 3
    for _, field in FIELD_FILTERS:  # each filtered field is held by some events, not all
        assert 0 < sum(_holds(e, field) for e in every.values()) < len(every)

    by_site = share_of_json(
        {
            "owner": ORGS["refiner"],
            "grantee": ORGS["buyer"],
            "scope": {"sites": [SITES["refiner"]]},
        },
        1,
    )  # the refinery's gate is a part of the refinery

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(shares(), st.sampled_from(list(ORGS.values())))
    @example([by_site], ORGS["buyer"])
    def check(held: list[Share], reader_name: str) -> None:
        reader = organisation_id(reader_name)
        grants = Grants.of(reader, held)
        expected = {}
        for event_id, event in every.items():
            withheld = grants.withheld(owners[event_id], event)
            if withheld is not None:
                expected[event_id] = project(event, withheld)
        with uow.reading() as conn:
            page = SimpleEventQuery({"perPage": "1000"}, grants).page(conn)
            got = {e.eventID: e for e in page.events}
            assert got == expected
            # a filter on a field holds only where the reader sees the field
            for param, field in FIELD_FILTERS:
                found = SimpleEventQuery({param: "", "perPage": "1000"}, grants).page(conn)
                seen = {e.eventID for e in found.events}
                assert seen == {i for i, e in expected.items() if _holds(e, field)}, param

    check()


def _holds(event: Any, field: str) -> bool:
    if field == "extensions":
        return any(x.name == "energy" for x in event.extensions)
    return bool(getattr(event, field))
