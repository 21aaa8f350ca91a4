"""systemd's notify protocol: READY=1, WATCHDOG=1, STOPPING=1 over $NOTIFY_SOCKET.

Rules: without NOTIFY_SOCKET every call is a no-op; a failure to notify is logged, never
raised (the service must not die because systemd is not listening).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("reconciler.systemd")


def notify(message: str, env: dict[str, str] | None = None) -> bool:
    """Send `message` (e.g. "READY=1") to systemd; True when it was sent."""
    path = (env if env is not None else os.environ).get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("systemd notify failed: %s", exc.strerror)
        return False
    return True


def watchdog_interval_s(env: dict[str, str] | None = None) -> float | None:
    """Half the watchdog timeout systemd asked for (WATCHDOG_USEC), or None."""
    env = env if env is not None else dict(os.environ)
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID")
    if not (usec.isascii() and usec.isdigit()) or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000
