"""The PACT host (decision 042): the routes of the PACT Technical Specifications v2.3 (under
``/2/``) and v3.0 (under ``/3/``): ``GET /{v}/footprints`` (filters, ``limit``, ``Link``
paging), ``GET /{v}/footprints/{id}``, ``POST /{v}/events`` (CloudEvents), and the OpenID
discovery document naming the token endpoint (``/auth/token``, :mod:`.security`). Errors are
the specifications' ``{"code", "message"}`` JSON objects, never problem details; the requests
received are answered by :class:`Answers`, off the request."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx2
import orjson
from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from batterytrace.api import security
from batterytrace.carbon.publications import PARAMETERS, Document, Filter, odata_filter
from batterytrace.errors import AuthenticationError, PactError, TokenExpired
from batterytrace.services import pact
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.settings import Settings
from batterytrace.store.pact import Exchange, Partner

router = APIRouter(tags=["PACT"])

MEDIA_TYPE = "application/json"
EVENT_MEDIA_TYPE = "application/cloudevents+json; charset=UTF-8"
MAX_PAGE = 1000  # footprints in one answer without a smaller limit (the rest: Link)
_NOT_FOUND = {"2": "NoSuchFootprint", "3": "NotFound"}  # the code each version's tests expect
_LEASE_MS = 60_000


class Failure(Exception):
    """A PACT error: HTTP ``status``, the specification's error ``code``, one-line message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def on_failure(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Failure)
    body = {"code": exc.code, "message": exc.message}
    return Response(orjson.dumps(body), exc.status, media_type=MEDIA_TYPE)


def _caller(request: Request, scope: str | None) -> security.Caller:
    """The caller (TS v2.3 §6.9: an invalid token is a BadRequest, an expired one
    TokenExpired), who must hold ``scope`` (AccessDenied)."""
    try:
        who = security.caller(request)
    except TokenExpired as exc:
        raise Failure(401, "TokenExpired", str(exc)) from None
    except AuthenticationError as exc:
        raise Failure(400, "BadRequest", str(exc)) from None
    if scope is not None and scope not in who.scopes and not who.admin:
        raise Failure(403, "AccessDenied", f"this request needs the {scope!r} scope")
    return who


def _bad(exc: PactError) -> Failure:
    return Failure(400, "BadRequest", str(exc))


def _count(request: Request, name: str, least: int, default: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < least:
        raise Failure(400, "BadRequest", f"{name}: must be a whole number ≥ {least}")
    return int(text)


# The error codes of the specifications (v2.3 names an unknown footprint NoSuchFootprint)
_CODES = ("AccessDenied", "BadRequest", "NoSuchFootprint", "NotFound", "TokenExpired",
          "InternalError", "NotImplemented")  # fmt: skip
_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {
            "type": "string",
            "enum": [*_CODES],
        },
        "message": {"type": "string"},
    },
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {MEDIA_TYPE: {"schema": _ERROR}}}
    for status, text in (
        (400, "BadRequest: a malformed request or an invalid access token."),
        (401, "TokenExpired: the access token has expired."),
        (403, "AccessDenied: the token lacks the scope."),
    )
}
_LIST: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'The footprints, oldest first; `Link: <…>; rel="next"` when more remain.',
        "content": {MEDIA_TYPE: {"schema": {"type": "object", "required": ["data"]}}},
    }
}

_ONE: dict[str, dict[int | str, dict[str, Any]]] = {
    version: {
        200: {"description": 'The footprint, as `{"data": …}`.'},
        404: {
            "description": f"{code}: none by that id is published to you.",
            "content": {MEDIA_TYPE: {"schema": _ERROR}},
        },
    }
    for version, code in _NOT_FOUND.items()
}
_RECEIVED: dict[int | str, dict[str, Any]] = {200: {"description": "Received."}}


def _routes(version: str) -> None:
    spec = f"PACT v{'2.3' if version == '2' else '3.0'}"

    @router.get(
        f"/{version}/footprints",
        summary=f"ListFootprints ({spec}): the footprints published to the caller.",
        responses=_LIST | _ERRORS,
        operation_id=f"pact_list_v{version}",
    )
    def list_footprints(request: Request) -> Response:
        who = _caller(request, "query")
        limit = _count(request, "limit", 1, MAX_PAGE)
        offset = _count(request, "offset", 0, 0)
        try:
            keep = _filter(version, request)
        except PactError as exc:
            raise _bad(exc) from None
        found = pact.footprints(request.app.state.uow, version, who.organisation, keep)
        headers = {}
        if offset + limit < len(found):
            following = request.url.include_query_params(limit=limit, offset=offset + limit)
            headers["Link"] = f'<{following}>; rel="next"'
        body = {"data": found[offset : offset + limit]}
        return Response(orjson.dumps(body), 200, headers, media_type=MEDIA_TYPE)

    @router.get(
        f"/{version}/footprints/{{id}}",
        summary=f"GetFootprint ({spec}): one footprint published to the caller.",
        responses=_ONE[version] | _ERRORS,
        operation_id=f"pact_get_v{version}",
    )
    def get_footprint(request: Request, id: str) -> Response:
        who = _caller(request, "query")
        found = pact.footprint(request.app.state.uow, version, who.organisation, id)
        if found is None:
            raise Failure(404, _NOT_FOUND[version], f"footprint {id}: none published to you")
        return Response(orjson.dumps({"data": found}), 200, media_type=MEDIA_TYPE)

    @router.post(
        f"/{version}/events",
        summary=f"Events ({spec}): a request for footprints (answered later, to the "
        "sender's host), footprints fulfilled, an update published (CloudEvents).",
        responses=_RECEIVED | _ERRORS,
        operation_id=f"pact_events_v{version}",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/cloudevents+json": {"schema": {"type": "object"}}},
            }
        },
    )
    async def events(request: Request) -> Response:
        who = await run_in_threadpool(_caller, request, None)
        settings: Settings = request.app.state.settings
        raw = await request.body()
        if len(raw) > settings.capture_file_size_limit:
            raise Failure(400, "BadRequest", "event: larger than this host takes")
        try:
            envelope = orjson.loads(raw)
            kind = pact.kind_of(version, envelope)
        except orjson.JSONDecodeError:
            raise Failure(400, "BadRequest", "event: not JSON") from None
        except PactError as exc:
            raise _bad(exc) from None
        scope = pact.SCOPES[kind]
        if scope not in who.scopes and not who.admin:
            raise Failure(403, "AccessDenied", f"a {kind} event needs the {scope!r} scope")
        host = str(request.base_url).rstrip("/")
        try:
            await run_in_threadpool(
                pact.receive, request.app.state.uow, version, envelope, who.client_id,
                who.organisation, host,
            )  # fmt: skip
        except PactError as exc:
            raise _bad(exc) from None
        request.app.state.jobs.wake.set()  # the runner acts on it now, not at its next poll
        return Response(status_code=200)


def _filter(version: str, request: Request) -> Callable[[Document], bool]:
    query = request.query_params
    if version == "3":
        return Filter.of({name: query.getlist(name) for name in PARAMETERS})
    text = query.get("$filter")
    return odata_filter(text) if text else lambda _: True


for _version in ("2", "3"):
    _routes(_version)


@router.get(
    "/.well-known/openid-configuration",
    summary="OpenID Connect discovery (PACT TS §6.3): where to ask for an access token.",
    tags=["Authentication"],
)
def openid_configuration(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "issuer": base,
        "token_endpoint": f"{base}/auth/token",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
    }


class Answers:
    """Acts on the PACT events received, from the server's background thread (the capture-job
    runner, :class:`batterytrace.api.app.JobRunner`): answers each request (RequestCreated)
    with one RequestFulfilled or RequestRejected event POSTed to the sender's host
    (``source`` + ``/{v}/events``), and reads from a partner's host the footprints its events
    name; tried again with back-off when that fails. With a partner's credentials (``pact
    partner add``) each call carries a token of its host."""

    def __init__(
        self, uow: UnitOfWork, settings: Settings, log: logging.Logger, tokens: security.Tokens
    ) -> None:
        self.uow, self.settings, self.log, self.tokens = uow, settings, log, tokens
        self.client = httpx2.Client(timeout=settings.webhook_timeout)
        self.tokens_held: dict[str, tuple[str, float]] = {}  # partner host -> token, until

    def close(self) -> None:
        self.client.close()

    def round(self) -> None:
        """Act on every event due."""
        for exchange in pact.due(self.uow, _LEASE_MS):
            done, failure = None, None
            try:
                done = (
                    self._answer(exchange) if exchange.kind == "request" else self._fetch(exchange)
                )
            except (httpx2.HTTPError, Unanswered, ValueError) as exc:  # ValueError: not JSON
                failure = f"{type(exc).__name__}: {exc}"
                self.log.warning("pact %s %s: %s", exchange.kind, exchange.event_id, failure)
            pact.settle(
                self.uow, exchange, done, failure,
                self.settings.webhook_attempts, self.settings.webhook_backoff,
            )  # fmt: skip

    def _answer(self, exchange: Exchange) -> str:
        event = pact.answer(self.uow, exchange)
        target = f"{exchange.source.rstrip('/')}/{exchange.version}/events"
        partner = pact.partner_for(self.uow, exchange.source)
        headers = {"Content-Type": EVENT_MEDIA_TYPE} | self._bearer(partner)
        answer = self.client.post(target, content=orjson.dumps(event), headers=headers)
        if not answer.is_success:
            raise Unanswered(f"{target} answered HTTP {answer.status_code}")
        return f"{event['type']} sent to {target} (HTTP {answer.status_code})"

    def _fetch(self, exchange: Exchange) -> str:
        """The footprints a partner's event names, read from its host and kept."""
        partner = pact.partner_for(self.uow, exchange.source)
        if partner is None:
            return f"not fetched: {exchange.source} is no partner's host any more"
        headers = self._bearer(partner)
        found, missing = [], []
        for id in exchange.data["pfIds"]:
            url = f"{partner.base_url}/{exchange.version}/footprints/{id}"
            answer = self.client.get(url, headers=headers)
            if answer.status_code == 404:
                missing.append(id)
            elif not answer.is_success:
                raise Unanswered(f"{url} answered HTTP {answer.status_code}")
            else:
                found.append(answer.json().get("data"))
        outcome = [f"not found at {partner.base_url}: {', '.join(missing)}"] if missing else []
        if found:
            try:
                outcome.insert(0, pact.keep(self.uow, found, exchange.organisation, "footprint"))
            except PactError as exc:
                outcome.insert(0, f"not kept: {exc}")
        return "; ".join(outcome)

    def _bearer(self, partner: Partner | None) -> dict[str, str]:
        """The Authorization header for ``partner``'s host (none without a partner): a token
        from its token endpoint (OpenID discovery, else /auth/token), kept until a minute
        before it expires."""
        if partner is None:
            return {}
        kept = self.tokens_held.get(partner.base_url)
        if kept is not None and kept[1] > time.monotonic():
            return {"Authorization": f"Bearer {kept[0]}"}
        endpoint = f"{partner.base_url}/auth/token"
        with contextlib.suppress(httpx2.HTTPError, ValueError):
            found = self.client.get(f"{partner.base_url}/.well-known/openid-configuration")
            if found.is_success and isinstance(found.json().get("token_endpoint"), str):
                endpoint = found.json()["token_endpoint"]
        try:
            secret = self.tokens.unseal(partner.secret)
        except InvalidTag:
            raise Unanswered(
                f"the credentials for {partner.base_url} were sealed with another token key: "
                "add the partner again (pact partner add)"
            ) from None
        answer = self.client.post(
            endpoint, data={"grant_type": "client_credentials"}, auth=(partner.client_id, secret)
        )
        body = answer.json() if answer.is_success else {}
        token, lifetime = body.get("access_token"), body.get("expires_in", 60)
        if not isinstance(token, str):
            raise Unanswered(f"{endpoint} gave no access token (HTTP {answer.status_code})")
        if isinstance(lifetime, int) and lifetime > 60:
            self.tokens_held[partner.base_url] = (token, time.monotonic() + lifetime - 60)
        return {"Authorization": f"Bearer {token}"}


class Unanswered(Exception):
    """A partner's host did not do what was asked (a status not 2xx, no token)."""


def install(app: FastAPI) -> None:
    """The PACT routes and their error answers on ``app``; the events received are acted on
    by the server's background thread (``app.state.jobs``)."""
    app.add_exception_handler(Failure, on_failure)
    app.include_router(router)
