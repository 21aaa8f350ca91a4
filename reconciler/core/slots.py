"""Quick construction of frozen slotted dataclasses made on hot paths (an Order per row read,
an Action per step planned).

Rules: pure. A frozen dataclass's generated `__init__` stores each field through
`object.__setattr__`, which costs ~100 ns a field in Python 3.11; storing through the slot's
own descriptor costs a third of that. A class using `slot_setters` writes its `__init__` by
hand (`init=False`) and keeps everything else its decorator gives: frozen, hashable, equal by
value, `dataclasses.replace`. Its tests check that every field is set.

Faster still, for the hottest path (an Order per row read): a `twin`, a plain class with the
same slots, whose instance is filled by ordinary assignment and then becomes an instance of
the dataclass by `__class__` assignment (CPython allows it between classes of the same layout;
`twin` checks that). What comes out is an ordinary instance of the dataclass: ~0.35 us
instead of ~1 us for eight fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type) -> tuple[Setter, ...]:
    """The setters of `cls`'s slots, in field order (a slotted dataclass lists its fields as
    `__slots__`), for its hand-written `__init__`.

    Raises TypeError when `cls` has no slots of its own.
    """
    names = cls.__dict__.get("__slots__")
    if not names or isinstance(names, str):
        raise TypeError(f"{cls.__name__} has no slots of its own")
    return tuple(cls.__dict__[name].__set__ for name in names)


def twin(cls: type) -> type:
    """A plain class with `cls`'s slots (same names, same order, same base) whose instances
    may be turned into `cls` instances by assigning `__class__` once every slot is set.

    Raises TypeError when `cls` has no slots of its own or a base other than object (its
    layout would differ).
    """
    names = cls.__dict__.get("__slots__")
    if not names or isinstance(names, str) or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__} has no slots of its own over object")
    return type(f"_{cls.__name__}Twin", (), {"__slots__": tuple(names)})
