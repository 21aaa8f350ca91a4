"""Audit reports: JSON (README's schema, `reconciler.audit/2`), CSV of every item, Markdown for
a chat message, and a self-contained HTML page with inline SVG charts.

Rules: rendering is pure (a document in, text out); the modules are the document (document),
escaping (escape), the text formats (text), the page (html) and its charts (charts); no
network is needed to view the HTML and it runs no script; no secret is ever part of the
document.
"""

from __future__ import annotations

from typing import Any

from reconciler.core.audit import Discrepancy
from reconciler.report.document import SCHEMA, document
from reconciler.report.escape import MD_SPECIALS, csv_cell, md, visible
from reconciler.report.html import content_security_policy, csp_hash, to_html
from reconciler.report.text import to_csv, to_json, to_markdown

FORMATS = ("json", "csv", "markdown", "html")


def render(doc: dict[str, Any], fmt: str) -> str:
    """The report in one of FORMATS. Raises ValueError for another format."""
    renderers = {"json": to_json, "csv": to_csv, "markdown": to_markdown, "html": to_html}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}")
    return renderers[fmt](doc)


__all__ = ["FORMATS", "MD_SPECIALS", "SCHEMA", "Discrepancy", "content_security_policy",
           "csp_hash", "csv_cell", "document", "md", "render", "to_csv", "to_html", "to_json",
           "to_markdown", "visible"]
