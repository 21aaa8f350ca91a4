"""Argument types shared by the sub-commands.

Rules: each type turns one command-line word into a value or raises argparse's
ArgumentTypeError, which argparse reports as a usage error (exit 2) naming the flag.
"""

from __future__ import annotations

import argparse


def non_negative(text: str) -> int:
    """A whole number, 0 or more. Raises ArgumentTypeError otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive(text: str) -> int:
    """A whole number, 1 or more. Raises ArgumentTypeError otherwise."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more, got 0")
    return value
