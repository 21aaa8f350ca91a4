"""Reports cannot attack their reader: CSV cells are inert in a spreadsheet, Markdown and HTML
pass no markup through, the HTML page allows no script at all."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.audit import Books, audit
from reconciler.core.models import Order
from reconciler.report import MD_SPECIALS, csp_hash, document, md, render

HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C notepad'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "| a | b |",
    "`code` *bold* _em_ [link](http://evil.example) ![i](x)",
    "line\n# heading\n- item",
    "abc\u202etxt.exe",
]


def hostile_doc() -> dict[str, Any]:
    store = {(9943, oid): Order(9943, oid, "u1", "1001", False, 1_700_000_000 + n)
             for n, oid in enumerate(HOSTILE)}
    books = Books(store=store, ledger={}, effects=[], inventories={}, debts=[],
                  quarantined=[(9943, reason, 1_700_000_000) for reason in HOSTILE],
                  interrupted_runs=[], as_of_s=1_700_100_000)
    return document(audit(books), games=[9943], as_of_s=1_700_100_000, since_s=None,
                    until_s=None, threshold=0)


def test_csv_cells_are_inert_and_read_back() -> None:
    doc = hostile_doc()
    rows = list(csv.DictReader(io.StringIO(render(doc, "csv"))))
    assert len(rows) == len(doc["items"])
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    order_ids = {row["order_id"] for row in rows}
    assert "'=cmd|' /C calc'!A0" in order_ids          # exactly one quote in front
    assert {"'+1+cmd|' /C notepad'!A0", "'-2+3", "'@SUM(A1:A9)", "'\t=1+1",
            "'\r=1+1"} <= order_ids
    assert "<script>alert(1)</script>" in order_ids    # not a trigger: unchanged
    details = {row["detail"] for row in rows if row["class"] == "quarantined"}
    assert {s if not s.startswith(("=", "+", "-", "@", "\t", "\r")) else "'" + s
            for s in HOSTILE} == details


def md_unescape(text: str) -> str:
    """What a Markdown reader shows for md()'s output (backslash escapes and the 3 entities)."""
    text = re.sub(r"\\(.)", lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp",
                                                             "Cs"))))
def test_md_escapes_every_special_and_keeps_the_text(value: str) -> None:
    out = md(value)
    assert "<" not in out and ">" not in out
    index = 0
    while index < len(out):  # every special is escaped by a backslash (or is an entity's &)
        char = out[index]
        if char == "\\":
            assert out[index + 1] in MD_SPECIALS
            index += 2
            continue
        assert char not in MD_SPECIALS or (char == "&" and re.match(r"&(lt|gt|amp);",
                                                                      out[index:]))
        index += 1
    assert md_unescape(out) == value


def test_markdown_report_passes_no_markup() -> None:
    doc = hostile_doc()
    text = render(doc, "markdown")
    for bad in ("<script>", "<img", "[link](", "`code`", "*bold*", "\u202e", "\n# heading"):
        assert bad not in text
    items = [line for line in text.splitlines() if line.startswith(("- `paid", "- `quar"))]
    assert len(items) == min(20, len(doc["items"]))  # one line each: no newline got through
    assert "\\<" not in text and "&lt;script&gt;" in text
    assert "abc\\\\u202etxt\\.exe" in text  # the override is shown, not obeyed


def csp_of(page: str) -> dict[str, list[str]]:
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert meta is not None
    policy = {}
    for directive in html.unescape(meta.group(1)).split(";"):
        name, *sources = directive.split()
        policy[name] = sources
    return policy


def test_html_report_runs_no_script_and_escapes_everything() -> None:
    page = render(hostile_doc(), "html")
    policy = csp_of(page)
    assert policy["script-src"] == ["'none'"] and policy["default-src"] == ["'none'"]
    assert all("'unsafe-inline'" not in sources for sources in policy.values())
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", page))
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "span",
                    "svg", "text", "line", "rect", "table", "tr", "th", "td"}, tags
    assert "<script" not in page.lower()  # hostile ids are text, never a tag
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None and policy["style-src"] == [csp_hash(style.group(1))]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page and "abc\\u202etxt.exe" in page
