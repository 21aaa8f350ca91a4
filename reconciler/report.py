"""Audit reports: JSON (the schema in README), CSV of every discrepancy, Markdown for a chat
message, and a self-contained HTML page with inline SVG charts.

Rules: rendering is pure (a document in, text out); no network is needed to view the HTML; every
value from the books is escaped for its format (CSV cells that a spreadsheet would evaluate get a
leading `'`, Markdown and HTML specials are escaped, control characters are shown as `\\uXXXX`);
the HTML page runs no script (its CSP allows no script and styles only by hash); no secret is
ever part of the document.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import unicodedata
from typing import Any

from reconciler.core.audit import INFO_CLASSES, Audit, Discrepancy

SCHEMA = "reconciler.audit/1"
FORMATS = ("json", "csv", "markdown", "html")


def document(audit: Audit, *, games: list[int], as_of_s: int, since_s: int | None,
             until_s: int | None, threshold: int) -> dict[str, Any]:
    """The report as a JSON-ready document."""
    total = audit.total()
    return {
        "schema": SCHEMA,
        "as_of_s": as_of_s,
        "period": {"since_s": since_s, "until_s": until_s},
        "games": games,
        "threshold": threshold,
        "total": total,
        "status": "ok" if total <= threshold else "over_threshold",
        "counts": audit.counts(),
        "informational": sorted(c.value for c in INFO_CLASSES),
        "figures": audit.figures,
        "items": [i.as_dict() for i in audit.items],
    }


def to_json(doc: dict[str, Any]) -> str:
    """Pretty JSON with sorted keys (byte-identical for the same books)."""
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # OWASP: a spreadsheet evaluates these


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading `'` before a formula trigger."""
    text = str(value)
    return "'" + text if text.startswith(CSV_TRIGGERS) else text


def to_csv(doc: dict[str, Any]) -> str:
    """One row per discrepancy, every cell neutralised (csv_cell); RFC 4180 line ends, so a
    cell holding a CR or LF is quoted."""
    fields = ["class", "game_id", "order_id", "detail"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({f: csv_cell(item[f]) for f in fields} for item in doc["items"])
    return out.getvalue()


def visible(text: str) -> str:
    """`text` with control and format characters (newlines, U+202E, ...) shown as \\uXXXX."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")
                   else c for c in text)


MD_SPECIALS = frozenset("\\`*_{}[]()<>#+-.!|~&")


def md(value: object) -> str:
    """`value` as literal Markdown text: every special is backslash-escaped, `<`, `>`, `&`
    become entities (no raw HTML), control characters are made visible."""
    escaped = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
    return "".join(escaped.get(c) or ("\\" + c if c in MD_SPECIALS else c)
                   for c in visible(str(value)))


def to_markdown(doc: dict[str, Any], *, max_items: int = 20) -> str:
    """A short summary for a chat message."""
    figures = doc["figures"]
    delay = figures["payment_to_grant_s"]
    lines = [
        f"**reconciler audit** — {doc['status'].replace('_', ' ')}: {doc['total']} "
        f"discrepancies (threshold {doc['threshold']}), games {', '.join(map(str, doc['games']))}",
        "",
        "| class | count |",
        "|---|---|",
    ]
    lines += [f"| {cls} | {n} |" for cls, n in doc["counts"].items() if n]  # our own names
    lines += [
        "",
        f"Orders {figures['orders']}, refund rate {figures['refund_rate']:.2%}, payment to "
        f"grant median {delay['median']} s, p95 {delay['p95']} s, oldest pending "
        f"{figures['oldest_pending_age_s']} s.",
    ]
    counted = [i for i in doc["items"] if i["class"] not in doc["informational"]]
    if counted:
        lines += ["", "First discrepancies:", ""]
        lines += [f"- `{i['class']}` {md(i['game_id'])}/{md(i['order_id'])}: "
                  f"{md(i['detail'])}" for i in counted[:max_items]]
        if len(counted) > max_items:
            lines.append(f"- … and {len(counted) - max_items} more (see the CSV)")
    return "\n".join(lines) + "\n"


COLORS = {"orders": "#4e79a7", "grants": "#59a14f", "refunds": "#e15759",
          "revocations": "#f28e2b"}


def bar_chart(title: str, rows: list[dict[str, Any]], label: str,
              series: tuple[str, ...] = ("orders", "grants", "refunds", "revocations")) -> str:
    """Grouped bars as inline SVG, one group per row."""
    width, height, pad = 760, 260, 40
    top = max([max((r[s] for s in series), default=0) for r in rows] + [1])
    group = (width - 2 * pad) / max(1, len(rows))
    bar = max(1.0, group / (len(series) + 1))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{pad}" y="16" font-size="14">{html.escape(title)}</text>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
             'stroke="#999"/>']
    for index, row in enumerate(rows):
        x0 = pad + index * group
        for offset, name in enumerate(series):
            h = (height - 2 * pad - 20) * row[name] / top
            x = x0 + offset * bar
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{height - pad - h:.1f}" '
                         f'width="{bar * 0.9:.1f}" height="{h:.1f}" fill="{COLORS[name]}">'
                         f'<title>{html.escape(str(row[label]))} {name}: {row[name]}</title>'
                         '</rect>')
        if len(rows) <= 31:
            parts.append(f'<text x="{x0:.1f}" y="{height - pad + 14}" font-size="9">'
                         f'{html.escape(str(row[label])[-5:])}</text>')
    legend_x = width - pad - 4 * 95
    for offset, name in enumerate(series):
        x = legend_x + offset * 95
        parts.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{COLORS[name]}"/>'
                     f'<text x="{x + 14}" y="33" font-size="11">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def csp_hash(text: str) -> str:
    """A CSP source expression allowing exactly this inline `text`: 'sha256-<base64>'."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def content_security_policy(style: str) -> str:
    """Nothing may load or run: no script at all, the page's one style block by its hash."""
    return (f"default-src 'none'; script-src 'none'; style-src {csp_hash(style)}; "
            "img-src 'none'; base-uri 'none'; form-action 'none'")


def to_html(doc: dict[str, Any], *, max_items: int = 500) -> str:
    """A self-contained page: summary, counts, charts, discrepancies; it runs no script."""
    figures = doc["figures"]
    e = html.escape
    counts = "".join(f"<tr><td>{e(c)}</td><td>{n}</td></tr>" for c, n in doc["counts"].items())
    items = "".join(
        f"<tr><td>{e(i['class'])}</td><td>{e(str(i['game_id']))}</td>"
        f"<td>{e(visible(i['order_id']))}</td><td>{e(visible(i['detail']))}</td></tr>"
        for i in doc["items"][:max_items])
    delay = figures["payment_to_grant_s"]
    status_color = "#2e7d32" if doc["status"] == "ok" else "#c62828"
    style = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
             "td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px}"
             f".status{{color:{status_color}}}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reconciler audit</title>
<meta http-equiv="Content-Security-Policy" content="{content_security_policy(style)}">
<style>{style}</style>
</head><body>
<h1>reconciler audit <span class="status">{e(doc['status'].replace('_', ' '))}</span></h1>
<p>{doc['total']} discrepancies (threshold {doc['threshold']}); games
{e(', '.join(map(str, doc['games'])))}; as of {doc['as_of_s']}.
Orders {figures['orders']}, refund rate {figures['refund_rate']:.2%}, payment to grant median
{delay['median']} s, p95 {delay['p95']} s; oldest pending {figures['oldest_pending_age_s']} s.</p>
<h2>Per day</h2>{bar_chart("Orders, grants, refunds and revocations per day",
                            figures["per_day"], "day")}
<h2>Per product</h2>{bar_chart("Per product", figures["per_product"], "product_id")}
<h2>Discrepancies by class</h2><table><tr><th>class</th><th>count</th></tr>{counts}</table>
<h2>Discrepancies</h2><table><tr><th>class</th><th>game</th><th>order</th><th>detail</th></tr>
{items}</table>
</body></html>
"""


def render(doc: dict[str, Any], fmt: str) -> str:
    """The report in one of FORMATS. Raises ValueError for another format."""
    renderers = {"json": to_json, "csv": to_csv, "markdown": to_markdown, "html": to_html}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}")
    return renderers[fmt](doc)


__all__ = ["FORMATS", "Discrepancy", "document", "render"]
