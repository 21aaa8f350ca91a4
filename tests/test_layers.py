"""The house rules of imports, read from the source with `ast` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every reconciler module `path` imports, at any depth of the file (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name.startswith("reconciler")}


GRAPH = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def offenders(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{module} imports {name}"
                  for module, names in GRAPH.items() if module.startswith(importer)
                  for name in names if name.startswith(forbidden))


@pytest.mark.parametrize(("importer", "forbidden"), [
    # The simulators are built from the specs alone: nothing from the code they test.
    ("reconciler.sandbox", ("reconciler.clients", "reconciler.engine", "reconciler.server",
                            "reconciler.config", "reconciler.daemon", "reconciler.cli")),
    # Configuration is a leaf above core/auth: it imports no client, engine or server.
    ("reconciler.config", ("reconciler.clients", "reconciler.engine", "reconciler.server")),
    # core/ and auth/ are pure.
    ("reconciler.core", ("reconciler.clients", "reconciler.engine", "reconciler.server",
                         "reconciler.ledger", "reconciler.config")),
    ("reconciler.auth", ("reconciler.clients", "reconciler.engine", "reconciler.server",
                         "reconciler.ledger", "reconciler.config")),
])
def test_forbidden_imports(importer: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(importer, forbidden) == []


def test_the_rule_sees_a_forbidden_import() -> None:
    """The reader finds imports at any depth (a rule that sees nothing proves nothing)."""
    assert "reconciler.clients.pgos" in GRAPH["reconciler.engine.passes"]
    assert offenders("reconciler.engine", ("reconciler.clients",)) != []
