"""The EPCIS 2.0 REST binding's version headers (§12.2): what every response declares
(``GS1-EPCIS-Version``, ``GS1-CBV-Version``, ``GS1-Extensions``) and the ranges a request may
ask for (``GS1-EPCIS-Min/Max``, ``GS1-CBV-Min/Max``, ``GS1-EPCIS-Version``), answered 406 when
this server's versions lie outside them."""

from __future__ import annotations

import re
from importlib.metadata import version as package_version

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders

from batterytrace.api import problems
from batterytrace.masterdata import BT
from batterytrace.settings import Settings

EPCIS_VERSION = (2, 0, 0)
CBV_VERSION = (2, 0, 0)
EXTENSIONS = f"bt={BT}"  # the element-mass and custody extension fields we read
_VERSION = re.compile(r"\d+(\.\d+)*")


def _text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _parsed(header: str, value: str) -> tuple[int, ...]:
    if not _VERSION.fullmatch(value.strip()):
        raise problems.Problem(
            400, "ValidationException", f"{header}: {value!r} is not a version such as 2.0.0"
        )
    parts = tuple(int(p) for p in value.strip().split("."))
    return parts + (0,) * (3 - len(parts))


class Negotiation:
    """Checks a request's version headers and stamps a response's."""

    def __init__(self, settings: Settings) -> None:
        self.stamped = {
            "GS1-EPCIS-Version": _text(EPCIS_VERSION),
            "GS1-CBV-Version": _text(CBV_VERSION),
            "GS1-Extensions": EXTENSIONS,
            "GS1-Vendor-Version": f"batterytrace-{package_version('batterytrace')}",
        }
        # the standard's text names them GS1-Capture-…, GS1's openapi.yaml GS1-EPCIS-Capture-…:
        # both are sent
        self.capture_limits = {
            f"GS1{infix}-Capture{what}-Limit": str(value)
            for infix in ("", "-EPCIS")
            for what, value in (
                ("", settings.capture_limit),
                ("-File-Size", settings.capture_file_size_limit),
            )
        }

    def refusal(self, request: Request) -> Response | None:
        """The 400 or 406 problem of a request asking for versions this server has not."""
        try:
            for name, ours in (("EPCIS", EPCIS_VERSION), ("CBV", CBV_VERSION)):
                low = request.headers.get(f"GS1-{name}-Min")
                high = request.headers.get(f"GS1-{name}-Max")
                exact = request.headers.get(f"GS1-{name}-Version")
                if low is not None and _parsed(f"GS1-{name}-Min", low) > ours:
                    raise problems.Problem(
                        406,
                        "NotAcceptableException",
                        f"GS1-{name}-Min: {low}: this server speaks {name} {_text(ours)}",
                    )
                if high is not None and _parsed(f"GS1-{name}-Max", high)[:2] < ours[:2]:
                    raise problems.Problem(
                        406,
                        "NotAcceptableException",
                        f"GS1-{name}-Max: {high}: this server speaks {name} {_text(ours)}",
                    )
                if exact is not None and _parsed(f"GS1-{name}-Version", exact)[:2] != ours[:2]:
                    raise problems.Problem(
                        406,
                        "NotAcceptableException",
                        f"GS1-{name}-Version: {exact}: this server speaks {name} {_text(ours)}",
                    )
        except problems.Problem as refused:
            return problems.response(
                refused.status, problems.body(refused.status, refused.type, refused.detail)
            )
        return None

    def stamp(self, headers: MutableHeaders) -> None:
        """The GS1 headers every response carries, unless it set them itself."""
        for name, value in self.stamped.items():
            headers.setdefault(name, value)
