"""Effect states and their allowed transitions, as a lookup table.

Rules: an effect is born `in_flight` (intent committed before the remote call) and ends `done`;
`failed` will be retried by the next pass; `attention` waits for a person or a change.
What "uncertain" and "unsettled" mean is written here once (UNCERTAIN, UNSETTLED); the plan, the
ledger's queries, the executor and the audit use these names, never their own lists.
Effects of an idempotent remote call (REPEATABLE_KINDS) may go from `done` back to
`in_flight`: the store can forget a delivery mark, and sending it again is harmless.
Any other transition is our bug and raises InvariantError.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from reconciler.errors import InvariantError


class EffectState(StrEnum):
    """Where an effect stands."""

    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    ATTENTION = "attention"


S = EffectState
TRANSITIONS: dict[EffectState | None, frozenset[EffectState]] = {
    None: frozenset({S.IN_FLIGHT}),
    S.IN_FLIGHT: frozenset({S.IN_FLIGHT, S.DONE, S.FAILED, S.ATTENTION}),
    S.FAILED: frozenset({S.IN_FLIGHT}),
    S.ATTENTION: frozenset({S.IN_FLIGHT}),
    S.DONE: frozenset(),
}


REPEATABLE_KINDS = frozenset({"arrived"})

# The operator's retry (`reconciler retry`), outside the executor's table above: an effect
# waiting for attention goes back to `failed`, so the next pass or drain re-sends it with the
# payload and idempotency token first recorded (safe for every kind: a grant is idempotent, a
# revocation reads the inventory first, a delivery mark is harmless).
REQUEUE: tuple[EffectState, EffectState] = (S.ATTENTION, S.FAILED)

# May have been applied remotely (its answer was lost, or it failed part-way): the next pass
# settles it before anything else, with the same idempotency token.
UNCERTAIN: tuple[EffectState, ...] = (S.FAILED, S.IN_FLIGHT)
# Not done: what a pass reports as pending, in the order reports list it.
UNSETTLED: tuple[EffectState, ...] = (S.FAILED, S.IN_FLIGHT, S.ATTENTION)


def allowed(old: EffectState | None, new: EffectState, *, kind: str = "") -> bool:
    """True when `old -> new` is an allowed transition for an effect of `kind`."""
    return new in TRANSITIONS[old] or (
        old is S.DONE and new is S.IN_FLIGHT and kind in REPEATABLE_KINDS)


@functools.cache  # a pure function of two small enumerations, asked on every settle
def sources(new: EffectState, *, kind: str = "") -> tuple[EffectState, ...]:
    """The stored states from which an effect of `kind` may move to `new`."""
    return tuple(old for old in EffectState if allowed(old, new, kind=kind))


def check_transition(
    effect: str, old: EffectState | None, new: EffectState, *, kind: str = ""
) -> None:
    """Raises InvariantError when `old -> new` is not an allowed transition for `kind`."""
    if not allowed(old, new, kind=kind):
        raise InvariantError(f"effect {effect}: transition {old} -> {new} is not allowed")
