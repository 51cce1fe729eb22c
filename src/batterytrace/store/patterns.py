"""SQL LIKE patterns for the MATCH_ parameters of a query (EPCIS 2.0 §8.2.7.1): what an EPC id
pattern (TDS §8) or EPC class covers, as a pattern over the stored canonical Digital Links.

The GS1 keys are built by :mod:`batterytrace.identifiers` (an unknown digit ``_``, an unknown
value ``%``); here every literal ``%``, ``_`` and ``\\`` is escaped with a backslash, so the
caller must write ``column LIKE :p ESCAPE '\\'`` (one backslash) and compare case-sensitively
(PostgreSQL LIKE; SQLite needs ``PRAGMA case_sensitive_like = ON``).
"""

from __future__ import annotations

from functools import lru_cache

from batterytrace.identifiers import is_class_link, parse_epc, to_digital_link

_CACHE_SIZE = 16384


def escape(text: str) -> str:
    """Escape ``\\``, ``%`` and ``_`` for an SQL LIKE with ``ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@lru_cache(maxsize=_CACHE_SIZE)
def like_pattern(pattern: str) -> str:
    """SQL LIKE pattern matching the canonical Digital Links of what ``pattern`` covers.

    For an EPC id pattern every unknown digit becomes ``_`` (check digits included when not
    computable) and an unknown serial ``%``; for any other identifier it is the exact canonical
    Digital Link (non-GS1 URIs: the URI itself). Patterns of the GIAI, GINC and CPI, whose
    company prefix length is lost in the Digital Link, also match keys of longer company
    prefixes that start with the given one.
    """
    if not pattern.startswith("urn:epc:"):
        return escape(to_digital_link(pattern))
    epc = parse_epc(pattern)
    link = epc.link(escape)
    if link is not None:
        return link
    if epc.kind != "idpat":
        return escape(pattern)
    body = ".".join("%" if c is None else escape(c) for c in epc.comps)
    return f"urn:epc:id:{escape(epc.name)}:{body}"


@lru_cache(maxsize=_CACHE_SIZE)
def _class_like_patterns(pattern: str) -> tuple[str, ...]:
    if pattern.startswith("urn:epc:idpat:"):
        epc = parse_epc(pattern)
        if epc.comps[-1] is not None:  # no '*': a single identifier
            return (like_pattern(pattern),)
        base = epc.class_link(escape)
        return (base, base + "/10/%") if epc.class_lots else (base,)
    exact = like_pattern(pattern)
    if is_class_link(to_digital_link(pattern)):
        return (exact, exact + "/10/%")  # a GTIN (or ITIP) class: itself and its lots
    return (exact,)


def class_like_patterns(pattern: str) -> list[str]:
    """SQL LIKE patterns (see :func:`like_pattern`) for matching an EPC class (MATCH_epcClass).

    An id pattern such as ``urn:epc:idpat:sgtin:4012345.012345.*`` gives the class-level
    Digital Link (the GTIN) and its lots (``.../10/%``); likewise a GTIN-only or ITIP-only
    Digital Link. GRAI, GDTI, SGCN and CPI patterns give their key without serial. An
    ``urn:epc:class:lgtin:`` URI or any other identifier gives its exact canonical form only.
    """
    return list(_class_like_patterns(pattern))
