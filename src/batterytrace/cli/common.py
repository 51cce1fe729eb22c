"""What every area of the command uses: the consoles, the error line, the settings and the
unit of work of the running command, progress on stderr, JSON in and out, and the naming of
sites and parties."""

from __future__ import annotations

import contextlib
import math
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from typer._click.globals import get_current_context

from batterytrace.errors import BatteryTraceError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from batterytrace.services.unit_of_work import UnitOfWork
    from batterytrace.settings import Settings


# Wider than any line: what goes to a file or a pipe is never wrapped nor folded.
UNWRAPPED = 1_000_000


class _Console(Console):
    """Rich output that fits a terminal's width, and in a file or pipe keeps each line whole
    (Rich would wrap at 80 columns there, splitting file names, identifiers and page tokens).
    Markup and emoji codes off: user data (``[0]``, ``urn:x:…``) is printed as it is."""

    def __init__(self, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, markup=False, emoji=False, highlight=False)

    @property
    def size(self) -> ConsoleDimensions:
        # Asked at each print: stdout may be swapped after start-up (tests, redirections).
        return super().size if self.is_terminal else ConsoleDimensions(UNWRAPPED, 25)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self.width, self.height = new_size


out = _Console()
err = _Console(stderr=True)


def flag(label: str, text: str) -> Text:
    """``label`` in red, then the plain text."""
    return Text.assemble((label, "red"), " ", text)


def fail(label: str, text: str) -> NoReturn:
    err.print(flag(label, " ".join(text.splitlines())), soft_wrap=True)
    raise typer.Exit(1)


def current_settings() -> Settings:
    """The settings the running command was given (read once, by the root group:
    :meth:`batterytrace.cli._Guarded.invoke`)."""
    settings: Settings = get_current_context().obj
    return settings


def finite_from(low: float, strict: bool = False) -> Callable[[float | None], float | None]:
    """An option's check: a finite number >= ``low`` (> when ``strict``); a usage error that
    names the option otherwise."""

    def check(value: float | None) -> float | None:
        if value is not None and not (
            math.isfinite(value) and (value > low if strict else value >= low)
        ):
            raise typer.BadParameter(
                f"{value} is not a finite number {'>' if strict else '≥'} {low:g}"
            )
        return value

    return check


def make_uow(settings: Settings | None = None) -> UnitOfWork:
    """The unit of work over the store of ``settings``, by default the command's."""
    # Imported here: capture workers import this package (multiprocessing "spawn" re-imports
    # the main module) and need none of the database layer.
    from batterytrace.services.bootstrap import unit_of_work

    return unit_of_work(settings=settings or current_settings())


class _EventRate(ProgressColumn):
    """Events per second since the task started."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:,.0f} events/s", style="progress.data.speed")


def progress_bar() -> Progress:
    """A pulsing bar with the count and rate of events (the total is not known ahead)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} events"),
        _EventRate(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@contextlib.contextmanager
def working(what: str) -> Iterator[None]:
    """While ``what`` runs: on a terminal, a spinner with the time elapsed on stderr; in a
    file or pipe, no bar but one line on stderr once it is done, with the time it took."""
    start = time.perf_counter()
    if err.is_terminal:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=err, transient=True) as progress:  # fmt: skip
            progress.add_task(what, total=None)
            yield
        return
    yield
    err.print(f"{what}: done in {time.perf_counter() - start:.2f} s")


def print_json(result: BaseModel) -> None:
    """A service's result as the JSON the API serves (indented)."""
    sys.stdout.write(result.model_dump_json(indent=2) + "\n")


def read_json(source: Path, error: type[BatteryTraceError]) -> Any:
    from batterytrace import json_input

    return json_input.loads(source.read_bytes(), str(source), error)


def naming(uow: UnitOfWork) -> Callable[[str], str]:
    """``id (name)`` for a site or party of the stored master data, in any identifier form;
    unknown identifiers as they are. The one helper every table naming sites or parties uses."""
    from batterytrace.services import masterdata
    from batterytrace.trace.lineage import node_id

    data = masterdata.master_data(uow)
    names: dict[str, str] = {}
    pairs = [(p.id, p.name) for p in data.parties.values()]
    for identifier, name in pairs + [(s.id, s.name) for s in data.sites.values()]:
        names[identifier] = name
        with contextlib.suppress(BatteryTraceError, ValueError):  # a URI that is no GS1 key
            names[node_id(identifier)] = name

    def named(identifier: str) -> str:
        name = names.get(identifier)
        if name is None:
            with contextlib.suppress(BatteryTraceError, ValueError):
                name = names.get(node_id(identifier))
        return identifier if name is None else f"{identifier} ({name})"

    return named


# a site or party named in a sentence
_PLACE = re.compile(
    r"urn:epc:id:(?:sgln|pgln):[0-9A-Za-z.\-]*[0-9A-Za-z\-]"
    r"|https://id\.gs1\.org/41[47]/[0-9]{13}(?:/254/[0-9A-Za-z\-]+)?"  # GS1 Digital Link 1.2
)


def named_in(named: Callable[[str], str], text: str) -> str:
    """``text`` with each site or party identifier in it named (``id (name)``)."""
    return _PLACE.sub(lambda m: named(m.group()), text)
