"""batterytrace's own routes beside the EPCIS binding (issue 15): trace, custody, contracts,
carbon, the summary of a pack, master data and the ledger. Each answers the JSON its command's
``--json`` prints, made by the same service function: the routes stay thin."""

from __future__ import annotations

from fastapi import APIRouter

from batterytrace.api import carbon, contracts, custody, ledger, masterdata, summary, trace

routers: list[APIRouter] = [
    trace.router,
    custody.router,
    contracts.router,
    carbon.router,
    summary.router,
    masterdata.router,
    ledger.router,
]
