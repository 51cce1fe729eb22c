"""Recycled content of a battery (Regulation (EU) 2023/1542, Art. 8), per element.

Two figures per element, both shares of the element in the battery:

- *traced*: what its genealogy brings from lots the ``recycled`` claim originated on (a
  recycler's output), whatever the models downstream;
- *claimed*: what the chain of custody backs: along each path back from the battery, the
  nearest lot carrying a share of the claim (1 kept segregated, an allocated share under mass
  balance, 0 where mixing removed it) gives that share of the element coming through it.

Each is compared with the minimum shares of Art. 8(2) (from 18 August 2031) and 8(3) (from
18 August 2036).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from batterytrace.custody.claims import Claim
from batterytrace.trace.genealogy import Trace

RECYCLED = Claim("recycled")
SOURCE = (
    "Regulation (EU) 2023/1542, Art. 8(2) and 8(3): minimum shares of cobalt, lithium and "
    "nickel recovered from waste in active materials, and of lead in the battery"
)
MINIMUMS = (
    (date(2031, 8, 18), {"Co": 0.16, "Li": 0.06, "Ni": 0.06, "Pb": 0.85}),
    (date(2036, 8, 18), {"Co": 0.26, "Li": 0.12, "Ni": 0.15, "Pb": 0.85}),
)


class Claims(Protocol):
    """What share propagation reads of custody (a recomputed ``flows.Custody``, or the kept
    rows of the lots on a trace): each lot's share per element of each claim (None: unknown),
    and the lots each claim originated at."""

    @property
    def lots(self) -> Mapping[str, Mapping[Claim, Mapping[str, float | None]]]: ...

    @property
    def originated(self) -> Mapping[Claim, set[str]]: ...


@dataclass(frozen=True, slots=True)
class Share:
    element: str
    element_kg: float | None  # in the battery
    traced: float | None  # None: a gap in the genealogy (see the trace)
    claimed: float | None  # None: unknown (a gap, or lots whose claimed share is unknown)
    unknown: tuple[str, ...] = ()  # lots on the way whose claimed share is unknown: incomplete

    def meets(self) -> dict[str, bool | None]:
        """Whether the claimed share reaches each minimum (keyed by the date it applies from)."""
        return {
            str(day): None if self.claimed is None else self.claimed >= minimum[self.element]
            for day, minimum in MINIMUMS
            if self.element in minimum
        }


def share(trace: Trace, custody: Claims, claim: Claim = RECYCLED) -> Share:
    """The traced and claimed share of the trace's element (a backward trace of a battery)."""
    element = trace.element
    unknown: list[str] = []

    def origin(node: str) -> tuple[float | None] | None:
        return (1.0,) if node in custody.originated.get(claim, ()) else None

    def carried(node: str) -> tuple[float | None] | None:
        elements = custody.lots.get(node, {}).get(claim, {})
        if element not in elements:
            return None
        if elements[element] is None:
            unknown.append(node)
        return (elements[element],)

    if trace.start_kg is None:  # no figure for the element in the battery: no share either
        return Share(element, None, None, None)
    traced, claimed = _propagated(trace, origin), _propagated(trace, carried)
    return Share(element, trace.start_kg, traced, claimed, tuple(unknown))


def _propagated(
    trace: Trace, explicit: Callable[[str], tuple[float | None] | None]
) -> float | None:
    """The share of the start's element coming through objects with an explicit share (given
    as a 1-tuple, its value None when unknown): an object's own share where it has one, else
    its inputs' weighted by their links."""
    memo: dict[str, float | None] = {}

    def value(node: str, path: frozenset[str]) -> float | None:
        if node in memo:
            return memo[node]
        own = explicit(node)
        if own is not None:
            memo[node] = own[0]
            return own[0]
        total: float | None = 0.0
        for link in trace.children(node):
            if link.target in path:
                continue  # a cycle (reported by the trace)
            upstream = value(link.target, path | {link.target})
            if upstream and link.weight is None:
                total = None
            elif upstream is None:
                total = None if link.weight else total
            elif total is not None:
                total += link.weight * upstream if link.weight else 0.0
        memo[node] = total
        return total

    return value(trace.start, frozenset({trace.start}))
