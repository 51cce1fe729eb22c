"""Certificates, assessments, ratings and memberships that vouch for a supplier (issue 17.1):
who issued what to whom, under which scheme, for which sites and materials, valid when, and
the evidence behind it (a document's reference and SHA-256).

The record is the generic one of the research notes (reference/battery.md §4.2), which maps
onto the Battery Pass ``thirdPartyAssurances`` and Catena-X ``thirdPartyAssurance``. What a
scheme is fixes what its records are: RMI RMAP and IRMA assess, ISO 14001 certifies, EcoVadis
rates, the Fair Cobalt Alliance has members (never a product certification). Validity is
judged at a date (an event's, a shipment's), never only today: a record is valid on the days
from ``valid_from`` to ``valid_until`` while its status is a standing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from batterytrace.errors import CertificateError, InvalidIdentifier
from batterytrace.organisations import organisation_id, site_id

# scheme -> (what it is called, what its records are)
SCHEMES: dict[str, tuple[str, str]] = {
    "RMAP": ("RMI Responsible Minerals Assurance Process", "assessment"),
    "IRMA": ("Initiative for Responsible Mining Assurance", "assessment"),
    "CIRAF": ("Cobalt Institute Cobalt Industry Responsible Assessment Framework", "assessment"),
    "LME_RS": ("LME Responsible Sourcing", "assessment"),
    "ISO14001": ("ISO 14001 environmental management system", "certificate"),
    "ISO45001": ("ISO 45001 occupational health and safety", "certificate"),
    "ISO9001": ("ISO 9001 quality management system", "certificate"),
    "EU_BR_DD": ("EU Battery Regulation due-diligence verification (Art. 48, 51)", "certificate"),
    "EcoVadis": ("EcoVadis sustainability rating", "rating"),
    "FCA": ("Fair Cobalt Alliance", "membership"),
}
# A record vouches while its status is one of these; the others say why it does not.
STANDING = ("conformant", "active", "certified", "rated", "member")
LAPSED = ("suspended", "withdrawn", "expired", "non-conformant")
ELEMENTS = ("Co", "Ni", "Li", "Mn", "Cu", "C", "Al", "Fe", "P")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Certificate:
    """One certificate, assessment, rating or membership."""

    id: str  # its URI: what an EPCIS event's certificationInfo cites
    scheme: str  # a key of SCHEMES
    issuer: str  # the scheme owner or certification body
    holder: str  # the party (canonical party GLN Digital Link)
    status: str  # STANDING or LAPSED
    valid_from: date
    valid_until: date | None  # None: open-ended (a membership without an end)
    sites: tuple[str, ...] = ()  # the sites covered (canonical); none: all the holder's
    materials: tuple[str, ...] = ()  # elements or EPC classes covered; none: all
    scheme_version: str | None = None
    assessor: str | None = None  # the audit firm or body, where not the issuer
    level: str | None = None  # a score, a medal, an assurance level
    evidence: str | None = None  # the document's reference (URL)
    evidence_sha256: str | None = None

    @property
    def kind(self) -> str:
        return SCHEMES[self.scheme][1]

    def valid_on(self, day: date) -> bool:
        """Whether it vouches on ``day``: a standing status, and ``day`` in its validity."""
        return (
            self.status in STANDING
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )

    def covers(self, site: str | None) -> bool:
        """Whether it covers ``site`` (canonical), given that the site is its holder's."""
        return not self.sites or site in self.sites

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "scheme": self.scheme, "issuer": self.issuer, "holder": self.holder,
            "status": self.status, "validFrom": self.valid_from.isoformat(),
            "validUntil": None if self.valid_until is None else self.valid_until.isoformat(),
            "sites": list(self.sites), "materials": list(self.materials),
            "schemeVersion": self.scheme_version, "assessor": self.assessor,
            "level": self.level, "evidence": self.evidence,
            "evidenceSha256": self.evidence_sha256,
        }  # fmt: skip
        return {k: v for k, v in body.items() if v not in (None, [])}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "$") -> Certificate:
        """A record from its JSON (checked against the import format first), with the rules
        that need more than one field; CertificateError naming the field otherwise."""
        scheme = data["scheme"]
        if scheme not in SCHEMES:
            raise CertificateError(
                f"{where}.scheme: {scheme!r} is not a scheme this store knows "
                f"({', '.join(SCHEMES)})"
            )
        status = data["status"]
        if status not in (*STANDING, *LAPSED):
            raise CertificateError(
                f"{where}.status: {status!r} is not one of {', '.join((*STANDING, *LAPSED))}"
            )
        if SCHEMES[scheme][1] == "membership" and status not in ("member", *LAPSED):
            raise CertificateError(
                f"{where}.status: a {scheme} record is a membership, never a certification: "
                f"'member' or a lapsed status, not {status!r}"
            )
        valid_from = _day(data["validFrom"], f"{where}.validFrom")
        until = data.get("validUntil")
        valid_until = None if until is None else _day(until, f"{where}.validUntil")
        if valid_until is not None and valid_until < valid_from:
            raise CertificateError(f"{where}.validUntil: {valid_until} is before validFrom")
        digest = data.get("evidenceSha256")
        if digest is not None and not _SHA256.fullmatch(digest):
            raise CertificateError(f"{where}.evidenceSha256: not 64 lower-case hex digits")
        for i, material in enumerate(data.get("materials", ())):
            if material not in ELEMENTS and not material.startswith("urn:epc:"):
                raise CertificateError(
                    f"{where}.materials[{i}]: {material!r} is neither an element symbol "
                    f"({', '.join(ELEMENTS)}) nor an EPC class (urn:epc:…)"
                )
        return cls(
            id=data["id"], scheme=scheme, issuer=data["issuer"],
            holder=_gs1(organisation_id, data["holder"], f"{where}.holder"),
            status=status, valid_from=valid_from, valid_until=valid_until,
            sites=tuple(
                _gs1(site_id, s, f"{where}.sites[{i}]")
                for i, s in enumerate(data.get("sites", ()))
            ),
            materials=tuple(data.get("materials", ())),
            scheme_version=data.get("schemeVersion"), assessor=data.get("assessor"),
            level=data.get("level"), evidence=data.get("evidence"), evidence_sha256=digest,
        )  # fmt: skip


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CertificateError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def _gs1(read: Callable[[str], str], text: str, where: str) -> str:
    try:
        return read(text)
    except InvalidIdentifier as exc:
        raise CertificateError(f"{where}: {exc}") from None


# The CSV columns: the JSON fields, the lists (sites, materials) space-separated
CSV_COLUMNS = ("id", "scheme", "issuer", "holder", "status", "validFrom", "validUntil", "sites",
               "materials", "schemeVersion", "assessor", "level", "evidence",
               "evidenceSha256")  # fmt: skip


def read_certificates(path: Path) -> list[Certificate]:
    """The records of a file: JSON (``{"certificates": [...]}``) or CSV (a row each, the
    columns of :data:`CSV_COLUMNS`); CertificateError as ``file: path: rule``."""
    from batterytrace import json_input
    from batterytrace.formats import CertificatesFormat, checked, csv_table

    if not path.is_file():
        raise CertificateError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        text = path.read_text(encoding="utf-8")
        table = csv_table(text, CertificateError, str(path))
        unknown = [c for c in table.fieldnames or () if c not in CSV_COLUMNS]
        if unknown:
            raise CertificateError(
                f"{path}: line 1: column {unknown[0]!r} is not one of {', '.join(CSV_COLUMNS)}"
            )
        rows = [_unflatten(row) for row in table]
        obj: Any = {"certificates": rows}
    else:
        obj = json_input.loads(path.read_bytes(), str(path), CertificateError)
    checked(CertificatesFormat, obj, str(path), CertificateError)
    try:
        return [
            Certificate.from_json(c, f"$.certificates[{i}]")
            for i, c in enumerate(obj["certificates"])
        ]
    except CertificateError as exc:
        raise CertificateError(f"{path}: {exc}") from None


def _unflatten(row: Mapping[str, str | None]) -> dict[str, Any]:
    """A CSV row as the JSON record: empty cells left out, lists split on spaces."""
    record: dict[str, Any] = {k: v for k, v in row.items() if k and v}
    for name in ("sites", "materials"):
        if name in record:
            record[name] = record[name].split()
    return record
