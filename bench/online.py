"""Online benchmark: what a server holding the store answers, and what a capture costs, with the
derived state kept (issue 14 point 5; decisions 029, 032). Not a test.

The store is the agreement scenario's that ``bench/trace.py`` prepares (``--store DIR`` reuses
it, ``--events N`` sizes it; without its holdings replay, each year's document deleted once
captured), except that the latest events of the scenario's last year are held back from the
preparation: two chunks of ``--day-events`` events each (default 4,000 per 10M
events of the store, at least 200: a day at the scenario's average rate), cut at event times so
the later chunk holds the latest events and the earlier one those just before them
(``DIR/scenario/held-back-1.jsonld`` and ``-2``). The store is then given the scenario's custody
rules, agreement and carbon model (so every kept unit has inputs) and brought up to date
(``services.derived.refresh``). Each run works on a copy of that store (``--in-place``: on the
store itself, when the disk has no room for a copy; the held-back chunks are then spent), and
times, in one process:

- capture of one more day, derived state switched off against kept: the earlier chunk captured
  through a bare ``UnitOfWork`` (no follow-up: nothing refreshed), the kept state then brought up
  to date apart (``catch_up_refresh_s``), and the latest chunk captured through the bootstrap's
  unit of work (the refresh of every unit follows the write). ``capture_kept_ratio`` is the kept
  capture's events/s over the bare capture's;
- reads on the store after that capture, each a fresh service call on one long-lived unit of
  work (as a server holds it), ``--samples`` of each, taken in turn: ``footprint`` of a pack
  (the kept figures and the 10,000-draw interval, as the command prints them), ``custody
  report`` of a lot carrying claims, ``custody balance`` of a site with accounts, ``contract
  status``, ``summary`` of a pack; packs and lots are drawn with a seeded RNG;
- ``custody allocate`` (a write, followed by the refresh of every unit): ``--write-samples``
  allocations of ``--allocate-kg`` kg Co of the claim to lots the scenario allocated to, from the
  site's account, a millisecond apart from the latest event's time (inside the account's last
  open period; the same lot, kg and time twice would be one event by its hash ID); an
  allocation refused (CustodyError: an overdraft...) is timed and counted all the same;
- late ``custody allocate``: a tenth as many (at least 10), dated 35 days before the latest
  event: checked on, and kept by, the custody state taken again from the month they fall in
  (decision 035), beside the whole custody recomputation below;
- a late event: the first shipment of the last 180 days captured again (a lot shipped after
  products were made of it, in periods folded since), every unit brought up to date after
  it: the footprints taken again from the start of its year (decision 038), beside their
  recomputation below (``late_event_s``);
- ``rebuild``: ``services.derived.refresh(every=True)``, once, and beside it each unit's
  recomputation alone (its ``kept_rows`` consumed in one read transaction); then, once the
  RSS sampling has stopped, the footprints recomputed the plainest way, as one product system
  of everything (before decision 036), in a child process: its time and peak RSS;
- the peak RSS of the process tree (sampled every 50 ms, with the workers a capture starts,
  and at least the process's own ``ru_maxrss``) over the run, and per phase.

Prints the figures with their targets and writes ``bench/results/online.json`` with a flat
``summary``: ``events``, ``footprint_p50_ms``, ``custody_report_p50_ms``,
``custody_balance_p50_ms``, ``allocate_p50_ms``, ``contract_p50_ms``, ``summary_p50_ms``,
``capture_kept_ratio``, ``rebuild_s``, ``peak_rss_mb``, and beside them the p95s, the samples
taken, the late allocations (``late_allocate_p50_ms``...), the late event, the capture times,
each unit's recomputation, the preparation and each phase's RSS.

Usage: ``python bench/online.py [--store DIR] [--events N] [--samples K] [--write-samples K]
[--in-place] [--keep] [--out FILE]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from batterytrace.carbon import activity
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Document
from batterytrace.errors import CustodyError
from batterytrace.periods import Period
from batterytrace.scenario.generator import PACK
from batterytrace.services import carbon, contracts, custody, derived, ledger
from batterytrace.services import events as events_service
from batterytrace.services import summary as summary_service
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork, version
from batterytrace.store import derived as kept
from batterytrace.store.records import event_from_content
from batterytrace.trace.lineage import node_id
from report import publish
from scenario_store import trace_bench

ROOT = Path(__file__).resolve().parents[1]
HELD = "held-back.json"  # in the scenario folder: what the preparation held back
DAY_PER_10M = 4_000  # events of one day at 10M events (the scenario's average rate)
TARGETS_MS = {"footprint": 50, "custody_report": 50, "custody_balance": 50, "contract": 50,
              "summary": 50, "allocate": 200}  # fmt: skip
CAPTURE_RATIO_TARGET, RSS_TARGET_MB = 0.5, 1024
LATE = timedelta(days=35)  # how far back the late allocations are dated (no target: a figure)
LATE_EVENT_DAYS = 180  # how far back the late event is (no target: a figure)


# --- memory ------------------------------------------------------------------------------------


class Rss:
    """The peak RSS of this process and its children (capture workers), sampled every 50 ms
    in a thread, overall and per phase."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.phases: dict[str, float] = {}
        self._current: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _tree_mb(self) -> float:
        try:
            processes = [self.process, *self.process.children(recursive=True)]
            total = 0
            for p in processes:
                with suppress(psutil.Error):
                    total += p.memory_info().rss
            return total / 2**20
        except psutil.Error:
            return 0.0

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            phase = self._current
            if phase is not None:
                self.phases[phase] = max(self.phases.get(phase, 0.0), self._tree_mb())

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._current = name
        self.phases[name] = max(self.phases.get(name, 0.0), self._tree_mb())
        try:
            yield
        finally:
            self.phases[name] = max(self.phases[name], self._tree_mb())
            self._current = None

    def peak_mb(self) -> float:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
        return max([own, *self.phases.values()])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# --- the store ---------------------------------------------------------------------------------


_EVENT_TIME = re.compile(rb'"eventTime":"([^"]+)"')


def hold_back(scenario: Path, per_chunk: int) -> dict[str, Any]:
    """Take the latest events of the scenario's last document out of it, into two chunks of
    at least ``per_chunk`` events each, cut at event times (the later chunk: every event at or
    after the time of the ``per_chunk``-th latest; the earlier: the same among the rest). The
    generator writes one event per line; the document is rewritten without them."""
    last = sorted(scenario.glob("events-*.jsonld"))[-1]
    with last.open("rb") as f:
        times = []
        for line in f:
            found = _EVENT_TIME.search(line)
            if found is not None:
                times.append(datetime.fromisoformat(found.group(1).decode()))
    ordered = sorted(times, reverse=True)
    if len(ordered) < 4 * per_chunk:
        raise SystemExit(f"{last}: {len(ordered):,} events, too few to hold back 2 x {per_chunk}")
    later_from = ordered[per_chunk - 1]
    rest = [t for t in ordered if t < later_from]
    earlier_from = rest[per_chunk - 1]
    chunks = [scenario / "held-back-1.jsonld", scenario / "held-back-2.jsonld"]
    kept_path = last.with_suffix(".kept")
    counts = [0, 0, 0]  # kept, earlier, later
    with last.open("rb") as f, kept_path.open("wb") as out, chunks[0].open("wb") as first, \
            chunks[1].open("wb") as second:  # fmt: skip
        header = f.readline()
        assert header.rstrip().endswith(b"[")
        files = (out, first, second)
        for file in files:
            file.write(header)
        for line in f:
            found = _EVENT_TIME.search(line)
            if found is None:
                assert line.strip() == b"]}}", line[:80]
                continue
            when = datetime.fromisoformat(found.group(1).decode())
            which = 2 if when >= later_from else 1 if when >= earlier_from else 0
            event = line.rstrip().removesuffix(b",")
            files[which].write((b",\n" if counts[which] else b"") + event)
            counts[which] += 1
        for file in files:
            file.write(b"\n]}}\n")
    os.replace(kept_path, last)
    held = {
        "from": last.name,
        "per_chunk": per_chunk,
        "chunks": [
            {"file": chunks[0].name, "events": counts[1], "from": earlier_from.isoformat(),
             "until": later_from.isoformat()},
            {"file": chunks[1].name, "events": counts[2], "from": later_from.isoformat(),
             "until": ordered[0].isoformat()},
        ],
        "left_in_document": counts[0],
    }  # fmt: skip
    (scenario / HELD).write_text(json.dumps(held, indent=2) + "\n")
    return held


def prepare(
    work: Path, events: int, per_chunk: int | None, console: Console
) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    """The scenario's store in ``work`` as bench/trace.py prepares it, the last events held
    back (made, or reused); the scenario's custody rules, agreement and carbon model imported
    when not already; the kept state brought up to date. (what trace.py's preparation
    recorded, what was held back, the times of this preparation)."""
    bench = trace_bench()
    day = per_chunk or max(200, round(DAY_PER_10M * events / 10_000_000))
    real_generate = bench.generate

    def generate_holding_back(out: Path, scale: float, seed: int = 2025, **kw: Any) -> Any:
        result = real_generate(out, scale, seed=seed, **kw)
        held = hold_back(out, day)
        console.print(
            f"held back from {held['from']}: "
            + ", ".join(f"{c['events']:,} events from {c['from']}" for c in held["chunks"])
        )
        return result

    bench.generate = generate_holding_back  # prepare() calls it before it captures
    started = time.perf_counter()
    uow, prepared = bench.prepare(work, events, None, console, replay=False, keep_documents=False)
    prepare_s = time.perf_counter() - started
    scenario = work / "scenario"
    if not (scenario / HELD).exists():
        raise SystemExit(
            f"{work}: this store was prepared by bench/trace.py with every event captured; "
            "bench/online.py needs the last events held back: give --store a new folder"
        )
    held = json.loads((scenario / HELD).read_text())
    url, key = uow.url, uow.key_path
    uow.close()

    bare = UnitOfWork(url, key)  # imports without a refresh after each: one refresh below
    started = time.perf_counter()
    ledger.init(bare)  # the schema of today, on a store prepared before a migration
    custody.import_rules(
        bare, CustodyRules.from_json(orjson.loads((scenario / "custody.json").read_bytes())),
        "custody.json",
    )  # fmt: skip
    agreements = orjson.loads((scenario / "contracts.json").read_bytes())
    contracts.import_contracts(
        bare, [Agreement.from_json(a, f"contracts.json[{i}]") for i, a in enumerate(agreements)],
        "contracts.json",
    )  # fmt: skip
    model = activity.read_json(orjson.loads((scenario / "carbon.json").read_bytes()), "carbon.json")
    carbon.import_carbon(bare, model, "carbon.json")
    imports_s = time.perf_counter() - started
    bare.close()

    uow = unit_of_work(url, key)
    started = time.perf_counter()
    refreshed = derived.refresh(uow)
    refresh_s = time.perf_counter() - started
    uow.close()
    console.print(
        f"store ready: imports {imports_s:.1f} s, kept state refreshed in {refresh_s:.1f} s "
        f"({len(refreshed.changed):,} rows changed)"
    )
    times = {"prepare_s": prepare_s, "imports_s": imports_s, "refresh_s": refresh_s}
    return prepared, held, times


def _checkpointed(db: Path) -> None:
    """Fold the WAL into the database file, so the file alone is the store."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def working_store(work: Path, in_place: bool, console: Console) -> tuple[Path, bool]:
    """The database this run writes on: a copy of the prepared store (the copy is new), or,
    ``in_place``, the store itself."""
    db = work / "trace.db"
    _checkpointed(db)
    if in_place:
        return db, False
    copy = work / "online-run.db"
    for stale in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        stale.unlink(missing_ok=True)
    size = db.stat().st_size
    free = shutil.disk_usage(work).free
    if free < size * 1.2 + 2**30:
        raise SystemExit(
            f"{work}: the store is {size / 2**30:.1f} GB and the disk has {free / 2**30:.1f} GB "
            "free: no room for a copy; --in-place runs on the store itself (its held-back "
            "events are spent: a later run needs a new store)"
        )
    started = time.perf_counter()
    shutil.copyfile(db, copy)
    copy_s = time.perf_counter() - started
    console.print(f"copied the store ({size / 2**30:.2f} GB) in {copy_s:.0f} s")
    return copy, True


_EVENT_ID = re.compile(rb'"eventID":"([^"]+)"')


def _first_event_id(path: Path) -> str:
    with path.open("rb") as f:
        return next(m.group(1).decode() for line in f if (m := _EVENT_ID.search(line)))


# --- the figures -------------------------------------------------------------------------------


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (the nearest rank) of the values."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed_ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def capture_day(
    url: str, key: Path, scenario: Path, held: dict[str, Any], console: Console
) -> dict[str, Any]:
    """The earlier held-back chunk captured with the derived state switched off (a bare unit of
    work), the kept state brought up to date apart, then the latest chunk captured with it kept
    (the bootstrap's unit of work: the write is followed by the refresh of every unit)."""
    earlier, later = (scenario / c["file"] for c in held["chunks"])
    off = UnitOfWork(url, key)  # no follow_up: the capture refreshes nothing
    started = time.perf_counter()
    done_off = events_service.capture(off, earlier)
    off_s = time.perf_counter() - started
    off.close()
    on = unit_of_work(url, key)
    started = time.perf_counter()
    derived.refresh(on)
    catch_up_s = time.perf_counter() - started
    started = time.perf_counter()
    done_on = events_service.capture(on, later)
    on_s = time.perf_counter() - started
    on.close()
    for done, chunk in zip((done_off, done_on), held["chunks"], strict=True):
        if done.captured != chunk["events"]:
            raise SystemExit(f"{chunk['file']}: {done.captured} of {chunk['events']} captured")
    off_rate, on_rate = done_off.captured / off_s, done_on.captured / on_s
    console.print(
        f"capture, derived state off: {done_off.captured:,} events in {off_s:.2f} s; "
        f"kept: {done_on.captured:,} events in {on_s:.2f} s (refresh after the first "
        f"{catch_up_s:.2f} s, apart)"
    )
    return {
        "capture_kept_ratio": round(on_rate / off_rate, 3),
        "capture_kept_s": round(on_s, 2),
        "capture_off_s": round(off_s, 2),
        "capture_kept_events": done_on.captured,
        "capture_off_events": done_off.captured,
        "catch_up_refresh_s": round(catch_up_s, 2),
    }


def samples(uow: UnitOfWork, rng: random.Random, k: int) -> dict[str, Any]:
    """What the reads and writes ask about, drawn from the store: packs, lots carrying claims,
    sites with accounts; the lots, site and claim of the scenario's allocations and the date
    the benchmark's allocations are made at."""
    packs_like = node_id(PACK.serial("x")).rsplit("/21/", 1)[0] + "/21/%"
    with uow.reading() as conn:
        packs = sorted(
            row[0]
            for row in conn.execute(
                text(
                    "SELECT DISTINCT value FROM event_key WHERE role = 'parentID' AND value LIKE :p"
                ),
                {"p": packs_like},
            )
        )
        lots = sorted(
            lot
            for lot, (_, content) in kept.stored(conn, "custody.lot").items()
            if orjson.loads(content)["claims"]
        )
        accounts = [orjson.loads(c) for _, c in kept.stored(conn, "custody.account").values()]
        latest_ms = conn.execute(text("SELECT max(event_time) FROM event")).scalar()
        # the scenario's allocations: their lot, site and claim (the allocation's own fields)
        allocated = conn.execute(
            text(
                "SELECT content FROM event WHERE event_type = 'ObjectEvent' AND seq IN"
                " (SELECT seq FROM event_key WHERE role = 'extension' AND value LIKE '%claim')"
            )
        ).all()
    if not packs or not lots or not accounts:
        raise SystemExit(f"nothing to read: {len(packs)} packs, {len(lots)} lots with claims, "
                         f"{len(accounts)} accounts")  # fmt: skip
    sites = sorted({a["site"] for a in accounts})
    allocations: dict[tuple[str, str], set[str]] = {}
    for (content,) in allocated:
        event = orjson.loads(content)
        claim = next((v for name, v in event.items() if name.endswith("claim")), None)
        lots_named = [q["epcClass"] for q in event.get("quantityList", [])]
        site = (event.get("bizLocation") or {}).get("id")
        if claim is None or len(lots_named) != 1 or site is None:
            continue
        allocations.setdefault((node_id(site), str(claim)), set()).add(node_id(lots_named[0]))
    if not allocations:
        raise SystemExit("no allocation event in the store: nothing to allocate to")
    (site, claim), allocated_lots = max(allocations.items(), key=lambda item: len(item[1]))
    account = next(
        (a for a in accounts if a["site"] == site and a["claim"] == claim and a["element"] == "Co"),
        None,
    )
    if account is None:
        raise SystemExit(f"no Co account of {claim} at {site}")
    length = Period(account["period"])
    open_periods = [s["period"] for s in account["statements"] if not s["closed"]]
    latest = datetime.fromtimestamp(latest_ms / 1000, UTC)
    # the latest event's time, or a day before the end of the account's last open period
    # (allocations are made a millisecond apart from there)
    last_open = open_periods[-1] if open_periods else length.label(length.number(latest))
    at = min(latest, _end(length, length.parse(last_open)) - timedelta(days=1))
    return {
        "packs": [rng.choice(packs) for _ in range(k)],
        "lots": [rng.choice(lots) for _ in range(k)],
        "sites": [sites[i % len(sites)] for i in range(k)],
        "allocate": {"site": site, "claim": claim, "lots": sorted(allocated_lots), "at": at,
                     "period": length.label(length.number(at))},
        "counts": {"packs": len(packs), "lots_with_claims": len(lots), "account_sites": len(sites),
                   "allocated_lots": len(allocated_lots)},
    }  # fmt: skip


def _end(length: Period, index: int) -> datetime:
    """The first instant after period ``index`` of ``length``."""
    if length is Period.YEAR:
        return datetime(index + 1, 1, 1, tzinfo=UTC)
    months = (index + 1) * (3 if length is Period.QUARTER else 1)
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def reads(
    uow: UnitOfWork, drawn: dict[str, Any], k: int, console: Console
) -> dict[str, list[float]]:
    """ms of each read, the kinds taken in turn, ``k`` of each."""
    calls: dict[str, Callable[[int], object]] = {
        "footprint": lambda i: carbon.footprint(uow, drawn["packs"][i]).interval(),
        "custody_report": lambda i: custody.report(uow, drawn["lots"][i]),
        "custody_balance": lambda i: custody.balances(uow, drawn["sites"][i]),
        "contract": lambda i: contracts.status(uow),
        "summary": lambda i: summary_service.summary(uow, drawn["packs"][i]),
    }
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(k):
        for name, call in calls.items():
            times[name].append(timed_ms(lambda call=call, i=i: call(i)))
        if (i + 1) % max(1, k // 5) == 0:
            console.print(f"reads: {i + 1} of {k} of each")
    return times


def allocates(
    uow: UnitOfWork,
    drawn: dict[str, Any],
    k: int,
    kg: float,
    rng: random.Random,
    console: Console,
    back: timedelta = timedelta(0),
) -> tuple[list[float], list[str], int]:
    """ms of each allocation (refused ones too), why each refused one was, and how many were
    accepted but did not move the ledger (stored nothing). Each is a millisecond after the one
    before: the same lot, kg and time again would be the same event by its hash ID (a
    duplicate, not stored). ``back``: dated that much before the latest event (late ones: the
    custody state goes on from the month they fall in, decision 035)."""
    target = drawn["allocate"]
    times, refusals, unrecorded = [], [], 0
    with uow.reading() as conn:
        before = version(conn)
    for i in range(k):
        command = custody.Allocate(
            lot=rng.choice(target["lots"]),
            site=target["site"],
            claim=target["claim"],
            kg={"Co": kg},
            at=target["at"] - back + timedelta(milliseconds=i),
        )
        said = "allocated"
        started = time.perf_counter()
        try:
            done = custody.allocate(uow, command)
        except CustodyError as err:
            said = f"refused: {err}"
            refusals.append(str(err))
        else:
            if done.version == before:
                said, unrecorded = "accepted, but the ledger did not move", unrecorded + 1
            before = done.version
        times.append((time.perf_counter() - started) * 1000)
        late = f" ({back.days} days back)" if back else ""
        console.print(f"allocate{late} {i + 1} of {k}: {times[-1]:,.0f} ms, {said}", soft_wrap=True)
    return times, refusals, unrecorded


# the plainest method for the footprints' recomputation, as it was before decision 036: one
# product system of everything (what a store whose packs a transformation made or used gets),
# in a process of its own, so that its memory is its own figure
_ONE_SYSTEM = """
import json, resource, sys, time
from pathlib import Path
from batterytrace.services import carbon
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.store import carbon as carbon_store
carbon_store.packs_transformed = lambda *_: True
uow = unit_of_work(sys.argv[1], Path(sys.argv[2]))
started = time.perf_counter()
with uow.reading() as conn:
    rows = sum(sum(1 for _ in area) for area in carbon.kept_rows(conn, uow.decoded).values())
print(json.dumps({"s": time.perf_counter() - started, "rows": rows,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def one_system(url: str, key: Path, console: Console) -> dict[str, Any]:
    """The footprints recomputed as one product system of everything (the baseline of the
    rebuild's memory), in a child process: its time, rows and peak RSS."""
    run = subprocess.run([sys.executable, "-c", _ONE_SYSTEM, url, str(key)], check=True,
                         capture_output=True, text=True)  # fmt: skip
    found = json.loads(run.stdout.strip().splitlines()[-1])
    console.print(f"footprints as one product system: {found['s']:.1f} s, "
                  f"{found['rss_mb']:,.0f} MB peak")  # fmt: skip
    return {
        "recompute_carbon_one_system_s": round(found["s"], 2),
        "recompute_carbon_one_system_rows": found["rows"],
        "recompute_carbon_one_system_rss_mb": round(found["rss_mb"], 1),
    }


def late_event(uow: UnitOfWork, console: Console) -> dict[str, Any]:
    """The first shipment of the last 180 days captured again, a millisecond on (another
    event): a lot shipped after products were made of it, in periods products made since
    folded. Every unit brought up to date after it: the footprints taken again from the
    start of its year (decision 038), custody and contract shipments from its month (035)."""
    with uow.reading() as conn:
        latest = int(conn.execute(text("SELECT max(event_time) FROM event")).scalar() or 0)
        content = conn.execute(
            text("SELECT content FROM event WHERE biz_step = 'shipping' AND event_time >= :at "
                 "ORDER BY event_time LIMIT 1"),
            {"at": latest - LATE_EVENT_DAYS * 86_400_000},
        ).scalar()  # fmt: skip
    shipped = event_from_content(content)
    moved = shipped.eventTime + timedelta(milliseconds=1)
    again = dataclasses.replace(shipped, eventID=None, eventTime=moved)
    started = time.perf_counter()
    events_service.capture_document(uow, Document(creationDate=again.eventTime, events=[again]))
    late_s = time.perf_counter() - started
    console.print(f"a shipment of {shipped.eventTime:%Y-%m-%d} captured again: {late_s:.2f} s")
    return {"late_event_s": round(late_s, 2), "late_event_time": shipped.eventTime.isoformat()}


def rebuild(uow: UnitOfWork, console: Console) -> dict[str, Any]:
    """``rebuild`` (every unit recomputed and compared with its kept rows), then each unit's
    recomputation alone, its rows consumed."""
    started = time.perf_counter()
    done = derived.refresh(uow, every=True)
    rebuild_s = time.perf_counter() - started
    figures: dict[str, Any] = {
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_changed": len(done.changed),
    }
    for unit in derived.UNITS:
        with uow.reading() as conn:
            started = time.perf_counter()
            areas = unit.recompute(conn, uow.decoded).values()
            rows = sum(sum(1 for _ in area) for area in areas)
            figures[f"recompute_{unit.name}_s"] = round(time.perf_counter() - started, 2)
            figures[f"recompute_{unit.name}_rows"] = rows
    console.print(
        f"rebuild {rebuild_s:.2f} s; alone: "
        + ", ".join(f"{u.name} {figures[f'recompute_{u.name}_s']:.2f} s" for u in derived.UNITS)
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="a store this script prepared (or will)")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=200, help="of each read")
    parser.add_argument("--write-samples", type=int, default=200, help="allocations")
    parser.add_argument("--allocate-kg", type=float, default=0.001, help="kg Co per allocation")
    parser.add_argument(
        "--day-events",
        type=int,
        help="events per held-back chunk (default: 4,000 per 10M events, at least 200; used "
        "when the store is made)",
    )
    parser.add_argument("--in-place", action="store_true",
                        help="run on the prepared store itself, not a copy (spends its held-back "
                        "events)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the copy the run wrote on")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "online.json")
    args = parser.parse_args()
    console = Console()
    rss = Rss()
    work = args.store or Path(tempfile.mkdtemp(prefix="bt-online-"))
    made_now = not (work / "prepared.json").exists()

    with rss.phase("prepare"):
        prepared, held, prep = prepare(work, args.events, args.day_events, console)
    db, copied = working_store(work, args.in_place, console)
    url, key = f"sqlite:///{db}", work / "ledger.key"
    scenario = work / "scenario"

    probe = UnitOfWork(url, key)
    with probe.reading() as conn:
        spent = [
            conn.execute(
                text("SELECT count(*) FROM event WHERE event_id = :i"),
                {"i": _first_event_id(scenario / chunk["file"])},
            ).scalar()
            for chunk in held["chunks"]
        ]
    probe.close()
    capture: dict[str, Any]
    if any(spent):
        capture = {"capture_kept_ratio": None}
        console.print("[red]the held-back events are in this store already (an --in-place run "
                      "spent them): capture not measured[/red]")  # fmt: skip
    else:
        with rss.phase("capture"):
            capture = capture_day(url, key, scenario, held, console)

    server = unit_of_work(url, key)  # one long-lived unit of work, as a server holds
    rng = random.Random(args.seed)
    with server.reading() as conn:
        events = int(conn.execute(text("SELECT count(*) FROM event")).scalar() or 0)
    drawn = samples(server, rng, args.samples)
    with rss.phase("reads"):
        read_ms = reads(server, drawn, args.samples, console)
    with rss.phase("allocate"):
        allocate_ms, refusals, unrecorded = allocates(
            server, drawn, args.write_samples, args.allocate_kg, rng, console
        )
    with rss.phase("late_allocate"):
        late_ms, late_refusals, _ = allocates(
            server, drawn, max(10, args.write_samples // 10), args.allocate_kg, rng, console,
            back=LATE,
        )  # fmt: skip
    with rss.phase("late_event"):
        late = late_event(server, console)
    with rss.phase("rebuild"):
        rebuilt = rebuild(server, console)
    server.close()
    rss.stop()
    rebuilt |= one_system(url, key, console)  # after the sampling: its memory is its own

    summary: dict[str, Any] = {"events": events}
    p50s: dict[str, float | None] = {}
    for name in ("footprint", "custody_report", "custody_balance", "allocate", "contract",
                 "summary"):  # fmt: skip
        values = allocate_ms if name == "allocate" else read_ms[name]
        p50 = percentiles(values)[0] if values else None
        p50s[name] = p50
        summary[f"{name}_p50_ms"] = None if p50 is None else round(p50, 2)
    summary |= {
        "capture_kept_ratio": capture["capture_kept_ratio"],
        "rebuild_s": rebuilt["rebuild_s"],
        "peak_rss_mb": round(rss.peak_mb(), 1),
    }
    for name in ("footprint", "custody_report", "custody_balance", "allocate", "contract",
                 "summary"):  # fmt: skip
        values = allocate_ms if name == "allocate" else read_ms[name]
        summary[f"{name}_p95_ms"] = round(percentiles(values)[1], 2) if values else None
        summary[f"{name}_samples"] = len(values)
    summary["allocate_refused"] = len(refusals)
    summary["late_allocate_p50_ms"], summary["late_allocate_p95_ms"] = (
        round(value, 2) for value in percentiles(late_ms)
    )
    summary["late_allocate_samples"] = len(late_ms)
    summary["late_allocate_refused"] = len(late_refusals)
    summary["late_allocate_days_back"] = LATE.days
    summary["allocate_not_recorded"] = unrecorded
    summary |= {k: v for k, v in capture.items() if k != "capture_kept_ratio"}
    summary |= late
    summary |= {k: v for k, v in rebuilt.items() if k != "rebuild_s"}
    summary |= {
        "store_prepared_this_run": made_now,
        "prepare_s": round(prep["prepare_s"], 1),
        "prepare_imports_s": round(prep["imports_s"], 2),
        "prepare_refresh_s": round(prep["refresh_s"], 2),
        "generate_s": prepared.get("generate_s"),
        "scenario_capture_s": prepared.get("capture_s"),
        "held_back_per_chunk": held["per_chunk"],
        "store_mb": round(db.stat().st_size / 2**20, 1),
        "worked_on": "a copy of the prepared store" if copied else "the prepared store itself",
        **{f"{phase}_peak_rss_mb": round(mb, 1) for phase, mb in rss.phases.items()},
        **{f"sampled_{name}": n for name, n in drawn["counts"].items()},
        "backend": "sqlite",
    }

    targets = Table("figure", "value", "target", "met", title="online benchmark: targets")
    verdicts: dict[str, dict[str, Any]] = {}

    def verdict(figure: str, value: float | None, target: str, met: bool | None) -> None:
        shown = "not measured" if value is None else f"{value:,.2f}"
        said = "-" if met is None else "yes" if met else "[red]NO (missed)[/red]"
        targets.add_row(figure, shown, target, said)
        verdicts[figure] = {
            "value": None if value is None else round(value, 3),
            "target": target,
            "met": met,
        }

    for name, limit in TARGETS_MS.items():
        p50 = p50s[name]
        verdict(f"{name}_p50_ms", p50, f"<= {limit} ms", None if p50 is None else p50 <= limit)
    ratio = capture["capture_kept_ratio"]
    verdict("capture_kept_ratio", ratio, f">= {CAPTURE_RATIO_TARGET}",
            None if ratio is None else ratio >= CAPTURE_RATIO_TARGET)  # fmt: skip
    peak = summary["peak_rss_mb"]
    verdict("peak_rss_mb", peak, f"<= {RSS_TARGET_MB} MB", peak <= RSS_TARGET_MB)
    console.print(targets)
    publish(
        console,
        "online",
        f"{events:,} events",
        summary,
        args.out,
        scenario=prepared["statement"],
        design={
            "held_back": held,
            "capture": "the earlier held-back chunk captured with a bare UnitOfWork (no "
            "follow-up: derived state off), the kept state refreshed apart, then the latest "
            "chunk captured with the bootstrap's unit of work (refresh of every unit after "
            "the write); ratio = kept events/s over off events/s",
            "allocate": {k: str(v) for k, v in drawn["allocate"].items() if k != "lots"}
            | {"kg_co": args.allocate_kg, "first_refusal": refusals[0] if refusals else None},
        },
        targets=verdicts,
    )
    if copied and not args.keep:
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            path.unlink(missing_ok=True)
    if args.store is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
