"""Organisations own sites and the events they capture (issue 16.1, decision 040): a capture
naming another organisation's site is refused whole unless it delegated capture there; the
registry and the events' owners are in the ledger, so a hand edit fails verification."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from batterytrace.epcis import documents
from batterytrace.errors import Forbidden, ImportConflict, InvalidIdentifier, ShareError
from batterytrace.organisations import located_site, organisation_id, site_id
from batterytrace.services import clients, events, organisations
from batterytrace.services.ledger import verify
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import schema
from factories import MINE, PLANT, document, object_event

MINER = "urn:epc:id:pgln:6111111.00000"  # owns the mine
REFINER = "urn:epc:id:pgln:3012345.00000"  # owns the plant
CARRIER = "0614141000005"  # a logistics provider, as 13 digits
MINE_GATE = "urn:epc:id:sgln:6111111.00001.7"  # a part of the mine (GLN extension 7)


def _registry(uow: UnitOfWork) -> None:
    organisations.create(uow, MINER, "Mine company")
    organisations.create(uow, REFINER, "Refiner")
    organisations.create(uow, CARRIER, "Carrier")
    organisations.assign(uow, MINE, MINER)
    organisations.assign(uow, PLANT, REFINER)


def _doc(*evs: dict[str, Any]) -> documents.Document:
    return documents.parse_bytes(orjson.dumps(document(list(evs))))


def _stored(uow: UnitOfWork) -> int:
    with uow.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.event)).scalar_one())


def test_every_spelling_of_a_gln_is_one_organisation_or_site() -> None:
    party = "https://id.gs1.org/417/6111111000002"
    assert organisation_id(MINER) == organisation_id("6111111000002") == party
    assert organisation_id(party) == party
    location = "https://id.gs1.org/414/6111111000019"
    assert site_id(MINE) == site_id(MINE_GATE) == site_id("6111111000019") == location
    assert located_site("https://example.com/warehouse") is None
    for wrong in (MINE, "6111111000008", "urn:epc:id:sgtin:3700000.010001.1", "hello"):
        with pytest.raises(InvalidIdentifier):
            organisation_id(wrong)  # a location, a bad check digit, a trade item, no key
    with pytest.raises(InvalidIdentifier):
        site_id(MINER)


@given(st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_a_gln_given_as_digits_urn_or_link_is_the_same_key(twelve: str) -> None:
    from batterytrace.identifiers import gs1_check_digit

    digits = twelve + gs1_check_digit(twelve)
    key = organisation_id(digits)
    assert organisation_id(key) == key
    for split in (6, 9, 12):
        urn = f"urn:epc:id:pgln:{digits[:split]}.{digits[split:12]}"
        assert organisation_id(urn) == key


def test_an_organisation_captures_at_its_sites_and_owns_what_it_captured(uow: UnitOfWork) -> None:
    _registry(uow)
    done = events.capture_document(uow, _doc(object_event(1), object_event(2)), owner=MINER)
    assert done.captured == 2
    with uow.reading() as conn:
        owners = set(conn.execute(select(schema.event.c.owner)).scalars())
    assert owners == {organisation_id(MINER)}
    assert verify(uow).ok


def test_a_capture_at_another_organisations_site_is_refused_whole(uow: UnitOfWork) -> None:
    _registry(uow)
    at_plant = object_event(3, bizLocation={"id": PLANT})
    with pytest.raises(Forbidden) as refused:
        events.capture_document(uow, _doc(object_event(1), at_plant), owner=MINER)
    message = str(refused.value)
    assert "bizLocation" in message and site_id(PLANT) in message
    assert organisation_id(REFINER) in message and "(Refiner)" in message
    assert _stored(uow) == 0
    # a part of the mine (a GLN extension) is the mine: the refiner may not write there either
    with pytest.raises(Forbidden, match="readPoint"):
        events.capture_document(uow, _doc(object_event(4, readPoint={"id": MINE_GATE})), REFINER)
    # a duplicate of a stored event is refused too: the document is judged whole
    events.capture_document(uow, _doc(object_event(5)), owner=MINER)
    with pytest.raises(Forbidden):
        events.capture_document(uow, _doc(object_event(5)), owner=REFINER)
    assert _stored(uow) == 1
    # the operator (no organisation) may capture anywhere; a location nobody owns is open
    events.capture_document(uow, _doc(at_plant), owner=None)
    elsewhere = {"id": "urn:epc:id:sgln:9999999.00001.0"}
    open_event = object_event(6, bizLocation=elsewhere, readPoint=elsewhere)
    events.capture_document(uow, _doc(open_event), owner=REFINER)
    assert _stored(uow) == 3


def test_a_delegated_site_takes_the_delegates_events_until_revoked_or_sold(
    uow: UnitOfWork,
) -> None:
    _registry(uow)
    shipped = object_event(7, bizStep="shipping", action="OBSERVE")
    with pytest.raises(Forbidden):
        events.capture_document(uow, _doc(shipped), owner=CARRIER)
    assert organisations.delegate(uow, MINE, CARRIER).added == 1
    assert events.capture_document(uow, _doc(shipped), owner=CARRIER).captured == 1
    assert organisations.delegate(uow, MINE, CARRIER, granted=False).removed == 1
    with pytest.raises(Forbidden):
        events.capture_document(uow, _doc(object_event(8)), owner=CARRIER)
    organisations.delegate(uow, MINE, CARRIER)
    organisations.assign(uow, MINE, REFINER)  # the mine changes hands: its rights end
    with pytest.raises(Forbidden):
        events.capture_document(uow, _doc(object_event(9)), owner=CARRIER)
    assert verify(uow).ok


def test_acts_naming_what_is_not_registered_are_refused_and_not_recorded(
    uow: UnitOfWork,
) -> None:
    _registry(uow)
    with uow.reading() as conn:
        before = conn.execute(select(func.count()).select_from(schema.import_record)).scalar()
    unknown = "urn:epc:id:pgln:9999999.00000"
    with pytest.raises(ImportConflict, match="no such organisation"):
        organisations.assign(uow, PLANT, unknown)
    with pytest.raises(ImportConflict, match="no organisation owns it"):
        organisations.delegate(uow, "urn:epc:id:sgln:9999999.00001.0", CARRIER)
    with pytest.raises(ImportConflict, match="needs no delegation"):
        organisations.delegate(uow, MINE, MINER)
    with pytest.raises(InvalidIdentifier, match="no such organisation"):
        events.capture_document(uow, _doc(object_event(1)), owner=unknown)
    with pytest.raises(InvalidIdentifier, match="no such organisation"):
        clients.create(uow, "erp", ["query"], organisation=unknown)
    with pytest.raises(InvalidIdentifier):
        organisations.create(uow, MINE, "a site is no party")
    with uow.reading() as conn:
        after = conn.execute(select(func.count()).select_from(schema.import_record)).scalar()
    assert after == before and _stored(uow) == 0


def test_an_events_owner_or_a_sites_owner_changed_by_hand_fails_verification(
    uow: UnitOfWork,
) -> None:
    _registry(uow)
    events.capture_document(uow, _doc(object_event(1)), owner=MINER)
    with uow.engine.begin() as conn:
        conn.execute(update(schema.event).values(owner=organisation_id(REFINER)))
    report = verify(uow)
    assert not report.ok and report.failure is not None and report.failure.seq == 1
    with uow.engine.begin() as conn:
        conn.execute(update(schema.event).values(owner=organisation_id(MINER)))
        conn.execute(update(schema.site_owner).values(organisation=organisation_id(MINER)))
    report = verify(uow)
    assert not report.ok and "site" in str(report.import_failure)


def test_a_client_acts_for_its_organisation_or_for_the_operator(uow: UnitOfWork) -> None:
    _registry(uow)
    made = clients.create(uow, "mine ERP", ["capture"], organisation="6111111000002")
    assert made.organisation == organisation_id(MINER)
    operator = clients.create(uow, "ops", ["admin"], organisation=None)
    assert operator.organisation is None
    assert [c.organisation for c in clients.every(uow)] == [made.organisation, None]


def test_shares_are_granted_listed_and_revoked_as_ledger_records(uow: UnitOfWork) -> None:
    """Issue 16.2: a share is a ledger record; verify replays it; a share row changed by hand
    fails verification; what names an unknown organisation or breaks a rule is refused and
    not recorded."""
    _registry(uow)
    granted = organisations.grant(
        uow,
        {"owner": REFINER, "grantee": MINER, "scope": {"bizSteps": ["shipping"]},
         "withheld": ["ilmd"], "footprint": "total", "custody": "claims"},
    )  # fmt: skip
    assert granted.owner == organisation_id(REFINER) and granted.grantee == organisation_id(MINER)
    assert [s.id for s in organisations.shares(uow)] == [granted.id]
    assert organisations.shares(uow, CARRIER) == []
    assert [s.id for s in organisations.shares(uow, MINER)] == [granted.id]
    assert verify(uow).ok
    with uow.engine.begin() as conn:
        widened = orjson.dumps(granted.to_json() | {"withheld": []}).decode()
        conn.execute(update(schema.share).values(content=widened))
    report = verify(uow)
    assert not report.ok and "share" in str(report.import_failure)
    with uow.engine.begin() as conn:
        conn.execute(update(schema.share).values(content=orjson.dumps(
            granted.to_json(), option=orjson.OPT_SORT_KEYS).decode()))  # fmt: skip
    assert verify(uow).ok
    with uow.reading() as conn:
        before = conn.execute(select(func.count()).select_from(schema.import_record)).scalar()
    unknown = "urn:epc:id:pgln:9999999.00000"
    with pytest.raises(ImportConflict, match="no such organisation"):
        organisations.grant(uow, {"owner": REFINER, "grantee": unknown})
    with pytest.raises(ShareError, match=r"products\[0\]"):
        organisations.grant(
            uow, {"owner": REFINER, "grantee": MINER, "scope": {"products": ["urn:x:1"]}}
        )
    with pytest.raises(ImportConflict, match="no such share"):
        organisations.revoke(uow, granted.id + 1000)
    with uow.reading() as conn:
        after = conn.execute(select(func.count()).select_from(schema.import_record)).scalar()
    assert after == before
    organisations.revoke(uow, granted.id)
    assert organisations.shares(uow) == [] and verify(uow).ok


def test_a_contract_is_read_by_its_parties_alone(uow: UnitOfWork) -> None:
    """Issue 16.3: contract status shows an organisation the agreements it is a party of;
    another's agreement answers as no agreement at all."""
    from batterytrace.contracts.agreement import Agreement
    from batterytrace.scenario.generator import contract
    from batterytrace.services import contracts

    _registry(uow)
    organisations.create(uow, "urn:epc:id:pgln:3700000.00000", "Carmaker")
    agreement = Agreement.from_json(contract(0.001))
    contracts.import_contracts(uow, [agreement])
    for party in ("urn:epc:id:pgln:3700000.00000", MINER, None):  # buyer, seller, operator
        shown = contracts.status_json(uow, reader=party)["contracts"]
        assert [c["agreement"]["id"] for c in shown] == [agreement.id]
        assert contracts.status_json(uow, agreement.id, reader=party)["contracts"]
    assert contracts.status_json(uow, reader=REFINER)["contracts"] == []
    with pytest.raises(contracts.NoSuchContract) as hidden:
        contracts.status_json(uow, agreement.id, reader=REFINER)
    nowhere = "https://example.com/no-such-agreement"
    with pytest.raises(contracts.NoSuchContract) as absent:
        contracts.status_json(uow, nowhere, reader=REFINER)
    assert str(hidden.value).replace(agreement.id, "ID") == str(absent.value).replace(nowhere, "ID")


def test_the_same_act_twice_changes_nothing_and_an_xml_document_is_judged_alike(
    uow: UnitOfWork,
) -> None:
    """An organisation created again, a site assigned again and a share granted again record
    nothing; a document in the XML syntax (examples/02) is refused at another's site as
    JSON-LD is."""
    from pathlib import Path

    _registry(uow)
    terms = {"owner": REFINER, "grantee": MINER, "scope": {"bizSteps": ["shipping"]}}
    first = organisations.grant(uow, terms)
    with uow.reading() as conn:
        before = conn.execute(select(func.count()).select_from(schema.import_record)).scalar()
    assert not organisations.create(uow, REFINER, "Refiner").changed
    assert not organisations.assign(uow, PLANT, REFINER).changed
    assert organisations.grant(uow, terms).id == first.id
    assert [s.id for s in organisations.shares(uow)] == [first.id]
    with uow.reading() as conn:
        after = conn.execute(select(func.count()).select_from(schema.import_record)).scalar()
    assert after == before
    organisations.assign(uow, "urn:epc:id:sgln:3012345.00100.0", REFINER)  # the XML's plant
    xml = Path(__file__).resolve().parents[2] / "examples" / "02-sulfate-to-cells.xml"
    with pytest.raises(Forbidden, match=re.escape(site_id("urn:epc:id:sgln:3012345.00100.0"))):
        events.capture(uow, xml, owner=MINER)
    assert _stored(uow) == 0
    done = events.capture(uow, xml, owner=REFINER)  # its own plant, and sites nobody owns
    assert done.captured == len(documents.read(xml).events) == _stored(uow) > 0
