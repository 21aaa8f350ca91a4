"""One pass: fetch -> record -> plan -> record intent -> act -> record outcome.

Rules: the engine owns no HTTP or SQL of its own; it calls clients/ and ledger/. Time comes from
the injected clock. One summary per pass.
"""
