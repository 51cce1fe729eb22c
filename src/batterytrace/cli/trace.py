"""Genealogy: trace back and forward with element mass, the element mass balance (check)."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table
from rich.tree import Tree

from batterytrace.cli.common import err, finite_from, flag, make_uow, out, working

if TYPE_CHECKING:
    from batterytrace.trace.genealogy import Trace


trace_app = typer.Typer(
    help="Genealogy with element mass: what went into an object, where a lot went.",
    no_args_is_help=True,
)


_ELEMENT = typer.Option("--element", help="Co, Ni, Li, Mn or Cu.")
_FORMAT = typer.Option("--format", help="tree (terminal), json or dot (Graphviz).")
_JSON = typer.Option("--json", help="Print the trace as JSON (the same as --format json).")


def _trace(
    direction: str, identifier: str, element: str, form: str, json_output: bool,
    items: bool = False,
) -> None:  # fmt: skip
    if form not in ("tree", "json", "dot"):
        raise typer.BadParameter(f"--format {form!r}: tree, json or dot")
    if json_output and form not in ("tree", "json"):
        raise typer.BadParameter(f"--json with --format {form}: give one of them")
    form = "json" if json_output else form
    from batterytrace.services.trace import contents, trace, trace_json

    uow = make_uow()
    if form == "json":  # the body the API serves too
        with working(f"tracing {direction}"):
            body = trace_json(uow, identifier, direction, element, items)
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    with working(f"tracing {direction}"):
        result = trace(uow, identifier, direction, element)
        held = contents(uow, identifier) if items else None
    if form == "dot":
        sys.stdout.write(result.to_dot())
        return
    out.print(_trace_tree(result))
    if held is not None:
        out.print(_held_table(result.start, held))
    out.print(f"rule: {result.rule}", soft_wrap=True)
    for gap in result.gaps:
        out.print(flag("gap:", gap), soft_wrap=True)
    for cycle in result.cycles:
        out.print(flag("cycle:", cycle), soft_wrap=True)


def _held_table(container: str, held: list[tuple[str, int]]) -> Table:
    from batterytrace.trace.lineage import class_of

    table = Table("level", "object", "class", title=f"{len(held):,} objects held by {container}")
    for node, level in held:
        table.add_row(str(level), node, class_of(node))
    return table


_TREE_FANOUT, _TREE_SAMPLE = 30, 10


def _trace_tree(result: Trace) -> Tree:
    """The trace as a tree; an object reached again is shown once, then referred to."""
    from batterytrace.trace.lineage import class_of

    def label(node: str, kind: str | None = None, held: int | None = None) -> str:
        o = result.objects[node]
        kg = "?" if o.element_kg is None else f"{o.element_kg:,.6g} kg {result.element}"
        share = "" if o.share is None else f" ({o.share * 100:.3g} %)"
        items = f"  {o.items:,} items" if o.items is not None else ""
        items = items or ("" if held is None else f"  holding {held:,} items")
        return f"{f'[{kind}] ' if kind else ''}{node}{items}  {kg}{share}"

    shown = {result.start}

    def grow(branch: Tree, node: str) -> None:
        targets = {link.target: link for link in result.children(node)}  # one line per object
        held = Counter[str]()
        for link in result.children(node):
            held[link.target] += link.items or 0
        links = sorted(targets.values(), key=lambda k: (result.objects[k.target].depth, k.target))
        if len(links) > _TREE_FANOUT:  # thousands of modules and packs: a sample, then counts
            rest = Counter(class_of(link.target) for link in links[_TREE_SAMPLE:])
            by_class = ", ".join(f"{n:,} of {c}" for c, n in sorted(rest.items()))
            branch.add(f"... {len(links) - _TREE_SAMPLE:,} more: {by_class} (all: --format json)")
            links = links[:_TREE_SAMPLE]
        for link in links:
            if link.target in shown:
                branch.add(f"[{link.kind}] {link.target}  (shown above)")
            else:
                shown.add(link.target)
                child = branch.add(label(link.target, link.kind, held[link.target] or None))
                for hop in result.objects[link.target].custody:
                    to = f" -> {hop.destination}" if hop.destination else ""
                    child.add(f"{hop.step} {hop.time:%Y-%m-%d} at {hop.location}{to}")
                grow(child, link.target)

    root = Tree(label(result.start))
    grow(root, result.start)
    return root


@trace_app.command("back")
def trace_back(
    identifier: Annotated[
        str, typer.Argument(help="EPC URI or Digital Link of a pack, cell, lot...")
    ],
    element: Annotated[str, _ELEMENT] = "Co",
    form: Annotated[str, _FORMAT] = "tree",
    json_output: Annotated[bool, _JSON] = False,
    items: Annotated[
        bool,
        typer.Option(
            "--items",
            help="Also list every object it holds (modules, cells...) by serial, with its "
            "containment level; the trace itself counts same-class items per class.",
        ),
    ] = False,
) -> None:
    """Everything upstream, down to the mines, with the element mass each object contributed."""
    _trace("backward", identifier, element, form, json_output, items)


@trace_app.command("forward")
def trace_forward(
    identifier: Annotated[str, typer.Argument(help="EPC URI or Digital Link of a lot or item.")],
    element: Annotated[str, _ELEMENT] = "Co",
    form: Annotated[str, _FORMAT] = "tree",
    json_output: Annotated[bool, _JSON] = False,
) -> None:
    """Every downstream lot, pack and vehicle holding some of it (recall, due diligence)."""
    _trace("forward", identifier, element, form, json_output)


def check_balance(
    tolerance: Annotated[
        float,
        typer.Option(
            help="Allowed excess of element out over in, kg per kg in (≥ 0).",
            callback=finite_from(0),
        ),
    ] = 0.005,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Element mass balance of every transformation: no element out of nothing, stated yields
    kept. Exit 1 when a step breaks it."""
    from batterytrace.services import trace

    with working("checking element mass balances"):
        report = trace.check_balance(make_uow(), tolerance)
    if json_output:  # the body the API serves too
        body = trace.balance_json(report)
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for finding in report.violations:
            err.print(flag("violation:", f"step {finding.step}: {finding.message}"), soft_wrap=True)
        for finding in report.unchecked:
            out.print(f"unchecked: step {finding.step}: {finding.message}", soft_wrap=True)
        out.print(
            f"{report.steps} transformations, {report.checked} element balances checked, "
            f"{len(report.violations)} violations, {len(report.unchecked)} not checkable"
        )
    if not report.ok:
        raise typer.Exit(1)
