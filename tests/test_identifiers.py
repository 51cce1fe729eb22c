"""Tests of batterytrace.identifiers: GS1 keys, EPC URIs and GS1 Digital Link URIs."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batterytrace.errors import InvalidIdentifier
from batterytrace.identifiers import (
    gs1_check_digit,
    gtin_of,
    is_class_link,
    is_pattern,
    parent_location,
    parse_epc,
    to_digital_link,
    validate_identifier,
)
from identifier_strategies import cp_and_ref, serials, urn_escape

# Listed at collection time; test_example_urns_were_found goes through the `conformance`
# fixture, which fails under CI when the data is missing.
EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared/conformance/epcis-hash/examples"
DL = "https://id.gs1.org"


def gtin_ok(gtin: str) -> bool:
    return len(gtin) == 14 and gs1_check_digit(gtin[:13]) == gtin[13]


# --------------------------------------------------------------------------------------------
# Check digit
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("629104150021", "3"),  # GTIN-13 6291041500213 (GenSpecs example)
        ("37610425002123456", "9"),  # SSCC 376104250021234569 (GenSpecs example)
        ("1061414107346", "4"),  # GTIN-14 of urn:epc:id:sgtin:0614141.107346.*
        ("061414107346", "7"),  # GLN
        ("0000000", "0"),
        ("9", "3"),
    ],
)
def test_gs1_check_digit(digits: str, check: str) -> None:
    assert gs1_check_digit(digits) == check


@pytest.mark.parametrize("bad", ["", "12a4", "١٢٣", "12 3"])
def test_gs1_check_digit_rejects_non_digits(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        gs1_check_digit(bad)


@given(st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_check_digit_makes_the_weighted_sum_a_multiple_of_ten(digits: str) -> None:
    full = digits + gs1_check_digit(digits)
    weighted = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(full)))
    assert weighted % 10 == 0


# --------------------------------------------------------------------------------------------
# EPC URN -> Digital Link: explicit pairs (brief, and read by hand from the hash examples)
# --------------------------------------------------------------------------------------------

URN_PAIRS = [
    # from the brief
    ("urn:epc:id:sgtin:0614141.107346.2017", f"{DL}/01/10614141073464/21/2017"),
    ("urn:epc:id:sgln:0614141.07346.1234", f"{DL}/414/0614141073467/254/1234"),
    ("urn:epc:id:sgln:0614141.00777.0", f"{DL}/414/0614141007776"),
    ("urn:epc:id:sscc:0614141.1234567890", f"{DL}/00/106141412345678908"),
    ("urn:epc:class:lgtin:4012345.012345.998877", f"{DL}/01/04012345123456/10/998877"),
    ("urn:epc:idpat:sgtin:4012345.012345.*", f"{DL}/01/04012345123456"),
    ("urn:epc:idpat:grai:4012345.66666.*", f"{DL}/8003/04012345666663"),
    # epcisDocWithAllGS1Keys.jsonld / .prehashes
    ("urn:epc:id:sgtin:4012345.012345.12", f"{DL}/01/04012345123456/21/12"),
    ("urn:epc:id:sscc:4012345.0000000333", f"{DL}/00/040123450000003338"),
    ("urn:epc:id:sgln:4012345.00011.987", f"{DL}/414/4012345000115/254/987"),
    ("urn:epc:id:grai:4012345.66666.87", f"{DL}/8003/0401234566666387"),
    ("urn:epc:id:giai:4012345.AAbb", f"{DL}/8004/4012345AAbb"),
    ("urn:epc:id:gsrn:4012345.9876540000", f"{DL}/8018/401234598765400000"),
    ("urn:epc:id:gsrnp:4012345.0000098765", f"{DL}/8017/401234500000987658"),
    ("urn:epc:id:gdti:4012345.55555.98", f"{DL}/253/401234555555498"),
    ("urn:epc:id:cpi:4012345.ABC.123", f"{DL}/8010/4012345ABC/8011/123"),
    ("urn:epc:id:sgcn:4012345.99999.44", f"{DL}/255/401234599999044"),
    ("urn:epc:id:ginc:4012345.333", f"{DL}/401/4012345333"),
    ("urn:epc:id:gsin:4012345.999987654", f"{DL}/402/40123459999876541"),
    ("urn:epc:id:itip:4012345.012345.01.02.999", f"{DL}/8006/040123451234560102/21/999"),
    ("urn:epc:id:upui:4012345.012345.AB12", f"{DL}/01/04012345123456/235/AB12"),
    ("urn:epc:class:lgtin:4054739.099914.20160711", f"{DL}/01/04054739999148/10/20160711"),
    ("urn:epc:idpat:sgtin:4054739.099914.*", f"{DL}/01/04054739999148"),
    ("urn:epc:idpat:gdti:4012345.55555.*", f"{DL}/253/4012345555554"),
    ("urn:epc:idpat:sgcn:4012345.99999.*", f"{DL}/255/4012345999990"),
    ("urn:epc:idpat:cpi:4012345.ABC.*", f"{DL}/8010/4012345ABC"),
    ("urn:epc:idpat:itip:4012345.012345.01.02.*", f"{DL}/8006/040123451234560102"),
    # other example files
    ("urn:epc:id:sgtin:415056789012.0.987654", f"{DL}/01/04150567890128/21/987654"),
    ("urn:epc:id:sscc:4012345.3111111111", f"{DL}/00/340123451111111111"),
    ("urn:epc:id:sscc:4012345.1112223334", f"{DL}/00/140123451122233341"),
    ("urn:epc:id:sgln:4012345.00000.5", f"{DL}/414/4012345000009/254/5"),
    ("urn:epc:id:sgln:4012345.00000.0", f"{DL}/414/4012345000009"),
    ("urn:epc:id:gdti:4012345.00009.PO-4711", f"{DL}/253/4012345000092PO-4711"),
    ("urn:epc:id:gdti:987659999999..9", f"{DL}/253/98765999999929"),
    ("urn:epc:id:pgln:999999999999.", f"{DL}/417/9999999999994"),
    ("urn:epc:id:pgln:4000001.98765", f"{DL}/417/4000001987658"),
    ("urn:epc:id:gsrnp:4012345.0000000007", f"{DL}/8017/401234500000000074"),
    ("urn:epc:id:gsin:4012345.222333444", f"{DL}/402/40123452223334442"),
    ("urn:epc:id:itip:4012345.011111.01.02.987", f"{DL}/8006/040123451111180102/21/987"),
    ("urn:epc:id:grai:4012345.00022.334455", f"{DL}/8003/04012345000221334455"),
    ("urn:epc:class:lgtin:4012345.099988.2014-02-10", f"{DL}/01/04012345999884/10/2014-02-10"),
    # %-escapes: URN escapes decoded, then '!"#%&()*+,/:<>?' escaped in the Digital Link
    ("urn:epc:id:sgtin:4012345.011111.98%22", f"{DL}/01/04012345111118/21/98%22"),
    (
        "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
        f"{DL}/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29",
    ),
    (
        "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB",
        f"{DL}/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7'SDB",
    ),
    (
        "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
        f"{DL}/8010/061414111111111111111-A%23%2F/8011/1234",
    ),
    ("urn:epc:id:ginc:0614141.xyz47%2F11", f"{DL}/401/0614141xyz47%2F11"),
    ("urn:epc:id:sgtin:0614141.107346.a%2fb", f"{DL}/01/10614141073464/21/a%2Fb"),
]


@pytest.mark.parametrize(("urn", "dl"), URN_PAIRS)
def test_urn_to_digital_link(urn: str, dl: str) -> None:
    assert to_digital_link(urn) == dl
    assert to_digital_link(dl) == dl  # canonical form is a fixed point
    validate_identifier(urn)
    validate_identifier(dl)


# --------------------------------------------------------------------------------------------
# Conformance data: every urn:epc: identifier of the hash examples, against the prehashes
# --------------------------------------------------------------------------------------------


def _example_urns() -> dict[str, set[Path]]:
    found: dict[str, set[Path]] = defaultdict(set)
    if not EXAMPLES.is_dir():
        return found
    for path in sorted([*EXAMPLES.glob("*.jsonld"), *EXAMPLES.glob("*.xml")]):
        text = path.read_text(encoding="utf-8", errors="replace")
        for urn in re.findall(r"urn:epc:(?:id|idpat|class):[^\"<>,\s]+", text):
            found[urn].add(path)
    return found


_URNS = _example_urns()
_PAIRED = dict(URN_PAIRS)
_ALL_PREHASHES = (
    "".join(p.read_text(encoding="utf-8", errors="replace") for p in EXAMPLES.glob("*.prehashes"))
    if EXAMPLES.is_dir()
    else ""
)


def _prehash_of(path: Path) -> str:
    pre = path.with_suffix(".prehashes")
    return pre.read_text(encoding="utf-8", errors="replace") if pre.exists() else ""


def test_example_urns_were_found(conformance: Path) -> None:
    assert (conformance / "epcis-hash/examples").samefile(EXAMPLES)
    schemes = {u.split(":")[3] for u in _URNS}
    assert {"sgtin", "sscc", "sgln", "grai", "giai", "gsrn", "gdti", "cpi", "itip"} <= schemes
    assert len(_URNS) > 100


@pytest.mark.parametrize("urn", sorted(_URNS))
def test_example_urn_matches_prehash(urn: str) -> None:
    dl = to_digital_link(urn)
    assert dl.startswith(f"{DL}/")
    if urn in _PAIRED:  # garbled in the prehash file: checked by hand above
        assert dl == _PAIRED[urn]
        return
    exact = re.compile(re.escape(f"={dl}") + r"(?![/0-9])")
    same_file = any(exact.search(_prehash_of(p)) for p in _URNS[urn])
    assert same_file or exact.search(_ALL_PREHASHES), f"{urn} -> {dl} not in any prehash"


EXAMPLE_DLS = [
    (
        "https://example.com/gtin/09780345418913/21/765tz?abc=211121",
        f"{DL}/01/09780345418913/21/765tz",
    ),
    ("https://id.gs1.org/gtin/09780345418913", f"{DL}/01/09780345418913"),
    ("https://id.gs1.de/01/04012345999990/21/XYZ-1234", f"{DL}/01/04012345999990/21/XYZ-1234"),
    ("https://id.gs1.de/00/040123451111111110", f"{DL}/00/040123451111111110"),
    ("https://id.gs1.de/414/4012345000115", f"{DL}/414/4012345000115"),
    ("https://id.example.com/8003/040123450007718765", f"{DL}/8003/040123450007718765"),
    ("https://id.example.org/8004/401234599999", f"{DL}/8004/401234599999"),
    ("https://id.example.com/253/4012345000054987", f"{DL}/253/4012345000054987"),
    ("https://id.gs1.org/414/4012345000245/254/1", f"{DL}/414/4012345000245/254/1"),
]


@pytest.mark.parametrize(("uri", "dl"), EXAMPLE_DLS)
def test_example_digital_links(uri: str, dl: str) -> None:
    assert to_digital_link(uri) == dl
    if _ALL_PREHASHES:
        assert f"={dl}" in _ALL_PREHASHES


# --------------------------------------------------------------------------------------------
# Digital Link -> canonical Digital Link
# --------------------------------------------------------------------------------------------

DL_PAIRS = [
    ("https://example.com/01/09520123456788/10/ABC?x=1", f"{DL}/01/09520123456788/10/ABC"),
    ("https://example.com/01/09520123456788/10/ABC#frag", f"{DL}/01/09520123456788/10/ABC"),
    ("http://example.com/shop/p/01/09520123456788/21/S1", f"{DL}/01/09520123456788/21/S1"),
    ("https://example.com/01/09520123456788/22/C1/10/L1/21/S1", f"{DL}/01/09520123456788/21/S1"),
    ("https://example.com/01/09520123456788/22/C1/10/L1", f"{DL}/01/09520123456788/10/L1"),
    ("https://example.com/01/09520123456788/22/C1", f"{DL}/01/09520123456788"),
    ("https://example.com/01/09520123456788/", f"{DL}/01/09520123456788"),
    ("https://example.com/01/9520123456788", f"{DL}/01/09520123456788"),  # GTIN-13
    ("https://example.com/01/614141000005", f"{DL}/01/00614141000005"),  # GTIN-12
    ("https://example.com/01/95012346", f"{DL}/01/00000095012346"),  # GTIN-8
    ("https://example.com/01/09520123456788/21/a%2Fb%21", f"{DL}/01/09520123456788/21/a%2Fb%21"),
    ("https://example.com/01/09520123456788/235/TPX1", f"{DL}/01/09520123456788/235/TPX1"),
    ("https://example.com/2021/01/01/09520123456788", f"{DL}/01/09520123456788"),
    ("https://example.com/00/106141412345678908?17=2025", f"{DL}/00/106141412345678908"),
    ("https://example.com/414/0614141073467/254/1234", f"{DL}/414/0614141073467/254/1234"),
    ("https://example.com/414/0614141073467/254/0", f"{DL}/414/0614141073467"),
    ("https://example.com/417/4000001987658", f"{DL}/417/4000001987658"),
    ("https://example.com/8006/040123451234560102/10/L7", f"{DL}/8006/040123451234560102/10/L7"),
    ("https://example.com/8006/040123451234560102/10/L/21/S", f"{DL}/8006/040123451234560102/21/S"),
    ("https://example.com/8010/4012345ABC/8011/123", f"{DL}/8010/4012345ABC/8011/123"),
    ("https://example.com/8017/401234500000987658", f"{DL}/8017/401234500000987658"),
    ("https://example.com/8018/401234598765400000", f"{DL}/8018/401234598765400000"),
    ("https://example.com/255/401234599999044", f"{DL}/255/401234599999044"),
    ("https://example.com/402/40123459999876541", f"{DL}/402/40123459999876541"),
    ("https://example.com/401/4012345333", f"{DL}/401/4012345333"),
    ("HTTPS://Example.COM/01/09520123456788", f"{DL}/01/09520123456788"),
    ("https://example.com/gtin/09520123456788/lot/L1/ser/S1", f"{DL}/01/09520123456788/21/S1"),
]


@pytest.mark.parametrize(("uri", "dl"), DL_PAIRS)
def test_digital_link_canonical(uri: str, dl: str) -> None:
    assert to_digital_link(uri) == dl
    validate_identifier(uri)


NON_GS1 = [
    "https://example.com/foo",
    "https://example.com/2020/01/15/post",
    "https://id.gs1.org/8013/4012345ABC",  # GMN: not among the canonical primary keys
    "https://example.com/99/09520123456788",
    "https://example.com/01/ABC",
    "http://transaction.acme.com/po/12345678",
    "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "urn:epcglobal:cbv:bizstep:shipping",
    "https://ref.gs1.org/cbv/BizStep-shipping",
    "urn:epc:id:gid:95100000.12345.400",
    "",
    "not a uri",
]


@pytest.mark.parametrize("uri", NON_GS1)
def test_non_gs1_passes_unchanged(uri: str) -> None:
    assert to_digital_link(uri) == uri
    validate_identifier(uri)
    assert gtin_of(uri) is None
    assert not is_pattern(uri)


# --------------------------------------------------------------------------------------------
# Malformed identifiers
# --------------------------------------------------------------------------------------------

BAD_EPC = [
    ("urn:epc:id:sgtin:0614141.107346", "SGTIN needs company prefix, item reference and serial"),
    ("urn:epc:id:sscc:0614141", "SSCC needs company prefix and serial reference"),
    ("urn:epc:id:sgln:0614141.07346", "SGLN needs"),
    ("urn:epc:id:itip:4012345.012345.01.999", "ITIP needs"),
    ("urn:epc:id:sgtin:06141A1.107346.1", "company prefix must be digits"),
    ("urn:epc:id:sgtin:0614141.1073X6.1", "item reference must be digits"),
    ("urn:epc:id:sgtin:0614141.10734.1", "must have 13 digits together, not 12"),
    ("urn:epc:id:sgtin:0614141.1073460.1", "must have 13 digits together, not 14"),
    ("urn:epc:id:sgtin:01234.12345678.1", "company prefix must have 6 to 12 digits"),
    ("urn:epc:id:sscc:0614141.123456789", "must have 17 digits together"),
    ("urn:epc:id:sgln:0614141.0734.1", "must have 12 digits together"),
    ("urn:epc:id:gsrn:4012345.987654000", "must have 17 digits together"),
    ("urn:epc:id:gsin:4012345.99998765", "must have 16 digits together"),
    ("urn:epc:id:pgln:4012345.0000", "must have 12 digits together"),
    ("urn:epc:id:sgtin:0614141.107346.", "serial is empty"),
    ("urn:epc:id:sgtin:0614141.107346.a/b", "outside GS1 CSET 82"),
    ("urn:epc:id:sgtin:0614141.107346.a b", "outside GS1 CSET 82"),
    ("urn:epc:id:sgtin:0614141.107346.a%2", "bad %-escape"),
    ("urn:epc:id:sgtin:0614141.107346.a%23", "outside GS1 CSET 82"),
    ("urn:epc:id:sgtin:0614141.107346.123456789012345678901", "at most 20"),
    ("urn:epc:id:grai:4012345.66666.12345678901234567", "at most 16"),
    ("urn:epc:id:giai:4012345.12345678901234567890123X", "at most 23"),
    ("urn:epc:id:cpi:4012345.abc.1", "outside GS1 CSET 39"),
    ("urn:epc:id:cpi:4012345.ABC.1X", "serial must be digits"),
    ("urn:epc:id:sgcn:4012345.99999.1234567890123", "serial must have 1 to 12 digits"),
    ("urn:epc:id:itip:4012345.012345.1.02.9", "piece must have 2 digits"),
    ("urn:epc:id:foo:1.2", "unknown EPC scheme 'foo'"),
    ("urn:epc:class:sgtin:4012345.012345.1", "only lgtin"),
    ("urn:epc:tag:sgtin-96:1.0614141.107346.1", "not an EPC pure identity"),
    ("urn:epc:id:sgtin", "urn:epc:<id|idpat|class>:<scheme>:<components>"),
    ("urn:epc:id:gid:951.12A.4", "GID components must be digits"),
    ("urn:epc:idpat:sgtin:*.107346.1", "'*' may only replace trailing components"),
    ("urn:epc:idpat:sgtin:0614141.*.1", "'*' may only replace trailing components"),
    ("urn:epc:idpat:sgtin:0614141.1073.*", "must have 13 digits together"),
]


@pytest.mark.parametrize(("uri", "rule"), BAD_EPC)
def test_malformed_epc(uri: str, rule: str) -> None:
    for func in (to_digital_link, validate_identifier):
        with pytest.raises(InvalidIdentifier) as info:
            func(uri)
        message = str(info.value)
        assert message.startswith(f"{uri} : ")
        assert rule in message
        assert "\n" not in message


BAD_DL = [
    ("https://id.gs1.org/01/10614141073465", "GTIN check digit should be 4"),
    ("https://example.com/01/09520123456789/21/1", "GTIN check digit should be 8"),
    ("https://example.com/01/123456789", "GTIN must have 8, 12, 13 or 14 digits"),
    ("https://example.com/01/0952012345678X", "GTIN must have 8, 12, 13 or 14 digits"),
    ("https://example.com/00/10614141234567890", "SSCC must have 18 digits"),
    ("https://example.com/00/106141412345678909", "SSCC check digit should be 8"),
    ("https://example.com/414/0614141073460", "GLN check digit should be 7"),
    ("https://example.com/8003/1401234566666387", "filler digit 0"),
    ("https://example.com/8006/040123451234570102", "GTIN check digit should be 6"),
    ("https://example.com/01/09520123456788/99/x", "only key qualifier pairs"),
    ("https://example.com/01/09520123456788/21", "only key qualifier pairs"),
    ("https://example.com/00/106141412345678908/21/1", "nothing may follow /00/<key>"),
    ("https://example.com/01/09520123456788/21/1/21/2", "appears twice"),
    ("https://example.com/01/09520123456788/21/123456789012345678901", "1 to 20 characters"),
    ("https://example.com/01/09520123456788/21/a%zz", "bad %-escape"),
    ("https://example.com/01/09520123456788/21/a%20b", "outside GS1 CSET 82"),
    ("https://example.com/01/09520123456788/10/L/235/T", "/235/ cannot be combined"),
    ("https://example.com/8010/4012345abc", "outside GS1 CSET 39"),
    ("https://example.com/8010/4012345ABC/8011/12X", "CPID serial must have 1 to 12 digits"),
    ("https://example.com/01/2024/report.pdf", "only key qualifier pairs"),
]


@pytest.mark.parametrize(("uri", "rule"), BAD_DL)
def test_malformed_digital_link(uri: str, rule: str) -> None:
    for func in (to_digital_link, validate_identifier):
        with pytest.raises(InvalidIdentifier) as info:
            func(uri)
        message = str(info.value)
        assert message.startswith(f"{uri} : ")
        assert rule in message


@pytest.mark.parametrize(
    "pattern",
    [
        "urn:epc:idpat:sgtin:4012345.*.*",
        "urn:epc:idpat:sgtin:*.*.*",
        "urn:epc:idpat:sscc:4012345.*",
        "urn:epc:idpat:sgln:4012345.00011.*",
        "urn:epc:idpat:giai:4012345.*",
        "urn:epc:idpat:itip:4012345.012345.01.*.*",
    ],
)
def test_patterns_without_a_single_digital_link(pattern: str) -> None:
    validate_identifier(pattern)
    assert is_pattern(pattern)
    with pytest.raises(InvalidIdentifier, match="no single Digital Link"):
        to_digital_link(pattern)


# --------------------------------------------------------------------------------------------
# validate_identifier / is_pattern / gtin_of
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "urn:epc:idpat:sgtin:4012345.012345.*",
        "urn:epc:idpat:sgtin:4012345.*.*",
        "urn:epc:idpat:sgtin:*.*.*",
        "urn:epc:idpat:sscc:*.*",
        "urn:epc:idpat:sgln:4012345.*.*",
        "urn:epc:idpat:cpi:4012345.*.*",
        "urn:epc:idpat:itip:4012345.012345.01.02.*",
        "urn:epc:idpat:gid:95100000.12345.*",
        "urn:epc:idpat:sgtin:4012345.012345.12",
        "urn:epc:id:sgtin:0614141.107346.a.b",  # '.' is allowed in a serial
        "urn:epc:id:bic:CSQU3054383",
    ],
)
def test_validate_accepts(uri: str) -> None:
    validate_identifier(uri)


def test_is_pattern() -> None:
    assert is_pattern("urn:epc:idpat:sgtin:4012345.012345.*")
    assert is_pattern("urn:epc:idpat:sgtin:*.*.*")
    assert not is_pattern("urn:epc:idpat:sgtin:4012345.012345.12")
    assert not is_pattern("urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB")
    assert not is_pattern("urn:epc:idpat:upui:1234567.098765.Jp3*j7")  # literal '*' in a TPX
    assert not is_pattern(f"{DL}/01/09520123456788")


@pytest.mark.parametrize(
    ("uri", "gtin"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "10614141073464"),
        ("urn:epc:class:lgtin:4012345.012345.998877", "04012345123456"),
        ("urn:epc:idpat:sgtin:4012345.012345.*", "04012345123456"),
        ("urn:epc:id:upui:4012345.012345.AB12", "04012345123456"),
        ("https://example.com/01/9520123456788/21/X", "09520123456788"),
        ("urn:epc:idpat:sgtin:4012345.*.*", None),
        ("urn:epc:id:sscc:0614141.1234567890", None),
        ("urn:epc:id:itip:4012345.012345.01.02.999", None),
        ("urn:uuid:1234", None),
    ],
)
def test_gtin_of(uri: str, gtin: str | None) -> None:
    assert gtin_of(uri) == gtin


@pytest.mark.parametrize(
    ("uri", "parent"),
    [
        ("urn:epc:id:sgln:6111111.00200.CS-PLANT", f"{DL}/414/6111111002006"),
        (f"{DL}/414/6111111002006/254/CS-PLANT", f"{DL}/414/6111111002006"),
        ("https://example.com/414/6111111002006/254/LAB", f"{DL}/414/6111111002006"),
        ("urn:epc:id:sgln:6111111.00200.0", None),  # a GLN without extension: the site itself
        ("urn:epc:id:pgln:6111111.00000", None),
        ("urn:epc:id:sgtin:0614141.107346.2017", None),
        ("urn:uuid:1234", None),
    ],
)
def test_parent_location(uri: str, parent: str | None) -> None:
    assert parent_location(uri) == parent


def test_a_parsed_epc_builds_its_key_and_class_level() -> None:
    """The key builders that conversion uses, given an escape for known values: a pattern's
    unknown digits are '_' and its unknown values '%'."""
    sgtin = parse_epc("urn:epc:id:sgtin:0614141.107346.2017")
    assert sgtin.link(str) == to_digital_link(sgtin.uri) == f"{DL}/01/10614141073464/21/2017"
    by_cp = parse_epc("urn:epc:idpat:sgtin:4012345.*.*")
    assert by_cp.link(str) == f"{DL}/01/_4012345______/21/%"
    serial = parse_epc("urn:epc:id:sgtin:4012345.011111.a_b")
    assert serial.link(str.upper) == f"{DL}/01/04012345111118/21/A_B"  # values only
    assert by_cp.class_link(str) == f"{DL}/01/_4012345______" and by_cp.class_lots
    grai = parse_epc("urn:epc:idpat:grai:4012345.66666.*")
    assert grai.class_link(str) == f"{DL}/8003/04012345666663" and not grai.class_lots
    assert parse_epc("urn:epc:idpat:gid:95100000.12345.*").link(str) is None
    with pytest.raises(InvalidIdentifier, match=r"^urn:epc:idpat:sscc:4012345\.\* : an SSCC "):
        parse_epc("urn:epc:idpat:sscc:4012345.*").class_link(str)
    assert is_class_link(f"{DL}/01/04012345123456")
    assert is_class_link(f"{DL}/8006/040123451234560102")
    assert not is_class_link(f"{DL}/01/04012345123456/10/L1")
    assert not is_class_link(f"{DL}/414/4012345000115")


# --------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------


@given(cp_and_ref(13), serials)
def test_sgtin_gives_a_valid_gtin(parts: tuple[str, str], serial: str) -> None:
    cp, item = parts
    urn = f"urn:epc:id:sgtin:{cp}.{item}.{urn_escape(serial)}"
    validate_identifier(urn)
    dl = to_digital_link(urn)
    m = re.fullmatch(r"https://id\.gs1\.org/01/([0-9]{14})/21/([^/?#]+)", dl)
    assert m is not None, dl
    gtin = m.group(1)
    assert gtin_ok(gtin)
    assert gtin[0] == item[0]
    assert gtin[1 : 1 + len(cp)] == cp
    assert gtin[1 + len(cp) : 13] == item[1:]
    assert unquote(m.group(2)) == serial
    assert to_digital_link(dl) == dl
    assert gtin_of(urn) == gtin


@given(cp_and_ref(17))
def test_sscc_gives_a_valid_sscc(parts: tuple[str, str]) -> None:
    cp, ref = parts
    dl = to_digital_link(f"urn:epc:id:sscc:{cp}.{ref}")
    key = dl.removeprefix(f"{DL}/00/")
    assert len(key) == 18
    assert key[0] == ref[0]
    assert key[1 : 1 + len(cp)] == cp
    assert gs1_check_digit(key[:17]) == key[17]
    assert to_digital_link(dl) == dl


@given(cp_and_ref(13), st.integers(min_value=1, max_value=9))
def test_bad_gtin_check_digit_is_rejected(parts: tuple[str, str], shift: int) -> None:
    cp, item = parts
    dl = to_digital_link(f"urn:epc:class:lgtin:{cp}.{item}.L1")
    gtin = dl[len(DL) + 4 : len(DL) + 18]
    wrong = str((int(gtin[13]) + shift) % 10)
    bad = f"https://example.com/01/{gtin[:13]}{wrong}/10/L1"
    with pytest.raises(InvalidIdentifier) as info:
        validate_identifier(bad)
    assert str(info.value) == f"{bad} : GTIN check digit should be {gtin[13]}"


@given(cp_and_ref(12), st.integers(min_value=1, max_value=9))
def test_bad_gln_check_digit_is_rejected(parts: tuple[str, str], shift: int) -> None:
    cp, ref = parts
    gln = to_digital_link(f"urn:epc:id:pgln:{cp}.{ref}").removeprefix(f"{DL}/417/")
    wrong = str((int(gln[12]) + shift) % 10)
    with pytest.raises(InvalidIdentifier, match=f"GLN check digit should be {gln[12]}$"):
        to_digital_link(f"https://example.com/414/{gln[:12]}{wrong}")


@given(serials)
def test_serial_round_trips_through_both_forms(serial: str) -> None:
    urn = f"urn:epc:id:sgtin:4012345.011111.{urn_escape(serial)}"
    dl = to_digital_link(urn)
    assert unquote(dl.rsplit("/21/", 1)[1]) == serial
    assert to_digital_link(f"https://example.com/a{dl.removeprefix(DL)}?q=1") == dl
