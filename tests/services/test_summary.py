"""services.summary on the agreement's scenario: each part equals what it is computed from
independently (the raw events and master data for origins, a recomputed custody state for
recycled shares, a fresh roll-up for the footprint, a recomputed delivery state for the
contracts), and the kept state it read equals a recomputation (decision 032)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.footprint import footprint, rollup
from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.intensity import intensities
from batterytrace.custody.flows import ELEMENTS
from batterytrace.custody.recycled import share
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.documents import read
from batterytrace.epcis.model import Event
from batterytrace.masterdata import read_master_data
from batterytrace.scenario.generator import PACK, VEHICLE, generate
from batterytrace.services import carbon, contracts, custody, derived, ledger, masterdata
from batterytrace.services import events as events_service
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.summary import summary
from batterytrace.services.trace import trace
from batterytrace.services.unit_of_work import UnitOfWork, version
from batterytrace.trace.genealogy import UnknownObject, backward
from batterytrace.trace.lineage import EventLineage, is_lot, node_id

SCALE = 0.0003


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[UnitOfWork, Path, list[Event]]:
    """The scenario captured with everything it comes with: master data, custody rules, the
    agreement, the carbon model."""
    out = tmp_path_factory.mktemp("summary")
    generate(out / "scenario", SCALE, seed=7)
    files = out / "scenario"
    uow = unit_of_work(f"sqlite:///{out / 'store.db'}", out / "ledger.key")
    ledger.init(uow)
    for path in sorted(files.glob("events-*.jsonld")):
        events_service.capture(uow, path)
    masterdata.import_master_data(uow, read_master_data(files / "masterdata.json"))
    rules = CustodyRules.from_json(orjson.loads((files / "custody.json").read_bytes()))
    custody.import_rules(uow, rules)
    (agreement,) = orjson.loads((files / "contracts.json").read_bytes())
    contracts.import_contracts(uow, [Agreement.from_json(agreement)])
    model = from_json(orjson.loads((files / "carbon.json").read_bytes()), "carbon.json")
    carbon.import_carbon(uow, model, "carbon.json")
    events = [e for path in sorted(files.glob("events-*.jsonld")) for e in read(path).events]
    return uow, files, events


def _last_pack(events: list[Event]) -> str:
    return next(
        e.parentID for e in reversed(events) if (e.parentID or "").startswith(PACK.serial(""))
    )


def test_origins_are_the_source_lots_by_the_country_of_the_site_that_made_them(
    chain: tuple[UnitOfWork, Path, list[Event]],
) -> None:
    """From the raw events: each source lot of the pack's trace was commissioned (an
    ObjectEvent ADD naming its class) at a site whose country the master data give."""
    uow, files, events = chain
    pack = _last_pack(events)
    answer = summary(uow, pack)
    data = read_master_data(files / "masterdata.json")
    country = {node_id(s.id): s.country for s in data.sites.values()}
    made_at = {
        node_id(q.epcClass): node_id((e.bizLocation or e.readPoint).id)  # type: ignore[union-attr]
        for e in events
        if e.type.value == "ObjectEvent" and e.action and e.action.value == "ADD"
        for q in e.quantityList
    }
    lineage = EventLineage(events)
    for origin in answer.origin:
        t = backward(lineage, pack, origin.element)
        expected: dict[str | None, float] = defaultdict(float)
        for o in t.objects.values():
            if is_lot(o.id) and not t.children(o.id) and o.share:
                expected[country.get(made_at.get(o.id, ""))] += o.share
        got = {c.country: c.share for c in origin.countries if c.share}
        assert got.keys() == expected.keys(), origin.element
        for where, value in expected.items():
            assert got[where] == pytest.approx(value, rel=1e-12)
        if origin.element == "Co":
            assert None not in got and len(got) >= 2  # a mine's and a recycler's country
            assert origin.unknown_share == pytest.approx(0.0, abs=1e-9)
            assert origin.element_kg == pytest.approx(t.start_kg, rel=1e-12)


def test_recycled_claims_footprint_and_contracts_equal_their_recomputation(
    chain: tuple[UnitOfWork, Path, list[Event]],
) -> None:
    uow, _, events = chain
    pack = _last_pack(events)
    answer = summary(uow, pack)
    state = custody.state(uow)  # recomputed from every event
    expected = [share(trace(uow, pack, "backward", e), state) for e in ELEMENTS]
    assert [(r.element, r.traced, r.claimed) for r in answer.recycled] == [
        (s.element, s.traced, s.claimed) for s in expected
    ]
    assert answer.recycled[0].traced and answer.recycled[0].traced > 0.01  # the recycling loop
    fresh = footprint(rollup(carbon.product_system(uow)), node_id(pack), 52.0)
    assert answer.footprint is not None and answer.footprint_error is None
    # kept as what it embodies (decision 034): the roll-up's sums, in another order
    assert answer.footprint.kg_co2e == pytest.approx(fresh.kg_co2e, rel=1e-13)
    assert answer.footprint.kg_co2e_per_kwh == pytest.approx(fresh.per_kwh, rel=1e-13)
    assert answer.footprint.performance_class == fresh.performance.label  # type: ignore[union-attr]
    assert answer.footprint.low < answer.footprint.kg_co2e < answer.footprint.high
    with uow.reading() as conn:
        recomputed = contracts.deliveries_of(conn)
        now = version(conn)
    (delivered,) = answer.contracts
    on_trace = {o for e in ELEMENTS for o in trace(uow, pack, "backward", e).objects}
    shipped = recomputed.shipments[delivered.agreement]
    assert delivered.lots == sorted(lot for lot in shipped if lot in on_trace)
    assert answer.version == now and set(answer.derived_at.values()) == {now}
    assert derived.check(uow) is None


def test_contract_status_from_kept_shipments_equals_the_recomputed_one(
    chain: tuple[UnitOfWork, Path, list[Event]],
) -> None:
    uow, _, _ = chain
    when = datetime(2029, 7, 1, tzinfo=UTC)
    kept = contracts.status(uow, as_of=when)
    with uow.reading() as conn:
        state = contracts.deliveries_of(conn)
    (report,) = kept.contracts
    (agreement,) = state.agreements
    years = state.status(agreement, intensities(), when)
    assert [y.model_dump() for y in report.years] == [
        contracts.Year.of(y).model_dump() for y in years
    ]
    assert report.term.delivered_kg == pytest.approx(sum(y.delivered for y in years), rel=1e-15)
    body = orjson.loads(kept.model_dump_json())
    assert datetime.fromisoformat(body["asOf"]) == when
    assert body["asOfSource"] == "--as-of" and body["unit"] == "kg"


def test_a_vehicle_says_why_it_has_no_footprint_and_an_unknown_id_is_refused(
    chain: tuple[UnitOfWork, Path, list[Event]],
) -> None:
    uow, _, events = chain
    vehicle = next(
        e.parentID for e in reversed(events) if (e.parentID or "").startswith(VEHICLE.serial(""))
    )
    answer = summary(uow, vehicle)
    assert answer.footprint is None and answer.kind == "vehicle"
    assert "outside the battery's cradle-to-gate boundary" in (answer.footprint_error or "")
    assert answer.origin[0].countries  # its pack's cobalt still has its origins
    with pytest.raises(UnknownObject, match="NOPE: no stored event mentions"):
        summary(uow, "urn:epc:id:sgtin:0000000.000000.NOPE")
