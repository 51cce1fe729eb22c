"""batterytrace: traceability and carbon footprint of battery raw materials.

The public library API::

    from batterytrace import Settings, event_hash, prehash, read_document, stream_document
    from batterytrace import unit_of_work
    from batterytrace.services import events, ledger

    uow = unit_of_work()                        # Settings(): BATTERYTRACE_DB, BATTERYTRACE_KEY...
    ledger.init(uow)                            # schema + signing key
    events.capture(uow, Path("events.jsonld"))  # all or nothing
    shipped = {"EQ_bizStep": "shipping", "MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.*"}
    page = events.query(uow, shipped)           # one page of a SimpleEventQuery
    ledger.verify(uow).ok

Names are loaded on first use, so that importing one part (a capture worker imports only the
EPCIS codecs) does not import the database layer.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BatteryTraceError": ("batterytrace.errors", "BatteryTraceError"),
    "Settings": ("batterytrace.settings", "Settings"),
    "event_hash": ("batterytrace.epcis.hash", "event_hash"),
    "prehash": ("batterytrace.epcis.hash", "prehash"),
    "read_document": ("batterytrace.epcis.documents", "read"),
    "stream_document": ("batterytrace.epcis.documents", "stream"),
    "unit_of_work": ("batterytrace.services.bootstrap", "unit_of_work"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'batterytrace' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    return getattr(import_module(module), attribute)
