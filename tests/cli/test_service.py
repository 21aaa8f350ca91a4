"""`reconciler config`: every setting shown, secrets masked, problems named."""

from pathlib import Path

import pytest

from tests.cli.conftest import run


def test_config_command_masks_secrets(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "c.toml"
    catalog.write_text('[products."1"]\ncurrency = [{ code = "G", amount = 1 }]\n')
    for name, value in {
        "JOGOS_GAME_ID": "9943", "JOGOS_SHARED_KEY": "very-private-shared-1",
        "PGOS_CLI_URL": "http://127.0.0.1:1", "PGOS_TITLE_ID": "5",
        "PGOS_TITLE_REGION_ID": "d_5_123", "PGOS_SERVER_KEY": "LTRN-Q7WZ-K2PA-9MDX-R4TB",
        "RECONCILER_CATALOG": str(catalog),
    }.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(capsys, "config")
    assert code == 0, err
    assert "very-private-shared-1" not in out and "Q7WZ" not in out
    assert "LTRN-**********" in out
    monkeypatch.setenv("JOGOS_GAME_ID", "abc")
    code, out, err = run(capsys, "config")
    assert code == 1 and "JOGOS_GAME_ID" in err


def test_config_command_shows_every_game(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Games are symmetric: the `[[games]]` ones are printed like the environment's."""
    catalog = tmp_path / "c.toml"
    catalog.write_text('[products."1"]\ncurrency = [{ code = "G", amount = 1 }]\n')
    file = tmp_path / "reconciler.toml"
    file.write_text('[[games]]\ngame_id = 1220\nshared_key_env = "KEY_1220"\n'
                    'catalog = "c.toml"\n')
    for name, value in {
        "JOGOS_GAME_ID": "9943", "JOGOS_SHARED_KEY": "very-private-shared-1",
        "KEY_1220": "other-private-shared-2", "PGOS_CLI_URL": "http://127.0.0.1:1",
        "PGOS_TITLE_ID": "5", "PGOS_TITLE_REGION_ID": "d_5_123",
        "PGOS_SERVER_KEY": "LTRN-Q7WZ-K2PA-9MDX-R4TB", "RECONCILER_CATALOG": str(catalog),
    }.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(capsys, "--config", str(file), "config")
    assert code == 0, err
    ids = [line.split()[1] for line in out.splitlines() if line.startswith("jogos.game_id")]
    assert ids == ["9943", "1220"]
    assert out.count("catalog.path") == 2
    assert "very-private-shared-1" not in out and "other-private-shared-2" not in out
