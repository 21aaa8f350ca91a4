"""`reconciler config`: every setting shown, secrets masked, problems named."""

import json
from pathlib import Path

import pytest

from tests.cli.conftest import configure_one_game, run


def test_config_command_masks_secrets(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    configure_one_game(monkeypatch, tmp_path)
    code, out, err = run(capsys, "config")
    assert code == 0, err
    assert "very-private-shared-1" not in out and "Q7WZ" not in out
    assert "LTRN-**********" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.startswith("  ")}
    assert rows["game_id"] == ["9943", "environment", "JOGOS_GAME_ID"]
    assert rows["base_url"][1:] == ["default", "JOGOS_BASE_URL"]
    assert rows["listen"][:2] == ["127.0.0.1:8080", "default"]  # daemon settings too
    assert rows["client_id"][:2] == ["-", "unset"]  # ops
    assert rows["target"][:2] == ["pgos", "default"]  # fulfilment
    code, out, err = run(capsys, "config", "--format", "json")
    doc = json.loads(out)
    shown = {(r["section"], r["key"]): r for r in doc["settings"]}
    assert shown[("jogos", "shared_key")]["value"] == "**********"
    assert shown[("jogos", "shared_key")]["source"] == "environment"
    assert shown[("engine", "page_size")] == {"section": "engine", "key": "page_size",
                                              "value": 100, "source": "default",
                                              "origin": "RECONCILER_PAGE_SIZE"}
    key_file = tmp_path / "shared.key"
    key_file.write_text("from-a-file-shared-3\n")
    monkeypatch.delenv("JOGOS_SHARED_KEY")
    monkeypatch.setenv("JOGOS_SHARED_KEY_FILE", str(key_file))
    code, out, err = run(capsys, "config", "--format", "json")
    shown = {(r["section"], r["key"]): r for r in json.loads(out)["settings"]}
    assert shown[("jogos", "shared_key")]["source"] == "secret file"
    assert shown[("jogos", "shared_key")]["origin"] == str(key_file)
    assert "from-a-file" not in out
    monkeypatch.setenv("RECONCILER_LISTEN", "abc")
    code, out, err = run(capsys, "config")
    assert code == 1 and "RECONCILER_LISTEN" in err
    monkeypatch.delenv("RECONCILER_LISTEN")
    (tmp_path / "ops.pem").write_text("not a key")
    monkeypatch.setenv("OPS_CLIENT_ID", "ops")
    monkeypatch.setenv("OPS_ECDSA_PUBLIC_KEY", str(tmp_path / "ops.pem"))
    code, out, err = run(capsys, "config")
    assert code == 1 and "OPS_ECDSA_PUBLIC_KEY" in err  # what `run` would refuse
    monkeypatch.delenv("OPS_CLIENT_ID")
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
    monkeypatch.setenv("RECONCILER_DB", str(tmp_path / "ledger.db"))
    code, out, err = run(capsys, "--config", str(file), "config")
    assert code == 0, err
    ids = [line.split()[1] for line in out.splitlines() if line.startswith("  game_id")]
    assert ids == ["9943", "1220"]
    assert "[[games]] games[0]" in out
    secret = next(line for line in out.splitlines() if line.startswith("  shared_key") and
                  "KEY_1220" in line)
    assert secret.split()[1:] == ["**********", "environment", "KEY_1220"]
    assert out.count("  products") == 2
    assert "very-private-shared-1" not in out and "other-private-shared-2" not in out
