"""Parsing text from outside (requests we receive, answers we get): JSON and numbers.

Rules: every malformed input raises ValueError, including nesting too deep for the parser
(which raises RecursionError otherwise and would escape as a crash).
"""

from __future__ import annotations

import json
from typing import Any


def is_number(text: str) -> bool:
    """True for a non-empty run of ASCII digits (str.isdigit also accepts '²', which int()
    refuses)."""
    return text.isascii() and text.isdigit()


def loads(raw: bytes | str) -> Any:
    """Parse JSON text. Raises ValueError for invalid JSON, invalid UTF-8 or nesting too deep."""
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    except UnicodeDecodeError as exc:
        raise ValueError("JSON is not valid UTF-8") from exc
