"""The rules of `promtool check metrics` (client_golang's promlint), for the text exposition:
promtool itself is a 96 MB Debian package, so the suite reads the text as promlint would.

Rules checked: every family has HELP and TYPE, once; names are snake_case without colons;
counters end in `_total`; no other family ends in `_total`, `_bucket`, `_count` or `_sum`
(histograms' own samples excepted) or carries an `le` label; no type in a name; base units
only (seconds, bytes), never abbreviated; every sample belongs to a declared family;
histogram buckets grow and end with `+Inf` equal to `_count`.
"""

from __future__ import annotations

import re

NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)( \S+)?$")
NOT_BASE_UNITS = ("_milliseconds", "_microseconds", "_nanoseconds", "_minutes", "_hours",
                  "_days", "_kilobytes", "_megabytes", "_gigabytes", "_percent")
ABBREVIATIONS = ("_ms", "_sec", "_secs", "_us", "_ns", "_kb", "_mb", "_gb", "_pct")
TYPE_WORDS = ("_gauge", "_counter", "_histogram", "_summary", "_untyped")
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum",
                                                             "_created"),
            "gauge": ("",), "untyped": ("",), "summary": ("", "_count", "_sum", "_created")}


def problems(text: str) -> list[str]:
    """Every rule `text` breaks, one message each (empty when it passes)."""
    found: list[str] = []
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    samples: list[tuple[str, str, float]] = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            if name in helps:
                found.append(f"{name}: HELP twice")
            helps[name] = doc
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            if name in types:
                found.append(f"{name}: TYPE twice")
            types[name] = kind
        elif line and not line.startswith("#"):
            match = SAMPLE.match(line)
            if match is None:
                found.append(f"unparsable sample line {line!r}")
                continue
            samples.append((match.group(1), match.group(2) or "", float(match.group(3))))
    for name, kind in types.items():
        if not helps.get(name):
            found.append(f"{name}: no help text")
        if not NAME.match(name):
            found.append(f"{name}: not snake_case, or with a colon")
        if kind == "counter" and not name.endswith("_total"):
            found.append(f"{name}: counter without the _total suffix")
        if kind not in ("counter", "histogram", "summary") and name.endswith(
                ("_total", "_bucket", "_count", "_sum")):
            found.append(f"{name}: a {kind} with a reserved suffix")
        if any(word in name for word in TYPE_WORDS):
            found.append(f"{name}: the metric type in its name")
        if any(unit in name for unit in NOT_BASE_UNITS) or any(
                name.endswith(a) or f"{a}_" in name for a in ABBREVIATIONS):
            found.append(f"{name}: not a base unit, or abbreviated")
    for name in helps.keys() - types.keys():
        found.append(f"{name}: HELP without TYPE")
    family_of = {}
    for name, kind in types.items():
        base = name.removesuffix("_total") if kind == "counter" else name
        for suffix in SUFFIXES.get(kind, ("",)):
            family_of[base + suffix] = (name, kind)
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = {}
    counts: dict[tuple[str, str], float] = {}
    for sample, labels, value in samples:
        if sample not in family_of:
            found.append(f"{sample}: a sample of no declared family")
            continue
        family, kind = family_of[sample]
        le = re.search(r'le="([^"]*)"', labels)
        rest = re.sub(r',?le="[^"]*"', "", labels).replace("{,", "{").replace("{}", "")
        if kind == "histogram" and sample.endswith("_bucket"):
            if le is None:
                found.append(f"{sample}: a bucket without le")
                continue
            buckets.setdefault((family, rest), []).append((float(le.group(1)), value))
        elif le is not None:
            found.append(f"{sample}: an le label outside a histogram's buckets")
        if kind == "histogram" and sample.endswith("_count"):
            counts[(family, rest)] = value
    for key, series in buckets.items():
        bounds = [b for b, _ in series]
        values = [v for _, v in series]
        if bounds != sorted(bounds) or bounds[-1] != float("inf"):
            found.append(f"{key[0]}: buckets out of order or without +Inf")
        if values != sorted(values):
            found.append(f"{key[0]}: buckets are not cumulative")
        if counts.get(key) != values[-1]:
            found.append(f"{key[0]}: the +Inf bucket differs from _count")
    return found
