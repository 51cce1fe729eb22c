"""GS1 keys, EPC URIs and GS1 Digital Link URIs: parsing, validation and conversion.

Standards followed:

* GS1 General Specifications (GenSpecs) §7.9.1 for the mod-10 check digit, Fig. 7.11-1 for
  character set 82 and Fig. 7.11-2 for character set 39; §3 for the AI formats and lengths.
* GS1 EPC Tag Data Standard (TDS) 2.x: §6.3 EPC pure identity URIs, the EPC class URI
  (``urn:epc:class:lgtin:``), §7 the correspondence between EPCs and GS1 keys, §8 the EPC
  pure identity pattern URIs (``urn:epc:idpat:``), Appendix A for the %-escapes in URNs.
* GS1 Digital Link URI Syntax 1.x: ``[custom path] /<primary key AI>/<value>`` then key
  qualifier pairs, the canonical domain ``https://id.gs1.org`` and convenience alphas.

The canonical Digital Link made here is the one of the CBV 2.0 event hash algorithm: domain
``https://id.gs1.org``, no query or fragment, only the finest key level (a serial beats a lot,
the CPV is dropped) and GTINs padded to 14 digits. Values taken from an EPC URN are
%-decoded and re-encoded with the characters ``!"#%&()*+,/:<>?`` %-escaped (upper-case hex);
values of a Digital Link given as input keep their %-encoding as is.

Every error is an :class:`~batterytrace.errors.InvalidIdentifier` whose one-line message is
``"<identifier> : <rule broken>"``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

from batterytrace.epcis.vocab import is_absolute_uri
from batterytrace.errors import InvalidIdentifier
from batterytrace.limits import IDENTIFIER

__all__ = [
    "CANONICAL_DL_DOMAIN",
    "Epc",
    "gs1_check_digit",
    "gtin_of",
    "is_class_link",
    "is_pattern",
    "parent_location",
    "parse_epc",
    "to_digital_link",
    "validate_identifier",
]

CANONICAL_DL_DOMAIN = "https://id.gs1.org"
_DL = CANONICAL_DL_DOMAIN
_CACHE_SIZE = 16384
_FLOOR = IDENTIFIER.floor

_Esc = Callable[[str], str]
_Comps = Sequence[str | None]

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _same(text: str) -> str:
    return text


def _show(uri: str) -> str:
    text = uri if len(uri) <= 200 else uri[:197] + "..."
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _err(uri: str, rule: str) -> InvalidIdentifier:
    return InvalidIdentifier(f"{_show(uri)} : {rule}")


def _bounded(uri: str) -> None:
    """Refuse an identifier over the length limit, before any pattern is matched against it."""
    if len(uri) > _FLOOR:  # at or below the floor, no limit can refuse it
        rule = IDENTIFIER.over(len(uri))
        if rule is not None:
            raise _err(uri, rule)


def _isdigits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@lru_cache(maxsize=_CACHE_SIZE)
def gs1_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of ``digits`` (the key without its check digit), GenSpecs §7.9.1.

    Weights 3, 1, 3, ... are applied from the rightmost digit leftwards.
    """
    if not _isdigits(digits):
        raise InvalidIdentifier(f"{_show(digits)} : a check digit is computed over digits only")
    total = 3 * sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2]))
    return str(-total % 10)


def _verify(uri: str, label: str, key: str) -> None:
    """Raise unless the last digit of ``key`` is its GS1 check digit."""
    expected = gs1_check_digit(key[:-1])
    if key[-1] != expected:
        raise _err(uri, f"{label} check digit should be {expected}")


# --------------------------------------------------------------------------------------------
# Character sets (GenSpecs Fig. 7.11-1 / 7.11-2) and %-encoding
# --------------------------------------------------------------------------------------------

# Decoded values: CSET 82 and CSET 39.
_X82_RE = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*")
_X39_RE = re.compile(r"[#\-/0-9A-Z]*")
# Values inside an EPC URN (TDS Appendix A): '"', '%', '&', '/', '<', '>', '?' must be escaped.
_URN_X82_RE = re.compile(r"(?:[A-Za-z0-9!'()*+,\-.:;=_]|%[0-9A-Fa-f]{2})*")
_URN_X39_RE = re.compile(r"(?:[0-9A-Z\-]|%2[3Ff])*")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Characters %-escaped in the Digital Link path values built from URNs.
_DL_ENCODE = str.maketrans({c: f"%{ord(c):02X}" for c in '!"#%&()*+,/:<>?'})


def _urn_text(uri: str, what: str, raw: str, maxlen: int, cset39: bool = False) -> str:
    """Check an alphanumeric URN component and return it %-encoded for a Digital Link path."""
    if not raw:
        raise _err(uri, f"{what} is empty")
    cset = "CSET 39" if cset39 else "CSET 82"
    if (_URN_X39_RE if cset39 else _URN_X82_RE).fullmatch(raw) is None:
        raise _err(uri, f"{what} has a character outside GS1 {cset} or a bad %-escape")
    text = raw
    if "%" in raw:
        text = unquote(raw)
        if not cset39 and _X82_RE.fullmatch(text) is None:
            raise _err(uri, f"{what} has a %-escape for a character outside GS1 {cset}")
    if len(text) > maxlen:
        raise _err(uri, f"{what} has {len(text)} characters, at most {maxlen} allowed")
    return text.translate(_DL_ENCODE)


def _dl_text(
    uri: str, what: str, raw: str, maxlen: int, cset39: bool = False, minlen: int = 1
) -> None:
    """Check a (possibly %-encoded) Digital Link path value against CSET 82/39 and its length."""
    text = raw
    if "%" in raw:
        if _BAD_ESCAPE_RE.search(raw) is not None:
            raise _err(uri, f"{what} has a bad %-escape")
        text = unquote(raw)
    cset = "CSET 39" if cset39 else "CSET 82"
    if (_X39_RE if cset39 else _X82_RE).fullmatch(text) is None:
        raise _err(uri, f"{what} has a character outside GS1 {cset}")
    if not minlen <= len(text) <= maxlen:
        raise _err(uri, f"{what} must have {minlen} to {maxlen} characters, not {len(text)}")


# --------------------------------------------------------------------------------------------
# Key builders shared by conversion and patterns (Epc.link, Epc.class_link). Unknown digits
# (pattern components given as '*') become '_'; unknown variable-length values become '%' (any)
# or '_%' (at least one character): the wildcards of SQL LIKE, which store.patterns builds on.
# --------------------------------------------------------------------------------------------


def _check_or_blank(body: str) -> str:
    return "_" if "_" in body else gs1_check_digit(body)


def _gtin(cp: str | None, item: str | None) -> str:
    """GTIN-14 of an SGTIN: indicator digit, company prefix, rest of item ref, check (TDS §7)."""
    if cp is None:
        return "_" * 14
    body = "_" + cp + "_" * (12 - len(cp)) if item is None else item[0] + cp + item[1:]
    return body + _check_or_blank(body)


def _key(cp: str | None, ref: str | None, total: int) -> str:
    """Company prefix + reference (``total`` digits) + check digit: GLN, GSRN, GSIN, GDTI..."""
    if cp is None:
        body = "_" * total
    elif ref is None:
        body = cp + "_" * (total - len(cp))
    else:
        body = cp + ref
    return body + _check_or_blank(body)


def _sscc(cp: str | None, ref: str | None) -> str:
    """SSCC: extension digit (first of the serial reference), company prefix, rest, check."""
    if cp is None:
        body = "_" * 17
    elif ref is None:
        body = "_" + cp + "_" * (16 - len(cp))
    else:
        body = ref[0] + cp + ref[1:]
    return body + _check_or_blank(body)


def _tail(value: str | None, esc: _Esc, wild: str) -> str:
    return wild if value is None else esc(value)


def _open(cp: str | None, ref: str | None, esc: _Esc) -> str:
    """Company prefix followed by a variable-length alphanumeric reference (GIAI, GINC, CPID)."""
    if cp is None:
        return "_%"
    return cp + _tail(ref, esc, "_%")


def _b_sgtin(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/01/{_gtin(c[0], c[1])}/21/{_tail(c[2], esc, '%')}"


def _b_sscc(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/00/{_sscc(c[0], c[1])}"


def _b_sgln(c: _Comps, esc: _Esc) -> str:
    base = f"{_DL}/414/{_key(c[0], c[1], 12)}"
    ext = c[2]
    if ext is None:  # with or without an extension
        return base + "%"
    return base if ext == "0" else f"{base}/254/{esc(ext)}"


def _b_grai(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/8003/0{_key(c[0], c[1], 12)}{_tail(c[2], esc, '_%')}"


def _b_giai(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/8004/{_open(c[0], c[1], esc)}"


def _b_gsrn(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/8018/{_key(c[0], c[1], 17)}"


def _b_gsrnp(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/8017/{_key(c[0], c[1], 17)}"


def _b_gdti(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/253/{_key(c[0], c[1], 12)}{_tail(c[2], esc, '_%')}"


def _b_cpi(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/8010/{_open(c[0], c[1], esc)}/8011/{_tail(c[2], esc, '%')}"


def _b_sgcn(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/255/{_key(c[0], c[1], 12)}{_tail(c[2], esc, '_%')}"


def _b_ginc(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/401/{_open(c[0], c[1], esc)}"


def _b_gsin(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/402/{_key(c[0], c[1], 16)}"


def _b_itip(c: _Comps, esc: _Esc) -> str:
    return f"{_c_itip(c, esc)}/21/{_tail(c[4], esc, '%')}"


def _b_upui(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/01/{_gtin(c[0], c[1])}/235/{_tail(c[2], esc, '%')}"


def _b_pgln(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/417/{_key(c[0], c[1], 12)}"


def _b_lgtin(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/01/{_gtin(c[0], c[1])}/10/{_tail(c[2], esc, '%')}"


# Class level: the key without its serial (the last component).
def _c_gtin(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/01/{_gtin(c[0], c[1])}"


def _c_grai(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/8003/0{_key(c[0], c[1], 12)}"


def _c_gdti(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/253/{_key(c[0], c[1], 12)}"


def _c_sgcn(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/255/{_key(c[0], c[1], 12)}"


def _c_cpi(c: _Comps, esc: _Esc) -> str:
    return f"{_DL}/8010/{_open(c[0], c[1], esc)}"


def _c_itip(c: _Comps, esc: _Esc) -> str:
    piece = c[2] if c[2] is not None else "__"
    total = c[3] if c[3] is not None else "__"
    return f"{_DL}/8006/{_gtin(c[0], c[1])}{piece}{total}"


# --------------------------------------------------------------------------------------------
# EPC URIs (TDS §6.3, §8)
# --------------------------------------------------------------------------------------------

_Builder = Callable[[_Comps, _Esc], str]


@dataclass(frozen=True, slots=True)
class _Scheme:
    """Components of one EPC scheme.

    ``kinds``: ``cp`` company prefix (6-12 digits); ``ref`` digits making ``limit`` digits
    with the company prefix; ``x`` CSET 82 text of at most ``limit`` characters; ``xcp`` the
    same but ``limit`` counts the company prefix too; ``x39cp`` likewise in CSET 39; ``n``
    1 to ``limit`` digits; ``n2`` exactly two digits.
    """

    label: str
    shape: str
    kinds: tuple[str, ...]
    names: tuple[str, ...]
    limits: tuple[int, ...]
    build: _Builder
    class_build: _Builder | None = None
    class_lots: bool = False


_CP = "company prefix"
_SCHEMES: dict[str, _Scheme] = {
    "sgtin": _Scheme(
        "SGTIN",
        "company prefix, item reference and serial",
        ("cp", "ref", "x"),
        (_CP, "item reference", "serial"),
        (0, 13, 20),
        _b_sgtin,
        _c_gtin,
        True,
    ),
    "sscc": _Scheme(
        "SSCC",
        "company prefix and serial reference",
        ("cp", "ref"),
        (_CP, "serial reference"),
        (0, 17),
        _b_sscc,
    ),
    "sgln": _Scheme(
        "SGLN",
        "company prefix, location reference and extension",
        ("cp", "ref", "x"),
        (_CP, "location reference", "extension"),
        (0, 12, 20),
        _b_sgln,
    ),
    "grai": _Scheme(
        "GRAI",
        "company prefix, asset type and serial",
        ("cp", "ref", "x"),
        (_CP, "asset type", "serial"),
        (0, 12, 16),
        _b_grai,
        _c_grai,
    ),
    "giai": _Scheme(
        "GIAI",
        "company prefix and individual asset reference",
        ("cp", "xcp"),
        (_CP, "individual asset reference"),
        (0, 30),
        _b_giai,
    ),
    "gsrn": _Scheme(
        "GSRN",
        "company prefix and service reference",
        ("cp", "ref"),
        (_CP, "service reference"),
        (0, 17),
        _b_gsrn,
    ),
    "gsrnp": _Scheme(
        "GSRNP",
        "company prefix and service reference",
        ("cp", "ref"),
        (_CP, "service reference"),
        (0, 17),
        _b_gsrnp,
    ),
    "gdti": _Scheme(
        "GDTI",
        "company prefix, document type and serial",
        ("cp", "ref", "x"),
        (_CP, "document type", "serial"),
        (0, 12, 17),
        _b_gdti,
        _c_gdti,
    ),
    "cpi": _Scheme(
        "CPI",
        "company prefix, component/part reference and serial",
        ("cp", "x39cp", "n"),
        (_CP, "component/part reference", "serial"),
        (0, 30, 12),
        _b_cpi,
        _c_cpi,
    ),
    "sgcn": _Scheme(
        "SGCN",
        "company prefix, coupon reference and serial",
        ("cp", "ref", "n"),
        (_CP, "coupon reference", "serial"),
        (0, 12, 12),
        _b_sgcn,
        _c_sgcn,
    ),
    "ginc": _Scheme(
        "GINC",
        "company prefix and consignment reference",
        ("cp", "xcp"),
        (_CP, "consignment reference"),
        (0, 30),
        _b_ginc,
    ),
    "gsin": _Scheme(
        "GSIN",
        "company prefix and shipper reference",
        ("cp", "ref"),
        (_CP, "shipper reference"),
        (0, 16),
        _b_gsin,
    ),
    "itip": _Scheme(
        "ITIP",
        "company prefix, item reference, piece, total and serial",
        ("cp", "ref", "n2", "n2", "x"),
        (_CP, "item reference", "piece", "total", "serial"),
        (0, 13, 2, 2, 20),
        _b_itip,
        _c_itip,
        True,
    ),
    "upui": _Scheme(
        "UPUI",
        "company prefix, item reference and third-party extension",
        ("cp", "ref", "x"),
        (_CP, "item reference", "third-party extension"),
        (0, 13, 28),
        _b_upui,
        _c_gtin,
        True,
    ),
    "pgln": _Scheme(
        "PGLN",
        "company prefix and party reference",
        ("cp", "ref"),
        (_CP, "party reference"),
        (0, 12),
        _b_pgln,
    ),
}
_LGTIN = _Scheme(
    "LGTIN",
    "company prefix, item reference and lot",
    ("cp", "ref", "x"),
    (_CP, "item reference", "lot"),
    (0, 13, 20),
    _b_lgtin,
)
# EPC schemes that are not GS1 keys (no Digital Link): number of components.
_OTHER_EPC: dict[str, int] = {"gid": 3, "usdod": 2, "adi": 3, "bic": 1, "imovn": 1}


@dataclass(frozen=True, slots=True)
class Epc:
    """A parsed EPC URI (:func:`parse_epc`) and the GS1 key its components make."""

    uri: str
    kind: str  # "id", "idpat" or "class"
    name: str  # scheme name as written
    scheme: _Scheme | None  # None for the non-GS1 EPC schemes
    comps: tuple[str | None, ...]  # None for a '*' pattern component

    def link(self, escape: Callable[[str], str]) -> str | None:
        """The Digital Link of the key (TDS §7), each known value passed through ``escape``;
        a pattern's unknown digits are ``_`` (check digits too, when not computable) and its
        unknown values ``%`` or ``_%``. None for an EPC scheme that is not a GS1 key."""
        return None if self.scheme is None else self.scheme.build(self.comps, escape)

    def class_link(self, escape: Callable[[str], str]) -> str:
        """The class-level key of a pattern: the key without its last component (an SGTIN
        pattern's GTIN, a GRAI's key without serial), built as :meth:`link` builds it.
        InvalidIdentifier for a scheme without a class level."""
        if self.scheme is None or self.scheme.class_build is None:
            label = self.name.upper() if self.scheme is None else self.scheme.label
            raise _err(self.uri, f"an {label} pattern has no class level")
        return self.scheme.class_build(self.comps[:-1], escape)

    @property
    def class_lots(self) -> bool:
        """Whether the class level has lots (AI 10 qualifies it): the GTIN-based schemes."""
        return self.scheme is not None and self.scheme.class_lots


def _components(uri: str, scheme: _Scheme, body: str, pattern: bool) -> tuple[str | None, ...]:
    n = len(scheme.kinds)
    parts = body.split(".", n - 1)
    if len(parts) != n:
        raise _err(uri, f"{scheme.label} needs {scheme.shape}")
    out: list[str | None] = []
    cp = ""
    star = False
    for kind, name, limit, raw in zip(
        scheme.kinds, scheme.names, scheme.limits, parts, strict=True
    ):
        if pattern and raw == "*":
            star = True
            out.append(None)
            continue
        if star:
            raise _err(uri, f"'*' may only replace trailing components, but the {name} follows one")
        if kind == "cp":
            if not _isdigits(raw):
                raise _err(uri, f"{_CP} must be digits, not {raw!r}")
            if not 6 <= len(raw) <= 12:
                raise _err(uri, f"{_CP} must have 6 to 12 digits, not {len(raw)}")
            cp = raw
            out.append(raw)
        elif kind == "ref":
            if raw and not _isdigits(raw):
                raise _err(uri, f"{name} must be digits, not {raw!r}")
            if len(cp) + len(raw) != limit:
                raise _err(
                    uri,
                    f"{_CP} and {name} must have {limit} digits together, not {len(cp) + len(raw)}",
                )
            out.append(raw)
        elif kind == "n" or kind == "n2":
            if not _isdigits(raw):
                raise _err(uri, f"{name} must be digits, not {raw!r}")
            if kind == "n2" and len(raw) != 2:
                raise _err(uri, f"{name} must have 2 digits, not {len(raw)}")
            if len(raw) > limit:
                raise _err(uri, f"{name} must have 1 to {limit} digits, not {len(raw)}")
            out.append(raw)
        else:
            maxlen = limit if kind == "x" else limit - len(cp)
            out.append(_urn_text(uri, name, raw, maxlen, kind == "x39cp"))
    return tuple(out)


def _other_components(
    uri: str, name: str, body: str, count: int, pattern: bool
) -> tuple[str | None, ...]:
    parts = body.split(".", count - 1)
    if len(parts) != count or not parts[0]:
        raise _err(uri, f"{name.upper()} needs {count} component(s)")
    out: list[str | None] = []
    star = False
    for raw in parts:
        if pattern and raw == "*":
            star = True
            out.append(None)
            continue
        if star:
            raise _err(uri, "'*' may only replace trailing components")
        if name == "gid" and not _isdigits(raw):
            raise _err(uri, f"GID components must be digits, not {raw!r}")
        out.append(raw)
    return tuple(out)


def _parse_epc(uri: str) -> Epc:
    """Parse and validate a ``urn:epc:`` URI (TDS §6.3 pure identity, class, §8 pattern)."""
    parts = uri.split(":", 4)
    if len(parts) != 5 or not parts[4]:
        raise _err(uri, "an EPC URI has the form urn:epc:<id|idpat|class>:<scheme>:<components>")
    kind, name, body = parts[2], parts[3], parts[4]
    if kind == "id" or kind == "idpat":
        scheme = _SCHEMES.get(name)
    elif kind == "class":
        if name != "lgtin":
            raise _err(uri, f"unknown EPC class scheme {name!r}, only lgtin is defined")
        scheme = _LGTIN
    else:
        raise _err(uri, f"urn:epc:{kind}: is not an EPC pure identity, class or pattern URI")
    pattern = kind == "idpat"
    if scheme is None:
        count = _OTHER_EPC.get(name)
        if count is None:
            raise _err(uri, f"unknown EPC scheme {name!r}")
        return Epc(uri, kind, name, None, _other_components(uri, name, body, count, pattern))
    return Epc(uri, kind, name, scheme, _components(uri, scheme, body, pattern))


# The common plain cases (all-digit keys, alphanumeric serial, lot or extension), converted
# without the general parser; anything else takes the general path below.
_FAST_EPC_RE = re.compile(
    r"urn:epc:(id:sgtin|class:lgtin|id:sgln|id:sscc|id:pgln):(\d{6,12})\.(\d+)(?:\.([A-Za-z0-9]{1,20}))?"
)
_FAST_SHAPE = {  # scheme -> (digits of company prefix + reference, AI, qualifier AI, has 3rd part)
    "id:sgtin": (13, "01", "21", True),
    "class:lgtin": (13, "01", "10", True),
    "id:sgln": (12, "414", "254", True),
    "id:sscc": (17, "00", "", False),
    "id:pgln": (12, "417", "", False),
}


@lru_cache(maxsize=_CACHE_SIZE)
def _fast_key(scheme: str, cp: str, ref: str) -> tuple[str, str] | None:
    """The Digital Link of the key, and the qualifier path prefix (``/21/``...), or None."""
    digits, ai, qualifier, _ = _FAST_SHAPE[scheme]
    if len(cp) + len(ref) != digits:
        return None
    # TDS §7: an indicator / extension digit leads the item or serial reference
    key = cp + ref if ai in ("414", "417") else ref[:1] + cp + ref[1:]
    return f"{_DL}/{ai}/{key}{gs1_check_digit(key)}", f"/{qualifier}/"


def _fast_epc_to_dl(uri: str) -> str | None:
    m = _FAST_EPC_RE.fullmatch(uri)
    if m is None:
        return None
    scheme, cp, ref, extra = m.groups()
    if (extra is None) == _FAST_SHAPE[scheme][3]:
        return None
    key = _fast_key(scheme, cp, ref)
    if key is None:
        return None
    if extra is None or (extra == "0" and scheme == "id:sgln"):
        return key[0]
    return key[0] + key[1] + extra


def _epc_to_dl(uri: str) -> str:
    fast = _fast_epc_to_dl(uri)
    if fast is not None:
        return fast
    epc = _parse_epc(uri)
    scheme = epc.scheme
    if scheme is None:
        return uri  # a valid EPC that is not a GS1 key
    comps = epc.comps
    if None not in comps:
        return scheme.build(comps, _same)
    if None in comps[:-1]:
        raise _err(uri, "a pattern with '*' before the last component has no single Digital Link")
    if scheme.class_build is None:
        raise _err(uri, f"an {scheme.label} pattern has no single Digital Link")
    return scheme.class_build(comps[:-1], _same)


# --------------------------------------------------------------------------------------------
# GS1 Digital Link URIs
# --------------------------------------------------------------------------------------------

_PRIMARY: dict[str, str] = {
    "00": "SSCC",
    "01": "GTIN",
    "253": "GDTI",
    "255": "GCN",
    "401": "GINC",
    "402": "GSIN",
    "414": "GLN",
    "417": "party GLN",
    "8003": "GRAI",
    "8004": "GIAI",
    "8006": "ITIP",
    "8010": "CPID",
    "8017": "GSRN-P",
    "8018": "GSRN",
}
# Fixed-length all-digit keys (length includes the check digit).
_FIXED: dict[str, int] = {
    "00": 18,
    "402": 17,
    "414": 13,
    "417": 13,
    "8006": 18,
    "8017": 18,
    "8018": 18,
}
_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "01": ("22", "10", "21", "235"),
    "8006": ("22", "10", "21"),
    "414": ("254",),
    "8010": ("8011",),
}
# Qualifier AI -> (label, max length); 8011 is numeric.
_QUALIFIER_FORMAT: dict[str, tuple[str, int]] = {
    "22": ("CPV", 20),
    "10": ("lot", 20),
    "21": ("serial", 20),
    "235": ("third-party extension", 28),
    "254": ("GLN extension", 20),
    "8011": ("CPID serial", 12),
}
# Convenience alphas of GS1 Digital Link 1.x.
_ALPHAS: dict[str, str] = {
    "sscc": "00",
    "gtin": "01",
    "gdti": "253",
    "gcn": "255",
    "ginc": "401",
    "gsin": "402",
    "gln": "414",
    "party": "417",
    "grai": "8003",
    "giai": "8004",
    "itip": "8006",
    "cpid": "8010",
    "gsrnp": "8017",
    "gsrn": "8018",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
    "glnx": "254",
    "cpsn": "8011",
}
_HTTP_RE = re.compile(r"(?i:https?)://[^/?#]+([^?#]*)")
_DL_HINT_RE = re.compile(
    r"/(?:00|01|253|255|401|402|414|417|8003|8004|8006|8010|8017|8018"
    r"|sscc|gtin|gdti|gcn|ginc|gsin|gln|party|grai|giai|itip|cpid|gsrnp|gsrn)/[0-9]{4}"
)
_LEAD4_RE = re.compile(r"[0-9]{4}")
_CLASS_DL_RE = re.compile(r"https://id\.gs1\.org/(?:01/[0-9]{14}|8006/[0-9]{18})")


def _check_primary(uri: str, ai: str, value: str) -> str:
    """Validate a primary key value (GenSpecs §3 formats); return it with a GTIN padded to 14."""
    label = _PRIMARY[ai]
    if ai == "01":
        if not _isdigits(value) or len(value) not in (8, 12, 13, 14):
            raise _err(uri, f"GTIN must have 8, 12, 13 or 14 digits, not {value!r}")
        _verify(uri, label, value)
        return value.zfill(14)
    fixed = _FIXED.get(ai)
    if fixed is not None:
        if not _isdigits(value) or len(value) != fixed:
            raise _err(uri, f"{label} must have {fixed} digits, not {value!r}")
        _verify(uri, "GTIN" if ai == "8006" else label, value[:14] if ai == "8006" else value)
        return value
    if ai in ("253", "255", "8003"):
        n = 14 if ai == "8003" else 13
        head, tail = value[:n], value[n:]
        if not _isdigits(head) or len(head) != n:
            raise _err(uri, f"{label} must start with {n} digits")
        if ai == "8003" and head[0] != "0":
            raise _err(uri, "GRAI in AI 8003 must start with the filler digit 0")
        _verify(uri, label, head)
        if ai == "255":
            if tail and (not _isdigits(tail) or len(tail) > 12):
                raise _err(uri, "GCN serial must have up to 12 digits")
        else:
            _dl_text(uri, f"{label} serial", tail, 17 if ai == "253" else 16, minlen=0)
        return value
    _dl_text(uri, label, value, 30, cset39=ai == "8010")  # 401, 8004, 8010
    return value


def _check_qualifier(uri: str, ai: str, value: str) -> None:
    label, maxlen = _QUALIFIER_FORMAT[ai]
    if ai == "8011":
        if not _isdigits(value) or len(value) > maxlen:
            raise _err(uri, f"{label} must have 1 to {maxlen} digits, not {value!r}")
    else:
        _dl_text(uri, label, value, maxlen)


def _dl_build(uri: str, ai: str, value: str, rest: list[str]) -> str:
    quals: dict[str, str] = {}
    for j in range(0, len(rest), 2):
        if rest[j] in quals:
            raise _err(uri, f"key qualifier /{rest[j]}/ appears twice")
        quals[rest[j]] = rest[j + 1]
    value = _check_primary(uri, ai, value)
    for q, v in quals.items():
        _check_qualifier(uri, q, v)
    if "235" in quals and len(quals) > 1:
        raise _err(uri, "/235/ cannot be combined with /22/, /10/ or /21/")
    out = f"{_DL}/{ai}/{value}"
    if ai == "01" or ai == "8006":
        for q in ("21", "235", "10"):
            if q in quals:
                return f"{out}/{q}/{quals[q]}"
    elif ai == "414":
        ext = quals.get("254")
        if ext is not None and ext != "0":
            return f"{out}/254/{ext}"
    elif ai == "8010" and "8011" in quals:
        return f"{out}/8011/{quals['8011']}"
    return out


def _dl_canonical(uri: str) -> str | None:
    """Canonical form of a GS1 Digital Link URI, or None when ``uri`` is not one."""
    m = _HTTP_RE.match(uri)
    if m is None:
        return None
    path = m.group(1)
    if _DL_HINT_RE.search(path) is None:
        return None
    segs = path.split("/")
    if len(segs) > 2 and segs[-1] == "":
        segs.pop()  # one trailing slash
    first = -1
    for i in range(1, len(segs) - 1):
        # convenience alphas (DL 1.x) name keys and qualifiers, never values
        ai = _ALPHAS.get(segs[i], segs[i])
        if ai not in _PRIMARY or _LEAD4_RE.match(segs[i + 1]) is None:
            continue
        if first < 0:
            first = i
        rest = [_ALPHAS.get(v, v) if j % 2 == 0 else v for j, v in enumerate(segs[i + 2 :])]
        allowed = _QUALIFIERS.get(ai, ())
        if len(rest) % 2 == 0 and all(rest[j] in allowed for j in range(0, len(rest), 2)):
            return _dl_build(uri, ai, segs[i + 1], rest)
    ai = _ALPHAS.get(segs[first], segs[first])
    allowed = _QUALIFIERS.get(ai, ())
    if allowed:
        rule = f"only key qualifier pairs /{'/, /'.join(allowed)}/ may follow /{ai}/<key>"
    else:
        rule = f"nothing may follow /{ai}/<key> in the path"
    raise _err(uri, rule)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=_CACHE_SIZE)
def to_digital_link(uri: str) -> str:
    """Canonical GS1 Digital Link (``https://id.gs1.org/...``) of a GS1 identifier.

    Accepts EPC pure identity URIs (TDS §6.3, §7), ``urn:epc:class:lgtin:`` and EPC id
    patterns whose only ``*`` is the serial (giving the class-level key, e.g. the GTIN), and
    Digital Link URIs on any domain (constrained to the finest key level, query dropped).
    Anything that is not a GS1 identifier is returned unchanged. A malformed GS1 identifier
    raises :class:`InvalidIdentifier`.
    """
    _bounded(uri)
    if uri.startswith("urn:epc:"):
        return _epc_to_dl(uri)
    dl = _dl_canonical(uri)
    return uri if dl is None else dl


def validate_identifier(uri: str) -> None:
    """Raise :class:`InvalidIdentifier` if ``uri`` looks like a GS1 identifier but is malformed.

    ``urn:epc:`` URIs get a structural check (EPC URNs carry no check digit), patterns may
    have trailing ``*`` components; Digital Links (an http(s) path with ``/<primary key AI>/``
    followed by digits) are checked for format, length, character set and check digits.
    Other URIs pass.
    """
    _bounded(uri)
    if is_pattern(uri):
        _parse_epc(uri)
    else:
        to_digital_link(uri)  # validates, and caches the conversion for the hash and the index


def check_identifier(uri: str) -> None:
    """Raise :class:`InvalidIdentifier` unless ``uri`` is an identifier an import may name: an
    absolute URI of visible ASCII characters (RFC 3986 §2: a URI is ASCII; an invisible or
    look-alike character, such as a zero-width space or a Cyrillic a (U+0430), would make another
    identifier that reads the same), checked as an event's identifiers are."""
    bad = next((c for c in uri if not "!" <= c <= "~"), None)
    if bad is not None:
        raise _err(uri, f"character U+{ord(bad):04X} is not visible ASCII (RFC 3986 §2)")
    if not is_absolute_uri(uri):
        raise _err(uri, "not an absolute URI (scheme:...)")
    validate_identifier(uri)


def is_pattern(uri: str) -> bool:
    """True for an EPC pure identity pattern URI (``urn:epc:idpat:``) with a ``*`` component."""
    return (
        uri.startswith("urn:epc:idpat:") and "*" in uri and "*" in uri.split(":", 4)[-1].split(".")
    )


def parse_epc(uri: str) -> Epc:
    """An EPC URI parsed and validated: pure identity (TDS §6.3), ``urn:epc:class:lgtin:`` or
    id pattern (§8); InvalidIdentifier names the rule it breaks."""
    _bounded(uri)
    return _parse_epc(uri)


def is_class_link(link: str) -> bool:
    """True for the canonical Digital Link of a trade item class: a GTIN (or ITIP) with no
    serial or lot, whose lots are the links that qualify it with ``/10/``."""
    return _CLASS_DL_RE.fullmatch(link) is not None


def parent_location(uri: str) -> str | None:
    """The location an SGLN with a GLN extension is part of: the GLN itself, as its canonical
    Digital Link (GenSpecs §3.9.11, AI 254: the extension identifies an internal physical
    location within the location the GLN identifies). None for a GLN without extension and
    for anything that is not an SGLN."""
    link = to_digital_link(uri)
    gln, sep, _ = link.partition("/254/")
    return gln if sep and gln.startswith(f"{_DL}/414/") else None


@lru_cache(maxsize=_CACHE_SIZE)
def gtin_of(uri: str) -> str | None:
    """14-digit GTIN of an SGTIN, LGTIN, UPUI, sgtin id pattern or ``/01/`` Digital Link."""
    _bounded(uri)
    if uri.startswith("urn:epc:idpat:"):
        epc = _parse_epc(uri)
        if epc.name in ("sgtin", "upui") and epc.comps[1] is not None:
            return _gtin(epc.comps[0], epc.comps[1])
        return None
    dl = to_digital_link(uri)
    if dl.startswith(f"{_DL}/01/"):
        return dl[len(_DL) + 4 : len(_DL) + 18]
    return None


def epc_urn(identifier: str, class_pattern: str | None) -> str:
    """An SGTIN or LGTIN as an EPC URN (what exchanges such as PACT take as a URN): as given
    when it is one; from a Digital Link, with the company prefix length its class pattern
    (``urn:epc:idpat:sgtin:3700000.030001.*``, from the master data) states; otherwise a
    name-based UUID URN of the Digital Link."""
    if identifier.startswith("urn:"):
        return identifier
    link = to_digital_link(identifier)
    match = re.fullmatch(r"https://id\.gs1\.org/01/\d{14}/(21|10)/(.+)", link)
    prefix = "urn:epc:idpat:sgtin:"
    if (
        match
        and class_pattern
        and class_pattern.startswith(prefix)
        and class_pattern.endswith(".*")
    ):
        company_item = class_pattern[len(prefix) : -2]
        tail = quote(unquote(match.group(2)), safe="")
        kind = "id:sgtin" if match.group(1) == "21" else "class:lgtin"
        return f"urn:epc:{kind}:{company_item}.{tail}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, link)}"
