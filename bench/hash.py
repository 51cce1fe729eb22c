"""Event-hash benchmark (not a test): ``batterytrace hash`` against the reference generator.

Writes one JSON-LD document of N realistic events (bench/capture.py's generator), installs the
reference implementation of the CBV 2.0 event hash ID (PyPI ``epcis-event-hash-generator``)
into an environment of its own, then times, alternating, whole commands as a user runs them
(start-up, parse, hashing, output):

* the reference: ``python -m epcis_event_hash_generator FILE``;
* ours: ``batterytrace hash FILE``;
* start-up alone: ``batterytrace --help``.

Each figure is the fastest of ``--runs`` runs. Both commands must print the same hash IDs but
for one known divergence: release 1.9.3 (the last on PyPI, 2023) writes a CBV master-data
attribute in ILMD as its CURIE (``cbvmda:countryOfOrigin``) where CBV 2.0 §8.9 and the
reference's later test vectors (../shared/conformance/epcis-hash) expand it to its namespace;
every event that differs must carry such an attribute.

Usage: ``python bench/hash.py [--events N] [--runs K] [--reference-env DIR] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from capture import write_file
from report import publish

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "epcis-event-hash-generator==1.9.3"


def reference_env(where: Path) -> Path:
    """The reference generator's interpreter, installed into ``where`` once."""
    python = where / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    probe = [str(python), "-c", "import epcis_event_hash_generator"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, REFERENCE], check=True)
    return python


def timed(command: list[str]) -> tuple[float, list[str]]:
    """Wall time of one run and the hash IDs it printed."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    return seconds, [line for line in done.stdout.split() if line.startswith("ni:///")]


def divergent(document: Path, ours: list[str], theirs: list[str]) -> int:
    """How many hash IDs differ; each must be an event carrying a ``cbvmda:`` ILMD attribute."""
    events = json.loads(document.read_text())["epcisBody"]["eventList"]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    unexplained = [i for i in differ if not any(k.startswith("cbvmda:") for k in
                                                events[i].get("ilmd", {}))]  # fmt: skip
    if unexplained:
        raise SystemExit(f"the two commands disagree on events {unexplained[:10]}")
    return len(differ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=21_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference-env", type=Path, default=ROOT / "bench" / ".reference-env")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "hash.json")
    args = parser.parse_args()
    console = Console()
    reference = reference_env(args.reference_env)
    ours = Path(sys.executable).with_name("batterytrace")
    with tempfile.TemporaryDirectory() as tmp:
        document = Path(tmp) / "events.jsonld"
        write_file(document, args.events)
        commands = {
            "reference": [str(reference), "-m", "epcis_event_hash_generator", "-l", "WARNING",
                          str(document)],
            "command": [str(ours), "hash", str(document)],
            "startup": [str(ours), "--help"],
        }  # fmt: skip
        best = dict.fromkeys(commands, float("inf"))
        for run in range(args.runs):
            printed = {}
            for name, command in commands.items():
                seconds, printed[name] = timed(command)
                best[name] = min(best[name], seconds)
                console.print(f"run {run + 1}: {name} {seconds:.3f} s")
            if len(printed["command"]) != args.events:
                raise SystemExit(f"batterytrace hash printed {len(printed['command'])} hash IDs")
        differ = divergent(document, printed["command"], printed["reference"])
    summary = {
        "events": args.events,
        "reference_s": round(best["reference"], 3),
        "command_s": round(best["command"], 3),
        "ratio": round(best["reference"] / best["command"], 1),
        "startup_s": round(best["startup"], 3),
    }
    publish(console, "hash", f"{args.events:,} events, fastest of {args.runs} runs", summary,
            args.out, reference=REFERENCE, cbvmda_divergent_events=differ)  # fmt: skip


if __name__ == "__main__":
    main()
