"""/metrics as an SRE reads it: prometheus_client's own exposition (text with its version, or
OpenMetrics), clean under promtool's rules (tests/server/promlint.py) and both of
prometheus_client's parsers, with every series README's metric table lists, and figures that
are the books' own: passes by outcome (attention apart), a duration histogram, the last good
pass, quarantine, debts, notifications by status and the latest audit's discrepancies."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from jobs.reconcile import reconcile
from reconciler import __version__
from reconciler.core.models import Order
from reconciler.engine.audit import audit_report
from reconciler.runtime import open_runtime
from reconciler.runtime.figures import DurationHistogram, pass_outcome
from reconciler.sandbox.faults import Faults
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.server.app import build_app
from tests.engine.conftest import ConfigFactory, catalog_path, make_config
from tests.server.promlint import problems

__all__ = ["catalog_path", "make_config"]  # fixtures shared with the engine's tests

README = Path(__file__).resolve().parents[2] / "README.md"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=30, seed=8))


def values(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of `name` (a sample name, e.g. x_total) by their sorted labels."""
    return {tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name}


def test_outcome_and_histogram_figures() -> None:
    assert [pass_outcome(ok=ok, attention=a) for ok, a in
            ((True, False), (True, True), (False, False), (False, True))] == \
        ["ok", "attention", "error", "error"]
    histogram = DurationHistogram(bounds_s=(1.0, 10.0))
    for seconds in (0.5, 1.0, 3.0, 11.0):
        histogram.observe(seconds)
    assert histogram.cumulative() == [(1.0, 2), (10.0, 3), (float("inf"), 4)]
    assert histogram.count == 4 and histogram.sum_s == 15.5


def test_the_linter_sees_what_promtool_would() -> None:
    bad = ("# HELP a_seconds_gauge x\n# TYPE a_seconds_gauge gauge\na_seconds_gauge 1\n"
           "# TYPE requests counter\nrequests 3\nstray 1\n"
           '# HELP d_ms d\n# TYPE d_ms histogram\nd_ms_bucket{le="1.0"} 2\n'
           'd_ms_bucket{le="+Inf"} 1\nd_ms_count 1\nd_ms_sum 1\n')
    found = "\n".join(problems(bad))
    for expected in ("a_seconds_gauge: the metric type in its name", "requests: no help text",
                     "requests: counter without the _total suffix", "stray: a sample of no",
                     "d_ms: not a base unit", "d_ms: buckets are not cumulative"):
        assert expected in found, found


async def test_metrics_exposition(sandbox: Sandbox, make_config: ConfigFactory) -> None:
    book = sandbox.jogos.books[9943]
    book.orders[0]["productId"] = "9999"       # waits for the catalog: the pass needs attention
    book.orders[1]["payTime"] = None           # quarantined
    async with open_runtime(make_config()) as runtime:
        before = time.time()
        await reconcile(runtime)               # ends needing attention
        assert runtime.passes == {"ok": 0, "attention": 1, "error": 0}
        sandbox.jogos.injector.configure(Faults(error_rate=1.0))
        await reconcile(runtime)               # the store answers only errors: a failed pass
        sandbox.jogos.injector.configure(Faults())
        assert runtime.passes == {"ok": 0, "attention": 1, "error": 1}
        ledger = runtime.engine.ledger
        ledger.record_debt("debt:test", 9943, str(book.orders[2]["orderId"]), "p1", "currency",
                           "GEM", 50, int(time.time()))
        ledger.record_notification(Order(9943, "not-listed-yet", "u1", "1001", False,
                                         int(time.time())), "pay", b"{}", int(time.time()))
        doc = await audit_report(runtime.engine)
        async with TestClient(TestServer(build_app(runtime))) as client:
            plain = await client.get("/metrics")
            text = await plain.text()
            om = await client.get("/metrics", headers={"Accept": OPENMETRICS})
            om_text = await om.text()
        await runtime.confirmer.stop()

    # prometheus_client's own Content-Type, with the exposition's version, for each Accept.
    assert plain.headers["Content-Type"] == CONTENT_TYPE_PLAIN_0_0_4 == choose_encoder("")[1]
    assert om.headers["Content-Type"] == choose_encoder(OPENMETRICS)[1]
    assert "version=" in plain.headers["Content-Type"] and "version=" in om.headers[
        "Content-Type"]
    assert problems(text) == []
    om_types = {f.name: f.type for f in openmetrics_families(om_text)}  # strict: raises
    declared = {f.name: f.type for f in text_string_to_metric_families(text)}

    assert declared["reconciler_pass_duration_seconds"] == "histogram"
    assert declared["reconciler_build_info"] == "gauge" and om_types["reconciler_build"] == "info"
    assert {n for n, t in om_types.items() if t == "histogram"} == {
        "reconciler_pass_duration_seconds"}
    assert values(text, "reconciler_build_info") == {(("version", __version__),): 1.0}
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds",
            "process_start_time_seconds", "python_info"} <= declared.keys()
    assert values(text, "reconciler_passes_total") == {
        (("outcome", "ok"),): 0, (("outcome", "attention"),): 1, (("outcome", "error"),): 1}
    assert values(text, "reconciler_pass_duration_seconds_count") == {(): 2.0}
    assert values(text, "reconciler_pass_duration_seconds_bucket")[(("le", "+Inf"),)] == 2.0
    (last_ok,) = values(text, "reconciler_last_successful_pass_timestamp_seconds").values()
    assert before <= last_ok <= time.time()
    assert values(text, "reconciler_quarantined_rows") == {(): 1.0}
    assert values(text, "reconciler_debts") == {(): 1.0}
    assert values(text, "reconciler_notifications_by_status") == {
        (("status", "pending"),): 1.0, (("status", "confirmed"),): 0.0,
        (("status", "conflict"),): 0.0, (("status", "unconfirmed"),): 0.0}
    found = values(text, "reconciler_audit_discrepancies")
    assert {labels[0][1]: n for labels, n in found.items()} == doc["counts"]
    informational = {labels[0][1] for labels, _ in found.items()
                     if labels[1] == ("informational", "true")}
    assert informational == set(doc["informational"])
    assert doc["counts"]["unknown_product"] == doc["counts"]["quarantined"] == 1
    (audited,) = values(text, "reconciler_audit_last_run_timestamp_seconds").values()
    assert audited >= int(before)

    # Every series is in README's metric table, and the table names no series that is gone.
    # (test_readme_has_a_metric_table says when there is no table to compare.)
    exposed = {f"{n}_total" if t == "counter" else n for n, t in declared.items()}
    table = readme_series()
    assert not table or table == exposed, (table ^ exposed)


def readme_series() -> set[str]:
    """The series named in the first column of README's metric table."""
    return set(re.findall(r"^\| `((?:reconciler|process|python)_[a-z_]+)`",
                          README.read_text(), re.M))


def test_readme_has_a_metric_table() -> None:
    if not readme_series():
        pytest.skip("README has no metric table yet (rows starting | `reconciler_...`)")
    assert {"reconciler_last_successful_pass_timestamp_seconds",
            "reconciler_pass_duration_seconds", "process_cpu_seconds_total"} <= readme_series()
