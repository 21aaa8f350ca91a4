"""The audit report as a self-contained HTML page: summary, discrepancies, charts, and the
informational classes apart and collapsed.

Rules: pure; no network is needed to view it; the page runs no script (its CSP allows no
script and its one style block only by hash); every value from the books is escaped and its
control characters made visible. Discrepancies come first; informational items (counted
against nothing) sit in a closed `<details>` at the end, their counts in its summary. Dates
are UTC and written in full.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from reconciler.report.charts import bar_chart
from reconciler.report.document import INFORMATIONAL, by_class, human_time
from reconciler.report.escape import visible
from reconciler.report.text import figures_text, informational_text, period_text

STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}"
         "table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px;text-align:left}"
         "th{background:#f4f4f4}svg.chart{display:block;width:100%;height:auto;margin:1em 0}"
         ".ok{color:#2e7d32}.over_threshold{color:#c62828}"
         "details{margin-top:1.5em;color:#555}summary{cursor:pointer;font-weight:bold}"
         ".muted{color:#666}")


def csp_hash(text: str) -> str:
    """A CSP source expression allowing exactly this inline `text`: 'sha256-<base64>'."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def content_security_policy(style: str) -> str:
    """Nothing may load or run: no script at all, the page's one style block by its hash."""
    return (f"default-src 'none'; script-src 'none'; style-src {csp_hash(style)}; "
            "img-src 'none'; base-uri 'none'; form-action 'none'")


def _rows(items: list[dict[str, Any]], cls: str) -> str:
    e = html.escape
    return "".join(
        f'<tr class="{cls}"><td>{e(i["class"])}</td><td>{e(str(i["game_id"]))}</td>'
        f"<td>{e(visible(i['order_id']))}</td>"
        f"<td>{e(human_time(i.get('since_s')) or '')}</td>"
        f"<td>{e(visible(i['detail']))}</td></tr>" for i in items)


HEAD = "<tr><th>class</th><th>game</th><th>order</th><th>since</th><th>detail</th></tr>"


def _more(shown: int, total: int) -> str:
    return (f'<p class="muted">The first {shown:,} of {total:,}; the JSON and CSV formats '
            "list every item.</p>" if total > shown else "")


def to_html(doc: dict[str, Any], *, max_items: int = 500) -> str:
    """A self-contained page: summary, discrepancies, charts, informational items collapsed;
    it runs no script."""
    e = html.escape
    figures = doc["figures"]
    counted = [i for i in doc["items"] if i["class"] not in INFORMATIONAL]
    info = [i for i in doc["items"] if i["class"] in INFORMATIONAL]
    classes = "".join(f"<tr><td>{e(c)}</td><td>{n:,}</td></tr>" for c, n in
                      by_class(doc["counts"]) if n and c not in INFORMATIONAL)
    found = (f"<table><tr><th>discrepancy</th><th>count</th></tr>{classes}</table>"
             f'<table id="discrepancies">{HEAD}{_rows(counted[:max_items], "item")}</table>'
             f"{_more(min(max_items, len(counted)), len(counted))}" if counted
             else "<p>No discrepancies.</p>")
    per_day = bar_chart("Orders, grants, refunds and revocations per day (UTC)",
                        figures["per_day"], "day", "day (UTC)")
    per_product = bar_chart("Orders, grants, refunds and revocations per product",
                            figures["per_product"], "product_id", "product")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reconciler audit</title>
<meta http-equiv="Content-Security-Policy" content="{content_security_policy(STYLE)}">
<style>{STYLE}</style>
</head><body>
<h1>reconciler audit <span class="{e(doc['status'])}">{e(doc['status'].replace('_', ' '))}</span>
</h1>
<p><b>{doc['total']:,} discrepancies</b> (threshold {doc['threshold']:,}); games
{e(', '.join(map(str, doc['games'])))}; as of {e(human_time(doc['as_of_s']) or '')};
{e(period_text(doc))}.</p>
<p>{e(figures_text(doc))}</p>
<h2>Discrepancies ({doc['total']:,})</h2>
{found}
<h2>Per day</h2>{per_day}
<h2>Per product</h2>{per_product}
<details id="informational"><summary>Informational, not counted ({len(info):,}):
{e(informational_text(doc))}</summary>
<table>{HEAD}{_rows(info[:max_items], "info")}</table>{_more(min(max_items, len(info)), len(info))}
</details>
</body></html>
"""
