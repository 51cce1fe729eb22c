"""What a carbon import changes over the stored model (decision 016): the data of one site,
period, kind and factor as one statement, settings one by one."""

from __future__ import annotations

from typing import Any

from batterytrace.carbon.activity import Model, change, from_json

SITE = "urn:epc:id:sgln:6111111.00200.0"


def _datum(**fields: Any) -> dict[str, Any]:
    return {"site": SITE, "period": "2025", "kind": "electricity", "unit": "kWh"} | fields


def _model(*data: dict[str, Any]) -> Model:
    return from_json({"activities": list(data)}, "m.json")


def test_a_mix_is_one_datum_whatever_the_order_of_its_factors() -> None:
    stored = _model(_datum(mix={"wind": 0.8, "grid": 0.2}, amount=100))
    same = change(stored, _model(_datum(mix={"grid": 0.2, "wind": 0.8}, amount=100)))
    assert (same.added, same.replaced, same.unchanged) == (0, [], 1)
    shares = change(stored, _model(_datum(mix={"grid": 0.5, "wind": 0.5}, amount=100)))
    assert shares.replaced == [
        "a datum for site https://id.gs1.org/414/6111111002006, period 2025, kind electricity, "
        "factor grid+wind (m.json: activities[0])"
    ]
    other = change(stored, _model(_datum(factor="grid", amount=100)))  # another factor: added
    assert (other.added, other.replaced) == (1, [])


def test_rows_of_one_key_in_one_file_are_one_statement() -> None:
    two = (_datum(factor="grid", amount=60), _datum(factor="grid", amount=40))
    stored = _model(*two)
    assert change(stored, _model(*reversed(two))).unchanged == 2
    one = change(stored, _model(_datum(factor="grid", amount=100)))
    assert len(one.replaced) == 1  # 100 kWh in one row is not what was stated
    merged = stored.merged(one.kept)
    assert [a.amount for a in merged.activities] == [100]  # replaced, not added to
    process = _datum(kind="process", unit="kgCO2e", amount=5)
    assert stored.merged(_model(process)).activities[-1].key[3] == "-"
    assert len(stored.merged(_model(process)).activities) == 3  # other keys add up
