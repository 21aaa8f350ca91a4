"""The daemon's HTTP face (aiohttp): Jogos notifications, player links, operations API,
health and metrics.

Rules: handlers parse and verify, record durably through the ledger, answer, and hand work
to the engine; a rejected request changes nothing. Bodies are size-limited; every answer to
bad input is a clear 4xx.
"""
