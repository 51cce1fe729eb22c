"""Every setting the environment gives, read and checked once, at the edge (decision 030).

The CLI reads :class:`Settings` at each command, ``UnitOfWork`` when it is made (or takes
one); they hand the values down as arguments, and the limits to
:func:`batterytrace.limits.configure`. The variables are ``BATTERYTRACE_`` and the field's name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from batterytrace.errors import SettingError
from batterytrace.limits import DRAWS, EVENT_SIZE, EXTENSION_VALUE, IDENTIFIER

PREFIX = "BATTERYTRACE_"
_SHOWN = 200  # characters of a refused value a message quotes
_UNITS = {
    "workers": "worker processes",
    "token_ttl": "seconds",
    "capture_limit": "events",
    "capture_file_size_limit": "bytes",
    "webhook_attempts": "attempts",
    "websocket_buffer": "batches",
}
_LIMITS = {
    "max_identifier_length": IDENTIFIER,
    "max_extension_length": EXTENSION_VALUE,
    "max_event_size": EVENT_SIZE,
    "max_draws": DRAWS,
}


class Settings(BaseSettings):
    """The environment's settings, typed; a bad value is a one-line :class:`SettingError`
    naming the variable and the rule."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, frozen=True)

    db: str = "sqlite:///batterytrace.db"  # a SQLAlchemy URL
    key: Path = Path("batterytrace-ledger.key")  # the ledger's private key; its public key: .pub
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)  # capture, hash
    epcis_schema: Path | None = None  # the official EPCIS 2.0 JSON Schema, to validate against
    debug: bool = False  # an internal error shows its traceback
    max_identifier_length: int = IDENTIFIER.default
    max_extension_length: int = EXTENSION_VALUE.default
    max_event_size: int = EVENT_SIZE.default
    max_draws: int = DRAWS.default
    # The HTTP server (`batterytrace serve`, decision 039)
    token_key: Path = Path("batterytrace-token.key")  # Ed25519 key signing access tokens
    token_ttl: int = 3600  # seconds an access token is valid
    capture_limit: int = 10_000  # events in one capture request (GS1-EPCIS-Capture-Limit)
    capture_file_size_limit: int = 32 * 1024 * 1024  # bytes of one capture request body
    webhook_attempts: int = 8  # failed deliveries before a batch goes to the dead letters
    webhook_timeout: float = 10.0  # seconds a webhook receiver has to answer
    webhook_backoff: float = 1.0  # seconds before the first retry; doubled at each failure
    websocket_buffer: int = 64  # batches a slow WebSocket client may fall behind by

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingError("; ".join(_line(error) for error in exc.errors())) from None

    @field_validator(
        "workers", "token_ttl", "capture_limit", "capture_file_size_limit", "webhook_attempts",
        "websocket_buffer", *_LIMITS, mode="before",
    )  # fmt: skip
    @classmethod
    def _whole(cls, raw: object, info: ValidationInfo) -> int:
        limit = _LIMITS.get(info.field_name or "")
        unit, floor = (limit.unit, limit.floor) if limit else (_UNITS[info.field_name or ""], 1)
        try:
            value = int(str(raw).replace("_", ""))  # 10_000 reads as Python reads it
        except ValueError:
            value = floor - 1
        if value < floor:
            raise ValueError(f"is not a whole number of {unit} of at least {floor:,}")
        return value

    @field_validator("webhook_timeout", "webhook_backoff")
    @classmethod
    def _seconds(cls, value: float) -> float:
        if not 0 < value < 86_400:
            raise ValueError("is not a number of seconds between 0 and 86,400")
        return value

    @field_validator("epcis_schema")
    @classmethod
    def _a_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError("is not a file")
        return path

    @property
    def limits(self) -> dict[str, int]:
        """The limits by variable name, for :func:`batterytrace.limits.configure`."""
        return {limit.env: getattr(self, name) for name, limit in _LIMITS.items()}


def _line(error: ErrorDetails) -> str:
    """``VARIABLE: 'value' rule``, the value cut short."""
    variable = PREFIX + str(error["loc"][0]).upper()
    shown = str(error["input"])[:_SHOWN]
    if error["type"] == "value_error":
        return f"{variable}: {shown!r} {error['ctx']['error']}"
    return f"{variable}: {shown!r} is not valid: {error['msg']}"
