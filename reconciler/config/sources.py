"""Where raw values come from: the TOML file, the environment, `<NAME>_FILE`, credentials.

Rules: the environment wins over the file; an empty variable counts as unset. A secret may
instead come from the file named by `<NAME>_FILE` (setting both is an error) or, when both are
unset, from the systemd credential `$CREDENTIALS_DIRECTORY/<NAME>` (LoadCredential=), which
also wins over the TOML file. Values are not checked here (`checks` does that); a secret's raw
text never reaches a message. Problems are appended to `problems`, one per key.
"""

from __future__ import annotations

import errno
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from reconciler.config.schema import SECTIONS, SETTINGS, Setting
from reconciler.errors import ConfigError

ReadFile = Callable[[Path], str]


class Source(StrEnum):
    """Where a value was found."""

    DEFAULT = "default"
    FILE = "file"  # the TOML configuration file
    ENVIRONMENT = "environment"
    SECRET_FILE = "secret file"  # <NAME>_FILE  # noqa: S105 (a name)
    CREDENTIAL = "credential"  # $CREDENTIALS_DIRECTORY/<NAME>


@dataclass(frozen=True, slots=True)
class Raw:
    """A value as found, before it is checked, and where it was found."""

    value: object
    source: Source


def read_text(path: Path) -> str:
    """The text of a file.

    Raises OSError when it cannot be read, or is not UTF-8 text (strerror says so, so every
    caller's "cannot read X: <strerror>" message covers it).
    """
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise OSError(errno.EILSEQ, f"not UTF-8 text (byte {exc.start})", str(path)) from exc


def read_toml(path: Path, read_file: ReadFile = read_text) -> dict[str, Any]:
    """A parsed TOML file. Raises ConfigError ("cannot read: ...", "not valid TOML: ...")."""
    try:
        return tomllib.loads(read_file(path))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from exc


def credential(env: Mapping[str, str], name: str, read_file: ReadFile,
               problems: list[str]) -> str | None:
    """The systemd credential `name` when $CREDENTIALS_DIRECTORY holds it, else None."""
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not folder:
        return None
    try:
        return read_file(Path(folder) / name).rstrip("\r\n") or None
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.append(f"{name}: cannot read credential $CREDENTIALS_DIRECTORY/{name}: "
                        f"{exc.strerror}")
        return None


def unknown_keys(doc: Mapping[str, Any]) -> list[str]:
    """One problem per unknown section or key of the TOML document (`games` is checked by
    `games`), and per section that is not a table."""
    problems = [f"{name}: unknown section in the configuration file"
                for name in sorted(set(doc) - SECTIONS - {"games"})]
    for section in sorted(SECTIONS):
        table = doc.get(section, {})
        if not isinstance(table, dict):
            problems.append(f"{section}: must be a table")
            continue
        known = {s.key for s in SETTINGS if s.section == section}
        problems.extend(f"{section}.{k}: unknown key" for k in sorted(set(table) - known))
    return problems


_REFUSED = Raw(None, Source.SECRET_FILE)  # a problem already named: no value, no default


def _found(s: Setting, doc: Mapping[str, Any], env: Mapping[str, str], read_file: ReadFile,
           problems: list[str]) -> Raw | None:
    """The value of `s` from the highest source that has one, or None. `_REFUSED` when
    both `<NAME>` and `<NAME>_FILE` are set or that file cannot be read (a problem is
    appended); an unreadable credential is a problem too, and the search goes on."""
    file_var = f"{s.env}_FILE"
    if s.is_secret and env.get(file_var):
        if env.get(s.env):
            problems.append(f"{s.env}: set either {s.env} or {file_var}, not both")
            return _REFUSED
        try:
            return Raw(read_file(Path(env[file_var])).rstrip("\r\n"), Source.SECRET_FILE)
        except OSError as exc:
            problems.append(f"{file_var}: cannot read {env[file_var]}: {exc.strerror}")
            return _REFUSED
    if env.get(s.env):
        return Raw(env[s.env], Source.ENVIRONMENT)
    if s.is_secret:
        value = credential(env, s.env, read_file, problems)
        if value is not None:
            return Raw(value, Source.CREDENTIAL)
    section = doc.get(s.section, {})
    value = section.get(s.key) if isinstance(section, dict) else None
    return None if value is None or value == "" else Raw(value, Source.FILE)


def raw_values(doc: Mapping[str, Any], env: Mapping[str, str], read_file: ReadFile,
               problems: list[str], settings: Iterable[Setting] = SETTINGS) -> dict[str, Raw]:
    """Every setting (of `settings`) found or defaulted, by environment name; a required
    setting found nowhere is a problem ("is required"), an optional one is left out."""
    values: dict[str, Raw] = {}
    for s in settings:
        raw = _found(s, doc, env, read_file, problems)
        if raw is _REFUSED:
            continue
        if raw is not None and raw.value == "" and raw.source is Source.SECRET_FILE:
            problems.append(f"{s.env}_FILE: {env[f'{s.env}_FILE']} is empty")
            continue
        if raw is None and s.required and s.default is None:
            problems.append(f"{s.name}: is required")
            continue
        if raw is None and s.default is not None:
            raw = Raw(s.default, Source.DEFAULT)
        if raw is not None:
            values[s.env] = raw
    return values


def env_secret(env: Mapping[str, str], name: str, read_file: ReadFile,
               problems: list[str]) -> str | None:
    """The value of the environment variable `name`, or of the credential of that name
    (a `[[games]]` entry's `*_env`), or None when neither is set."""
    return env.get(name) or credential(env, name, read_file, problems)
