"""Files only the service's own user may read: the ledger (with its -wal and -shm) and reports.

Rules: such a file is created with mode 0600 whatever the umask; a file found with any group or
other permission bit is tightened to 0600 and one warning names its path and old mode (never its
content). A leaf: imports nothing of reconciler but its errors.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from reconciler.errors import ConfigError

log = logging.getLogger(__name__)
PRIVATE_MODE = 0o600


def tighten(path: Path) -> bool:
    """Make an existing `path` 0600 if it allows more; True when it was changed.

    A missing file is left missing (False). Raises ConfigError when the mode cannot be read or
    changed (e.g. the file belongs to another user).
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077 == 0:
            return False
        os.chmod(path, PRIVATE_MODE)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ConfigError(f"{path}: cannot make it private (0600): {exc.strerror}") from exc
    log.warning("%s was readable by others (mode %04o); tightened to 0600", path, mode)
    return True


def create_private(path: Path) -> None:
    """Create `path` (and its folder) with mode 0600, or tighten it if it exists.

    Raises ConfigError when the folder or the file cannot be created or tightened.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create: {exc.strerror}") from exc
    tighten(path)


def write_private(path: Path, text: str) -> None:
    """Replace the content of `path` with `text` (UTF-8), the file being 0600.

    The mode is fixed before the first byte is written. Raises ConfigError when the file
    cannot be created, tightened or written.
    """
    create_private(path)
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from exc
