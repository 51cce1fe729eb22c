"""batterytrace: traceability and carbon footprint of battery raw materials.

The public library API::

    from batterytrace import Repository, Settings, event_hash, prehash, read_document
    from batterytrace import stream_document

Names are loaded on first use, so that importing one part (a capture worker imports only the
EPCIS codecs) does not import the database layer.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BatteryTraceError": ("batterytrace.errors", "BatteryTraceError"),
    "Repository": ("batterytrace.repository", "Repository"),
    "Settings": ("batterytrace.settings", "Settings"),
    "event_hash": ("batterytrace.epcis.hash", "event_hash"),
    "prehash": ("batterytrace.epcis.hash", "prehash"),
    "read_document": ("batterytrace.epcis.documents", "read"),
    "stream_document": ("batterytrace.epcis.documents", "stream"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'batterytrace' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    return getattr(import_module(module), attribute)
