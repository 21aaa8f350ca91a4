"""Helpers of the command-line tests: run `main` in-process and read what it printed."""

import pytest

from reconciler.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def headers(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.strip().splitlines())
