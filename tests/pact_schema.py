"""The official PACT ProductFootprint schemas (../shared/conformance/pact), as validators."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import yaml

DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)

# Format checks: jsonschema knows uuid; date-time needs an optional package, so it is given here
# with the PACT Decimal and the URN the OpenAPI files use.
FORMATS = jsonschema.FormatChecker()
FORMATS.checks("date-time")(lambda v: not isinstance(v, str) or bool(DATE_TIME.fullmatch(v)))
FORMATS.checks("decimal")(lambda v: not isinstance(v, str) or bool(DECIMAL.fullmatch(v)))
FORMATS.checks("urn")(lambda v: not isinstance(v, str) or v.lower().startswith("urn:"))
OPENAPI = {"2": "openapi_v2_3.yaml", "3": "openapi_v3_0.yaml"}


def validators(conformance: Path) -> dict[str, jsonschema.Draft202012Validator]:
    """Validators of ProductFootprint by version ("2": v2.3, "3": v3.0), from the components of
    the OpenAPI files (3.1, i.e. JSON Schema 2020-12); the refs resolve in place."""
    folder = conformance / "pact" / "openapi"
    validators = {}
    for version, name in OPENAPI.items():
        document = yaml.safe_load((folder / name).read_text())
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": "#/components/schemas/ProductFootprint",
            "components": document["components"],
        }
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[version] = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    return validators
