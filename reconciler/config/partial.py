"""Some settings only, for the commands that need no more (a health check, the ledger's
tools, the ops client): the same sources and checks as the whole configuration.

Rules: nothing outside the settings asked for is read or checked, so `check --url`,
`order` or `ops` do not demand every secret. Values come from `sources` and are typed by
`checks`, exactly as `build` does; problems are collected and raised together.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.config.checks import check
from reconciler.config.schema import BY_ENV
from reconciler.config.sources import raw_values, read_text, read_toml
from reconciler.errors import ConfigError


def config_document(path: str | Path | None, env: Mapping[str, str]) -> tuple[dict[str, Any],
                                                                            Path | None]:
    """The TOML document named by `path` or RECONCILER_CONFIG (empty when neither), and its
    path.

    Raises ConfigError when the file cannot be read or parsed.
    """
    path = path or env.get("RECONCILER_CONFIG")
    if not path:
        return {}, None
    file = Path(path)
    try:
        return read_toml(file, read_text), file
    except ConfigError as exc:
        raise ConfigError(f"configuration file {file}: {exc.problems[0]}") from exc


def load_settings(names: Sequence[str], path: str | Path | None = None,
                  env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The checked values of these settings (by environment name); an optional setting that
    is not set is absent.

    Raises ConfigError naming every problem of these settings (and only these).
    """
    env = os.environ if env is None else env
    doc, _ = config_document(path, env)
    problems: list[str] = []
    raw = raw_values(doc, env, read_text, problems, [BY_ENV[name] for name in names])
    values = {name: check(BY_ENV[name], found.value, problems) for name, found in raw.items()}
    if problems:
        raise ConfigError(problems)
    return {name: value for name, value in values.items() if value is not None}
