"""deploy/ for several daemons on one PostgreSQL ledger: the unit template verifies and scores
like the single unit, its secrets (the ledger's password among them) are credentials the
configuration reads, and the connection settings carry no password."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from reconciler.config import SETTINGS
from tests.test_deploy import ANALYZE, DEPLOY, MAX_EXPOSURE, active_lines, needs_analyze

TEMPLATE = "reconciler@.service"


@needs_analyze
def test_the_template_scores_at_most_2_and_verifies(tmp_path: Path) -> None:
    assert ANALYZE is not None
    run = subprocess.run([ANALYZE, "security", "--offline=true", str(DEPLOY / TEMPLATE)],
                         capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", run.stdout)
    assert found is not None and float(found.group(1)) <= MAX_EXPOSURE, run.stdout[-2000:]
    root = tmp_path / "root"
    system_units = next(p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
                        if p.is_dir())
    shutil.copytree(system_units, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for file in DEPLOY.glob("reconciler*.service"):
        shutil.copy(file, root / "etc/systemd/system" / file.name)
    exe = root / "opt/reconciler/.venv/bin/reconciler"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    run = subprocess.run([ANALYZE, "verify", "--man=no", f"--root={root}",
                          "reconciler@1.service", "reconciler@2.service"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert (run.returncode, run.stdout + run.stderr) == (0, "")


def test_template_secrets_are_credentials_and_the_url_has_no_password() -> None:
    secrets = {s.env for s in SETTINGS if s.kind == "secret"}
    names = [line.split("=", 1)[1].split(":")[0] for line in active_lines(TEMPLATE)
             if line.startswith("LoadCredential=")]
    assert "RECONCILER_DB_PASSWORD" in names and set(names) <= secrets
    settings = dict(line.split("=", 1) for line in active_lines("postgres.env.example"))
    url = urlsplit(settings["RECONCILER_DB"])
    assert url.scheme == "postgresql" and url.password is None
    assert not secrets & set(settings)
    assert not any(line.startswith("Environment=RECONCILER_DB") for line in
                   active_lines(TEMPLATE))  # the ledger is the shared one, not a file


@pytest.mark.parametrize("name", ["postgres.env.example", "instance-1.env.example"])
def test_env_files_name_known_settings(name: str) -> None:
    known = {s.env for s in SETTINGS}
    assert {line.split("=", 1)[0] for line in active_lines(name)} <= known
