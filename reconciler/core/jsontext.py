"""Parsing text from outside (requests we receive, answers we get): JSON and numbers.

Rules: bytes are decoded by orjson when they hold no integer literal of 19 digits or more
(then its result equals the standard library's); anything orjson refuses, and all other text,
goes through `json`, so what is accepted and how it reads never depends on the fast path.
Every malformed input raises ValueError, including nesting too deep for the parser
(which raises RecursionError otherwise and would escape as a crash). With `keep_long_numbers`
an integer literal longer than LONG_NUMBER_DIGITS becomes a LongNumber (its text) instead of
failing the whole document, so one absurd value in one row of a page stays that row's problem.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

LONG_NUMBER_DIGITS = 100
# A run of 19 digits or more may be an integer literal beyond 64 bits, which orjson turns into
# a float (the standard library keeps it, or our hook makes it a LongNumber): such text is
# decoded the standard way. A long run inside a string counts too; it only costs speed. Found
# by mapping every digit to "0" (bytes.translate) and looking for 19 zeros: ~10 us a page,
# where a regular expression takes ~170 us.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_RUN = b"0" * 19


class LongNumber(str):
    """A JSON integer literal too long to be a count or a time, kept as its text."""


def is_number(text: str) -> bool:
    """True for a non-empty run of ASCII digits (str.isdigit also accepts '²', which int()
    refuses)."""
    return text.isascii() and text.isdigit()


def _bounded_int(text: str) -> int | LongNumber:
    if len(text) > LONG_NUMBER_DIGITS:
        return LongNumber(text)
    return int(text)


def loads(raw: bytes | str, *, keep_long_numbers: bool = False) -> Any:
    """Parse JSON text. With `keep_long_numbers`, integer literals over LONG_NUMBER_DIGITS
    digits are returned as LongNumber rather than converted (Python refuses more than 4300).

    Raises ValueError for invalid JSON, invalid UTF-8, nesting too deep, or (without
    `keep_long_numbers`) an integer literal too long to convert.
    """
    if isinstance(raw, bytes) and _LONG_RUN not in raw.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(raw)  # the same value, 3.5x faster; refuses what it doubts
        except orjson.JSONDecodeError:
            pass  # NaN, BOMs, surrogates, deep nesting...: decided the standard way below
    try:
        if keep_long_numbers:
            return json.loads(raw, parse_int=_bounded_int)
        return json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    except UnicodeDecodeError as exc:
        raise ValueError("JSON is not valid UTF-8") from exc
