"""Reports cannot attack their reader: CSV cells are inert in a spreadsheet, Markdown and HTML
pass no markup through, the HTML page allows no script at all."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.audit import Books, LedgerOrderRow, audit
from reconciler.core.models import Order
from reconciler.report import MD_SPECIALS, csp_hash, document, md, render, to_markdown

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
                    "b", "svg", "text", "line", "rect", "table", "tr", "th", "td", "details",
                    "summary"}, tags
    assert "<script" not in page.lower()  # hostile ids are text, never a tag
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None and policy["style-src"] == [csp_hash(style.group(1))]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page and "abc\\u202etxt.exe" in page


T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


def mixed_doc(*, paid: int = 3, adopted: int = 30) -> dict[str, Any]:
    """Orders paid and never granted (discrepancies), many adopted ones (informational) sorted
    before them by id, and a killed run."""
    store = {(9943, f"z-paid-{n}"): Order(9943, f"z-paid-{n}", "u1", "1001", False,
                                          T0 + 3600 * n) for n in range(paid)}
    ledger = {}
    for n in range(adopted):
        o = Order(9943, f"a-adopted-{n:03}", "u2", "1002", True, T0 - 86_400 * (n % 5))
        store[o.key] = o
        ledger[o.key] = LedgerOrderRow(o, True, None)
    books = Books(store=store, ledger=ledger, effects=[], inventories={}, debts=[],
                  quarantined=[], interrupted_runs=[(7, T0)], as_of_s=T0 + 86_400 * 2)
    return document(audit(books), games=[9943], as_of_s=books.as_of_s, since_s=T0 - 86_400 * 9,
                    until_s=T0 + 86_400 * 2, threshold=0)


def test_document_keeps_every_epoch_and_adds_human_fields() -> None:
    doc = mixed_doc()
    assert doc["schema"] == "reconciler.audit/2"
    assert (doc["as_of_s"], doc["as_of_iso"]) == (T0 + 172_800, "2023-11-16T22:13:20Z")
    assert doc["period"] == {"since_s": T0 - 777_600, "until_s": T0 + 172_800,
                             "since_iso": "2023-11-05T22:13:20Z",
                             "until_iso": "2023-11-16T22:13:20Z"}
    assert doc["total"] == 3 and doc["informational_total"] == 31
    classes = [i["class"] for i in doc["items"]]
    assert classes == ["paid_not_granted"] * 3 + ["delivered_elsewhere"] * 30 + [
        "interrupted_run"]  # discrepancies first, though the adopted ids sort before them
    first = doc["items"][0]
    assert (first["since_s"], first["since_iso"]) == (T0, "2023-11-14T22:13:20Z")
    figures = doc["figures"]
    assert figures["oldest_pending_age_s"] == 172_800
    assert figures["oldest_pending_age_human"] == "2 d"
    assert figures["oldest_pending"]["since_iso"] == "2023-11-14T22:13:20Z"
    assert figures["payment_to_grant_s"]["median_human"] is None  # nothing granted


def test_markdown_is_written_for_a_person() -> None:
    doc = mixed_doc(paid=25)
    text = render(doc, "markdown")
    assert "None" not in text and "_s" not in text and str(T0) not in text
    assert "As of 2023-11-16 22:13 UTC, orders paid from 2023-11-05 22:13 UTC until " \
        "2023-11-16 22:13 UTC (excluded)." in text
    assert "| paid_not_granted | 25 |" in text and "| delivered_elsewhere" not in text
    assert "Informational, not counted: delivered_elsewhere 30, interrupted_run 1." in text
    assert "oldest pending 2 d: paid\\_not\\_granted 9943/z\\-paid\\-0 since 2023-11-14 22:13 " \
        "UTC." in text
    assert "- … and 5 more\n" in text and "CSV" not in text  # no CSV was asked for
    assert "- … and 5 more (see audit\\.csv)" in to_markdown(doc, csv_name="audit.csv")
    assert render(json.loads(render(doc, "json")), "markdown") == text  # read back: same


def test_html_puts_discrepancies_first_and_informational_rows_apart() -> None:
    page = render(mixed_doc(), "html")
    found, details = page.index('<table id="discrepancies">'), page.index(
        '<details id="informational">')
    assert found < details and "<details id=\"informational\" open" not in page
    assert page.count('<tr class="item">') == 3 and page.count('<tr class="info">') == 31
    assert page.index('<tr class="info">') > details  # every informational row is inside
    assert "delivered_elsewhere 30, interrupted_run 1</summary>" in page
    assert "2023-11-14 22:13 UTC" in page and str(T0) not in page
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(charts) == 2
    for chart in charts:
        assert 'width="100%"' in chart
        assert 'class="axis x-axis"' in chart and 'class="axis y-axis"' in chart
        assert re.search(r'class="tick-label"[^>]*>0<', chart)
        assert ">count<" in chart
    day_labels = re.findall(r'class="x-label"[^>]*>([^<]*)<', charts[0])
    assert day_labels and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in day_labels)
    assert re.search(r'class="value"[^>]*>30<', charts[1])  # a value above its bar


def test_an_empty_period_draws_axes_and_says_so() -> None:
    books = Books(store={}, ledger={}, effects=[], inventories={}, debts=[], quarantined=[],
                  interrupted_runs=[], as_of_s=0)
    doc = document(audit(books), games=[9943], as_of_s=0, since_s=None, until_s=None,
                   threshold=0)
    page, text = render(doc, "html"), render(doc, "markdown")
    assert "No discrepancies." in page and "nothing in the period" in page
    assert "No discrepancies." in text and "nothing pending." in text and "None" not in text
