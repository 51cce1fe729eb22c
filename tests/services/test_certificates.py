"""Certificates, assessments, ratings and memberships (issue 17.1, decision 044): records read
from JSON and CSV with every rule named, kept as ledger records with their history, listed
per party and site with their validity on a day, beside what the events cite."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from batterytrace.certificates import CSV_COLUMNS, Certificate, read_certificates
from batterytrace.errors import CertificateError, MissingMasterData
from batterytrace.organisations import organisation_id, site_id
from batterytrace.scenario.generator import MINE, REFINERY, RMAP_CERTIFICATE
from batterytrace.services import certificates, ledger
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import schema
from factories import scenario_store

MANAGEM = "urn:epc:id:pgln:6111111.00000"
EVIDENCE = "a" * 64


def _rmap(**changes: Any) -> dict[str, Any]:
    record = {
        "id": RMAP_CERTIFICATE,
        "scheme": "RMAP",
        "schemeVersion": "Cobalt Refiner Supply Chain Due Diligence Standard 2.0",
        "issuer": "Responsible Minerals Initiative",
        "assessor": "an accredited audit firm",
        "holder": MANAGEM,
        "sites": [REFINERY.sgln],
        "materials": ["Co"],
        "status": "conformant",
        "validFrom": "2025-01-01",
        "validUntil": "2026-06-30",
        "evidence": "https://certificates.example.org/rmi-rmap/managem-guemassa.pdf",
        "evidenceSha256": EVIDENCE,
    }
    return record | changes


FCA = {
    "id": "https://certificates.example.org/fca/managem",
    "scheme": "FCA",
    "issuer": "Fair Cobalt Alliance",
    "holder": MANAGEM,
    "status": "member",
    "validFrom": "2021-03-01",
}


@pytest.fixture
def stored(uow: UnitOfWork, scenario: Path) -> UnitOfWork:
    scenario_store(uow, scenario)
    return uow


def _write(tmp_path: Path, records: list[dict[str, Any]], name: str = "c.json") -> Path:
    path = tmp_path / name
    if name.endswith(".csv"):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for r in records:
            writer.writerow({k: " ".join(v) if isinstance(v, list) else v for k, v in r.items()})
        path.write_text(out.getvalue(), encoding="utf-8")
    else:
        path.write_bytes(orjson.dumps({"certificates": records}))
    return path


def test_json_and_csv_give_the_same_records(tmp_path: Path) -> None:
    records = [_rmap(), FCA]
    from_json = read_certificates(_write(tmp_path, records))
    from_csv = read_certificates(_write(tmp_path, records, "c.csv"))
    assert from_json == from_csv
    rmap, fca = from_json
    assert rmap.holder == organisation_id(MANAGEM) and rmap.sites == (site_id(REFINERY.sgln),)
    assert (rmap.kind, fca.kind) == ("assessment", "membership")
    assert Certificate.from_json(rmap.to_json()) == rmap


def test_validity_is_judged_on_a_day() -> None:
    rmap = Certificate.from_json(_rmap())
    days = ("2024-12-31", "2025-01-01", "2026-06-30", "2026-07-01")
    assert [rmap.valid_on(date.fromisoformat(d)) for d in days] == [False, True, True, False]
    suspended = Certificate.from_json(_rmap(status="suspended"))
    assert not suspended.valid_on(date(2025, 6, 1))
    open_ended = Certificate.from_json(FCA)
    assert open_ended.valid_on(date(2099, 1, 1))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"scheme": "RMI"}, "$.certificates[0].scheme: 'RMI' is not a scheme"),
        ({"status": "great"}, "$.certificates[0].status: 'great' is not one of"),
        ({"validFrom": "2025-13-01"}, "$.certificates[0].validFrom: '2025-13-01' is not a date"),
        ({"validUntil": "2024-01-01"}, "$.certificates[0].validUntil: 2024-01-01 is before"),
        ({"evidenceSha256": "ABC"}, "$.certificates[0].evidenceSha256: not 64"),
        ({"materials": ["cobalt"]}, "$.certificates[0].materials[0]: 'cobalt' is neither"),
        ({"holder": REFINERY.sgln}, "$.certificates[0].holder:"),
        ({"sites": [MANAGEM]}, "$.certificates[0].sites[0]:"),
        ({"valid": True}, "$.certificates[0].valid: unknown field"),
        ({"issuer": ""}, "$.certificates[0].issuer: must not be empty"),
        ({"scheme": "FCA", "status": "certified"}, "a FCA record is a membership"),
    ],
)
def test_a_bad_record_is_refused_naming_the_field(
    tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    with pytest.raises(CertificateError) as refused:
        read_certificates(_write(tmp_path, [_rmap(**change)]))
    assert str(refused.value).startswith(f"{tmp_path / 'c.json'}: ")
    assert words in str(refused.value)


def test_records_are_ledger_records_with_their_history(stored: UnitOfWork, tmp_path: Path) -> None:
    first = certificates.import_certificates(
        stored, read_certificates(_write(tmp_path, [_rmap(), FCA]))
    )
    assert (first.added, first.replaced) == (2, 0)
    again = certificates.import_certificates(stored, read_certificates(_write(tmp_path, [_rmap()])))
    assert (again.changed, again.unchanged) == (False, 1)
    suspended = read_certificates(_write(tmp_path, [_rmap(status="suspended")]))
    assert certificates.import_certificates(stored, suspended).replaced == 1
    versions = certificates.history(stored, RMAP_CERTIFICATE)
    assert [c.status for _, c in versions] == ["conformant", "suspended"]
    listed = certificates.listing(stored, MANAGEM, on=date(2025, 6, 1))
    assert {c.cited for c in listed.certificates} == {None}  # by party: no events read
    assert {(c.certificate.id, c.valid) for c in listed.certificates} == {
        (RMAP_CERTIFICATE, False),  # suspended: in force, not vouching
        (FCA["id"], True),
    }
    assert ledger.verify(stored).ok
    with stored.keeping("hand edit") as conn:
        conn.execute(
            update(schema.certificate).values(holder="https://id.gs1.org/417/0000000000000")
        )
    report = ledger.verify(stored)
    assert not report.ok
    assert f"certificate {FCA['id']} 5: differs from what import record 5" in str(
        report.import_failure
    )


def test_an_import_names_holders_and_sites_the_master_data_do_not_have(
    stored: UnitOfWork, tmp_path: Path
) -> None:
    stranger = _rmap(holder="urn:epc:id:pgln:0000001.00000", sites=[])
    with pytest.raises(MissingMasterData, match=r"party https://id\.gs1\.org/417/0000001000009"):
        certificates.import_certificates(stored, read_certificates(_write(tmp_path, [stranger])))
    others = _rmap(sites=["urn:epc:id:sgln:3012345.00100.0"])  # the precursor plant's
    with pytest.raises(CertificateError, match="is not a site of its holder"):
        certificates.import_certificates(stored, read_certificates(_write(tmp_path, [others])))
    twice = read_certificates(_write(tmp_path, [_rmap(), FCA])) * 2
    with pytest.raises(CertificateError, match="given 2 times"):
        certificates.import_certificates(stored, twice)
    assert certificates.listing(stored, MANAGEM).certificates == []


def test_a_site_lists_the_records_covering_it_beside_what_its_events_cite(
    stored: UnitOfWork, tmp_path: Path
) -> None:
    at_refinery = certificates.listing(stored, site=REFINERY.sgln, on=date(2025, 6, 1))
    assert at_refinery.certificates == []
    (cited,) = at_refinery.unrecorded.items()  # the refinery's transformations cite RMAP
    assert cited[0] == RMAP_CERTIFICATE and cited[1] > 0
    certificates.import_certificates(stored, read_certificates(_write(tmp_path, [_rmap(), FCA])))
    listed = certificates.listing(stored, site=REFINERY.sgln, on=date(2025, 6, 1))
    assert [(c.certificate.id, c.valid, c.cited) for c in listed.certificates] == [
        (FCA["id"], True, 0),  # the whole party's
        (RMAP_CERTIFICATE, True, cited[1]),
    ]
    assert listed.unrecorded == {}
    at_mine = certificates.listing(stored, site=MINE.sgln, on=date(2025, 6, 1))
    assert [c.certificate.id for c in at_mine.certificates] == [FCA["id"]]  # RMAP: the refinery
    assert listed.to_json()["certificates"][1]["citedByEvents"] == cited[1]
