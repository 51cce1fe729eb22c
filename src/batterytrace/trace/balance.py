"""Element mass balance of every transformation: element out against element in.

A step may never put out more of an element than went in (beyond the tolerance): element mass
does not appear from nothing. Where the events state a yield (``bt:yield``, ``bt:cobaltYield``...)
the element out must match in times the yield within the tolerance. A step whose element figures are
incomplete cannot be checked; it is listed as such, never passed silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from batterytrace.errors import QueryError
from batterytrace.trace.genealogy import ElementContent
from batterytrace.trace.lineage import ELEMENT_NAMES, Lineage, Step

DEFAULT_TOLERANCE = 0.005  # kg/kg: half a percentage point of the input element


@dataclass(frozen=True, slots=True)
class Finding:
    step: str
    element: str
    kg_in: float | None
    kg_out: float | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "element": self.element, "kg_in": self.kg_in,
                "kg_out": self.kg_out, "message": self.message}  # fmt: skip


@dataclass(slots=True)
class BalanceReport:
    steps: int = 0
    checked: int = 0  # (step, element) pairs with complete figures
    violations: list[Finding] = field(default_factory=list)
    unchecked: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def check(
    lineage: Lineage,
    steps: Iterable[tuple[Step, dict[str, float]]],
    elements: Iterable[str] = tuple(ELEMENT_NAMES),
    tolerance: float = DEFAULT_TOLERANCE,
) -> BalanceReport:
    """Check each (transformation step, stated yields) for each element."""
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise QueryError(f"tolerance: {tolerance} is not a finite number ≥ 0 (kg per kg in)")
    report = BalanceReport()
    contents = {e: ElementContent(lineage, e) for e in elements}
    for step, yields in steps:
        report.steps += 1
        lineage.prefetch(f.id for f in (*step.inputs, *step.outputs))
        for element, content in contents.items():
            outcome, finding = _check_step(step, element, content, yields.get(element), tolerance)
            if outcome != "absent":
                report.checked += outcome != "unchecked"
            if finding is not None:
                (report.unchecked if outcome == "unchecked" else report.violations).append(finding)
    return report


def _check_step(
    step: Step, element: str, content: ElementContent, stated: float | None, tolerance: float
) -> tuple[str, Finding | None]:
    """("absent" | "ok" | "unchecked" | "violation", the finding if any)."""
    ins = [content.in_flow(f, step) for f in step.inputs]
    outs = [content.in_flow(f, step) for f in step.outputs] + [
        None if (each := content.in_item(b)) is None else each * b.count for b in step.batches
    ]
    known_in = [c for c in ins if c is not None]
    known_out = [c for c in outs if c is not None]
    if not known_in and not known_out:
        return "absent", None  # the element plays no part here (no figure on either side)
    kg_in = sum(known_in) if len(known_in) == len(ins) else None
    kg_out = sum(known_out) if len(known_out) == len(outs) else None
    if kg_in is None or kg_out is None:
        side = "inputs" if kg_in is None else "outputs"
        message = f"cannot check {element}: some {side} have no {element} figure"
        return "unchecked", Finding(step.key, element, kg_in, kg_out, message)
    limit = kg_in * (1 + tolerance)
    if kg_out > limit + 1e-12:
        message = (
            f"{kg_out:.6g} kg {element} out but only {kg_in:.6g} kg in: "
            f"{kg_out - kg_in:.6g} kg from nothing"
        )
        return "violation", Finding(step.key, element, kg_in, kg_out, message)
    if stated is not None and kg_in > 0 and abs(kg_out / kg_in - stated) > tolerance:
        message = (
            f"yield {kg_out / kg_in:.4f} differs from the stated {stated:.4f} "
            f"by more than {tolerance}"
        )
        return "violation", Finding(step.key, element, kg_in, kg_out, message)
    return "ok", None
