"""batterytrace: traceability and carbon footprint of battery raw materials.

The public library API::

    from batterytrace import Repository, event_hash, prehash, read_document, stream_document
"""

from batterytrace.epcis.documents import read as read_document
from batterytrace.epcis.documents import stream as stream_document
from batterytrace.epcis.hash import event_hash, prehash
from batterytrace.errors import BatteryTraceError
from batterytrace.repository import Repository

__all__ = [
    "BatteryTraceError",
    "Repository",
    "event_hash",
    "prehash",
    "read_document",
    "stream_document",
]
