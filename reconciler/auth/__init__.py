"""Signers and verifiers of every scheme in the specs.

Rules: pure functions only. No I/O, no clock, no randomness: times, nonces and keys are
arguments. Every verifier raises a subclass of `reconciler.errors.AuthError` and never puts
a secret or a computed signature in its message.
"""
