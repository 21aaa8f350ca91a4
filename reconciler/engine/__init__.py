"""One pass: fetch -> record -> plan -> record intent -> act -> record outcome.

Rules: the engine speaks no HTTP and writes no SQL itself: it calls clients/ and ledger/.
`open_engine` creates the one HTTP session the clients share (and that a daemon lends to its
other clients) and opens the ledger, and closes both. Time comes from the injected clock. One
summary per pass.
"""
