"""Simulators of Jogos, PGOS and a studio game server, on loopback.

Rules: the simulators enforce the specs strictly through the `auth` verifiers (a simulator
that accepts a wrong signature hides a bug); they may read the clock and use seeded
randomness; nothing in `reconciler` imports them but `testing/`, the demo and the
`sandbox` command.
"""
