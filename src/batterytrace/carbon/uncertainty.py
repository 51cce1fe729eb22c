"""Uncertainty of a footprint: Monte Carlo over the emission factors' lognormal distributions.

Each factor's value is the median of a lognormal with the factor's geometric standard deviation
(ecoinvent's convention; a factor given as a 95 % range gets the sigma that range implies).
One draw takes one value per factor, so a factor used at several stages or sites moves them
together; process emissions and supplier footprints are taken as recorded. The draws are
vectorised (one matrix product for all of them) and seeded, so the same seed gives the same
interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from batterytrace.carbon import DRAWS, SEED
from batterytrace.carbon.factors import FactorSet
from batterytrace.carbon.footprint import Footprint
from batterytrace.errors import FootprintError
from batterytrace.limits import DRAWS as MAX_DRAWS

_BLOCK = 65_536  # draws generated at once


@dataclass(frozen=True, slots=True)
class Interval:
    """The distribution of one product's footprint per unit, kg CO2e."""

    median: float
    mean: float
    low: float  # 2.5th percentile
    high: float  # 97.5th percentile
    draws: int
    seed: int

    def to_json(self) -> dict[str, float | int | str]:
        return {
            "median": self.median,
            "mean": self.mean,
            "p2.5": self.low,
            "p97.5": self.high,
            "draws": self.draws,
            "seed": self.seed,
            "method": "Monte Carlo, lognormal factors (median = value, GSD as given)",
        }


def check_draws(draws: int) -> None:
    """Refuse a number of draws that makes no interval, or more than the limit allows."""
    if draws < 2:
        raise FootprintError(f"draws: {draws} is too few for an interval (at least 2)")
    too_many = MAX_DRAWS.over(draws)
    if too_many is not None:
        raise FootprintError(f"draws: {too_many}")


def interval(
    fp: Footprint, factor_set: FactorSet, draws: int = DRAWS, seed: int = SEED
) -> Interval:
    """The 95 % interval of a product's footprint per unit, over the factors of ``factor_set``
    it uses (those outside the set, process emissions and supplier footprints, as recorded)."""
    check_draws(draws)
    names = sorted(fp.factors)
    amounts = np.array([fp.factors[name] for name in names])  # kg CO2e at the factors' values
    sigma = np.array([factor_set.get(n).sigma if n in factor_set else 0.0 for n in names])
    rng = np.random.default_rng(seed)
    totals = np.empty(draws)
    # Overflows become inf and are refused below, never a numpy warning.
    with np.errstate(over="ignore", invalid="ignore"):
        # In blocks, so memory is the totals and one block whatever the number of draws; the
        # generator fills blocks of rows from the same stream as one (draws, factors) matrix.
        for start in range(0, draws, _BLOCK):
            rows = min(_BLOCK, draws - start)
            scale = np.exp(rng.standard_normal((rows, len(names))) * sigma)
            totals[start : start + rows] = scale @ amounts
        mean = float((totals / draws).sum())  # the sum of finite draws may overflow
    if not (np.isfinite(totals).all() and math.isfinite(mean)):
        raise FootprintError(
            f"{fp.id}: Monte Carlo draws of its footprint pass any finite number of kg CO2e "
            "(a factor's uncertainty or an amount is far too large)"
        )
    low, median, high = np.percentile(totals, [2.5, 50, 97.5])
    return Interval(float(median), mean, float(low), float(high), draws, seed)
