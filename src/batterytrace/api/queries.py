"""Named queries and subscriptions (EPCIS 2.0 REST binding, ``/queries``): create, list, read
and delete queries, run them (``GET /queries/{name}/events``), and subscribe to them by
webhook (``POST …/subscriptions``) or WebSocket (``GET …/events`` upgraded). The deliveries
run in this server's event loop, woken by each capture (decision 039)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx2
import orjson
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from batterytrace.api import answers, examples, security
from batterytrace.api.events import QUERY_PARAMETERS, QUERY_RESPONSES, query_page
from batterytrace.api.problems import Problem
from batterytrace.api.security import Caller, needs
from batterytrace.epcis import json_ld
from batterytrace.epcis.model import Document, DocumentKind, Event
from batterytrace.errors import BatteryTraceError, SubscriptionError
from batterytrace.services import jobs, queries
from batterytrace.services.queries import Batch
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.settings import Settings
from batterytrace.store.query import SimpleEventQuery
from batterytrace.store.subscriptions import SubscriptionRow

router = APIRouter(tags=["Queries"])
SIGNATURE = "GS1-Signature"  # sha256=<hex HMAC-SHA256 of the body, keyed by signatureToken>
_POLL = 1.0  # seconds between looks for events other processes captured
_LEASE_MS = 30_000
# the handshake parameters of a WebSocket subscription (GET …/events upgraded)
_SCHEDULE = ("second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek")
_CONTROLS = frozenset({*_SCHEDULE, "stream", "reportIfEmpty", "initialRecordTime"})


class QueryDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.QUERY]})
    name: str = Field(examples=["sulfateShipments"])
    query: dict[str, Any] = Field(
        examples=[{"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping", "receiving"]}]
    )


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.SUBSCRIPTION]}
    )
    dest: str = Field(examples=["https://buyer.example.com/epcis-callback"])
    signatureToken: str | None = Field(default=None, min_length=16, max_length=1000)
    stream: bool | None = None
    schedule: dict[str, str] | None = Field(default=None, examples=[{"hour": "1", "minute": "5"}])
    reportIfEmpty: bool = False
    initialRecordTime: str | None = None


def signature(secret: str, body: bytes) -> str:
    """The ``GS1-Signature`` header of a delivery: the body's HMAC-SHA256 under the token."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def query_document(name: str, subscription_id: str | None, events: list[Event]) -> bytes:
    doc = Document(
        kind=DocumentKind.QUERY,
        creationDate=datetime.now(UTC),
        events=events,
        queryName=name,
        subscriptionID=subscription_id,
    )
    return orjson.dumps(json_ld.document_to_json(doc))


class Deliveries:
    """Delivers subscriptions' new events to their webhooks, and wakes WebSocket sessions,
    in this server's event loop: at each capture this process makes (``notify``) and every
    second (for captures of other processes, retries and schedules). A subscription is
    delivered by one server process at a time (a lease in the store, renewed each round)."""

    def __init__(self, uow: UnitOfWork, settings: Settings, log: logging.Logger) -> None:
        self.uow, self.settings, self.log = uow, settings, log
        self.worker = f"{jobs.worker_name()}:{secrets.token_hex(4)}"
        self.listeners: set[asyncio.Event] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.client: httpx2.AsyncClient | None = None
        self.sealer: security.Tokens | None = None

    def start(self, sealer: security.Tokens) -> None:
        self.loop = asyncio.get_running_loop()
        self.sealer = sealer
        self.client = httpx2.AsyncClient(timeout=self.settings.webhook_timeout)
        self.task = self.loop.create_task(self._run(), name="subscription deliveries")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.client is not None:
            await self.client.aclose()
        await run_in_threadpool(queries.release, self.uow, self.worker)

    def notify(self) -> None:
        """New events may be stored (safe from any thread)."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        self.wake.set()
        for listener in self.listeners:
            listener.set()

    async def _run(self) -> None:
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is down, a bug: logged, tried again next round
                self.log.exception("subscription deliveries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), _POLL)
            self.wake.clear()

    async def round(self) -> None:
        """Deliver every due subscription this process holds until it has caught up."""
        rows = await run_in_threadpool(queries.leased, self.uow, self.worker, _LEASE_MS)
        now = int(datetime.now(UTC).timestamp() * 1000)
        for leased in rows:
            row: SubscriptionRow | None = leased
            while row is not None and queries.due(row, now):
                batch = await run_in_threadpool(queries.next_batch, self.uow, row)
                if batch is None or not await self._send(batch):
                    break
                row = await run_in_threadpool(queries.current, self.uow, row)  # cursor moved

    async def _send(self, batch: Batch) -> bool:
        """POST the batch to its webhook; True when the receiver took it (2xx)."""
        assert self.client is not None and self.sealer is not None
        row = batch.subscription
        body = query_document(row.query_name, row.id, [e for _, e in batch.events])
        headers = {"Content-Type": "application/json"}
        if row.secret is not None:
            headers[SIGNATURE] = signature(self.sealer.unseal(row.secret), body)
        try:
            answer = await self.client.post(row.dest, content=body, headers=headers)
            reason = None if answer.is_success else f"HTTP {answer.status_code}"
        except httpx2.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if reason is None:
            await run_in_threadpool(queries.acknowledged, self.uow, batch)
            return True
        dead = await run_in_threadpool(
            queries.refused,
            self.uow,
            batch,
            reason,
            self.settings.webhook_attempts,
            self.settings.webhook_backoff,
        )
        if dead:
            self.log.warning(
                "subscription %s: %d events set aside after %d attempts (%s)",
                row.id,
                len(batch.events),
                self.settings.webhook_attempts,
                reason,
            )
        return dead  # set aside: delivery goes on with the next batch


@router.post(
    "/queries",
    status_code=201,
    response_class=Response,  # no body
    summary="Create a named query.",
    responses={
        201: {"description": "Created: its URL is in `Location`."},
        409: {"description": "A query has this name already."},
    },
)
def create_query(
    request: Request, definition: QueryDefinition, who: Annotated[Caller, needs("query")]
) -> Response:
    answers.only(request, ())
    if answers.holds_nul(definition.query):
        raise Problem(
            400, "QueryParameterException", "query: a NUL character (U+0000), in no parameter"
        )
    made = queries.create(request.app.state.uow, who.client_id, definition.name, definition.query)
    return Response(status_code=201, headers={"Location": f"/queries/{made.name}"})


@router.get(
    "/queries",
    summary="The named queries (paged).",
    openapi_extra={"parameters": answers.PAGING_PARAMETERS},
)
def named_queries(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
    answers.only(request, answers.PAGING)
    at = answers.position(request, "queries")
    size = answers.per_page(request)
    found = queries.page(request.app.state.uow, str(at[0]) if at else None, size + 1)
    headers = None
    if len(found) > size:
        found = found[:size]
        headers = {
            "Link": answers.next_link(request, answers.page_token("queries", [found[-1].name]))
        }
    return answers.json([q.model_dump() for q in found], headers=headers)


@router.get("/queries/{queryName}", summary="A named query's definition.")
def named_query(
    request: Request, queryName: str, who: Annotated[Caller, needs("query")]
) -> Response:
    answers.only(request, ())
    # the binding's schema for this answer is an array of definitions: this one alone
    return answers.json([queries.get(request.app.state.uow, queryName).model_dump()])


@router.delete(
    "/queries/{queryName}",
    status_code=204,
    summary="Delete a named query and end its subscriptions.",
)
def delete_query(
    request: Request, queryName: str, who: Annotated[Caller, needs("query")]
) -> Response:
    queries.delete(request.app.state.uow, queryName, who.client_id, who.admin)
    return Response(status_code=204)


@router.get(
    "/queries/{queryName}/events",
    tags=["Events"],
    summary="Run a named query (paged); upgraded to a WebSocket, subscribe to it.",
    openapi_extra={"parameters": [p for p in QUERY_PARAMETERS if p["name"] in answers.PAGING]},
    responses=QUERY_RESPONSES,
)
def named_query_events(
    request: Request, queryName: str, who: Annotated[Caller, needs("query")]
) -> Response:
    controls = [name for name in request.query_params if name in _CONTROLS]
    if controls:
        raise SubscriptionError(
            f"{', '.join(controls)}: controls of a WebSocket subscription (this GET with "
            "Upgrade: websocket), not of a page of results"
        )
    answers.only(request, answers.PAGING)
    uow = request.app.state.uow
    query = queries.get(uow, queryName)
    params = queries.parameters(query.query) | answers.query_params(request)
    return query_page(request, uow, params, queryName, who)


@router.post(
    "/queries/{queryName}/subscriptions",
    status_code=201,
    tags=["Subscriptions"],
    summary="Subscribe a webhook to a named query (stream or schedule).",
    responses={201: {"description": "Subscribed: its URL is in `Location`."}},
)
def subscribe(
    request: Request,
    queryName: str,
    wanted: SubscriptionRequest,
    who: Annotated[Caller, needs("query")],
) -> Response:
    answers.only(request, ())
    target = urlsplit(wanted.dest)
    unprintable = any(c.isspace() or not c.isprintable() for c in wanted.dest)
    if target.scheme not in ("http", "https") or not target.netloc or unprintable:
        raise SubscriptionError(f"dest: {wanted.dest[:200]!r} is not an http(s) URL")
    tokens: security.Tokens = request.app.state.tokens
    sealed = None if wanted.signatureToken is None else tokens.seal(wanted.signatureToken)
    made = queries.subscribe(
        request.app.state.uow,
        who.client_id,
        queryName,
        wanted.dest,
        sealed,
        wanted.stream,
        wanted.schedule,
        wanted.reportIfEmpty,
        wanted.initialRecordTime,
    )
    request.app.state.deliveries.notify()
    location = f"/queries/{queryName}/subscriptions/{made.subscriptionID}"
    return answers.json(
        made.model_dump(mode="json", exclude_none=True), 201, {"Location": location}
    )


@router.get(
    "/queries/{queryName}/subscriptions",
    tags=["Subscriptions"],
    summary="The subscriptions of a named query (paged).",
    openapi_extra={"parameters": answers.PAGING_PARAMETERS},
)
def subscriptions(
    request: Request, queryName: str, who: Annotated[Caller, needs("query")]
) -> Response:
    answers.only(request, answers.PAGING)
    at = answers.position(request, f"subscriptions:{queryName}")
    size = answers.per_page(request)
    found = queries.subscriptions(
        request.app.state.uow, queryName, str(at[0]) if at else None, size + 1
    )
    headers = None
    if len(found) > size:
        found = found[:size]
        token = answers.page_token(f"subscriptions:{queryName}", [found[-1].subscriptionID])
        headers = {"Link": answers.next_link(request, token)}
    return answers.json(
        [s.model_dump(mode="json", exclude_none=True) for s in found], headers=headers
    )


@router.get(
    "/queries/{queryName}/subscriptions/{subscriptionID}",
    tags=["Subscriptions"],
    summary="One subscription.",
)
def subscription(
    request: Request, queryName: str, subscriptionID: str, who: Annotated[Caller, needs("query")]
) -> Response:
    answers.only(request, ())
    found = queries.subscription(request.app.state.uow, queryName, subscriptionID)
    return answers.json(found.model_dump(mode="json", exclude_none=True))


@router.get(
    "/queries/{queryName}/subscriptions/{subscriptionID}/deadLetters",
    tags=["Subscriptions"],
    summary="The batches set aside after their last failed delivery.",
)
def dead_letters(
    request: Request, queryName: str, subscriptionID: str, who: Annotated[Caller, needs("query")]
) -> Response:
    answers.only(request, ())
    found = queries.dead_letters(request.app.state.uow, queryName, subscriptionID)
    return answers.json([letter.model_dump(mode="json") for letter in found])


@router.delete(
    "/queries/{queryName}/subscriptions/{subscriptionID}",
    status_code=204,
    tags=["Subscriptions"],
    summary="Unsubscribe.",
)
def unsubscribe(
    request: Request, queryName: str, subscriptionID: str, who: Annotated[Caller, needs("query")]
) -> Response:
    queries.unsubscribe(request.app.state.uow, queryName, subscriptionID, who.client_id, who.admin)
    return Response(status_code=204)


@router.websocket("/queries/{queryName}/events")
async def stream_query(websocket: WebSocket, queryName: str) -> None:
    """A WebSocket subscription: each batch of new matching events as an EPCISQueryDocument
    text message. A client that falls ``websocket_buffer`` batches behind is disconnected
    (1013, with the reason), so a slow reader never grows the server's memory."""
    app = websocket.app
    uow: UnitOfWork = app.state.uow
    settings = app.state.settings
    try:
        who = await run_in_threadpool(security.caller, websocket)
        if "query" not in who.scopes and not who.admin:
            raise SubscriptionError("this subscription needs the 'query' scope")
        plan, cursor, report_if_empty, params = await run_in_threadpool(
            _websocket_controls, uow, queryName, dict(websocket.query_params)
        )
    except BatteryTraceError as exc:
        await websocket.close(code=1008, reason=str(exc)[:120])
        return
    await websocket.accept()
    deliveries: Deliveries = app.state.deliveries
    wake = asyncio.Event()
    deliveries.listeners.add(wake)
    outbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=settings.websocket_buffer)

    async def produce() -> str:
        nonlocal cursor
        while True:
            if plan is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), _POLL)
                wake.clear()
            else:
                next_run = plan.next_after(datetime.now(UTC))
                if next_run is None:  # a schedule no time matches: nothing to send, ever
                    await asyncio.Event().wait()
                    return ""
                await asyncio.sleep(max((next_run - datetime.now(UTC)).total_seconds(), 0))
            found = await run_in_threadpool(queries.after, uow, params, cursor, who.organisation)
            while found or (plan is not None and report_if_empty):
                if found:
                    cursor = found[-1][0]
                try:
                    outbox.put_nowait(query_document(queryName, None, [e for _, e in found]))
                except asyncio.QueueFull:
                    return f"client too slow: {settings.websocket_buffer} batches unread"
                if len(found) < queries.BATCH:
                    break
                found = await run_in_threadpool(
                    queries.after, uow, params, cursor, who.organisation
                )

    async def send() -> str:
        while True:
            message = await outbox.get()
            try:  # waits while the connection's buffers are full: a client not reading
                await asyncio.wait_for(
                    websocket.send_text(message.decode()), settings.webhook_timeout
                )
            except TimeoutError:
                return "client too slow: a send timed out"

    async def listen() -> str:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()
        return ""  # the client left

    tasks = [asyncio.create_task(t()) for t in (produce, send, listen)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        reason = next(iter(done)).result()
    finally:
        deliveries.listeners.discard(wake)
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    if reason:  # the close frame follows what the client has not read yet; a client that
        # never reads again is dropped by the server's keep-alive pings
        with contextlib.suppress(Exception):
            await websocket.close(code=1013, reason=reason)


def _websocket_controls(
    uow: UnitOfWork, name: str, given: dict[str, str]
) -> tuple[Any, int, bool, dict[str, list[str]]]:
    """The schedule (None: stream), the starting cursor, reportIfEmpty and the query of a
    WebSocket subscription's handshake parameters."""
    query = queries.get(uow, name)
    schedule = {k: v for k, v in given.items() if k in _SCHEDULE}
    stream = given.get("stream")
    if stream not in (None, "true"):
        raise SubscriptionError(f"stream: {stream!r}: only true")
    unknown = set(given) - set(_CONTROLS)
    if unknown:
        raise SubscriptionError(f"{', '.join(sorted(unknown))}: not a subscription parameter")
    plan = queries.controls(True if stream else None, schedule or None)
    cursor = queries.start_entry(uow, given.get("initialRecordTime"))
    params = queries.parameters(query.query)
    SimpleEventQuery(params)
    return plan, cursor, given.get("reportIfEmpty") == "true", params
