"""A 200 MB document captures whole in bounded memory (the process tree stays under 500 MB)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil

from factories import CONTEXT, object_event

TARGET_BYTES = 200 * 10**6
LIMIT_MB = 500


def _write_large_document(path: Path) -> int:
    """Stream ~200 MB of valid, distinct events to ``path``; returns how many."""
    header = orjson.dumps(
        {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
         "creationDate": "2025-06-01T00:00:00Z"}
    )  # fmt: skip
    n = 0
    with path.open("wb") as f:
        f.write(header[:-1] + b',"epcisBody":{"eventList":[')
        while f.tell() < TARGET_BYTES:
            n += 1
            event = object_event(
                n,
                epcList=[f"urn:epc:id:sgtin:3700000.012345.{n}{k}" for k in range(4)],
                bizTransactionList=[
                    {"type": "po", "bizTransaction": f"https://po.example.com/{n}"}
                ],
                ilmd={"bt:cobaltMassFraction": 0.0112, "bt:note": "x" * 200},
            )
            f.write((b"," if n > 1 else b"") + orjson.dumps(event))
        f.write(b"]}}")
    return n


def test_200_mb_document_captures_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "large.jsonld"
    count = _write_large_document(source)
    assert source.stat().st_size >= TARGET_BYTES
    env = {
        **os.environ,
        "BATTERYTRACE_DB": f"sqlite:///{tmp_path / 'large.db'}",
        "BATTERYTRACE_KEY": str(tmp_path / "large.key"),
    }
    cli = [sys.executable, "-m", "batterytrace.cli"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
    child = subprocess.Popen(
        [*cli, "capture", "--json", str(source)], env=env, stdout=subprocess.PIPE
    )
    tree = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, sum(p.memory_info().rss for p in [tree, *tree.children(True)]))
        time.sleep(0.05)
    assert child.stdout is not None
    result = orjson.loads(child.stdout.read())
    assert child.returncode == 0, result
    assert result[0]["captured"] == count
    assert peak / 2**20 < LIMIT_MB, f"peak RSS of the capture's process tree {peak / 2**20:.0f} MB"
