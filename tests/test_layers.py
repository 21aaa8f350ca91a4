"""The house rules of imports, read from the source with `ast` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reconciler"
OURS = ("reconciler", "jobs")  # jobs/ stands at the top level, beside the package


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module of ours `path` imports, at any depth of the file (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name.startswith(OURS)}


GRAPH = {module_name(p): imports_of(p)
         for folder in OURS for p in sorted((ROOT / folder).rglob("*.py"))}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    """True when module `name` is one of `prefixes` or inside one (`reconciler.cli` does not
    hold `reconciler.clients`)."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def offenders(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{module} imports {name}"
                  for module, names in GRAPH.items() if within(module, (importer,))
                  for name in names if within(name, forbidden))


@pytest.mark.parametrize(("importer", "forbidden"), [
    # The simulators are built from the specs alone: nothing from the code they test.
    ("reconciler.sandbox", ("reconciler.clients", "reconciler.engine", "reconciler.server",
                            "reconciler.config", "reconciler.daemon", "reconciler.cli",
                            "reconciler.runtime", "reconciler.testing", "jobs")),
    # Configuration is a leaf above core/auth: it imports no client, engine or server.
    ("reconciler.config", ("reconciler.clients", "reconciler.engine", "reconciler.server")),
    # core/ and auth/ are pure.
    ("reconciler.core", ("reconciler.clients", "reconciler.engine", "reconciler.server",
                         "reconciler.ledger", "reconciler.config")),
    ("reconciler.auth", ("reconciler.clients", "reconciler.engine", "reconciler.server",
                         "reconciler.ledger", "reconciler.config")),
    # The daemon's faces call the engine through the runtime, never each other.
    ("jobs", ("reconciler.server", "reconciler.daemon", "reconciler.cli")),
    ("reconciler.server", ("jobs", "reconciler.daemon", "reconciler.cli")),
    # The runtime sits between the engine and its faces: it imports none of them.
    ("reconciler.runtime", ("reconciler.server", "jobs", "reconciler.daemon",
                            "reconciler.cli")),
    ("reconciler.engine", ("reconciler.runtime", "reconciler.server", "jobs",
                           "reconciler.daemon", "reconciler.cli")),
])
def test_forbidden_imports(importer: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(importer, forbidden) == []


def test_the_rule_sees_a_forbidden_import() -> None:
    """The reader finds imports at any depth (a rule that sees nothing proves nothing)."""
    assert "reconciler.clients.pgos" in GRAPH["reconciler.engine.passes"]
    assert offenders("reconciler.engine", ("reconciler.clients",)) != []
    assert "reconciler.runtime" in GRAPH["jobs.reconcile"]


def test_only_tests_and_benchmarks_use_the_testing_helpers() -> None:
    users = [f"{module} imports {name}" for module, names in GRAPH.items()
             if not within(module, ("reconciler.testing",))
             for name in names if within(name, ("reconciler.testing",))]
    assert users == []
