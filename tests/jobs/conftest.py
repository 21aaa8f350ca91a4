"""Job fixtures: the engine's configuration factory, for the runtime the jobs run in."""

from tests.engine.conftest import catalog_path, make_config

__all__ = ["catalog_path", "make_config"]
