"""A webhook receiver for subscription tests: a real HTTP server on loopback that answers
as scripted (succeed, fail with a status, or stall past the sender's timeout) and keeps what
it was sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]
    at: float  # time.monotonic() when received

    @property
    def document(self) -> Any:
        return orjson.loads(self.body)

    @property
    def event_ids(self) -> list[str]:
        results = self.document["epcisBody"]["queryResults"]
        return [e["eventID"] for e in results["resultsBody"]["eventList"]]


@dataclass
class Receiver:
    url: str
    script: list[int | str] = field(default_factory=list)  # per request: status, or "stall"
    stall: float = 2.0
    taken: list[Delivery] = field(default_factory=list)  # answered 2xx
    attempts: int = 0

    def wait(self, events: int, timeout: float = 20.0) -> list[str]:
        """The event IDs taken once at least ``events`` have been (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = [i for d in self.taken for i in d.event_ids]
            if len(ids) >= events:
                return ids
            time.sleep(0.02)
        return [i for d in self.taken for i in d.event_ids]


@contextmanager
def receiver(script: list[int | str] | None = None, stall: float = 2.0) -> Iterator[Receiver]:
    state = Receiver("", list(script or []), stall)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with lock:
                state.attempts += 1
                action = state.script.pop(0) if state.script else 200
            if action == "stall":  # answers too late: the sender has given up, nothing kept
                time.sleep(state.stall)
                action = 599
            if 200 <= int(action) < 300:
                with lock:
                    state.taken.append(Delivery(body, dict(self.headers), time.monotonic()))
            self.send_response(200 if action == 599 else int(action))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
