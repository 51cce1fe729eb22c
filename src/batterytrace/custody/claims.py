"""Claims on material and the chain-of-custody models that carry them (ISO 22095:2020).

A claim is an attribute of material, written ``kind`` or ``kind:value``: ``low-carbon``,
``recycled``, ``certified:<scheme>`` (e.g. ``certified:RMI-RMAP``), ``origin:<ISO 3166-1
alpha-2 country>`` and ``agreement:<contract id>``. Each site runs one model per claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from batterytrace.errors import InvalidClaim


class Model(StrEnum):
    """ISO 22095 §5: how a claim travels with material through a site."""

    IDENTITY_PRESERVED = "identity-preserved"  # one source, kept apart: the claim stays on it
    SEGREGATED = "segregated"  # claimed material of many sources, never mixed with other
    MASS_BALANCE = "mass-balance"  # mixed physically; claims move as credits on an account
    BOOK_AND_CLAIM = "book-and-claim"  # credits apart from any physical flow

    @property
    def physical(self) -> bool:
        """The claim travels only with the material it was made on (mixing ends it)."""
        return self in (Model.IDENTITY_PRESERVED, Model.SEGREGATED)


_VALUES = {
    "low-carbon": None,
    "recycled": None,
    "certified": re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),  # a scheme, e.g. RMI-RMAP
    "origin": re.compile(r"[A-Z]{2}"),  # ISO 3166-1 alpha-2
    "agreement": re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}"),
}


@dataclass(frozen=True, slots=True, order=True)
class Claim:
    kind: str
    value: str | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def parse_claim(text: str) -> Claim:
    """``low-carbon``, ``certified:RMI-RMAP``, ``origin:MA`` ... as a claim, or InvalidClaim
    naming the rule broken."""
    kind, sep, value = text.strip().partition(":")
    if kind not in _VALUES:
        raise InvalidClaim(f"claim: {text!r}: kind {kind!r} is not one of {', '.join(_VALUES)}")
    pattern = _VALUES[kind]
    if pattern is None:
        if sep:
            raise InvalidClaim(f"claim: {text!r}: {kind} takes no value")
        return Claim(kind)
    if not pattern.fullmatch(value):
        rule = "an ISO 3166-1 alpha-2 country code" if kind == "origin" else "an identifier"
        raise InvalidClaim(f"claim: {text!r}: {kind} needs a value, {rule}")
    return Claim(kind, value)
