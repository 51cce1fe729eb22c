"""Capture benchmark (not a test).

Generates N realistic EPCIS 2.0 events (mixed types, lots and serials, quantities, business
transactions, sources/destinations, sensor reports, ILMD; sizes like the GS1 examples) into one
JSON-LD file, then in the same run:

1. captures the file into a fresh SQLite store with ``batterytrace capture`` in a child process
   (its wall time and the peak RSS of its process tree are measured);
2. inserts exactly the rows that capture wrote into a second fresh store with plain
   ``sqlite3.executemany`` (same schema, same pragmas, one transaction): the baseline;
3. with ``--pg URL`` (a PostgreSQL server where it may create databases; default
   ``BATTERYTRACE_TEST_PG``), the same two on PostgreSQL: the capture into a fresh database,
   and the very same rows put into another fresh database by a raw ``COPY`` (psycopg), the
   plainest way to put them there: the PostgreSQL baseline;
4. computes the CBV 2.0 hash ID of every event (parsed beforehand), beside a plain
   ``json.loads`` of every event's JSON text.

Usage: ``python bench/capture.py [--events N] [--repeat R] [--pg URL] [--out FILE] [--keep]``

Each capture runs ``--repeat`` times (default 3), each time followed by its baseline; the
medians are reported, and each ratio is the median of the ratios pair by pair.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import orjson
import psutil
import psycopg
from rich.console import Console
from sqlalchemy import make_url

from batterytrace.epcis.hash import event_hash
from batterytrace.epcis.json_ld import context_namespaces, event_from_json
from batterytrace.services import ledger
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.store import schema
from report import publish

ROOT = Path(__file__).resolve().parents[1]
CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"bt": "https://batterytrace.org/voc/"},
]
PARTIES = ["6111111", "3012345", "3700000", "4012345", "0614141"]
# The baselines put every row capture wrote (events, their keys and figures, holdings, the
# ledger's capture and checkpoint), table by table in dependency order.
BASELINE_TABLES = [table.name for table in schema.metadata.sorted_tables]


def _site_pool(size: int = 300, seed: int = 7) -> list[str]:
    """The supply chain's sites: a few hundred locations (mines, plants, ports, warehouses)."""
    rng = random.Random(seed)
    pool = []
    for _ in range(size):
        cp = rng.choice(PARTIES)
        digits = 12 - len(cp)
        pool.append(
            f"urn:epc:id:sgln:{cp}.{rng.randrange(10**digits):0{digits}d}.{rng.choice('0001')}"
        )
    return pool


SITES = _site_pool()


def _sgln(rng: random.Random) -> str:
    return rng.choice(SITES)


def _sgtin(rng: random.Random, cp: str, item: int, serial: int) -> str:
    return f"urn:epc:id:sgtin:{cp}.{item:0{13 - len(cp)}d}.{serial}"


def _sscc(rng: random.Random, cp: str) -> str:
    digits = 17 - len(cp)
    return f"urn:epc:id:sscc:{cp}.{rng.randrange(10**digits):0{digits}d}"


def _lgtin(cp: str, item: int, lot: str) -> str:
    return f"urn:epc:class:lgtin:{cp}.{item:0{13 - len(cp)}d}.{lot}"


def events(n: int, seed: int = 2025) -> Iterator[dict[str, Any]]:
    """A reproducible stream of varied, valid events."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(n):
        cp = rng.choice(PARTIES)
        item = rng.randrange(1, 500)
        when = start + timedelta(seconds=i * 37 + rng.randrange(30))
        base: dict[str, Any] = {
            "eventID": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            "eventTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "eventTimeZoneOffset": rng.choice(["+01:00", "+02:00", "+00:00", "-05:00"]),
            "readPoint": {"id": _sgln(rng)},
            "bizLocation": {"id": _sgln(rng)},
        }
        lot = f"L{i // 50}"
        quantities = [
            {
                "epcClass": _lgtin(cp, item + k, lot),
                "quantity": round(rng.uniform(10, 25000), 3),
                "uom": "KGM",
            }
            for k in range(rng.randint(1, 3))
        ]
        serials = [_sgtin(rng, cp, item, rng.randrange(10**9)) for _ in range(rng.randint(1, 6))]
        po = {
            "type": "po",
            "bizTransaction": f"urn:epc:id:gdti:{cp}.{item:0{12 - len(cp)}d}.PO{i // 20}",
        }
        kind = rng.random()
        if kind < 0.35:
            event = {
                "type": "ObjectEvent",
                **base,
                "epcList": serials,
                "quantityList": quantities,
                "action": "OBSERVE",
                "bizStep": rng.choice(["shipping", "receiving", "inspecting", "storing"]),
                "disposition": rng.choice(["in_transit", "in_progress", "active"]),
                "bizTransactionList": [
                    po,
                    {"type": "desadv", "bizTransaction": f"https://edi.example.com/desadv/{i}"},
                ],
                "sourceList": [
                    {"type": "owning_party", "source": f"urn:epc:id:pgln:{cp}.{0:0{12 - len(cp)}d}"}
                ],
                "destinationList": [{"type": "location", "destination": _sgln(rng)}],
            }
        elif kind < 0.5:
            event = {
                "type": "ObjectEvent",
                **base,
                "quantityList": quantities[:1],
                "action": "ADD",
                "bizStep": "commissioning",
                "disposition": "active",
                "ilmd": {
                    "bt:cobaltMassFraction": round(rng.uniform(0.005, 0.21), 4),
                    "cbvmda:countryOfOrigin": "MA",
                },
                "sensorElementList": [
                    {
                        "sensorMetadata": {
                            "time": base["eventTime"],
                            "deviceID": f"urn:epc:id:giai:{cp}.{i}",
                        },
                        "sensorReport": [
                            {
                                "type": "Dimensionless",
                                "chemicalSubstance": "https://identifiers.org/inchikey:GUTLYIVDDKVIGB-UHFFFAOYSA-N",
                                "value": round(rng.uniform(0.5, 21), 3),
                                "uom": "P1",
                            }
                        ],
                    }
                ],
            }
        elif kind < 0.7:
            event = {
                "type": "AggregationEvent",
                **base,
                "parentID": _sscc(rng, cp),
                "childEPCs": serials,
                "action": rng.choice(["ADD", "DELETE"]),
                "bizStep": rng.choice(["packing", "unpacking"]),
            }
        elif kind < 0.85:
            event = {
                "type": "TransformationEvent",
                **base,
                "inputQuantityList": quantities,
                "outputQuantityList": [
                    {"epcClass": _lgtin(cp, item + 7, f"O{i}"), "quantity": 1234.5, "uom": "KGM"}
                ],
                "transformationID": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                "bizStep": "commissioning",
                "ilmd": {"bt:energyWindShare": 0.8},
            }
        elif kind < 0.95:
            event = {
                "type": "TransactionEvent",
                **base,
                "bizTransactionList": [po],
                "quantityList": quantities,
                "action": "ADD",
                "bizStep": "accepting",
            }
        else:
            event = {
                "type": "AssociationEvent",
                **base,
                "parentID": f"urn:epc:id:giai:{cp}.VEH{i}",
                "childEPCs": serials[:1],
                "action": "ADD",
                "bizStep": "assembling",
            }
        yield event


def write_file(path: Path, n: int) -> None:
    header = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-06-01T00:00:00.000Z",
    }
    with path.open("wb") as f:
        f.write(orjson.dumps(header)[:-1] + b',"epcisBody":{"eventList":[\n')
        for i, event in enumerate(events(n)):
            if i:
                f.write(b",\n")
            f.write(orjson.dumps(event))
        f.write(b"\n]}}\n")


def run_capture(url: str, key: Path, source: Path) -> tuple[float, float]:
    """Capture in a child process; its wall time (s) and the peak RSS (MB) of its whole
    process tree (the capture and its worker processes together), sampled every 50 ms."""
    env = {**os.environ, "BATTERYTRACE_DB": url, "BATTERYTRACE_KEY": str(key)}
    cli = [sys.executable, "-m", "batterytrace.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    child = subprocess.Popen(
        [*cli, "capture", "--json", str(source)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    tree = psutil.Process(child.pid)
    while child.poll() is None:
        try:
            processes = [tree, *tree.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in processes))
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"capture failed: {child.stdout.read().decode() if child.stdout else ''}")
    return elapsed, peak / 2**20


def run_baseline(captured: Path, fresh: Path) -> tuple[float, int]:
    """Insert the rows of ``captured`` into an empty copy of its schema; insert time, rows."""
    uow = unit_of_work(f"sqlite:///{fresh}", fresh.with_suffix(".key"))
    ledger.init(uow)
    uow.close()
    src = sqlite3.connect(captured)
    dst = sqlite3.connect(fresh, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-32768"):  # the store's
        dst.execute(f"PRAGMA {pragma}")
    elapsed = 0.0
    rows = 0
    dst.execute("BEGIN IMMEDIATE")
    for table in BASELINE_TABLES:
        columns = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
        select = src.execute(f"SELECT {', '.join(columns)} FROM {table}")
        insert = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        while chunk := select.fetchmany(20_000):
            started = time.perf_counter()
            dst.executemany(insert, chunk)
            elapsed += time.perf_counter() - started
            rows += len(chunk)
    started = time.perf_counter()
    dst.execute("COMMIT")
    elapsed += time.perf_counter() - started
    return elapsed, rows


def _dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_database(admin: str, name: str, drop: bool = False) -> str:
    """Create (or with ``drop``, drop) database ``name`` on the server of ``admin``; its URL."""
    with psycopg.connect(_dsn(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def run_pg_baseline(captured: str, fresh: str, key: Path) -> tuple[float, int]:
    """``COPY`` the rows of ``captured`` into an empty copy of its schema (one transaction);
    the time of the COPYs and the commit, and the rows."""
    uow = unit_of_work(fresh, key)
    ledger.init(uow)
    uow.close()
    elapsed = 0.0
    rows = 0
    with psycopg.connect(_dsn(captured)) as src, psycopg.connect(_dsn(fresh)) as dst:
        for table in BASELINE_TABLES:
            described = src.execute(f"SELECT * FROM {table} LIMIT 0").description or []
            columns = ", ".join(column.name for column in described)
            with src.cursor(name=f"read_{table}") as select:
                select.execute(f"SELECT {columns} FROM {table}")
                while chunk := select.fetchmany(20_000):
                    started = time.perf_counter()
                    with dst.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in chunk:
                            copy.write_row(row)
                    elapsed += time.perf_counter() - started
                    rows += len(chunk)
        started = time.perf_counter()
        dst.commit()
        elapsed += time.perf_counter() - started
    return elapsed, rows


def run_hashing(source: Path, limit: int) -> tuple[float, float, int]:
    """Event hash IDs per second and json.loads per second over the same events."""
    texts: list[bytes] = []
    with source.open("rb") as f:
        next(f)
        for line in f:
            line = line.rstrip(b",\n")
            if line.startswith(b"{"):
                texts.append(line)
            if len(texts) >= limit:
                break
    started = time.perf_counter()
    for text in texts:
        json.loads(text)
    loads_s = time.perf_counter() - started
    namespaces = context_namespaces(CONTEXT)
    parsed = [event_from_json(orjson.loads(t), namespaces) for t in texts]
    started = time.perf_counter()
    for event in parsed:
        event_hash(event)
    hash_s = time.perf_counter() - started
    return len(texts) / hash_s, len(texts) / loads_s, len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--pg",
        default=os.environ.get("BATTERYTRACE_TEST_PG"),
        help="PostgreSQL server (SQLAlchemy URL) where the benchmark may create databases",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "capture.json")
    parser.add_argument(
        "--repeat", type=int, default=3, help="captures (each with its baseline) per backend"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated file and stores")
    args = parser.parse_args()
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bt-bench-"))
    source = work / "events.jsonld"
    started = time.perf_counter()
    write_file(source, args.events)
    generate_s = time.perf_counter() - started
    size_mb = source.stat().st_size / 1e6
    console.print(f"generated {args.events:,} events ({size_mb:,.0f} MB) in {generate_s:.1f} s")

    # Each capture is paired with its baseline, run right after it on the rows it wrote; the
    # medians over the pairs are reported, the ratios pair by pair (a drift of the shared
    # machine's speed moves both of a pair).
    sqlite_runs = []
    for run in range(args.repeat):
        store = work / f"store-{run}.db"
        capture_s, peak_rss = run_capture(f"sqlite:///{store}", work / f"ledger-{run}.key", source)
        raw_s, rows = run_baseline(store, work / f"raw-{run}.db")
        console.print(f"SQLite run {run + 1}: capture {capture_s:.1f} s, executemany {raw_s:.2f} s")
        sqlite_runs.append((capture_s, raw_s, peak_rss))
    capture_s, raw_s, _ = (median(figures) for figures in zip(*sqlite_runs, strict=True))
    pg: dict[str, Any] = {}
    if args.pg:
        pg_runs = []
        for run in range(args.repeat):
            names = [f"bt_bench_capture_{os.getpid()}_{run}", f"bt_bench_copy_{os.getpid()}_{run}"]
            stores = [pg_database(args.pg, name) for name in names]
            pg_capture_s, _ = run_capture(stores[0], work / f"pg-{run}.key", source)
            pg_copy_s, pg_rows = run_pg_baseline(stores[0], stores[1], work / f"pg-copy-{run}.key")
            console.print(
                f"PostgreSQL run {run + 1}: capture {pg_capture_s:.1f} s, COPY {pg_copy_s:.2f} s"
            )
            if not args.keep:
                for name in names:
                    pg_database(args.pg, name, drop=True)
            pg_runs.append((pg_capture_s, pg_copy_s))
        pg_capture_s, pg_copy_s = (median(figures) for figures in zip(*pg_runs, strict=True))
        pg = {
            "pg_capture_s": round(pg_capture_s, 1),
            "pg_events_per_s": round(args.events / pg_capture_s),
            "pg_copy_s": round(pg_copy_s, 2),
            "pg_copy_rows_per_s": round(pg_rows / pg_copy_s),
            "pg_copy_events_per_s": round(args.events / pg_copy_s),
            "pg_ratio": round(median(copy / capture for capture, copy in pg_runs), 3),
        }
    hash_per_s, loads_per_s, hashed = run_hashing(source, min(args.events, 200_000))

    events_per_s = args.events / capture_s
    raw_events_per_s = args.events / raw_s
    summary = {
        "events": args.events,
        "file_mb": round(size_mb, 1),
        "events_per_s": round(events_per_s),
        "raw_insert_rows_per_s": round(rows / raw_s),
        "raw_insert_events_per_s": round(raw_events_per_s),
        "rows_per_event": round(rows / args.events, 2),
        "ratio": round(median(raw / capture for capture, raw, _ in sqlite_runs), 3),
        "peak_rss_mb": round(max(peak for _, _, peak in sqlite_runs), 1),
        **pg,
        "hash_per_s": round(hash_per_s),
        "json_loads_per_s": round(loads_per_s),
        "hash_vs_json_loads": round(hash_per_s / loads_per_s, 3),
    }
    publish(console, "capture", f"{args.events:,} events", summary, args.out)
    console.print(
        "ratio = capture events/s ÷ (events ÷ time to executemany the same rows); pg_ratio "
        "the same on PostgreSQL, against a raw COPY of the same rows; "
        f"hash rate measured on {hashed:,} events"
    )
    if not args.keep:
        for path in sorted(work.iterdir()):
            path.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
