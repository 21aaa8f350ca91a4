"""Escaping for each report format: every value from the books is shown, never obeyed.

Rules: pure. CSV cells that a spreadsheet would evaluate get a leading `'` (OWASP's rule);
Markdown specials are backslash-escaped and `<`, `>`, `&` become entities; control and format
characters (newlines, U+202E, ...) are shown as `\\uXXXX` in Markdown and HTML.
"""

from __future__ import annotations

import unicodedata

CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: a spreadsheet evaluates these
MD_SPECIALS = frozenset("\\`*_{}[]()<>#+-.!|~&")


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading `'` before a formula trigger."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_TRIGGERS) else text


def visible(text: str) -> str:
    """`text` with control and format characters (newlines, U+202E, ...) shown as \\uXXXX."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
                   else c for c in text)


def md(value: object) -> str:
    """`value` as literal Markdown text: every special is backslash-escaped, `<`, `>`, `&`
    become entities (no raw HTML), control characters are made visible."""
    escaped = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
    return "".join(escaped.get(c) or ("\\" + c if c in MD_SPECIALS else c)
                   for c in visible(str(value)))
