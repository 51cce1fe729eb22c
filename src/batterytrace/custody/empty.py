"""Why a mass-balance query shows no statement (issue 13, point 6): a site given by its name or
an identifier no site has, a site with no account, a period of another length than the
accounts' or one they do not reach. Said on stderr, so that stdout stays machine-readable."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from batterytrace.custody.ledger import Account, Period
from batterytrace.errors import CustodyError
from batterytrace.masterdata import Site
from batterytrace.trace.lineage import node_id

_ADVERB = {Period.MONTH: "monthly", Period.QUARTER: "quarterly", Period.YEAR: "yearly"}


def why_empty(
    accounts: Iterable[Account], site: str | None, period: str | None, sites: Mapping[str, Site]
) -> str | None:
    """What to tell a user whose ``custody balance [site] [--period]`` matched no statement;
    None when there are no accounts at all to speak of (nothing to explain)."""
    every = list(accounts)
    chosen = every
    if site is not None:
        wanted = node_id(site)
        chosen = [a for a in every if a.site == wanted]
        if not chosen:
            return _no_account(site, wanted, sites)
    if period is None or not chosen:
        return None
    where = f" of {site}" if site else ""
    lengths = sorted({a.rules.period for a in chosen}, key=list(Period).index)
    labels = sorted({s.period for a in chosen for s in a.statements()})
    if not any(_names(length, period) for length in lengths):
        kinds = " or ".join(_ADVERB[p] for p in lengths)
        return (f"the accounts{where} are {kinds}: none has a period {period}; their periods: "
                f"{', '.join(labels) or 'none yet'}")  # fmt: skip
    return f"no account{where} has a statement for {period}; their periods: {', '.join(labels)}"


def _names(length: Period, label: str) -> bool:
    try:
        length.parse(label)
    except CustodyError:
        return False
    return True


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
