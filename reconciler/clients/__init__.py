"""The only code that speaks HTTP to remote systems, and the only code that retries.

Rules: transient failures (network errors, timeouts, HTTP 429/5xx, malformed bodies, the
documented system-error codes) are retried here with tenacity (exponential backoff with
jitter, bounded attempts); everything else raises at once. Request figures are counted in
`RequestStats` for summaries, metrics and benchmarks.
"""
