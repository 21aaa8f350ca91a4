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


PAUSE = "sl" + "eep"  # the call the rule looks for, spelled so that this file holds none


def test_the_rule_sees_a_pause_outside_a_loop() -> None:
    """Sources are built here (never run): one pause outside a loop, one inside, one in a
    function defined inside a loop (the loop does not reach into it)."""
    assert bare_sleeps(f"import asyncio\nasync def f():\n    await asyncio.{PAUSE}(1)\n") == [3]
    assert bare_sleeps(f"import time\nwhile True:\n    time.{PAUSE}(0.1)\n") == []
    assert bare_sleeps(f"for _ in range(3):\n    def g():\n        {PAUSE}(1)\n") == [3]
