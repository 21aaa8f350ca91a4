"""The audit report as JSON, as CSV (one row per item) and as Markdown for a chat message.

Rules: pure (a document in, text out); every value from the books is escaped for its format
(report.escape). Markdown puts the discrepancies first and the informational classes on a
line of their own, with dates and durations written for a person; it points to the CSV only
when one was written beside it (`csv_name`).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from reconciler.report.document import INFORMATIONAL, by_class, human_time
from reconciler.report.escape import csv_cell, md

CSV_FIELDS = ("class", "game_id", "order_id", "detail", "since_iso")


def to_json(doc: dict[str, Any]) -> str:
    """Pretty JSON with sorted keys (byte-identical for the same books)."""
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def to_csv(doc: dict[str, Any]) -> str:
    """One row per item, discrepancies first (`class,game_id,order_id,detail,since_iso`),
    every cell neutralised (csv_cell); RFC 4180 line ends, so a cell holding a CR or LF is
    quoted."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({f: csv_cell(item.get(f)) for f in CSV_FIELDS} for item in doc["items"])
    return out.getvalue()


def period_text(doc: dict[str, Any]) -> str:
    """`orders paid from … until …` in human dates (`all orders` without bounds)."""
    since, until = doc["period"]["since_s"], doc["period"]["until_s"]
    if since is None and until is None:
        return "all orders"
    parts = ["orders paid"]
    if since is not None:
        parts.append(f"from {human_time(since)}")
    if until is not None:
        parts.append(f"until {human_time(until)} (excluded)")
    return " ".join(parts)


def figures_text(doc: dict[str, Any], escape: Any = str) -> str:
    """Orders, refund rate, payment to grant and the oldest pending item, in words; ids go
    through `escape`."""
    figures = doc["figures"]
    delay = figures["payment_to_grant_s"]
    text = f"Orders {figures['orders']:,}, refund rate {figures['refund_rate']:.2%}; "
    if delay["count"]:
        text += (f"payment to grant median {delay['median_human']}, p95 {delay['p95_human']} "
                 f"({delay['count']:,} grants); ")
    else:
        text += "no grant in the period; "
    oldest = figures["oldest_pending"]
    if oldest is None:
        return text + "nothing pending."
    return (text + f"oldest pending {figures['oldest_pending_age_human']}: "
            f"{escape(oldest['what'])} {escape(oldest['game_id'])}/{escape(oldest['order_id'])}"
            f" since {human_time(oldest['since_s'])}.")


def informational_text(doc: dict[str, Any]) -> str:
    """`delivered_elsewhere 838, interrupted_run 1` (classes with items), or `none`."""
    found = [f"{cls} {n:,}" for cls, n in by_class(doc["counts"]) if cls in INFORMATIONAL and n]
    return ", ".join(found) or "none"


def to_markdown(doc: dict[str, Any], *, max_items: int = 20, csv_name: str | None = None) -> str:
    """A short summary for a chat message: discrepancies first, informational classes apart
    (counts only), dates and durations for a person; "see the CSV" only with `csv_name`."""
    lines = [
        f"**reconciler audit** — {doc['status'].replace('_', ' ')}: {doc['total']} "
        f"discrepancies (threshold {doc['threshold']}), games {', '.join(map(str, doc['games']))}",
        "",
        f"As of {human_time(doc['as_of_s'])}, {period_text(doc)}.",
        "",
    ]
    counted = [(cls, n) for cls, n in by_class(doc["counts"]) if n and cls not in INFORMATIONAL]
    if counted:
        lines += ["| discrepancy | count |", "|---|---|"]
        lines += [f"| {cls} | {n:,} |" for cls, n in counted]  # our own names
    else:
        lines.append("No discrepancies.")
    lines += ["", f"Informational, not counted: {informational_text(doc)}.", "",
              figures_text(doc, md)]
    items = [i for i in doc["items"] if i["class"] not in INFORMATIONAL]
    if items:
        lines += ["", "First discrepancies:", ""]
        lines += [f"- `{i['class']}` {md(i['game_id'])}/{md(i['order_id'])}: {md(i['detail'])}"
                  + (f" (since {human_time(i['since_s'])})" if i.get("since_s") else "")
                  for i in items[:max_items]]
        if len(items) > max_items:
            more = f"- … and {len(items) - max_items:,} more"
            lines.append(f"{more} (see {md(csv_name)})" if csv_name else more)
    return "\n".join(lines) + "\n"
