"""Runtime fixtures: the engine's configuration factory."""

from tests.engine.conftest import catalog_path, make_config

__all__ = ["catalog_path", "make_config"]
