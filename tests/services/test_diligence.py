"""Due-diligence checks over a genealogy (issue 17.2, decision 045): a supplier without a
valid assurance on an event's date, a certificate cited and not backed, steps not shared;
each flag naming its events and records; the checks not made said so."""

from __future__ import annotations

from pathlib import Path

import pytest

from batterytrace.certificates import read_certificates
from batterytrace.diligence import PathEvent, assurance, citations
from batterytrace.epcis.model import Document
from batterytrace.organisations import organisation_id, site_id
from batterytrace.scenario.generator import REFINERY, RMAP_CERTIFICATE
from batterytrace.services import certificates, diligence, organisations, trace
from batterytrace.services import events as events_service
from batterytrace.services.unit_of_work import UnitOfWork
from factories import T0, commission, lot, scenario_store, transform

ROOT = Path(__file__).resolve().parents[2]
MANAGEM, MAKER = "urn:epc:id:pgln:6111111.00000", "urn:epc:id:pgln:3700000.00000"
RECORDS = read_certificates(ROOT / "examples" / "certificates.json")
REFINERY_SITE, MANAGEM_PARTY = site_id(REFINERY.sgln), organisation_id(MANAGEM)


def _at(day: str, cited: tuple[str, ...] = (), party: str = MANAGEM_PARTY) -> PathEvent:
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return PathEvent(f"k-{day}", f"e-{day}", moment, REFINERY_SITE, party, None, cited)


def test_an_assessment_vouches_for_its_site_on_the_days_it_is_valid() -> None:
    """The example RMAP assessment covers the refinery from 2024-09-01 to 2027-08-31; the
    FCA membership (context, not assurance) never vouches."""
    events = [_at("2025-03-01"), _at("2027-08-31"), _at("2027-09-01"), _at("2031-01-01")]
    (flag,) = assurance(events, RECORDS)
    assert flag.events == ("e-2027-09-01", "e-2031-01-01")
    assert flag.records == (RMAP_CERTIFICATE,)
    assert "2 event(s), 2027-09-01 to 2031-01-01" in flag.message
    only_membership = [r for r in RECORDS if r.scheme == "FCA"]
    (unassured,) = assurance(events[:1], only_membership)
    assert unassured.events == ("e-2025-03-01",)


def test_a_cited_certificate_backs_only_its_holders_events_while_valid() -> None:
    events = [
        _at("2025-03-01", (RMAP_CERTIFICATE,)),
        _at("2028-01-01", (RMAP_CERTIFICATE,)),
        _at("2025-03-01", ("https://certificates.example.org/unknown",)),
        _at("2025-03-02", (RMAP_CERTIFICATE,), party=organisation_id(MAKER)),
    ]
    flags = {
        f.message.split(": ", 1)[1]: f.events for f in citations(events, {r.id: r for r in RECORDS})
    }
    assert flags == {
        "not valid on the event's date (conformant, valid 2024-09-01 to 2027-08-31)": (
            "e-2028-01-01",
        ),
        "no record of it (certificate import)": ("e-2025-03-01",),
        f"held by {MANAGEM_PARTY}, not by the site's party {organisation_id(MAKER)}": (
            "e-2025-03-02",
        ),
    }


def test_a_packs_genealogy_flags_each_supplier_without_an_assurance(
    uow: UnitOfWork, scenario: Path
) -> None:
    """The last pack (2031): every supplier site on its genealogy is flagged once the example
    records are imported but the refinery's RMAP has run out (2027) and most sites have none;
    the precursor plant's ISO 14001 (to 2028) has run out too. The checks not made are named."""
    organisations.create(uow, MAKER, "Carmaker")
    pack = scenario_store(uow, scenario, owner=MAKER)
    before = diligence.check(uow, pack)
    certificates.import_certificates(uow, RECORDS)
    found = diligence.check(uow, pack)
    assert found.events > 0
    sites = {f.message.split(" ")[1] for f in found.flags if f.check == "assurance"}
    assert REFINERY_SITE in sites and site_id("urn:epc:id:sgln:6111111.00100.0") in sites  # mine
    assert {f.message.split(" ")[1] for f in before.flags if f.check == "assurance"} == sites
    (cited,) = [f for f in found.flags if f.check == "citations"]
    assert cited.records == (RMAP_CERTIFICATE,) and "not valid on the event's date" in cited.message
    assert [f.check for f in before.flags if f.check == "citations"] == ["citations"]
    assert "no record of it" in next(f.message for f in before.flags if f.check == "citations")
    assert set(found.not_checked) == {"areas", "artisanal", "claims", "ledger"}
    assert found.checked == ["assurance", "citations", "element mass", "shared"]
    body = found.to_json()
    assert all(
        len(f["events"]) <= 20 and f["eventCount"] >= len(f["events"]) for f in body["flags"]
    )


def test_steps_not_shared_are_named_by_who_holds_them(uow: UnitOfWork, scenario: Path) -> None:
    other = "urn:epc:id:pgln:0614141.00000"
    for org, name in ((MAKER, "Carmaker"), (other, "Buyer")):
        organisations.create(uow, org, name)
    pack = scenario_store(uow, scenario, owner=MAKER)
    scope = {"eventTypes": ["AggregationEvent"]}  # the packing, not the chemistry
    organisations.grant(uow, {"owner": MAKER, "grantee": other, "scope": scope})
    found = diligence.check(uow, pack, reader=other)
    shared = [f for f in found.flags if f.check == "shared"]
    assert len(shared) == 1 and f"step(s) of {organisation_id(MAKER)} are not" in shared[0].message
    assert diligence.check(uow, pack, reader=MAKER).flags == diligence.check(uow, pack).flags
    stranger = "urn:epc:id:pgln:6412345.00000"
    organisations.create(uow, stranger, "Nickel supplier")
    with pytest.raises(trace.Untraced):  # as for an object stored nowhere
        diligence.check(uow, pack, reader=stranger)


def test_more_element_out_than_in_on_the_path_is_flagged(uow: UnitOfWork) -> None:
    """A refining step that puts out 20 kg Co from a lot holding 10 kg: an element-mass flag
    naming the step, with the words `check` uses."""
    events = [commission("A", 1000, 0.01, 1), transform("S", {"A": 1000}, {"S": (100, 0.2)}, 2)]
    events_service.capture_document(uow, Document(creationDate=T0, events=events))
    (flag,) = [f for f in diligence.check(uow, lot("S")).flags if f.check == "element mass"]
    assert flag.severity == "high"
    assert flag.message.endswith("20 kg Co out but only 10 kg in: 10 kg from nothing")
