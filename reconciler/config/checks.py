"""Checks: one raw value of one setting becomes a typed value, or one problem naming the key.

Rules: a message reads `section.key / ENV_NAME: what is wrong` and never shows a secret's
value (a secret's problem comes from `core.secret_floor.weakness`, which names only the rule
broken); a secret is a `Secret` from the moment it passes. Pure: no I/O (a crontab expression
is parsed by APScheduler, nothing more).
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from reconciler.config.schema import Kind, Setting
from reconciler.core.jsontext import is_number
from reconciler.core.secret_floor import weakness
from reconciler.secret import Secret

FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _number(s: Setting, value: object) -> tuple[object, str | None]:
    text = str(value).strip()
    if s.kind is Kind.INT:
        if isinstance(value, bool) or not is_number(text) or int(text) <= 0:
            return None, f"must be a positive integer, got {text!r}"
        return int(text), None
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if isinstance(value, bool) or not number > 0:
        return None, f"must be a positive number, got {value!r}"
    return number, None


def _flag(value: object) -> tuple[object, str | None]:
    if isinstance(value, bool):
        return value, None
    if str(value).strip().lower() in FLAGS:
        return FLAGS[str(value).strip().lower()], None
    return None, f"must be true or false, got {value!r}"


def _cron(value: object) -> tuple[object, str | None]:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(str(value))
    except ValueError as exc:
        return None, f"not a crontab expression ({exc})"
    return str(value), None


def _choice(s: Setting, value: object) -> tuple[object, str | None]:
    members = tuple(s.choices)
    if value not in members:
        return None, f"must be one of {', '.join(members)}, got {value!r}"
    if isinstance(s.choices, type) and issubclass(s.choices, StrEnum):
        return s.choices(value), None
    return str(value), None


def _text(s: Setting, text: str) -> tuple[object, str | None]:
    """A non-empty string of kind url, urlpath, secret, path or str (already stripped)."""
    if s.kind is Kind.URL:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None, f"must be an http(s) URL with a host, got {text!r}"
        return text.rstrip("/"), None
    if s.kind is Kind.URLPATH and (not text.startswith("/") or any(
            c.isspace() or c in "?#" for c in text)):
        return None, f"must be a URL path starting with '/', got {text!r}"
    if s.kind is Kind.SECRET:
        problem = weakness(s.floor, text) if s.floor is not None else None
        return (None, problem) if problem is not None else (Secret(text), None)
    if s.kind is Kind.STR and any(c.isspace() for c in text):
        return None, "must not contain white space"
    return text, None


def check(s: Setting, value: object, problems: list[str]) -> object | None:
    """`value` checked and typed for `s` (int, float, bool, a StrEnum member, a Secret, a
    string); None, with a problem appended, when it does not pass."""
    if s.kind in (Kind.INT, Kind.FLOAT):
        typed, problem = _number(s, value)
    elif s.kind is Kind.BOOL:
        typed, problem = _flag(value)
    elif s.kind is Kind.CRON:
        typed, problem = _cron(value)
    elif s.kind is Kind.CHOICE:
        typed, problem = _choice(s, value)
    elif not isinstance(value, str) or not value.strip():
        typed, problem = None, "must be a non-empty string"
    else:
        typed, problem = _text(s, value.strip())
    if problem is not None:
        problems.append(f"{s.name}: {problem}")
        return None
    return typed
