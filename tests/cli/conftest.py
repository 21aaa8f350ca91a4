"""Helpers of the command-line tests: run `main` in-process and read what it printed."""

from pathlib import Path

import pytest

from reconciler.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def headers(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def configure_one_game(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """A valid one-game configuration in the environment (remote systems unreachable, a
    one-product catalog and the ledger in `folder`); returns the ledger's path."""
    catalog = folder / "c.toml"
    catalog.write_text('[products."1"]\ncurrency = [{ code = "G", amount = 1 }]\n')
    for name, value in {
        "JOGOS_GAME_ID": "9943", "JOGOS_SHARED_KEY": "very-private-shared-1",
        "PGOS_CLI_URL": "http://127.0.0.1:1", "PGOS_TITLE_ID": "5",
        "PGOS_TITLE_REGION_ID": "d_5_123", "PGOS_SERVER_KEY": "LTRN-Q7WZ-K2PA-9MDX-R4TB",
        "RECONCILER_CATALOG": str(catalog), "RECONCILER_DB": str(folder / "ledger.db"),
    }.items():
        monkeypatch.setenv(name, value)
    return folder / "ledger.db"
