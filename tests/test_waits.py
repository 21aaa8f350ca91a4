"""Tests wait for events, not for time: every sleep in the suite sits inside a bounded poll.

A `sleep` outside a loop is a bet that something will have happened by then; on a loaded
machine the bet is lost and CI turns red. A sleep inside `while`/`for` is a poll for a state.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOTS = [Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "bench"]


def bare_sleeps(source: str) -> list[int]:
    """Line numbers of sleep calls that are not inside a loop."""
    found: list[int] = []

    def visit(node: ast.AST, in_loop: bool) -> None:
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "sleep" and not in_loop:
                found.append(node.lineno)
        loop = isinstance(node, ast.While | ast.For | ast.AsyncFor)
        nested_def = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, (in_loop or loop) and not nested_def)

    visit(ast.parse(source), False)
    return found


def test_no_bare_sleep_in_tests_or_benchmarks() -> None:
    offenders = [f"{path.name}:{line}" for root in ROOTS for path in sorted(root.rglob("*.py"))
                 for line in bare_sleeps(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_rule_sees_a_bare_sleep() -> None:
    assert bare_sleeps("import asyncio\nasync def f():\n    await asyncio.sleep(1)\n") == [3]
    assert bare_sleeps("import time\nwhile True:\n    time.sleep(0.1)\n") == []
    assert bare_sleeps("for _ in range(3):\n    def g():\n        sleep(1)\n") == [3]
