"""``batterytrace serve`` itself: a real uvicorn server in its own process on loopback, over
TLS (a certificate of a test authority, trustme), reached by a real HTTP client. A round trip
capture → query → trace → footprint answers what the library answers on the same store; a
WebSocket subscriber that stops reading is cut off with 1013 and its reason, the server's
memory bounded by its outbox, the events still there for the next subscriber."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import orjson
import pytest
import trustme
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.sync.client import connect
from websockets.uri import parse_uri

from batterytrace.carbon.activity import from_json
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.documents import read
from batterytrace.scenario.generator import PACK, generate
from batterytrace.services import carbon, clients, contracts, custody, events, trace
from batterytrace.services.unit_of_work import UnitOfWork
from factories import document, object_event


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    ssl: Any  # the client's ssl context trusting the test authority
    token: str

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            verify=self.ssl,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )

    def rss_kib(self) -> int:
        """The resident memory of the server process (its uvicorn worker is itself)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(
            next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(uow: UnitOfWork, tmp_path: Path) -> Iterator[Server]:
    """``batterytrace serve --cert --key`` on the test's store, with an admin client; a slow
    WebSocket reader may fall 2 batches behind, a send may take 2 s."""
    authority = trustme.CA()
    authority.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
        str(tmp_path / "server.pem")
    )
    made = clients.create(uow, "server test", ["admin"], organisation=None)
    port = _free_port()
    env = os.environ | {
        "BATTERYTRACE_DB": uow.url,
        "BATTERYTRACE_KEY": str(uow.key_path),
        "BATTERYTRACE_TOKEN_KEY": str(tmp_path / "token.key"),
        "BATTERYTRACE_WEBSOCKET_BUFFER": "2",
        "BATTERYTRACE_WEBHOOK_TIMEOUT": "2",
    }
    pem = str(tmp_path / "server.pem")
    command = [str(Path(sys.executable).parent / "batterytrace"), "serve",
               "--port", str(port), "--cert", pem, "--key", pem]  # fmt: skip
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url, trusted):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the server did not start in 60 s"
            time.sleep(0.2)
        form = {"grant_type": "client_credentials", "client_id": made.client_id,
                "client_secret": made.client_secret}  # fmt: skip
        answer = httpx.post(f"{url}/oauth/token", data=form, verify=trusted)
        assert answer.status_code == 200, answer.text
        yield Server(url, process, trusted, answer.json()["access_token"])
    finally:
        process.terminate()
        process.wait(30)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()


def _healthy(url: str, trusted: ssl.SSLContext) -> bool:
    try:
        return httpx.get(f"{url}/health", verify=trusted, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_plain_http_is_refused_by_the_tls_server(server: Server) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url.replace("https", "http") + "/health", timeout=5)
    with pytest.raises(httpx.ConnectError):  # a certificate nobody here trusts
        httpx.get(server.url + "/health", timeout=5)


def test_capture_query_trace_and_footprint_round_trip_over_https(
    server: Server, uow: UnitOfWork, tmp_path: Path
) -> None:
    files = tmp_path / "scenario"
    generate(files, 0.0002, seed=11)
    with server.http() as http:
        answer = http.post("/masterdata", content=(files / "masterdata.json").read_bytes(),
                           headers={"Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        rules = CustodyRules.from_json(orjson.loads((files / "custody.json").read_bytes()))
        custody.import_rules(uow, rules, "custody.json")
        (agreement,) = orjson.loads((files / "contracts.json").read_bytes())
        contracts.import_contracts(uow, [Agreement.from_json(agreement)], "contracts.json")
        model = from_json(orjson.loads((files / "carbon.json").read_bytes()), "carbon.json")
        carbon.import_carbon(uow, model, "carbon.json")
        sent = 0
        for path in sorted(files.glob("events-*.jsonld")):
            answer = http.post("/capture", content=path.read_bytes(),
                               headers={"Content-Type": "application/ld+json"})  # fmt: skip
            assert answer.status_code == 202, answer.text
            job = _finished(http, answer.headers["location"])
            assert job["success"] is True and job["errors"] == [], job
            sent += len(read(path).events)
        last = sorted(files.glob("events-*.jsonld"))[-1]
        pack = next(e.parentID for e in reversed(read(last).events)
                    if (e.parentID or "").startswith(PACK.serial("")))  # fmt: skip
        assert pack is not None

        stored = list(events.query_all(uow, {"EQ_bizStep": ["assembling"]}))
        answer = http.get("/events", params={"EQ_bizStep": "assembling", "perPage": 10000},
                          headers={"Accept": "application/json"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        listed = answer.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert [e["eventID"] for e in listed] == [e.eventID for e in stored]
        assert len(listed) > 0 and sum(1 for _ in events.query_all(uow, {})) == sent

        answer = http.get(f"/trace/back/{quote(pack, safe='')}")
        assert answer.status_code == 200, answer.text
        assert answer.json() == orjson.loads(orjson.dumps(trace.trace_json(uow, pack)))

        answer = http.get(f"/footprints/{quote(pack, safe='')}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body == orjson.loads(orjson.dumps(carbon.footprint_json(uow, pack)))
        assert body["kept"] is True and body["version"] > 0


def _finished(http: httpx.Client, location: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = http.get(location).json()
        if not job["running"] or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_a_websocket_client_that_stops_reading_is_cut_off_and_the_server_keeps_no_backlog(
    server: Server, uow: UnitOfWork, tmp_path: Path
) -> None:
    numbers = range(1, 60_001)  # 120 batches of 500 events (about 28 MB) for a new subscriber
    path = tmp_path / "many.jsonld"
    path.write_bytes(orjson.dumps(document([object_event(n) for n in numbers])))
    events.capture(uow, path)
    with server.http() as http:
        named = {"name": "all", "query": {"eventType": ["ObjectEvent"]}}
        assert http.post("/queries", json=named).status_code == 201
    ws_url = server.url.replace("http", "ws", 1) + "/queries/all/events"
    query = "?stream=true&initialRecordTime=2000-01-01T00:00:00Z"

    # a subscriber that reads gets every event, in order: the backlog a slow one is owed
    got: list[str] = []
    backlog = 0
    auth = {"Authorization": f"Bearer {server.token}"}
    tls = server.ssl if ws_url.startswith("wss") else None
    with connect(ws_url + query, ssl=tls, additional_headers=auth, max_size=None) as ws:
        while len(got) < len(numbers):
            message = ws.recv(timeout=30)
            backlog += len(message)
            results = orjson.loads(message)["epcisBody"]["queryResults"]
            got += [e["eventID"] for e in results["resultsBody"]["eventList"]]
    assert got == [object_event(n)["eventID"] for n in numbers]

    # one that reads nothing fills the kernel's buffers, then its outbox (2 batches): cut off
    before = server.rss_kib()
    with _stalled(server, ws_url + query) as (connection, protocol):
        time.sleep(6)
        peak = server.rss_kib()
        messages, close = _read_to_the_end(connection, protocol)
    assert close is not None and close.code == 1013, close
    assert close.reason == "client too slow: 2 batches unread"
    assert messages < 120  # cut off before the backlog was sent, then told why
    assert (peak - before) * 1024 < backlog / 2, (before, peak, backlog)  # not kept for it


@contextmanager
def _stalled(server: Server, url: str) -> Iterator[tuple[socket.socket, ClientProtocol]]:
    """A WebSocket handshake on a socket with a small receive buffer, then nothing read:
    the slowest client there is."""
    protocol = ClientProtocol(parse_uri(url), max_size=None)
    request = protocol.connect()
    request.headers["Authorization"] = f"Bearer {server.token}"
    protocol.send_request(request)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    raw.connect(("127.0.0.1", int(url.split(":")[2].split("/")[0])))
    tls = url.startswith("wss")
    connection = server.ssl.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
    with connection:
        connection.sendall(b"".join(protocol.data_to_send()))
        yield connection, protocol


def _read_to_the_end(
    connection: socket.socket, protocol: ClientProtocol
) -> tuple[int, Close | None]:
    """Read until the server closes: the text messages it sent, and its close frame."""
    connection.settimeout(30)
    messages, close = 0, None
    while data := connection.recv(1 << 20):
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Frame) and event.opcode == Opcode.TEXT and event.fin:
                messages += 1
            if isinstance(event, Frame) and event.opcode == Opcode.CLOSE:
                close = Close.parse(event.data)
        connection.sendall(b"".join(protocol.data_to_send()))
    return messages, close
