"""The package boundaries (decision 031), read from the imports of every module under
src/batterytrace, those inside functions and ``TYPE_CHECKING`` blocks included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "batterytrace"

# (modules or packages, what none of their modules may import, why)
RULES = [
    (
        ("epcis", "trace", "custody", "contracts", "carbon", "identifiers", "periods"),
        "batterytrace.store",
        "the domain does not know how it is stored",
    ),
    (("store",), "batterytrace.ledger", "the ledger is built on the store, not the reverse"),
    (("carbon",), "batterytrace.custody", "carbon and custody are peers"),
    (("identifiers",), "sqlalchemy", "identifiers is pure GS1; SQL belongs to the store"),
]


def module_name(path: Path) -> str:
    parts = ["batterytrace", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, package: bool = False) -> set[str]:
    """Every module the source of ``module`` imports, by absolute name: ``from a import b``
    names ``a`` and ``a.b`` (b may be a module); relative imports resolved."""
    parent = module.split(".") if package else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = parent[: len(parent) - node.level + 1] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def imports_of(path: Path) -> set[str]:
    return imported(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


@pytest.mark.parametrize(("sources", "forbidden", "why"), RULES)
def test_no_module_reaches_across_a_boundary(
    sources: tuple[str, ...], forbidden: str, why: str
) -> None:
    checked = {
        name: path
        for name, path in MODULES.items()
        if any(within(name, f"batterytrace.{source}") for source in sources)
    }
    assert {n.split(".")[1] for n in checked} == set(sources), "a rule names a missing module"
    reaches = sorted(
        f"{name} imports {target}"
        for name, path in checked.items()
        for target in imports_of(path)
        if within(target, forbidden)
    )
    assert not reaches, f"{why}: " + "; ".join(reaches)


def test_the_import_reader_sees_nested_relative_and_type_checking_imports() -> None:
    """A reach hidden in a function, a relative import or a ``TYPE_CHECKING`` block is still a
    reach."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from batterytrace.store import schema\n"
        "def f():\n    from ..ledger import checkpoint\n    import sqlalchemy.orm\n"
        "from . import chain\n"
    )
    assert imported(source, "batterytrace.store.events") == {
        "typing", "typing.TYPE_CHECKING", "batterytrace.store", "batterytrace.store.schema",
        "batterytrace.ledger", "batterytrace.ledger.checkpoint", "sqlalchemy.orm",
        "batterytrace.store.chain",
    }  # fmt: skip
    assert imported("from .claims import Claim", "batterytrace.custody", package=True) == {
        "batterytrace.custody.claims", "batterytrace.custody.claims.Claim",
    }  # fmt: skip


def test_the_services_are_the_library_and_no_facade_comes_back() -> None:
    """Decision 028: the repository facade is gone; its areas are modules of services/."""
    assert "batterytrace.repository" not in MODULES
    reaches = sorted(
        f"{name} imports {target}"
        for name, path in MODULES.items()
        for target in imports_of(path)
        if within(target, "batterytrace.repository")
    )
    assert not reaches, "; ".join(reaches)
