"""The HTTP server's application: the EPCIS 2.0 REST binding, the domain routes, OAuth2;
one unit of work under all of them, the capture-job runner beside them (decision 039)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from batterytrace.api import (
    answers,
    capture,
    discovery,
    domain,
    events,
    pact,
    problems,
    queries,
    security,
)
from batterytrace.api.versions import Negotiation
from batterytrace.errors import BatteryTraceError
from batterytrace.services import jobs
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.settings import Settings

DESCRIPTION = """\
The EPCIS 2.0 REST binding (GS1 `openapi.yaml`: capture jobs, events, top-level resources,
named queries and their subscriptions) and batterytrace's own routes (trace, custody,
contracts, carbon footprint, ledger), over one store.

Every route but this document, `/docs` and `/health` needs a bearer token from
`POST /oauth/token` (OAuth2 client credentials; clients are made with
`batterytrace client create`). Scopes: `query` reads, `capture` writes events and custody
acts, `admin` does everything. Errors are `application/problem+json`, typed as EPCIS
exceptions (`epcisException:QueryParameterException`, ...).
"""


class JobRunner:
    """Runs the server's background work in a thread of this server process: queued capture
    jobs, then ``chores`` (the PACT events to act on); woken by each new job or event and
    every ``poll`` seconds (for work other processes queued, retries, what a crash left)."""

    def __init__(
        self,
        uow: UnitOfWork,
        log: logging.Logger,
        done: Callable[[], None],
        chores: Callable[[], None],
        poll: float = 2.0,
    ) -> None:
        self.uow, self.log, self.done, self.chores, self.poll = uow, log, done, chores, poll
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="capture-jobs", daemon=True)

    def start(self) -> None:
        recovered = jobs.recover(self.uow)
        if recovered:
            self.log.warning(
                "%d capture job(s) left running by a stopped server: run again", recovered
            )
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout=60)

    def _loop(self) -> None:
        while not self.stopping:
            self.wake.wait(self.poll)
            self.wake.clear()
            try:
                while not self.stopping and jobs.run_next(self.uow) is not None:
                    self.done()
                self.chores()
            except Exception:  # the store is down, a bug: logged, tried again at the next wake
                self.log.exception("capture job runner")


def create_app(settings: Settings | None = None, uow: UnitOfWork | None = None) -> FastAPI:
    """The application over the store of ``settings`` (read from the environment when not
    given), or over ``uow``."""
    settings = settings or (uow.settings if uow else Settings())
    uow = uow or unit_of_work(settings=settings)
    log = logging.getLogger("batterytrace.api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        uow.ready()
        app.state.jobs.start()
        app.state.deliveries.start(app.state.tokens)
        try:
            yield
        finally:
            await app.state.deliveries.stop()
            app.state.jobs.stop()
            app.state.pact_answers.close()

    app = FastAPI(
        title="batterytrace",
        version=package_version("batterytrace"),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.uow = uow
    app.state.settings = settings
    app.state.log = log
    app.state.tokens = security.Tokens(settings.token_key, settings.token_ttl)
    app.state.deliveries = queries.Deliveries(uow, settings, log)
    app.state.pact_answers = pact.Answers(uow, settings, log, app.state.tokens)
    app.state.jobs = JobRunner(uow, log, app.state.deliveries.notify, app.state.pact_answers.round)
    app.add_exception_handler(BatteryTraceError, problems.on_error)
    app.add_exception_handler(problems.Problem, problems.on_problem)
    app.add_exception_handler(HTTPException, problems.on_http)
    app.add_exception_handler(RequestValidationError, problems.on_invalid_request)
    app.add_exception_handler(Exception, problems.on_crash)
    for router in (
        security.router,
        discovery.router,
        capture.router,
        events.router,
        queries.router,
        *domain.routers,
    ):
        app.include_router(router)
    pact.install(app)
    _docs(app)
    _openapi(app)
    negotiation = app.state.negotiation = Negotiation(settings)

    app.add_middleware(EpcisHeaders, negotiation=negotiation, deliveries=app.state.deliveries)
    return app


class EpcisHeaders:
    """Around every HTTP request (plain ASGI: no copy of the body, no extra task): the version
    negotiation (406 before any route runs), NUL characters refused, ``OPTIONS`` answered
    from the routes, the GS1 headers on every response, and the deliveries woken after a
    write that succeeded (it may have stored events)."""

    def __init__(self, app: ASGIApp, negotiation: Negotiation, deliveries: queries.Deliveries):
        self.app, self.negotiation, self.deliveries = app, negotiation, deliveries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        answered = self.negotiation.refusal(request) or _nul(request)
        if answered is None and request.method == "OPTIONS":
            answered = await discovery.options(request, _allowed(scope["app"], request))
        if answered is not None:
            self.negotiation.stamp(answered.headers)
            await answered(scope, receive, send)
            return
        status = 500

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.negotiation.stamp(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, stamped)
        if request.method in ("POST", "PUT", "DELETE") and status < 300:
            self.deliveries.notify()


def _nul(request: Request) -> Response | None:
    """The problem of a request whose path or query holds U+0000 (:func:`answers.holds_nul`):
    404 for a path, which names nothing stored; 400 ValidationException for a query parameter
    (what any 400 of GS1's binding may be, a subscription's controls too)."""
    path = request.url.path
    if answers.holds_nul(path):
        problem = problems.body(
            404, "epcisException:NoSuchResourceException", f"{path!r}: no such resource"
        )
        return problems.response(404, problem)
    for name, value in request.query_params.multi_items():
        if answers.holds_nul([name, value]):
            detail = f"{name!r}: a NUL character (U+0000), in no identifier, term or date"
            problem = problems.body(400, "epcisException:ValidationException", detail)
            return problems.response(400, problem)
    return None


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """The methods some route takes at the request's path."""
    return [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in app.router.routes
        )
    ]


def _openapi(app: FastAPI) -> None:
    """The OpenAPI document as FastAPI makes it, with the problems each route answers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            problems.document(generate())  # generate() keeps it in app.openapi_schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _docs(app: FastAPI) -> None:
    """The interactive documentation at /docs, its assets served from the installed
    swagger-ui-bundle package (no CDN)."""
    import swagger_ui_bundle

    app.mount(
        "/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets"
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="batterytrace API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )
