"""The daemon's listener: what is alive once it is wired is left out of later collections."""

from __future__ import annotations

import gc

from reconciler.concurrency import freeze_startup_objects


def test_startup_objects_are_frozen_out_of_collections() -> None:
    class Kept:
        pass

    kept = Kept()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # not visited by a collection
        made_after = Kept()
        assert any(o is made_after for o in gc.get_objects())  # later objects are
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
