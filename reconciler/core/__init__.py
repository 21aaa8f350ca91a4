"""Pure core: models, the plan, state transitions and the catalog. No I/O, no clock."""
