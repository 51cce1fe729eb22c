"""Tests of batterytrace.store.patterns: SQL LIKE patterns for EPC patterns and classes."""

from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from batterytrace.errors import InvalidIdentifier
from batterytrace.identifiers import (
    gs1_check_digit,
    is_pattern,
    to_digital_link,
    validate_identifier,
)
from batterytrace.store.patterns import class_like_patterns, like_pattern
from identifier_strategies import cp_and_ref, serials, urn_escape

DL = "https://id.gs1.org"

# --------------------------------------------------------------------------------------------
# LIKE evaluation: sqlite3 (case-sensitive, ESCAPE '\') and a regex translation of the pattern
# --------------------------------------------------------------------------------------------

_DB = sqlite3.connect(":memory:")
_DB.execute("PRAGMA case_sensitive_like = ON")


def sql_like(value: str, pattern: str) -> bool:
    row = _DB.execute("SELECT ? LIKE ? ESCAPE '\\'", (value, pattern)).fetchone()
    return bool(row[0])


def like_to_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars)))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S)


def like(value: str, pattern: str) -> bool:
    by_sql = sql_like(value, pattern)
    assert by_sql == (like_to_regex(pattern).fullmatch(value) is not None)
    return by_sql


# --------------------------------------------------------------------------------------------
# LIKE patterns
# --------------------------------------------------------------------------------------------

LIKE_PAIRS = [
    ("urn:epc:idpat:sgtin:4012345.066666.*", f"{DL}/01/04012345666663/21/%"),
    ("urn:epc:idpat:sgtin:4012345.*.*", f"{DL}/01/_4012345______/21/%"),
    ("urn:epc:idpat:sgtin:*.*.*", f"{DL}/01/______________/21/%"),
    ("urn:epc:idpat:sscc:4012345.*", f"{DL}/00/_4012345__________"),
    ("urn:epc:idpat:sgln:4012345.00011.*", f"{DL}/414/4012345000115%"),
    ("urn:epc:idpat:grai:4012345.66666.*", f"{DL}/8003/04012345666663_%"),
    ("urn:epc:idpat:giai:4012345.*", f"{DL}/8004/4012345_%"),
    ("urn:epc:idpat:gdti:4012345.55555.*", f"{DL}/253/4012345555554_%"),
    ("urn:epc:idpat:sgcn:4012345.99999.*", f"{DL}/255/4012345999990_%"),
    ("urn:epc:idpat:cpi:4012345.ABC.*", f"{DL}/8010/4012345ABC/8011/%"),
    ("urn:epc:idpat:cpi:4012345.*.*", f"{DL}/8010/4012345_%/8011/%"),
    ("urn:epc:idpat:itip:4012345.012345.01.02.*", f"{DL}/8006/040123451234560102/21/%"),
    ("urn:epc:idpat:upui:4012345.012345.*", f"{DL}/01/04012345123456/235/%"),
    ("urn:epc:idpat:pgln:4012345.*", f"{DL}/417/4012345______"),
    ("urn:epc:idpat:gsrn:4012345.*", f"{DL}/8018/4012345___________"),
    ("urn:epc:idpat:gid:95100000.12345.*", "urn:epc:id:gid:95100000.12345.%"),
    ("urn:epc:id:sgtin:0614141.107346.2017", f"{DL}/01/10614141073464/21/2017"),
    ("urn:epc:id:sgtin:4012345.011111.a_b", f"{DL}/01/04012345111118/21/a\\_b"),
    ("urn:epc:id:sgtin:4012345.011111.98%22", f"{DL}/01/04012345111118/21/98\\%22"),
    ("https://example.com/01/09520123456788/21/S?x=1", f"{DL}/01/09520123456788/21/S"),
    ("urn:uuid:a_b%c", "urn:uuid:a\\_b\\%c"),
]


@pytest.mark.parametrize(("pattern", "expected"), LIKE_PAIRS)
def test_like_pattern(pattern: str, expected: str) -> None:
    assert like_pattern(pattern) == expected


def test_like_pattern_matches_examples() -> None:
    sgtins = [
        "urn:epc:id:sgtin:4012345.066666.1",
        "urn:epc:id:sgtin:4012345.066666.a_b%25",
        "urn:epc:id:sgtin:4012345.166666.1",
        "urn:epc:id:sgtin:4012346.066666.1",
    ]
    dls = [to_digital_link(u) for u in sgtins]
    exact = like_pattern("urn:epc:idpat:sgtin:4012345.066666.*")
    assert [like(d, exact) for d in dls] == [True, True, False, False]
    by_cp = like_pattern("urn:epc:idpat:sgtin:4012345.*.*")
    assert [like(d, by_cp) for d in dls] == [True, True, True, False]
    # an escaped literal only matches itself
    literal = like_pattern(sgtins[1])
    assert like(dls[1], literal)
    assert not like(dls[1].replace("a_b", "aXb"), literal)
    # SGLN '*' extension covers the GLN without and with an extension
    sgln = like_pattern("urn:epc:idpat:sgln:4012345.00011.*")
    assert like(to_digital_link("urn:epc:id:sgln:4012345.00011.0"), sgln)
    assert like(to_digital_link("urn:epc:id:sgln:4012345.00011.987"), sgln)
    assert not like(to_digital_link("urn:epc:id:sgln:4012345.00012.0"), sgln)
    # a GRAI pattern does not match the GRAI without serial (a class)
    grai = like_pattern("urn:epc:idpat:grai:4012345.66666.*")
    assert like(to_digital_link("urn:epc:id:grai:4012345.66666.87"), grai)
    assert not like(to_digital_link("urn:epc:idpat:grai:4012345.66666.*"), grai)


def test_class_like_patterns() -> None:
    gtin = f"{DL}/01/04012345123456"
    assert class_like_patterns("urn:epc:idpat:sgtin:4012345.012345.*") == [gtin, gtin + "/10/%"]
    assert class_like_patterns("urn:epc:idpat:sgtin:4012345.*.*") == [
        f"{DL}/01/_4012345______",
        f"{DL}/01/_4012345______/10/%",
    ]
    assert class_like_patterns("urn:epc:class:lgtin:4012345.012345.998877") == [f"{gtin}/10/998877"]
    assert class_like_patterns("urn:epc:class:lgtin:4012345.012345.L_1") == [f"{gtin}/10/L\\_1"]
    assert class_like_patterns(gtin) == [gtin, gtin + "/10/%"]
    assert class_like_patterns("urn:epc:idpat:grai:4012345.66666.*") == [
        f"{DL}/8003/04012345666663"
    ]
    itip = f"{DL}/8006/040123451234560102"
    assert class_like_patterns("urn:epc:idpat:itip:4012345.012345.01.02.*") == [
        itip,
        itip + "/10/%",
    ]
    assert class_like_patterns("urn:uuid:x_y") == ["urn:uuid:x\\_y"]
    with pytest.raises(InvalidIdentifier, match="SSCC pattern has no class level"):
        class_like_patterns("urn:epc:idpat:sscc:4012345.*")

    patterns = class_like_patterns("urn:epc:idpat:sgtin:4012345.012345.*")
    matching = [
        "urn:epc:idpat:sgtin:4012345.012345.*",
        "urn:epc:class:lgtin:4012345.012345.998877",
        "https://example.com/01/04012345123456/10/L%2F1",
    ]
    other = [
        "urn:epc:id:sgtin:4012345.012345.1",  # an instance, not a class
        "urn:epc:class:lgtin:4012345.012346.1",
        "urn:epc:class:lgtin:4012346.012345.1",
    ]
    for uri in matching:
        assert any(like(to_digital_link(uri), p) for p in patterns), uri
    for uri in other:
        assert not any(like(to_digital_link(uri), p) for p in patterns), uri


@pytest.mark.parametrize(
    ("pattern", "rule"),
    [
        (
            "urn:epc:id:sgtin:0614141.107346",
            "SGTIN needs company prefix, item reference and serial",
        ),
        ("urn:epc:id:foo:1.2", "unknown EPC scheme 'foo'"),
        ("urn:epc:idpat:sgtin:*.107346.1", "'*' may only replace trailing components"),
        ("urn:epc:idpat:sgtin:0614141.1073.*", "must have 13 digits together"),
        ("https://id.gs1.org/01/10614141073465", "GTIN check digit should be 4"),
    ],
)
def test_a_malformed_identifier_is_refused_as_identifiers_says(pattern: str, rule: str) -> None:
    for build in (like_pattern, class_like_patterns):
        with pytest.raises(InvalidIdentifier) as info:
            build(pattern)
        assert str(info.value).startswith(f"{pattern} : ") and rule in str(info.value)


# --------------------------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------------------------


@given(cp_and_ref(13), serials, st.data())
def test_sgtin_patterns_match_what_they_cover(
    parts: tuple[str, str], serial: str, data: st.DataObject
) -> None:
    cp, item = parts
    urn = f"urn:epc:id:sgtin:{cp}.{item}.{urn_escape(serial)}"
    dl = to_digital_link(urn)
    assert like(dl, like_pattern(urn))  # an identifier: its escaped canonical form only
    patterns = [
        f"urn:epc:idpat:sgtin:{cp}.{item}.*",
        f"urn:epc:idpat:sgtin:{cp}.*.*",
        "urn:epc:idpat:sgtin:*.*.*",
    ]
    for pattern in patterns:
        validate_identifier(pattern)
        assert is_pattern(pattern)
        assert like(dl, like_pattern(pattern)), pattern
    # same company prefix length, other digits: not matched
    other_cp = data.draw(st.text(alphabet="0123456789", min_size=len(cp), max_size=len(cp)))
    assume(other_cp != cp)
    other = to_digital_link(f"urn:epc:id:sgtin:{other_cp}.{item}.{urn_escape(serial)}")
    assert not like(other, like_pattern(patterns[0]))
    assert not like(other, like_pattern(patterns[1]))
    # the class-level patterns match the GTIN and its lots, not the serialised instance
    lot = to_digital_link(f"urn:epc:class:lgtin:{cp}.{item}.{urn_escape(serial)}")
    klass = class_like_patterns(patterns[0])
    assert any(like(lot, p) for p in klass)
    assert any(like(to_digital_link(patterns[0]), p) for p in klass)
    assert not any(like(dl, p) for p in klass)


KEY_SCHEMES = {
    # scheme: (digits of company prefix + reference, further components, digits of the key)
    "sscc": (17, "", 18),
    "sgln": (12, ".12", 13),
    "grai": (12, ".S1", 14),
    "gdti": (12, ".D9", 13),
    "sgcn": (12, ".77", 13),
    "gsrn": (17, "", 18),
    "gsrnp": (17, "", 18),
    "gsin": (16, "", 17),
    "pgln": (12, "", 13),
}


@given(st.sampled_from(sorted(KEY_SCHEMES)), st.data())
def test_key_patterns_match_what_they_cover(scheme: str, data: st.DataObject) -> None:
    total, extra, key_len = KEY_SCHEMES[scheme]
    cp, ref = data.draw(cp_and_ref(total))
    dl = to_digital_link(f"urn:epc:id:{scheme}:{cp}.{ref}{extra}")
    key = dl.removeprefix(DL).split("/")[2][:key_len]
    assert len(key) == key_len
    assert key.isdigit()
    assert cp in key
    assert gs1_check_digit(key[:-1]) == key[-1]
    stars = ".*" * (1 + extra.count("."))
    by_cp = f"urn:epc:idpat:{scheme}:{cp}{stars}"
    validate_identifier(by_cp)
    assert like(dl, like_pattern(by_cp))
    if extra:
        assert like(dl, like_pattern(f"urn:epc:idpat:{scheme}:{cp}.{ref}.*"))
    other_cp = data.draw(st.text(alphabet="0123456789", min_size=len(cp), max_size=len(cp)))
    assume(other_cp != cp)
    other = to_digital_link(f"urn:epc:id:{scheme}:{other_cp}.{ref}{extra}")
    assert not like(other, like_pattern(by_cp))
