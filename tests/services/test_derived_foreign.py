"""Every kept unit on data written as other tools write it (the project's examples: CBV 2.0
shipments placed by their source list, one document in XML, serials commissioned then
aggregated), with every input a unit reads (custody rules, an agreement, a carbon model and
factors) and allocations at the cathode plant: the events captured one by one in any order,
late ones included, the kept state equals a recomputation after each capture, on SQLite and
PostgreSQL (decisions 033-035); and so after each of GS1's own example files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.claims import parse_claim
from batterytrace.custody.flows import allocation_event
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis import documents
from batterytrace.epcis.model import Document, Event
from batterytrace.errors import BatteryTraceError
from batterytrace.services import carbon, contracts, custody, derived, events, masterdata
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.trace.lineage import node_id
from carbon_examples import (
    BOU_AZZER,
    CAM,
    CATHODES,
    DOCUMENTS,
    EXAMPLE_FACTORS,
    EXAMPLES,
    master_data_of_examples,
    model_of_examples,
)
from factories import empty_store

RULES = {
    "origins": [{"claim": "origin:MA", "site": BOU_AZZER, "evidence": {"reference": "PERMIT-1"}}],
    "policies": [{"site": CATHODES, "claim": "origin:MA", "model": "mass-balance",
                  "period": "month"}],
}  # fmt: skip
AGREEMENT = {
    "id": "urn:uuid:offtake-examples", "buyer": "urn:epc:id:pgln:3700000.00000",
    "seller": "urn:epc:id:pgln:6111111.00000", "product": "urn:epc:idpat:sgtin:6111111.000201.*",
    "formula": "CoSO4·7H2O", "startYear": 2025, "years": 2, "annualKg": 10000,
    "deliveryTerms": "DAP", "deliverySite": CATHODES,
    "purchaseOrders": ["urn:epc:id:gdti:3700000.00001.CO-OFT-2025-001"],
}  # fmt: skip


def _events() -> list[Event]:
    """The examples' events, and two allocations of the cathode lot's cobalt at the plant
    (March, then February)."""
    read = [e for name in DOCUMENTS for e in documents.read(EXAMPLES / name).events]
    claim = parse_claim("origin:MA")
    return read + [
        allocation_event(node_id(CAM), claim, {"Co": kg}, CATHODES, when)
        for kg, when in ((1.0, datetime(2025, 3, 25, tzinfo=UTC)),
                         (0.5, datetime(2025, 2, 20, tzinfo=UTC)))
    ]  # fmt: skip


EVENTS = _events()


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=st.permutations(range(len(EVENTS))))
def test_examples_in_any_order_keep_every_unit_equal_to_a_recomputation(
    uow: UnitOfWork, order: list[int]
) -> None:
    empty_store(uow)
    masterdata.import_master_data(uow, master_data_of_examples())
    custody.import_rules(uow, CustodyRules.from_json(RULES))
    contracts.import_contracts(uow, [Agreement.from_json(AGREEMENT)])
    carbon.import_carbon(uow, from_json(model_of_examples(), "ex.json"), "ex.json")
    carbon.import_factors(uow, read_csv(EXAMPLE_FACTORS, "test", "1"))
    carbon.use_factors(uow, "test@1")
    for n in order:
        events.capture_document(uow, Document(creationDate=EVENTS[n].eventTime,
                                              events=[EVENTS[n]]))  # fmt: skip
        assert derived.check(uow) is None, EVENTS[n].eventID
    state, _ = contracts.deliveries(uow)
    assert state.shipments.get(AGREEMENT["id"]), "the sulfate lot ships under the agreement"
    claims = custody.report(uow, CAM).claims
    assert [c.claim for c in claims] == ["origin:MA"]


def test_gs1_example_files_one_by_one_keep_every_unit_equal_to_a_recomputation(
    uow: UnitOfWork, conformance: Path
) -> None:
    """GS1's own EPCIS 2.0 example files (JSON-LD, then XML), captured one by one on a store
    with every unit's inputs: each one refused whole or kept, and the kept state equal to a
    recomputation after each."""
    masterdata.import_master_data(uow, master_data_of_examples())
    custody.import_rules(uow, CustodyRules.from_json(RULES))
    contracts.import_contracts(uow, [Agreement.from_json(AGREEMENT)])
    carbon.import_carbon(uow, from_json(model_of_examples(), "ex.json"), "ex.json")
    gs1 = conformance / "epcis" / "gs1"
    files = sorted((gs1 / "examples-jsonld").rglob("*.jsonld"))
    files += sorted((gs1 / "examples-xml").rglob("*.xml"))
    captured = 0
    for path in files:
        try:
            events.capture(uow, path)
            captured += 1
        except BatteryTraceError:
            pass  # refused whole (a rule the example breaks, a duplicate): nothing kept
        assert derived.check(uow) is None, path.name
    assert captured > len(files) // 2
