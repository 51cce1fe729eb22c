"""Why a mass-balance query shows no statement (issue 13, point 6): a site given by its name or
an identifier no site has, a site with no account, a period of another length than the
accounts' or one they do not reach. Said on stderr, so that stdout stays machine-readable."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from batterytrace.masterdata import Site
from batterytrace.periods import Period
from batterytrace.trace.lineage import node_id

_ADVERB = {Period.MONTH: "monthly", Period.QUARTER: "quarterly", Period.YEAR: "yearly"}


def why_empty(
    accounts: Iterable[tuple[str, Period, Iterable[str]]],
    site: str | None,
    period: str | None,
    sites: Mapping[str, Site],
) -> str | None:
    """What to tell a user whose ``custody balance [site] [--period]`` matched no statement,
    given each account's site, period length and statement labels; None when there are no
    accounts at all to speak of (nothing to explain)."""
    every = [(where, length, list(labels)) for where, length, labels in accounts]
    chosen = every
    if site is not None:
        wanted = node_id(site)
        chosen = [a for a in every if a[0] == wanted]
        if not chosen:
            return _no_account(site, wanted, sites)
    if period is None or not chosen:
        return None
    where = f" of {site}" if site else ""
    lengths = sorted({length for _, length, _ in chosen}, key=list(Period).index)
    labels = sorted({label for _, _, names in chosen for label in names})
    if not any(length.names(period) for length in lengths):
        kinds = " or ".join(_ADVERB[p] for p in lengths)
        return (f"the accounts{where} are {kinds}: none has a period {period}; their periods: "
                f"{', '.join(labels) or 'none yet'}")  # fmt: skip
    return f"no account{where} has a statement for {period}; their periods: {', '.join(labels)}"


def _no_account(given: str, wanted: str, sites: Mapping[str, Site]) -> str:
    if any(node_id(id) == wanted for id in sites):
        return f"site {given} has no mass-balance account: no policy runs one there, or no entry"
    by_name = {s.name.casefold(): s for s in sites.values()}
    text = given.casefold()
    close = [by_name[n] for n in by_name if text in n]
    close += [by_name[n] for n in difflib.get_close_matches(text, by_name, n=3) if text not in n]
    if not close:
        return (f"no site has the identifier {given!r}; sites are named by their SGLN or GLN "
                "Digital Link (`masterdata show` lists them)")  # fmt: skip
    means = " or ".join(f"{s.id} ({s.name})" for s in close[:3])
    return f"no site has the identifier {given!r}; did you mean {means}?"
