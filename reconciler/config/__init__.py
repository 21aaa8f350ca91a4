"""Configuration: a TOML file plus environment variables, the environment winning.

Rules: a leaf above `core` and `auth`: it imports no client, engine or server. `schema` is
the one table of settings (environment names, TOML keys, kinds, defaults); `sources` finds raw
values (file, environment, `<NAME>_FILE`, systemd credentials); `checks` types them, one
message per problem naming the key, never a secret's value; `games` builds every game alike;
`build` assembles the `model`. This face only re-exports.
"""

from reconciler.config.build import build_config, load_config
from reconciler.config.model import (
    Config,
    DaemonSettings,
    EngineSettings,
    GameConfig,
    JogosConfig,
    OpsClient,
    PgosConfig,
    SinkConfig,
)
from reconciler.config.schema import SETTINGS, Setting

__all__ = [
    "SETTINGS",
    "Config",
    "DaemonSettings",
    "EngineSettings",
    "GameConfig",
    "JogosConfig",
    "OpsClient",
    "PgosConfig",
    "Setting",
    "SinkConfig",
    "build_config",
    "load_config",
]
