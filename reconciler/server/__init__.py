"""The daemon's HTTP face (aiohttp): Jogos notifications, player links, operations API,
health and metrics.

Rules: handlers parse and verify, hand what they accept to the runtime (which records it
through the engine and runs what follows in the background), and answer; they write nothing
themselves, and a rejected request changes nothing. Bodies are size-limited; every answer to
bad input is a clear 4xx.
"""
