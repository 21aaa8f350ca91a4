"""The files in deploy/ work as written: the units pass `systemd-analyze verify` and score at
most 2.0 on `systemd-analyze security`; secrets arrive as credentials the configuration reads;
one morning audit is scheduled by default."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.config import SETTINGS

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = ("reconciler.service", "reconciler-audit.service")
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
MAX_EXPOSURE = 2.0


def active_lines(name: str) -> list[str]:
    return [line.strip() for line in (DEPLOY / name).read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(("#", ";"))]


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_security_exposure_at_most_2(unit: str) -> None:
    run = subprocess.run([str(ANALYZE), "security", "--offline=true", str(DEPLOY / unit)],
                         capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", run.stdout)
    assert found is not None, run.stdout[-2000:] + run.stderr[-2000:]
    assert float(found.group(1)) <= MAX_EXPOSURE, run.stdout


@needs_analyze
def test_units_verify_cleanly(tmp_path: Path) -> None:
    """`systemd-analyze verify` on an image of the installed layout: the host's system units,
    ours in /etc/systemd/system, the executables they name. Any message fails the test
    (unknown keys, for one, are only warnings)."""
    root = tmp_path / "root"
    system_units = next(p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
                        if p.is_dir())
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for file in DEPLOY.glob("reconciler*.[st]*"):
        shutil.copy(file, units / file.name)
    for exe in ("opt/reconciler/.venv/bin/reconciler", "bin/echo"):
        (root / exe).parent.mkdir(parents=True, exist_ok=True)
        (root / exe).write_text("#!/bin/sh\n")
        (root / exe).chmod(0o755)
    run = subprocess.run(
        [str(ANALYZE), "verify", "--man=no", f"--root={root}", *UNITS,
         "reconciler-audit.timer", "reconciler-alert@reconciler-audit.service.service"],
        capture_output=True, text=True, timeout=120, check=False)
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


def test_secrets_are_credentials_the_configuration_reads() -> None:
    secrets = {s.env for s in SETTINGS if s.kind == "secret"}
    env_file = [line.partition("=")[0] for line in active_lines("reconciler.env.example")]
    assert not secrets & set(env_file), "a secret in the EnvironmentFile"
    for unit in UNITS:
        names = [line.split("=", 1)[1].split(":")[0] for line in active_lines(unit)
                 if line.startswith("LoadCredential=")]
        assert names and set(names) <= secrets, (unit, names)
        paths = [line.split(":", 1)[1] for line in active_lines(unit)
                 if line.startswith("LoadCredential=")]
        assert all(p.startswith("/etc/reconciler/credentials/") for p in paths)


def test_one_morning_audit_by_default() -> None:
    """The daemon's RECONCILER_AUDIT_CRON is the default; the timer is not installed into a
    target and the crontab's line is commented out, both documented as alternatives."""
    assert not any(line.startswith("WantedBy=") for line in active_lines("reconciler-audit.timer"))
    cron_jobs = [line for line in active_lines("crontab") if not re.match(r"[A-Z_]+=", line)]
    assert cron_jobs == []
    commented = [line for line in (DEPLOY / "crontab").read_text().splitlines()
                 if re.match(r"#\s*[0-9*]", line)]
    assert commented == ["#0 6 * * * root systemctl start reconciler-audit.service"]
    for unit in UNITS:
        assert "OnFailure=reconciler-alert@%n.service" in active_lines(unit)
