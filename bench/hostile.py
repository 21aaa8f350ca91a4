"""Hostile input, long form: the same fuzzing as tests/proof/test_hostile.py with more
examples per class.

    .venv/bin/python bench/hostile.py --examples 1000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description="fuzz every daemon endpoint")
    parser.add_argument("--examples", type=int, default=1000, help="examples per fuzzed class")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    env = os.environ | {"RECONCILER_FUZZ_EXAMPLES": str(args.examples)}
    return subprocess.call([sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider",
                            str(root / "tests" / "proof" / "test_hostile.py")], env=env,
                           cwd=root)


if __name__ == "__main__":
    raise SystemExit(main())
