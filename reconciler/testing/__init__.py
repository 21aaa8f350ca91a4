"""Helpers for tests and benchmarks: the books checker, the crash and load drivers, and the
daemon harness.

Rules: nothing under `reconciler` outside this package imports it; it may import anything
(the sandbox, the engine, the ledger); it is code that checks or drives the reconciler from
outside, never part of a pass.
"""
