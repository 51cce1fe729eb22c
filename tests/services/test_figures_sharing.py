"""A footprint as an organisation may see it (issue 16.3, decision 041): whole for the
product's maker or a share giving the breakdown, the total and class alone at `total`, as no
product at all without a share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batterytrace.errors import Forbidden
from batterytrace.organisations import site_id
from batterytrace.scenario.generator import PACK, PCAM_PLANT
from batterytrace.services import carbon, custody, events, organisations, trace
from batterytrace.services.unit_of_work import UnitOfWork
from factories import scenario_store

MAKER, REFINER = "urn:epc:id:pgln:3700000.00000", "urn:epc:id:pgln:3012345.00000"


@pytest.fixture
def made(uow: UnitOfWork, scenario: Path) -> str:
    """The scenario stored, its events captured by the carmaker (no site is assigned, so it
    may); the last pack assembled."""
    for org, name in ((MAKER, "Carmaker"), (REFINER, "Refiner")):
        organisations.create(uow, org, name)
    return scenario_store(uow, scenario, owner=MAKER)


def test_a_footprint_is_shown_as_far_as_its_maker_shares_it(uow: UnitOfWork, made: str) -> None:
    whole = carbon.footprint_json(uow, made, draws=200)
    assert carbon.footprint_json(uow, made, draws=200, reader=MAKER) == whole
    with pytest.raises(carbon.NotAProduct) as hidden:
        carbon.footprint_json(uow, made, draws=200, reader=REFINER)
    nowhere = PACK.serial("999999999")
    with pytest.raises(carbon.NotAProduct) as absent:
        carbon.footprint_json(uow, nowhere, draws=200, reader=REFINER)
    assert str(hidden.value).replace(made, "ID") == str(absent.value).replace(nowhere, "ID")
    with pytest.raises(carbon.NotAProduct):
        carbon.pact_footprint(uow, made, reader=REFINER)

    share = organisations.grant(uow, {"owner": MAKER, "grantee": REFINER, "footprint": "total"})
    total = carbon.footprint_json(uow, made, draws=200, reader=REFINER)
    assert (
        total["kgCO2e"] == whole["kgCO2e"]
        and total["performanceClass"] == whole["performanceClass"]
    )
    assert total["uncertainty"] == whole["uncertainty"]
    for hidden_key in ("byStage", "byMaterial", "byFactor", "dataQualityRatings", "missing"):
        assert hidden_key not in total
    assert set(total["provenance"]) == {"boundary", "gwp100", "shared"}
    with pytest.raises(Forbidden, match="breakdown"):
        carbon.footprint_json(uow, made, draws=200, explained=True, reader=REFINER)
    shared_pact = carbon.pact_footprint(uow, made, reader=REFINER)
    own_pact = carbon.pact_footprint(uow, made)
    assert shared_pact["pcf"] == own_pact["pcf"] and shared_pact["id"] == own_pact["id"]

    organisations.revoke(uow, share.id)
    organisations.grant(uow, {"owner": MAKER, "grantee": REFINER, "footprint": "breakdown"})
    again = carbon.footprint_json(uow, made, draws=200, reader=REFINER)
    assert again | {"version": 0} == whole | {"version": 0}  # the shares moved the ledger


def test_custody_claims_balances_and_acts_follow_the_shares(
    uow: UnitOfWork, made: str, scenario: Path
) -> None:
    """A lot's claims and a battery's recycled shares at custody `claims`; a site's accounts
    at `balances`; an allocation only by the site's owner."""

    organisations.assign(uow, PCAM_PLANT.sgln, MAKER)
    accounts = custody.balances(uow).accounts
    assert accounts and custody.balances(uow, reader=MAKER).accounts == [
        a for a in accounts if a.site == site_id(PCAM_PLANT.sgln)
    ]
    lot = next(r.lot for r in _reports(uow) if r.claims)
    assert custody.report(uow, lot, MAKER).claims == custody.report(uow, lot).claims
    assert custody.report(uow, lot, REFINER).claims == []
    assert custody.balances(uow, reader=REFINER).accounts == []
    with pytest.raises(trace.Untraced):
        custody.recycled_json(uow, made, REFINER)
    organisations.grant(uow, {"owner": MAKER, "grantee": REFINER, "custody": "claims"})
    assert custody.report(uow, lot, REFINER).claims == custody.report(uow, lot).claims
    assert custody.recycled_json(uow, made, REFINER) == custody.recycled_json(uow, made)
    assert custody.balances(uow, reader=REFINER).accounts == []  # claims, not balances
    organisations.grant(uow, {"owner": MAKER, "grantee": REFINER, "custody": "balances"})
    assert (
        custody.balances(uow, reader=REFINER).accounts
        == custody.balances(uow, reader=MAKER).accounts
    )
    act = custody.Allocate(lot=lot, claim=accounts[0].claim, kg={accounts[0].element: 0.001},
                           site=PCAM_PLANT.sgln)  # fmt: skip
    with pytest.raises(Forbidden, match="not a site of"):
        custody.allocate(uow, act, REFINER)


def _reports(uow: UnitOfWork) -> list[Any]:
    """The custody report of every lot shipped."""
    lots = {e.quantityList[0].epcClass for e in events.query_all(uow, {"EQ_bizStep": "shipping"})
            if e.quantityList}  # fmt: skip
    return [custody.report(uow, lot) for lot in sorted(lots)]


def test_a_summary_shows_what_each_part_is_shared_at(uow: UnitOfWork, made: str) -> None:
    from batterytrace.services.summary import summary

    whole = summary(uow, made)
    assert summary(uow, made, MAKER) == whole
    with pytest.raises(trace.Untraced):
        summary(uow, made, REFINER)
    organisations.grant(
        uow,
        {"owner": MAKER, "grantee": REFINER, "scope": {"eventTypes": ["AggregationEvent"]},
         "footprint": "total"},
    )  # fmt: skip
    shown = summary(uow, made, REFINER)
    assert shown.footprint == whole.footprint and whole.footprint is not None
    assert shown.origin == shown.recycled == shown.claims == shown.contracts == []
    assert whole.origin and shown.id == whole.id
