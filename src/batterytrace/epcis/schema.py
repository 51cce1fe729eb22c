"""Optional validation of JSON events against the official GS1 EPCIS 2.0 JSON Schema.

The schema is not shipped (GS1 publishes it without a licence grant, docs/decisions/002): point
``BATTERYTRACE_EPCIS_SCHEMA`` (or ``batterytrace capture --schema``) at a copy of
``EPCIS-JSON-Schema.json`` and every JSON event is validated against its event definitions on
top of batterytrace's own rules. The path comes with the stream (``documents.stream(path,
schema=...)``) and, in capture, with each batch its workers prepare.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batterytrace.errors import FieldError, InvalidDocument

if TYPE_CHECKING:
    import jsonschema


@lru_cache(maxsize=4)
def _validator(path: Path) -> jsonschema.Draft7Validator:
    import jsonschema  # only when a schema is configured: it takes a quarter second to load

    try:
        root = json.loads(path.read_text(encoding="utf-8"))
        definitions = root["definitions"]
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidDocument(f"{path} is not the EPCIS 2.0 JSON Schema ({exc})") from None
    schema = {"$ref": "#/definitions/EPCIS-Document-Event", "definitions": definitions}
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def check_event_json(obj: Any, schema_path: Path) -> None:
    """Raise FieldError for the most relevant schema violation of one JSON event."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(schema_path).iter_errors(obj))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "event"
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        raise FieldError(where, f"{message} (official EPCIS 2.0 JSON Schema)")
