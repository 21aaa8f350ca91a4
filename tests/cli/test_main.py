"""The command line as a program: `python -m reconciler` is the console script."""

import subprocess
import sys


def test_python_dash_m() -> None:
    result = subprocess.run([sys.executable, "-m", "reconciler", "--version"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("reconciler ")
