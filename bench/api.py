"""HTTP API benchmark (not a test): what ``batterytrace serve`` costs over the library's own
capture, query and trace, and how soon a subscription's webhook hears of a capture.

Prepares the agreement scenario's store as ``bench/trace.py`` does (``--events`` events, 20,000
by default; a SQLite file in a temporary folder, or with ``--db`` two databases made on a
PostgreSQL server), and beside it a second store prepared the same way (a copy of the SQLite
file): the library's. Starts a real ``batterytrace serve`` on the first (a child process on
loopback, a free port, one server process), creates an API client with the capture and query
scopes and gets its token. Two documents are captured over HTTP and by the library, untimed.
Then, at 1, 4 and 16 concurrent clients (each its own ``httpx2.AsyncClient``: the HTTP client
the project depends on, the pydantic fork of httpx, the same API), in turn:

- capture, ``--repeat`` rounds (default 3): ``--docs`` documents of ``--doc-events`` events
  (bench/capture.py's generator, a seed each: distinct events, and each document's lots its
  own), dealt out to the clients; each client posts its documents one after another to
  ``POST /capture`` and polls ``GET /capture/{id}`` (first after 5 ms, the wait doubled up to
  ``--poll-max`` ms) until the job is no longer running. Each document is dated as it is sent,
  a month of its own after the store's latest event (live traffic: events later than any
  stored, the kept derived state going on from what it holds). Rate: the events over the wall
  time from the first post to the last job seen done. Right after, the very same documents are
  captured in this process into the library's store with ``services.events.capture`` one after
  another, in the order the server captured them (the plainest method; the bootstrap's unit of
  work, as the server's): the baseline. ``capture_http_ratio`` is the median of the rounds'
  HTTP rate over the library's; beside it the rate while the server had a job (by the jobs' own
  ``createdAt`` and ``finishedAt``), the server process's CPU (cores), the polls per job, and
  the documents the server captured after one sent later (each sends the kept custody back to
  its month, decision 035, for the library too);
- reads: one fixed query, ``GET /events?eventType=ObjectEvent&EQ_bizStep=shipping&perPage=20``
  (``--samples`` times, shared out between the clients), and ``GET /trace/back/{id}`` of
  ``--trace-samples`` packs drawn with a seeded RNG (each root traced once by the server and
  once by the library beforehand, untimed: both caches warm), ``GET /health`` (no token, no
  store: the floor of any request), and the same calls timed in this process on the server's
  store: ``services.events.query`` (and, apart, the same with the JSON-LD document the server
  writes of it) and ``services.trace.trace_json``; at one client each request and the library's
  calls alternate, ten of each at a time, at more the library's calls follow the requests.

``query_overhead_p50_ms`` is the p50 of ``GET /events`` at one client less the library's p50;
with more clients a request's latency includes its wait behind the others' (their rates are
compared instead). Last, with one client, the subscription: a webhook receiver in this process
(a threaded ``http.server`` on loopback, checking the ``GS1-Signature``) is subscribed
(``stream: true``) to a named query of a read point no other event has, then ``--sub-samples``
events of that read point are captured one at a time with ``POST /events``:
``subscription_latency_p50_ms`` runs from the moment the 201 is back to the delivery's arrival
at the receiver; the same events are then captured one at a time by the library
(``services.events.capture_event``) beside ``POST /events``. ``errors`` counts every answer
that is not 2xx, every exception, every job that did not capture its whole document, every
delivery that did not arrive (or arrived with a wrong signature).

Prints the figures with their targets and writes ``bench/results/api.json``: a flat ``summary``
(``capture_http_ratio`` at 4 clients, ``query_overhead_p50_ms``, ``trace_http_p50_ms``,
``errors``, ``subscription_latency_p50_ms``, then per concurrency the rates, p50s and p99s),
``levels`` (every figure of each concurrency), the targets and the machine's load average.

Usage: ``python bench/api.py [--quick] [--events N] [--docs K] [--doc-events N] [--repeat R]
[--samples K] [--trace-samples K] [--sub-samples K] [--poll-max MS] [--db URL] [--keep]
[--out FILE]`` (``--quick``: small sizes, under a minute on SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import orjson
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from batterytrace.epcis import json_ld
from batterytrace.epcis.model import Document, DocumentKind
from batterytrace.scenario.generator import PACK
from batterytrace.services import clients
from batterytrace.services import events as events_service
from batterytrace.services import trace as tracing
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.trace.lineage import node_id
from capture import CONTEXT, pg_database
from capture import events as generated_events
from report import publish
from scenario_store import trace_bench

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = (1, 4, 16)
HEADLINE = 4  # the concurrency of capture_http_ratio
QUERY = {"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping"], "perPage": ["20"]}
QUERY_PATH = "/events?" + "&".join(f"{k}={'|'.join(v)}" for k, v in QUERY.items())
SUBSCRIBED_AT = "urn:epc:id:sgln:0614141.99999.0"  # the read point of the subscription's events
SUBSCRIPTION_QUERY = "apiBenchReadPoint"
SIGNATURE_TOKEN = "api-benchmark-signature-token-0123456789"
CAPTURE_HEADERS = {"Content-Type": "application/ld+json"}
POLL_FIRST_S = 0.005
CAPTURE_RATIO_TARGET, QUERY_OVERHEAD_TARGET_MS = 0.7, 3.0
QUICK = {"events": 3_000, "docs": 16, "doc_events": 100, "samples": 60, "trace_samples": 30,
         "sub_samples": 10, "repeat": 1}  # fmt: skip


# --- the figures -------------------------------------------------------------------------------


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p99(values: list[float]) -> float:
    """The 99th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def ms(value: float) -> float:
    return round(value, 2)


@dataclass
class Errors:
    """Every failure of the run: counted, the first few kept to be shown."""

    count: int = 0
    first: list[str] = field(default_factory=list)

    def add(self, what: str) -> None:
        self.count += 1
        if len(self.first) < 5:
            self.first.append(what[:300])


# --- the stores and the server -----------------------------------------------------------------


@dataclass
class Stores:
    server: str  # the URL of the store the server holds
    server_key: Path
    library: str  # the URL of the store the library's captures go to
    library_key: Path
    prepared: dict[str, Any]
    databases: list[str]  # PostgreSQL databases made for the run


def make_stores(work: Path, events: int, db: str | None, console: Console) -> Stores:
    """The scenario's store for the server and the same again for the library: on SQLite one
    store prepared and its file copied; on PostgreSQL two databases, each prepared."""
    bench = trace_bench()
    if db is None:
        uow, prepared = bench.prepare(work / "server", events, None, console, replay=False)
        uow.close()
        store = work / "server" / "trace.db"
        conn = sqlite3.connect(store)  # the WAL folded in: the file alone is the store
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        shutil.copyfile(store, work / "library.db")
        key = work / "server" / "ledger.key"
        return Stores(
            f"sqlite:///{store}", key, f"sqlite:///{work / 'library.db'}", key, prepared, []
        )
    names = [f"bt_bench_api_{os.getpid()}", f"bt_bench_api_library_{os.getpid()}"]
    urls = [pg_database(db, name) for name in names]
    made = []
    for url, folder in zip(urls, ("server", "library"), strict=True):
        uow, prepared = bench.prepare(work / folder, events, url, console, replay=False)
        uow.close()
        made.append((url, work / folder / "ledger.key", prepared))
    (server, server_key, prepared), (library, library_key, _) = made
    return Stores(server, server_key, library, library_key, prepared, names)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(url: str, key: Path, work: Path, console: Console) -> Iterator[tuple[str, int]]:
    """``batterytrace serve`` on ``url``, in a child process on a free loopback port (its
    output in ``work/server.log``); its base URL and process id once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "BATTERYTRACE_DB": url,
        "BATTERYTRACE_KEY": str(key),
        "BATTERYTRACE_TOKEN_KEY": str(work / "token.key"),
    }
    command = [sys.executable, "-m", "batterytrace.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise SystemExit(f"batterytrace serve ended ({server.returncode}):\n{tail}")
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(f"{base}/health", timeout=1).is_success:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"batterytrace serve did not answer at {base} within 60 s")
            time.sleep(0.1)
        console.print(f"batterytrace serve on {base} (pid {server.pid})")
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children so far (user + system)."""
    try:
        process = psutil.Process(pid)
        total = 0.0
        for p in (process, *process.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total
    except psutil.Error:
        return 0.0


def token(base: str, made: clients.NewClient) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": made.client_id,
        "client_secret": made.client_secret,
    }
    answer = httpx2.post(f"{base}/oauth/token", data=form, timeout=30)
    if not answer.is_success:
        raise SystemExit(f"/oauth/token: HTTP {answer.status_code} {answer.text[:300]}")
    access: str = answer.json()["access_token"]
    return access


# --- the documents -----------------------------------------------------------------------------


PLACEHOLDER = b'"2025-01-01T'  # the day the generator dates every event of a document at


def document(n: int, seed: int) -> bytes:
    """A JSON-LD document of ``n`` events of the capture benchmark's generator, its lots its
    own (the seed appended to each lot number: the generator numbers lots from 0 in every
    document, and a lot commissioned again after other events weighed it sends the kept custody
    back to those events, decision 035), dated one day (every event time starts with
    :data:`PLACEHOLDER`, which :class:`Calendar` replaces)."""
    made = list(generated_events(n, seed))
    for event in made:
        for name in ("quantityList", "inputQuantityList", "outputQuantityList"):
            for quantity in event.get(name, []):
                quantity["epcClass"] += f"S{seed}"
    body = orjson.dumps(
        {
            "@context": CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2025-06-01T00:00:00.000Z",
            "epcisBody": {"eventList": made},
        }
    )
    assert body.count(PLACEHOLDER) >= n, "a document of more than a day of events"
    return body


class Calendar:
    """Dates each document as it is sent: a month of its own, the months after the store's
    latest event in the order the documents are sent, so that a capture brings events later
    than any stored (as live traffic does) and the kept state goes on from what it holds. A
    document the server happens to capture before one sent just earlier is late by a month
    (the kept custody taken again from then, decision 035): the library's captures follow the
    server's order, so both do the same work."""

    def __init__(self, latest_ms: int) -> None:
        latest = datetime.fromtimestamp(latest_ms / 1000, UTC)
        self.month = latest.year * 12 + latest.month  # the month after the latest (0-based)

    def day(self) -> bytes:
        year, month = divmod(self.month, 12)
        self.month += 1
        return b'"%04d-%02d-01T' % (year, month + 1)

    def stamp(self, body: bytes) -> bytes:
        return body.replace(PLACEHOLDER, self.day())


def level_documents(level: int, clients_n: int, docs: int, n: int) -> list[list[bytes]]:
    """The documents of one concurrency (each its own seed), dealt out to its clients."""
    shares: list[list[bytes]] = [[] for _ in range(clients_n)]
    for i in range(docs):
        shares[i % clients_n].append(document(n, seed=1_000_000 + level * 10_000 + i))
    return shares


# --- over HTTP ---------------------------------------------------------------------------------


async def call(
    http: httpx2.AsyncClient, method: str, url: str, errors: Errors, **kw: Any
) -> httpx2.Response | None:
    """One request; None (and an error counted) for an exception or an answer not 2xx."""
    try:
        answer = await http.request(method, url, **kw)
    except httpx2.HTTPError as exc:
        errors.add(f"{method} {url[:120]}: {type(exc).__name__}: {exc}")
        return None
    if not answer.is_success:
        errors.add(f"{method} {url[:120]}: HTTP {answer.status_code} {answer.text[:200]}")
        return None
    return answer


@contextlib.asynccontextmanager
async def connected(base: str, access: str | None, n: int) -> Any:
    """``n`` clients, each its own AsyncClient (its own connection)."""
    headers = {"Authorization": f"Bearer {access}"} if access else {}
    async with contextlib.AsyncExitStack() as stack:
        made = [
            await stack.enter_async_context(
                httpx2.AsyncClient(base_url=base, headers=headers, timeout=120)
            )
            for _ in range(n)
        ]
        yield made


def _instant(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _busy_s(jobs: list[dict[str, Any]]) -> float:
    """How long the server had at least one of ``jobs`` (created, not finished), by the jobs'
    own clock (ms)."""
    spans = sorted((_instant(j["createdAt"]), _instant(j["finishedAt"])) for j in jobs)
    busy, end = 0.0, -math.inf
    for start, stop in spans:
        if stop > end:
            busy += stop - max(start, end)
            end = stop
    return busy


async def http_captures(
    base: str,
    access: str,
    shares: list[list[bytes]],
    n: int,
    calendar: Calendar,
    poll_max: float,
    errors: Errors,
) -> dict[str, Any]:
    """Each client posts its documents one after another (each dated as it goes), polling
    each job until it is done; the wall time, the time the server had a job (by the jobs'
    clock), and the documents the jobs stored in the order the server captured them."""
    finished: list[tuple[dict[str, Any], bytes, int]] = []
    polls = [0]

    async def one_client(http: httpx2.AsyncClient, bodies: list[bytes]) -> None:
        for template in bodies:
            month = calendar.month
            body = calendar.stamp(template)
            posted = await call(http, "POST", "/capture", errors, content=body,
                                headers=CAPTURE_HEADERS)  # fmt: skip
            if posted is None:
                continue
            location = posted.headers["location"]
            delay = POLL_FIRST_S
            while True:
                await asyncio.sleep(delay)
                polls[0] += 1
                seen = await call(http, "GET", location, errors)
                if seen is None:
                    break
                job = seen.json()
                if not job["running"]:
                    if not job["success"] or job.get("captured") != n:
                        errors.add(f"job {location}: {str(job)[:200]}")
                    else:
                        finished.append((job, body, month))
                    break
                delay = min(delay * 2, poll_max)

    async with connected(base, access, len(shares)) as https:
        started = time.perf_counter()
        await asyncio.gather(*(one_client(h, b) for h, b in zip(https, shares, strict=True)))
        wall = time.perf_counter() - started
    finished.sort(key=lambda done: int(done[0]["ledgerVersion"]))
    late, latest = 0, -1  # documents captured after one dated later
    for _, _, month in finished:
        late += month < latest
        latest = max(latest, month)
    return {
        "wall_s": wall,
        "jobs_busy_s": _busy_s([job for job, _, _ in finished]) if finished else math.nan,
        "bodies": [body for _, body, _ in finished],
        "late": late,
        "polls": polls[0],
    }


async def http_gets(
    base: str, access: str | None, paths: list[str], n: int, errors: Errors
) -> tuple[list[float], float]:
    """``paths`` shared out between ``n`` clients, each asking its share one after another;
    the ms of each request and the wall time (s)."""
    latencies: list[float] = []

    async def one_client(http: httpx2.AsyncClient, mine: list[str]) -> None:
        for path in mine:
            started = time.perf_counter()
            await call(http, "GET", path, errors)
            latencies.append((time.perf_counter() - started) * 1000)

    async with connected(base, access, n) as https:
        started = time.perf_counter()
        await asyncio.gather(*(one_client(h, paths[i::n]) for i, h in enumerate(https)))
        wall = time.perf_counter() - started
    return latencies, wall


async def alternated(
    base: str,
    access: str,
    paths: list[str],
    calls: Callable[[int], list[Callable[[], object]]],
    errors: Errors,
    block: int = 10,
) -> tuple[list[float], list[list[float]]]:
    """One client asking ``paths`` one after another and, in turn with them, ``calls(i)`` made
    in this process, ``block`` of each at a time (the requests first, then the calls first): a
    drift of the machine's speed moves both, and no call runs right after a request but the
    block's first. The ms of each request, and of each call by its place in ``calls``."""
    http_ms: list[float] = []
    library_ms: list[list[float]] = [[] for _ in calls(0)]
    async with connected(base, access, 1) as (http,):
        for first in range(0, len(paths), block):
            indices = range(first, min(first + block, len(paths)))
            for part in ("requests", "calls") if first // block % 2 == 0 else ("calls", "requests"):
                if part == "calls":
                    for j, times in enumerate(library_ms):
                        times.extend(timed_ms(calls(i)[j]) for i in indices)
                    continue
                for i in indices:
                    started = time.perf_counter()
                    await call(http, "GET", paths[i], errors)
                    http_ms.append((time.perf_counter() - started) * 1000)
    return http_ms, library_ms


# --- in this process ---------------------------------------------------------------------------


def timed_ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def library_captures(uow: UnitOfWork, paths: list[Path], n: int, errors: Errors) -> float:
    """The documents captured one after another with the service; the time (s)."""
    started = time.perf_counter()
    for path in paths:
        done = events_service.capture(uow, path)
        if done.captured != n:
            errors.add(f"library capture of {path.name}: {done.captured} of {n} events stored")
    return time.perf_counter() - started


def query_and_document(uow: UnitOfWork) -> bytes:
    """The query, and the JSON-LD document the server writes of its page."""
    page = events_service.query(uow, QUERY)
    doc = Document(kind=DocumentKind.QUERY, creationDate=datetime.now(UTC), events=page.events,
                   queryName=events_service.QUERY_NAME)  # fmt: skip
    return orjson.dumps(json_ld.document_to_json(doc))


# --- the subscription's webhook ----------------------------------------------------------------


class Webhook:
    """A webhook receiver on loopback (a threaded http.server): when each event ID arrived
    (``time.perf_counter``), and how many deliveries came unsigned or wrongly signed."""

    def __init__(self, secret: str) -> None:
        self.arrived: dict[str, float] = {}
        self.bad_signatures = 0
        self.changed = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = time.perf_counter()
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(self.headers.get("GS1-Signature", ""), expected)
                results = orjson.loads(body)["epcisBody"]["queryResults"]["resultsBody"]
                with hook.changed:
                    hook.bad_signatures += not signed
                    for event in results["eventList"]:
                        hook.arrived.setdefault(event["eventID"], at)
                    hook.changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, event_id: str, timeout: float) -> float | None:
        """When ``event_id`` arrived (None: not within ``timeout`` s)."""
        with self.changed:
            self.changed.wait_for(lambda: event_id in self.arrived, timeout)
            return self.arrived.get(event_id)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def subscription(
    base: str, access: str, k: int, calendar: Calendar, errors: Errors
) -> dict[str, Any]:
    """Subscribe a webhook here to a named query of one read point, then capture ``k`` events
    of that read point one at a time (``POST /events``): the ms from each 201 to the delivery's
    arrival, from each request's start to it, and of each request."""
    hook = Webhook(SIGNATURE_TOKEN)
    after_201: list[float] = []
    after_send: list[float] = []
    posts: list[float] = []
    sent_events: list[dict[str, Any]] = []
    try:
        async with connected(base, access, 1) as (http,):
            definition = {"name": SUBSCRIPTION_QUERY, "query": {"EQ_readPoint": [SUBSCRIBED_AT]}}
            if await call(http, "POST", "/queries", errors, json=definition) is None:
                return {}
            wanted = {"dest": hook.url, "signatureToken": SIGNATURE_TOKEN, "stream": True}
            path = f"/queries/{SUBSCRIPTION_QUERY}/subscriptions"
            if await call(http, "POST", path, errors, json=wanted) is None:
                return {}
            await asyncio.sleep(0.2)  # the subscription's first round (nothing to deliver)
            for made in generated_events(k, seed=424_242):
                made["readPoint"] = {"id": SUBSCRIBED_AT}
                event = orjson.loads(calendar.stamp(orjson.dumps({"@context": CONTEXT, **made})))
                sent = time.perf_counter()
                answer = await call(http, "POST", "/events", errors, json=event)
                back = time.perf_counter()
                if answer is None:
                    continue
                posts.append((back - sent) * 1000)
                sent_events.append(event)
                arrived = await asyncio.to_thread(hook.wait, event["eventID"], 10.0)
                if arrived is None:
                    errors.add(f"subscription: {event['eventID']} not delivered within 10 s")
                    continue
                after_201.append((arrived - back) * 1000)
                after_send.append((arrived - sent) * 1000)
                await asyncio.sleep(0.02)
    finally:
        hook.close()
    if hook.bad_signatures:
        errors.add(f"subscription: {hook.bad_signatures} deliveries with a wrong GS1-Signature")
    return {"after_201": after_201, "after_send": after_send, "posts": posts,
            "events": sent_events}  # fmt: skip


def library_events(uow: UnitOfWork, events: list[dict[str, Any]], errors: Errors) -> list[float]:
    """ms of each event captured alone with ``services.events.capture_event``, as
    ``POST /events`` does."""
    times = []
    for event in events:
        started = time.perf_counter()
        _, new = events_service.capture_event(uow, event)
        times.append((time.perf_counter() - started) * 1000)
        if not new:
            errors.add(f"library capture_event of {event['eventID']}: stored already")
    return times


# --- the run -----------------------------------------------------------------------------------


def packs(uow: UnitOfWork, k: int, rng: random.Random) -> list[str]:
    """``k`` packs of the scenario (node IDs, as traces name them), drawn with ``rng``."""
    like = node_id(PACK.serial("x")).rsplit("/21/", 1)[0] + "/21/%"
    with uow.reading() as conn:
        found = sorted(
            row[0]
            for row in conn.execute(
                text("SELECT value FROM event_key WHERE role = 'parentID' AND value LIKE :p"),
                {"p": like},
            )
        )
    if not found:
        raise SystemExit("no pack in the store: nothing to trace")
    return [rng.choice(found) for _ in range(k)]


def warm_up(
    base: str,
    access: str,
    args: argparse.Namespace,
    library: UnitOfWork,
    calendar: Calendar,
    work: Path,
    errors: Errors,
) -> None:
    """Two documents captured over HTTP and by the library, untimed: both processes' first
    captures (imports, caches) out of the figures."""
    shares = [[document(args.doc_events, seed=999_000 + i) for i in range(2)]]
    captured = asyncio.run(
        http_captures(base, access, shares, args.doc_events, calendar, 0.1, errors)
    )
    for i, body in enumerate(captured["bodies"]):
        path = work / f"warm-up-{i}.jsonld"
        path.write_bytes(body)
        library_captures(library, [path], args.doc_events, errors)


def capture_round(
    c: int,
    seed: int,
    base: str,
    pid: int,
    access: str,
    args: argparse.Namespace,
    library: UnitOfWork,
    calendar: Calendar,
    work: Path,
    errors: Errors,
    console: Console,
) -> dict[str, float]:
    """``--docs`` documents captured over HTTP by ``c`` clients, then the same by the library
    in the order the server captured them: the times, and what went on meanwhile."""
    n = args.doc_events
    shares = level_documents(seed, c, args.docs, n)
    cpu = cpu_seconds(pid)
    captured = asyncio.run(
        http_captures(base, access, shares, n, calendar, args.poll_max / 1000, errors)
    )
    server_cpu = (cpu_seconds(pid) - cpu) / captured["wall_s"]
    paths = []  # the documents the server stored, in its order: the library's to capture
    for i, body in enumerate(captured["bodies"]):
        paths.append(work / f"round-{seed}-{i:03d}.jsonld")
        paths[-1].write_bytes(body)
    own = time.process_time()
    library_s = library_captures(library, paths, n, errors)
    library_cpu = (time.process_time() - own) / library_s
    for path in paths:
        path.unlink()
    events = args.docs * n
    console.print(
        f"{c} client(s): {events:,} events over HTTP in {captured['wall_s']:.2f} s "
        f"({events / captured['wall_s']:,.0f}/s), by the library in {library_s:.2f} s "
        f"({events / library_s:,.0f}/s): ratio {library_s / captured['wall_s']:.3f}; "
        f"{captured['late']} document(s) captured after one dated later"
    )
    return {
        "http_s": captured["wall_s"],
        "library_s": library_s,
        "ratio": library_s / captured["wall_s"],
        "jobs_busy_s": captured["jobs_busy_s"],
        "server_cpu": server_cpu,
        "library_cpu": library_cpu,
        "late": captured["late"],
        "polls": captured["polls"],
    }


def level(
    c: int,
    index: int,
    base: str,
    pid: int,
    access: str,
    args: argparse.Namespace,
    library: UnitOfWork,
    reader: UnitOfWork,
    roots: list[str],
    calendar: Calendar,
    work: Path,
    errors: Errors,
    console: Console,
) -> dict[str, Any]:
    """Every figure at ``c`` concurrent clients: ``--repeat`` capture rounds (each HTTP then
    library; medians, the ratio pair by pair), then the reads."""
    rounds = [
        capture_round(
            c, index * 10 + r, base, pid, access, args, library, calendar, work, errors, console
        )
        for r in range(args.repeat)
    ]
    events = args.docs * args.doc_events

    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    trace_paths = [f"/trace/back/{root}" for root in roots]
    query_paths = [QUERY_PATH] * args.samples
    # untimed: every root traced once by the server and by the library (their caches warm)
    asyncio.run(http_gets(base, access, trace_paths + query_paths[:20], 1, errors))
    for root in roots:
        tracing.trace_json(reader, root, "backward", "Co")
    for _ in range(20):
        events_service.query(reader, QUERY)

    def query_calls(i: int) -> list[Callable[[], object]]:
        return [partial(events_service.query, reader, QUERY), partial(query_and_document, reader)]

    def trace_calls(i: int) -> list[Callable[[], object]]:
        return [partial(tracing.trace_json, reader, roots[i], "backward", "Co")]

    cpu = cpu_seconds(pid)
    if c == 1:  # each request and the library's calls in turn: a drift of the machine moves both
        query_http, (query_library, query_document) = asyncio.run(
            alternated(base, access, query_paths, query_calls, errors)
        )
        trace_http, (trace_library,) = asyncio.run(
            alternated(base, access, trace_paths, trace_calls, errors)
        )
        query_wall, trace_wall = sum(query_http) / 1000, sum(trace_http) / 1000
    else:
        query_http, query_wall = asyncio.run(http_gets(base, access, query_paths, c, errors))
        trace_http, trace_wall = asyncio.run(http_gets(base, access, trace_paths, c, errors))
    reads_cpu = (cpu_seconds(pid) - cpu) / (query_wall + trace_wall)
    health, _ = asyncio.run(http_gets(base, None, ["/health"] * args.samples, c, errors))
    if c != 1:  # the library's calls one after another, once the requests are done
        query_library = [timed_ms(query_calls(i)[0]) for i in range(len(query_paths))]
        query_document = [timed_ms(query_calls(i)[1]) for i in range(len(query_paths))]
        trace_library = [timed_ms(trace_calls(i)[0]) for i in range(len(roots))]
    console.print(
        f"{c} client(s): GET /events p50 {p50(query_http):.2f} ms (library "
        f"{p50(query_library):.2f} ms), GET /trace/back p50 {p50(trace_http):.2f} ms (library "
        f"{p50(trace_library):.2f} ms), GET /health p50 {p50(health):.2f} ms"
    )
    return {
        "clients": c,
        "capture_events": events,
        "capture_rounds": len(rounds),
        "capture_http_s": round(median("http_s"), 3),
        "capture_http_events_per_s": round(events / median("http_s")),
        "capture_library_s": round(median("library_s"), 3),
        "capture_library_events_per_s": round(events / median("library_s")),
        "capture_http_ratio": round(median("ratio"), 3),
        "capture_http_ratios": [round(r["ratio"], 3) for r in rounds],
        "capture_jobs_events_per_s": round(events / median("jobs_busy_s")),
        "capture_server_cpu": round(median("server_cpu"), 2),
        "capture_library_cpu": round(median("library_cpu"), 2),
        "capture_late_documents": sum(int(r["late"]) for r in rounds),
        "capture_polls_per_job": round(
            sum(r["polls"] for r in rounds) / (len(rounds) * args.docs), 1
        ),
        "events_http_p50_ms": ms(p50(query_http)),
        "events_http_p99_ms": ms(p99(query_http)),
        "events_library_p50_ms": ms(p50(query_library)),
        "events_library_p99_ms": ms(p99(query_library)),
        "events_library_document_p50_ms": ms(p50(query_document)),
        "events_http_per_s": round(len(query_http) / query_wall),
        "events_library_per_s": round(len(query_library) / (sum(query_library) / 1000)),
        "trace_http_p50_ms": ms(p50(trace_http)),
        "trace_http_p99_ms": ms(p99(trace_http)),
        "trace_library_p50_ms": ms(p50(trace_library)),
        "trace_library_p99_ms": ms(p99(trace_library)),
        "trace_http_per_s": round(len(trace_http) / trace_wall),
        "trace_library_per_s": round(len(trace_library) / (sum(trace_library) / 1000)),
        "health_http_p50_ms": ms(p50(health)),
        "reads_server_cpu": round(reads_cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--events", type=int, default=20_000, help="of the scenario's store")
    parser.add_argument("--docs", type=int, default=32, help="documents per capture round")
    parser.add_argument("--doc-events", type=int, default=500, help="events per document")
    parser.add_argument("--samples", type=int, default=300, help="GET /events per concurrency")
    parser.add_argument("--trace-samples", type=int, default=100, help="packs traced")
    parser.add_argument("--sub-samples", type=int, default=50, help="events to the webhook")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="capture rounds per concurrency (each HTTP, then the library)",
    )
    parser.add_argument("--poll-max", type=float, default=100.0,
                        help="ms: the longest wait between two polls of a capture job")  # fmt: skip
    parser.add_argument("--db", help="a PostgreSQL server (SQLAlchemy URL) where the benchmark "
                        "may create databases (default: SQLite files)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the stores and the server log")
    parser.add_argument("--seed", type=int, default=39)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "api.json")
    args = parser.parse_args()
    if args.quick:
        for name, value in QUICK.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    if args.docs < max(CLIENTS):
        raise SystemExit(f"--docs: at least {max(CLIENTS)} (one per client)")
    console = Console()
    load_at_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bt-api-"))
    started = time.perf_counter()
    errors = Errors()
    stores: Stores | None = None
    try:
        stores = make_stores(work, args.events, args.db, console)
        prepare_s = time.perf_counter() - started
        library = unit_of_work(stores.library, stores.library_key)
        reader = unit_of_work(stores.server, stores.server_key)  # the library's reads
        with reader.reading() as conn:
            store_events = int(conn.execute(text("SELECT count(*) FROM event")).scalar() or 0)
            latest = int(conn.execute(text("SELECT max(event_time) FROM event")).scalar() or 0)
        calendar = Calendar(latest)
        roots = packs(reader, args.trace_samples, random.Random(args.seed))
        made = clients.create(reader, "api benchmark", ["capture", "query"], organisation=None)
        with serving(stores.server, stores.server_key, work, console) as (base, pid):
            access = token(base, made)
            warm_up(base, access, args, library, calendar, work, errors)
            levels = []
            for i, c in enumerate(CLIENTS):
                levels.append(level(c, i, base, pid, access, args, library, reader, roots,
                                    calendar, work, errors, console))  # fmt: skip
            subscribed = asyncio.run(subscription(base, access, args.sub_samples, calendar, errors))
        one_by_one = library_events(library, subscribed.get("events", []), errors)
        library.close()
        reader.close()
    finally:
        if args.db and not args.keep and stores is not None:
            for name in stores.databases:
                pg_database(args.db, name, drop=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.keep:
        console.print(f"kept {work}")

    by = {row["clients"]: row for row in levels}
    head, one = by[HEADLINE], by[1]
    after_201 = subscribed.get("after_201") or [math.nan]
    summary: dict[str, Any] = {
        "capture_http_ratio": head["capture_http_ratio"],
        "query_overhead_p50_ms": ms(one["events_http_p50_ms"] - one["events_library_p50_ms"]),
        "trace_http_p50_ms": one["trace_http_p50_ms"],
        "errors": errors.count,
        "subscription_latency_p50_ms": ms(p50(after_201)),
        "subscription_latency_p99_ms": ms(p99(after_201)),
        "subscription_from_send_p50_ms": ms(p50(subscribed.get("after_send") or [math.nan])),
        "capture_event_http_p50_ms": ms(p50(subscribed.get("posts") or [math.nan])),
        "capture_event_library_p50_ms": ms(p50(one_by_one or [math.nan])),
        "subscription_samples": len(subscribed.get("after_201") or []),
        "trace_overhead_p50_ms": ms(one["trace_http_p50_ms"] - one["trace_library_p50_ms"]),
        "events_library_p50_ms": one["events_library_p50_ms"],
        "events_library_document_p50_ms": one["events_library_document_p50_ms"],
        "trace_library_p50_ms": one["trace_library_p50_ms"],
        "health_http_p50_ms": one["health_http_p50_ms"],
    }
    for row in levels:
        c = row["clients"]
        for figure in ("capture_http_events_per_s", "capture_library_events_per_s",
                       "capture_http_ratio", "capture_jobs_events_per_s", "events_http_p50_ms",
                       "events_http_p99_ms", "events_http_per_s", "trace_http_p50_ms",
                       "trace_http_p99_ms", "trace_http_per_s"):  # fmt: skip
            summary[f"{figure}_c{c}"] = row[figure]
    summary |= {
        "store_events": store_events,
        "doc_events": args.doc_events,
        "docs_per_level": args.docs,
        "capture_rounds": args.repeat,
        "query_samples": args.samples,
        "trace_samples": len(roots),
        "prepare_s": round(prepare_s, 1),
        "run_s": round(time.perf_counter() - started, 1),
        "backend": "postgresql" if args.db else "sqlite",
    }

    rows = Table("clients", "capture HTTP ev/s", "library ev/s", "ratio", "jobs ev/s",
                 "server CPU", "polls/job", "/events p50 (p99)", "library p50",
                 "/trace/back p50 (p99)", "library p50",
                 title="api benchmark, per concurrency")  # fmt: skip
    for row in levels:
        rows.add_row(
            str(row["clients"]),
            f"{row['capture_http_events_per_s']:,}",
            f"{row['capture_library_events_per_s']:,}",
            f"{row['capture_http_ratio']:.3f}",
            f"{row['capture_jobs_events_per_s']:,}",
            f"{row['capture_server_cpu']:.2f}",
            f"{row['capture_polls_per_job']:.1f}",
            f"{row['events_http_p50_ms']:.2f} ({row['events_http_p99_ms']:.2f}) ms",
            f"{row['events_library_p50_ms']:.2f} ms",
            f"{row['trace_http_p50_ms']:.2f} ({row['trace_http_p99_ms']:.2f}) ms",
            f"{row['trace_library_p50_ms']:.2f} ms",
        )
    Console(width=max(console.width, 160)).print(rows)  # wider than a pipe's 80 columns
    targets = Table("figure", "value", "target", "met", title="api benchmark: targets")
    verdicts: dict[str, dict[str, Any]] = {}
    for figure, target, met in (
        ("capture_http_ratio", f">= {CAPTURE_RATIO_TARGET}",
         summary["capture_http_ratio"] >= CAPTURE_RATIO_TARGET),
        ("query_overhead_p50_ms", f"<= {QUERY_OVERHEAD_TARGET_MS} ms",
         summary["query_overhead_p50_ms"] <= QUERY_OVERHEAD_TARGET_MS),
        ("errors", "0", errors.count == 0),
    ):  # fmt: skip
        targets.add_row(figure, str(summary[figure]), target, "yes" if met else "[red]NO[/red]")
        verdicts[figure] = {"value": summary[figure], "target": target, "met": met}
    console.print(targets)
    for what in errors.first:
        console.print(f"[red]error:[/red] {what}", soft_wrap=True)
    publish(
        console,
        "api",
        f"{store_events:,} events, 1, 4 and 16 clients",
        summary,
        args.out,
        scenario=stores.prepared["statement"],
        design={
            "server": "batterytrace serve, one process, loopback, a free port",
            "client": f"httpx2.AsyncClient {httpx2.__version__}, one per concurrent client",
            "capture": f"{args.repeat} round(s) per concurrency of {args.docs} documents of "
            f"{args.doc_events} events (bench/capture.py's generator, a seed each, lots of their "
            "own), dealt out to the clients, each dated as sent a month of its own after the "
            "store's latest event; each client posts to POST /capture and polls the job (after "
            f"{POLL_FIRST_S * 1000:g} ms, doubled up to {args.poll_max:g} ms) until done; "
            "baseline: the same documents captured one after another, in the server's order, "
            "with services.events.capture on a copy of the store prepared alike; ratio: the "
            "median of the rounds' HTTP rate over the library's",
            "query": QUERY_PATH,
            "trace": "GET /trace/back/{pack} of packs drawn with a seeded RNG, element Co",
            "subscription": "a stream subscription of a named query (EQ_readPoint), delivered "
            "to a webhook in the benchmark's process; events captured one at a time by "
            "POST /events; latency from the 201 to the delivery's arrival",
        },
        targets=verdicts,
        load_average={
            "start": [round(x, 2) for x in load_at_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        levels=levels,
        first_errors=errors.first,
    )


if __name__ == "__main__":
    main()
