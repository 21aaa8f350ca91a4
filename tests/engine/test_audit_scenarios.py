"""Audit on sandbox scenarios built to contain each discrepancy class: exactly those found.
The HTML report is rendered in headless Chromium: its charts are drawn with both axes and
labels at the page's width, the discrepancies come before the informational rows, which are
folded away; the page itself runs no script, so the test adds its own probe, allowed by its
hash alone."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from reconciler.config import Config
from reconciler.engine.audit import run_audit
from reconciler.engine.passes import open_engine, run_pass
from reconciler.ledger import Ledger
from reconciler.report import csp_hash, document, render
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from tests.engine.conftest import ConfigFactory


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=400, seed=17, refunding_share=0,
                                       refunded_share=0, refund_failed_share=0,
                                       refund_rejected_share=0))


async def audit_doc(config: Config, threshold: int = 0) -> dict[str, object]:
    async with open_engine(config) as engine:
        result, books = await run_audit(engine)
        return document(result, games=engine.game_ids, as_of_s=books.as_of_s, since_s=None,
                        until_s=None, threshold=threshold)


def found(doc: dict[str, object]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in doc["items"]:  # type: ignore[attr-defined]
        out.setdefault(item["class"], set()).add(item["order_id"])
    return out


async def test_each_class_is_found_exactly(sandbox: Sandbox, make_config: ConfigFactory,
                                           tmp_path: Path) -> None:
    config = make_config(RECONCILER_CLAWBACK="debt")
    book = sandbox.jogos.books[9943]
    book.orders[0]["productId"] = "9999"      # unknown product
    book.orders[0]["arrivedStatus"] = 0
    book.orders[1]["payTime"] = None          # quarantined
    async with open_engine(config) as engine:
        await run_pass(engine)
    clean = await audit_doc(config)
    ledger = Ledger.open(config.db_path)
    adopted = {o for (o,) in ledger.db.execute("SELECT order_id FROM orders WHERE adopted = 1")}
    ledger.close()
    assert adopted
    base = {"delivered_elsewhere": adopted, "unknown_product": {book.orders[0]["orderId"]},
            "quarantined": {""}}
    assert found(clean) == base

    granted = [o for o in book.orders[2:]
               if any(t.startswith(f"grant:9943:{o['orderId']}") for t in sandbox.pgos.tokens)]
    # A refund whose currency was spent -> debt (policy debt), recorded by the next pass.
    spent = next(o for o in granted if o["productId"] == "1002")
    sandbox.pgos.spend(str(spent["userId"]), "GEM",
                       sandbox.pgos.players[str(spent["userId"])].currency["GEM"])
    sandbox.jogos.refund(9943, spent["orderId"])
    revoked = next(o for o in granted if o["productId"] == "1001" and o is not spent)
    sandbox.jogos.refund(9943, revoked["orderId"])
    async with open_engine(config) as engine:
        await run_pass(engine)
    # Now break the books behind the reconciler's back.
    (new,) = sandbox.jogos.add_orders(9943, 1)                       # paid, not granted
    undelivered = granted[5]
    undelivered["arrivedStatus"] = 0                                   # granted, not delivered
    refunded = granted[6]
    sandbox.jogos.refund(9943, refunded["orderId"])                    # refunded, not revoked
    player = sandbox.pgos.players[str(revoked["userId"])]
    for instance in player.instances.values():                         # revoked, still owned
        if instance.IdempotencyToken == f"grant:9943:{revoked['orderId']}":
            instance.Status = "Available"
    gone = granted[7]
    book.orders.remove(gone)                                           # granted, no order
    book.index = {o["orderId"]: i for i, o in enumerate(book.orders)}
    doc = await audit_doc(config)
    expected = dict(base)
    expected |= {
        "paid_not_granted": {new["orderId"]},
        "granted_not_delivered": {undelivered["orderId"]},
        "refunded_not_revoked": {refunded["orderId"]},
        "revoked_still_owned": {revoked["orderId"]},
        "granted_without_paid_order": {gone["orderId"]},
        "clawback_shortfall": {spent["orderId"]},
    }
    assert found(doc) == expected
    assert doc["status"] == "over_threshold" and doc["total"] == 8
    assert (await audit_doc(config, threshold=8))["status"] == "ok"
    # The same books give the same report.
    assert render(doc, "json") == render(await audit_doc(config), "json")
    csv_rows = render(doc, "csv").splitlines()  # CR LF line ends
    assert csv_rows[0] == "class,game_id,order_id,detail,since_iso" and len(csv_rows) == 1 + len(
        doc["items"])  # type: ignore[arg-type]
    assert "**reconciler audit** — over threshold" in render(doc, "markdown")
    ledger = Ledger.open(config.db_path)
    assert ledger.last_run_of_kind("audit") is None  # only the CLI records audit runs
    ledger.close()
    (tmp_path / "doc.json").write_text(json.dumps(doc))


PROBE = """
document.addEventListener('DOMContentLoaded', function () {
  var body = document.body, charts = document.querySelectorAll('svg.chart');
  var bars = Array.prototype.slice.call(document.querySelectorAll('svg.chart rect.bar'));
  var drawn = bars.filter(function (r) {
    var b = r.getBoundingClientRect(); return b.width > 0 && b.height > 0;
  }).length;
  var axes = 0, narrowest = 100;
  charts.forEach(function (svg) {
    var x = svg.querySelector('line.x-axis').getBoundingClientRect();
    var y = svg.querySelector('line.y-axis').getBoundingClientRect();
    if (x.width > 300 && y.height > 100) { axes += 1; }
    narrowest = Math.min(narrowest,
                         Math.round(100 * svg.getBoundingClientRect().width / body.clientWidth));
  });
  var item = document.querySelector('#discrepancies tr.item');
  var info = document.querySelector('#informational');
  var infoRow = document.querySelector('#informational tr.info');
  body.setAttribute('data-charts', charts.length);
  body.setAttribute('data-bars-drawn', drawn);
  body.setAttribute('data-axes-drawn', axes);
  body.setAttribute('data-labels', document.querySelectorAll(
    'svg.chart text.tick-label, svg.chart text.x-label').length);
  body.setAttribute('data-chart-width-pct', narrowest);
  body.setAttribute('data-discrepancies-first', String(!!(item && info &&
    item.getBoundingClientRect().bottom <= info.getBoundingClientRect().top &&
    (item.compareDocumentPosition(info) & Node.DOCUMENT_POSITION_FOLLOWING))));
  body.setAttribute('data-informational-collapsed', String(!!(infoRow && !info.open &&
    !infoRow.checkVisibility())));
});
"""
PWN = "<img src=x onerror=\"document.body.setAttribute('data-pwned', '1')\">"


def with_probe(page: str) -> str:
    """The report plus the test's probe script, allowed by its hash (and nothing else)."""
    no_script = "script-src 'none'"
    assert page.count(no_script) == 1 and "<script" not in page
    allowed = f"script-src {csp_hash(PROBE)}"
    return page.replace(no_script, allowed).replace("</body>",
                                                    f"<script>{PROBE}</script></body>")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (.ci/run installs it)")
async def test_html_report_draws_its_charts(sandbox: Sandbox, make_config: ConfigFactory,
                                            tmp_path: Path) -> None:
    config = make_config()
    async with open_engine(config) as engine:
        await run_pass(engine)
    doc = await audit_doc(config)
    doc["items"].append({"class": "paid_not_granted", "game_id": 9943,  # type: ignore[attr-defined]
                         "order_id": PWN, "detail": PWN})
    page = tmp_path / "audit.html"
    page.write_text(with_probe(render(doc, "html")))
    proc = await asyncio.create_subprocess_exec(
        str(chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900",
         "--virtual-time-budget=3000", "--dump-dom", page.as_uri(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    body = re.search(r"<body[^>]*>", out.decode())
    assert body is not None, err.decode()[-2000:]
    seen = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(0)))
    assert seen["charts"] == "2" and seen["axes-drawn"] == "2", seen  # both axes of both
    assert int(seen["bars-drawn"]) > 0 and int(seen["labels"]) > 10, seen
    assert int(seen["chart-width-pct"]) >= 95, seen  # the charts fill the page's width
    assert seen["discrepancies-first"] == "true", seen  # above the informational rows
    assert seen["informational-collapsed"] == "true", seen  # there, and folded away
    assert "pwned" not in seen  # a hostile order id stayed text
