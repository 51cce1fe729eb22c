"""The project's exceptions: one root, precise subclasses.

Every error a user can cause is a :class:`BatteryTraceError`; its message is one line that
names what was wrong (the event, the field, the rule). The CLI prints that line and exits
non-zero; it never shows a stack trace for these.
"""


class BatteryTraceError(Exception):
    """Root of every error batterytrace raises on purpose."""

    def __str__(self) -> str:
        # One line whatever the input held: control characters quoted from user data are escaped.
        return super().__str__().translate(_ESCAPES)


_ESCAPES = {c: f"\\x{c:02x}" for c in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t"}


class InvalidIdentifier(BatteryTraceError):
    """A GS1 key, EPC URI or GS1 Digital Link URI is malformed or has a bad check digit."""


class InvalidDocument(BatteryTraceError):
    """An EPCIS document is malformed, fails the schema or breaks a semantic rule."""


class DuplicateEventConflict(BatteryTraceError):
    """An eventID is already stored with different content."""


class QueryError(BatteryTraceError):
    """A query parameter is unknown or has an invalid value."""


class QueryTooLarge(QueryError):
    """More events match than the query's maxEventCount allows (QueryTooLargeException)."""


class SubscriptionError(BatteryTraceError):
    """A subscription's controls break a rule (SubscriptionControlsException)."""


class StoreError(BatteryTraceError):
    """The store is missing, not initialised or not reachable."""


class StaleVersion(BatteryTraceError):
    """A write names the ledger version its caller read, and the ledger has moved since."""


class ImportConflict(BatteryTraceError):
    """An import states other content under a key already stored (an activity datum, a
    factor-set version, a supplier footprint id), or names an import that is not there."""


class LedgerKeyError(BatteryTraceError):
    """The checkpoint signing key is missing or unreadable."""


class FieldError(InvalidDocument):
    """One field of one event breaks one rule; readers add which event it was."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule

    def __reduce__(self) -> tuple[type["FieldError"], tuple[str, str]]:
        return FieldError, (self.field, self.rule)

    def nested(self, parent: str) -> "FieldError":
        """The same error seen from the enclosing field (``quantityList[2].uom``)."""
        return FieldError(f"{parent}.{self.field}" if self.field else parent, self.rule)


def event_error(index: int, event_id: str | None, err: FieldError) -> InvalidDocument:
    """The one-line rejection: which event (index and eventID), which field, which rule."""
    where = f"event {index}" + (f" ({event_id})" if event_id else "")
    return InvalidDocument(f"{where}: {err.field}: {err.rule}")


class InvalidFormula(BatteryTraceError):
    """A chemical formula cannot be read (unknown element, unbalanced parenthesis...)."""


class UnitError(BatteryTraceError):
    """A quantity's unit is unknown or cannot be converted to the unit asked for."""


class CustodyError(BatteryTraceError):
    """A chain-of-custody claim or a mass-balance operation breaks a rule."""


class InvalidClaim(CustodyError):
    """A claim's name or value is not one the chain-of-custody models know."""


class Overdraft(CustodyError):
    """A debit would take a mass-balance account below zero; ``shortfall`` kg is missing."""

    def __init__(self, message: str, shortfall: float) -> None:
        super().__init__(message)
        self.shortfall = shortfall


class PeriodClosed(CustodyError):
    """An accounting period is closed already: it cannot be closed again or take entries."""


class ContractError(BatteryTraceError):
    """An offtake agreement or a delivery against one breaks a rule."""


class FootprintError(BatteryTraceError):
    """Carbon-footprint inputs or a footprint calculation break a rule."""


class FactorError(FootprintError):
    """An emission factor is malformed, missing from the set used, or in a unit the activity
    cannot be converted to."""


class ActivityError(FootprintError):
    """An activity datum (energy, fuel, reagent, process emission, transport leg) is invalid."""


class AllocationError(FootprintError):
    """An allocation rule cannot share a step's emissions among its outputs (shares not
    summing to 1, no basis for an output)."""


class PactError(FootprintError):
    """A PACT (WBCSD Pathfinder) ProductFootprint document fails its schema or cannot be used."""


class CertificateError(BatteryTraceError):
    """A certificate, assessment, rating or membership record breaks a rule of its format."""


class SettingError(BatteryTraceError):
    """An environment variable that sets a limit or an option holds a value that cannot be
    used."""


class MissingMasterData(BatteryTraceError):
    """An import names sites, parties or products the stored master data do not have."""


class AuthenticationError(BatteryTraceError):
    """Credentials or an access token are missing, wrong, expired, forged or revoked."""


class TokenExpired(AuthenticationError):
    """An access token that was valid has expired."""


class Forbidden(BatteryTraceError):
    """The caller is known but its scopes do not allow what it asks."""


class ShareError(BatteryTraceError):
    """A sharing agreement names an unknown organisation or term, or breaks a rule of its
    scope (decision 041)."""


class NoSuchResource(BatteryTraceError):
    """What a request names (an event, a capture job, a client) is not there."""


class NoSuchName(NoSuchResource):
    """A named query or one of its subscriptions is not there (NoSuchNameException)."""


class AlreadyExists(BatteryTraceError):
    """What a request creates (a named query) exists already under that name."""


class CaptureLimitExceeded(BatteryTraceError):
    """A capture request holds more events or bytes than the server takes at once."""
