"""Effect states and their allowed transitions, as a lookup table.

Rules: an effect is born `in_flight` (intent committed before the remote call) and ends `done`;
`failed` will be retried by the next pass; `attention` waits for a person or a change.
Effects of an idempotent remote call (REPEATABLE_KINDS) may go from `done` back to
`in_flight`: the store can forget a delivery mark, and sending it again is harmless.
Any other transition is our bug and raises InvariantError.
"""

from __future__ import annotations

from enum import StrEnum

from reconciler.errors import InvariantError


class EffectState(StrEnum):
    """Where an effect stands."""

    PLANNED = "planned"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    ATTENTION = "attention"


S = EffectState
TRANSITIONS: dict[EffectState | None, frozenset[EffectState]] = {
    None: frozenset({S.PLANNED, S.IN_FLIGHT}),
    S.PLANNED: frozenset({S.IN_FLIGHT}),
    S.IN_FLIGHT: frozenset({S.IN_FLIGHT, S.DONE, S.FAILED, S.ATTENTION}),
    S.FAILED: frozenset({S.IN_FLIGHT}),
    S.ATTENTION: frozenset({S.IN_FLIGHT}),
    S.DONE: frozenset(),
}


REPEATABLE_KINDS = frozenset({"arrived"})


def check_transition(
    effect: str, old: EffectState | None, new: EffectState, *, kind: str = ""
) -> None:
    """Raises InvariantError when `old -> new` is not an allowed transition for `kind`."""
    if old is S.DONE and new is S.IN_FLIGHT and kind in REPEATABLE_KINDS:
        return
    if new not in TRANSITIONS[old]:
        raise InvariantError(f"effect {effect}: transition {old} -> {new} is not allowed")
