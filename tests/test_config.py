"""Configuration: TOML plus environment, every problem named, secrets never shown."""

import re
from pathlib import Path

import pytest

from reconciler.config import build_config, load_config
from reconciler.errors import ConfigError
from reconciler.secret import Secret

SHARED = "jogos-shared-key-value-123"
SERVER = "LTRN-Q7WZ-K2PA-9MDX-R4TB"


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text('[products."1002"]\nitems = [{ item_id = "gem", amount = 1 }]\n')
    return path


def env_for(catalog: Path, **over: str) -> dict[str, str]:
    env = {
        "JOGOS_GAME_ID": "9943",
        "JOGOS_SHARED_KEY": SHARED,
        "PGOS_CLI_URL": "https://cngz.pgos.intlgame.cn",
        "PGOS_TITLE_ID": "5",
        "PGOS_TITLE_REGION_ID": "cngz_5_478_test",
        "PGOS_SERVER_KEY": SERVER,
        "RECONCILER_CATALOG": str(catalog),
    }
    env.update(over)
    return env


def test_environment_only(catalog_file: Path) -> None:
    config = build_config({}, env_for(catalog_file))
    assert config.games[0].jogos.base_url == "https://api.jogos.com"
    assert config.games[0].jogos.game_id == 9943
    assert config.games[0].jogos.shared_key == Secret(SHARED)
    assert config.games[0].pgos.backend_url == "https://cngz.server.pgos.intlgame.cn"
    assert config.games[0].pgos.key.secret_id == "LTRN"
    assert config.db_path == Path("state/ledger.db")
    assert len(config.games[0].catalog) == 1


def test_environment_wins_over_file(catalog_file: Path, tmp_path: Path) -> None:
    file = tmp_path / "reconciler.toml"
    file.write_text(
        '[jogos]\nbase_url = "https://api.jogospre.com"\ngame_id = 1\n'
        '[pgos]\nbackend_url = "http://127.0.0.1:9/"\n'
    )
    config = load_config(file, env_for(catalog_file))
    assert config.games[0].jogos.game_id == 9943
    assert config.games[0].jogos.base_url == "https://api.jogospre.com"
    assert config.games[0].pgos.backend_url == "http://127.0.0.1:9"


def test_relative_catalog_in_file_is_beside_the_file(tmp_path: Path, catalog_file: Path) -> None:
    file = tmp_path / "reconciler.toml"
    file.write_text('[catalog]\npath = "catalog.toml"\n')
    env = env_for(catalog_file)
    del env["RECONCILER_CATALOG"]
    assert load_config(file, env).games[0].catalog_path == catalog_file


def test_secret_from_file(catalog_file: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "shared"
    secret_file.write_text(SHARED + "\n")
    env = env_for(catalog_file, JOGOS_SHARED_KEY_FILE=str(secret_file))
    del env["JOGOS_SHARED_KEY"]
    assert build_config({}, env).games[0].jogos.shared_key.reveal() == SHARED


def test_secret_and_file_both_set_is_an_error(catalog_file: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "shared"
    secret_file.write_text(SHARED)
    with pytest.raises(ConfigError) as info:
        build_config({}, env_for(catalog_file, JOGOS_SHARED_KEY_FILE=str(secret_file)))
    assert "not both" in str(info.value)


def test_every_problem_named_and_no_secret_shown(tmp_path: Path) -> None:
    env = env_for(
        tmp_path / "missing.toml",
        JOGOS_GAME_ID="ninety",
        PGOS_SERVER_KEY="NODASHSECRETVALUE",
        PGOS_CLI_URL="ftp://x",
        PGOS_TITLE_REGION_ID="has space",
        PGOS_SERVER_KEY_FILE=str(tmp_path / "nope"),
    )
    del env["PGOS_SERVER_KEY"]
    del env["JOGOS_SHARED_KEY"]
    with pytest.raises(ConfigError) as info:
        build_config({"jogos": {"colour": 1}, "extra": {}}, env)
    problems = info.value.problems
    text = "\n".join(problems)
    for fragment in (
        "JOGOS_GAME_ID: must be a positive integer",
        "JOGOS_SHARED_KEY: is required",
        "PGOS_CLI_URL: must be an http(s) URL",
        "PGOS_TITLE_REGION_ID: must not contain white space",
        "PGOS_SERVER_KEY_FILE: cannot read",
        "RECONCILER_CATALOG",
        "jogos.colour: unknown key",
        "extra: unknown section",
    ):
        assert fragment in text, (fragment, problems)


def test_server_key_without_dash(catalog_file: Path) -> None:
    secret = "NODASHSECRETVALUE1234"
    with pytest.raises(ConfigError) as info:
        build_config({}, env_for(catalog_file, PGOS_SERVER_KEY=secret))
    assert "PGOS_SERVER_KEY" in str(info.value)
    assert secret not in str(info.value)


def test_unreadable_and_invalid_catalog(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[products."1"]\nitems = [{ item_id = "a", amount = 0 }]\n')
    with pytest.raises(ConfigError) as info:
        build_config({}, env_for(bad))
    assert "positive integer" in str(info.value)
    bad.write_text("this is = = not toml")
    with pytest.raises(ConfigError) as info:
        build_config({}, env_for(bad))
    assert "not valid TOML" in str(info.value)


def test_secrets_never_in_repr(catalog_file: Path) -> None:
    config = build_config({}, env_for(catalog_file))
    for text in (repr(config), str(config), f"{config}", repr(config.games[0].pgos.key)):
        assert SHARED not in text
        assert "NANI-D3TK" not in text
    assert set(config.secrets()) == {SHARED, SERVER}


def test_secret_type() -> None:
    secret = Secret("abc")
    assert "abc" not in repr(secret) + str(secret) + f"{secret:>20}"
    assert secret == Secret("abc") and secret != Secret("abd")
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_more_games_from_toml(catalog_file: Path, tmp_path: Path) -> None:
    file = tmp_path / "reconciler.toml"
    file.write_text(
        '[[games]]\ngame_id = 1220\nshared_key_env = "KEY_1220"\ncatalog = "catalog.toml"\n'
        '[[games]]\ngame_id = 77\nshared_key_file = "k77"\ncatalog = "catalog.toml"\n'
        'pgos_title_region_id = "cngz_5_999_test"\npgos_server_key_env = "PGOS_77"\n'
    )
    (tmp_path / "catalog.toml").write_text(catalog_file.read_text())
    (tmp_path / "k77").write_text("seventy-seven-key-0077\n")
    env = env_for(catalog_file, KEY_1220="twelve-twenty-key-1220",
                  PGOS_77="ABCD-EFGH-IJKL-MNOP-QRST")
    config = load_config(file, env | {"RECONCILER_CONFIG": ""})
    assert [g.jogos.game_id for g in config.games] == [9943, 1220, 77]
    second, third = config.games[1], config.games[2]
    assert second.jogos.shared_key.reveal() == "twelve-twenty-key-1220"
    assert second.pgos == config.games[0].pgos
    assert third.jogos.shared_key.reveal() == "seventy-seven-key-0077"
    assert third.pgos is not None and third.pgos.title_region_id == "cngz_5_999_test"
    assert third.pgos.key.secret_id == "ABCD"
    assert config.game(77) is third and config.game(5) is None
    assert "twelve-twenty-key-1220" in config.secrets()
    assert "twelve-twenty-key-1220" not in repr(config)


def test_more_games_problems(catalog_file: Path, tmp_path: Path) -> None:
    file = tmp_path / "reconciler.toml"
    file.write_text(
        '[[games]]\ngame_id = 9943\nshared_key_env = "K"\ncatalog = "c.toml"\n'
        '[[games]]\ngame_id = "x"\n'
        '[[games]]\ngame_id = 5\nshared_key_env = "UNSET"\ncatalog = "c.toml"\ncolour = 1\n'
    )
    (tmp_path / "c.toml").write_text(catalog_file.read_text())
    with pytest.raises(ConfigError) as info:
        load_config(file, env_for(catalog_file, K="a-long-enough-key-k1"))
    text = "\n".join(info.value.problems)
    for fragment in ("configured twice", "games[1].game_id", "UNSET is not set",
                     "games[2].colour: unknown key"):
        assert fragment in text, (fragment, text)


def test_public_key_cache_settings(catalog_file: Path) -> None:
    daemon = build_config({}, env_for(catalog_file)).daemon
    assert (daemon.public_key_ttl_s, daemon.public_key_min_refetch_s) == (300, 30)
    daemon = build_config({"daemon": {"public_key_ttl_s": 120}},
                          env_for(catalog_file, JOGOS_PUBLIC_KEY_MIN_REFETCH_S="10")).daemon
    assert (daemon.public_key_ttl_s, daemon.public_key_min_refetch_s) == (120, 10)
    with pytest.raises(ConfigError) as info:
        build_config({}, env_for(catalog_file, JOGOS_PUBLIC_KEY_TTL_S="20",
                                 JOGOS_PUBLIC_KEY_MIN_REFETCH_S="0"))
    assert "JOGOS_PUBLIC_KEY_MIN_REFETCH_S: must be a positive integer" in str(info.value)
    with pytest.raises(ConfigError) as info:
        build_config({}, env_for(catalog_file, JOGOS_PUBLIC_KEY_TTL_S="20",
                                 JOGOS_PUBLIC_KEY_MIN_REFETCH_S="30"))
    assert "must not exceed daemon.public_key_ttl_s" in str(info.value)


def test_the_shipped_example_env_file_is_refused(catalog_file: Path) -> None:
    """The red team's finding: deploy/reconciler.env.example's placeholders ran a daemon."""
    example = Path(__file__).resolve().parent.parent / "deploy" / "reconciler.env.example"
    env = {}
    for line in example.read_text().splitlines():
        line = re.sub(r"^#(?=[A-Z_]+=)", "", line)  # the secrets' lines are examples, commented
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name] = value.split("#")[0].strip()
    env["RECONCILER_CATALOG"] = str(catalog_file)
    assert env["JOGOS_SHARED_KEY"] and env.get("OPS_HMAC_SECRET")
    with pytest.raises(ConfigError) as info:
        build_config({}, env)
    text = "\n".join(info.value.problems)
    for name in ("JOGOS_SHARED_KEY", "PGOS_SERVER_KEY", "OPS_HMAC_SECRET"):
        assert f"{name}: is a placeholder" in text, text
        assert env[name] not in text


@pytest.mark.parametrize(("name", "value", "why"), [
    ("JOGOS_SHARED_KEY", "short-key", "shorter than 16"),
    ("JOGOS_SHARED_KEY", "aaaaaaaaaaaaaaaaaaaaaaaa", "distinct"),
    ("JOGOS_SHARED_KEY", "my-changeme-key-0123456", "placeholder"),
    ("PGOS_SERVER_KEY", "LTRN-ABCD-XXXX-EFGH-IJKL", "placeholder"),
    ("PGOS_SERVER_KEY", "LTRN-ABCD-ABCD-ABCD-ABCD", "repeats"),
    ("PGOS_SERVER_KEY", "LTRN-ABCDEFGH-IJKLMNOP", "shape"),
    ("OPS_HMAC_SECRET", "not base64 at all!! 0123456789", "Base64"),
    ("OPS_API_KEY", "0123456789abcdef", "22 to 36 hex"),
    ("OPS_API_KEY", "zz23456789abcdef0123456789", "22 to 36 hex"),
])
def test_weak_secrets_are_refused(catalog_file: Path, name: str, value: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config({}, env_for(catalog_file, OPS_CLIENT_ID="ops", **{name: value}))
    text = "\n".join(info.value.problems)
    assert name in text and why in text and value not in text


def test_strong_secrets_pass(catalog_file: Path) -> None:
    config = build_config({}, env_for(
        catalog_file, OPS_CLIENT_ID="ops", OPS_API_KEY="590746ceb2a7b943ab12e3bdcc0105c3",
        OPS_HMAC_SECRET="FUg7pODYd+z48OlcaMlTddUQDaH8CABxoOC7Q5EIxGN="))
    assert config.daemon.ops_client is not None


def test_secrets_from_systemd_credentials(catalog_file: Path, tmp_path: Path) -> None:
    """LoadCredential= puts each secret in $CREDENTIALS_DIRECTORY under its variable's name;
    the variable or its _FILE, when set, still wins."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "JOGOS_SHARED_KEY").write_text("credential-shared-key-456\n")
    (creds / "PGOS_SERVER_KEY").write_text(SERVER)
    (creds / "KEY_1220").write_text("second-game-credential-789")
    env = env_for(catalog_file, CREDENTIALS_DIRECTORY=str(creds))
    del env["JOGOS_SHARED_KEY"], env["PGOS_SERVER_KEY"]
    doc = {"games": [{"game_id": 1220, "shared_key_env": "KEY_1220",
                      "catalog": str(catalog_file)}]}
    config = build_config(doc, env)
    assert config.games[0].jogos.shared_key == Secret("credential-shared-key-456")
    assert config.games[0].pgos is not None and config.games[0].pgos.key.secret_id == "LTRN"
    assert config.games[1].jogos.shared_key == Secret("second-game-credential-789")
    overridden = build_config({}, env | {"JOGOS_SHARED_KEY": SHARED})
    assert overridden.games[0].jogos.shared_key == Secret(SHARED)
    with pytest.raises(ConfigError) as missing:
        build_config({}, {k: v for k, v in env.items() if k != "CREDENTIALS_DIRECTORY"})
    assert "JOGOS_SHARED_KEY: is required" in str(missing.value)
    assert "credential-shared-key-456" not in str(missing.value)


def test_query_api_key_and_relink_are_off_unless_enabled(catalog_file: Path) -> None:
    daemon = build_config({}, env_for(catalog_file)).daemon
    assert (daemon.allow_query_api_key, daemon.link_allow_relink) == (False, False)
    on = build_config({"daemon": {"link_allow_relink": True}},
                      env_for(catalog_file, OPS_ALLOW_QUERY_API_KEY="true")).daemon
    assert (on.allow_query_api_key, on.link_allow_relink) == (True, True)
    with pytest.raises(ConfigError) as bad:
        build_config({}, env_for(catalog_file, RECONCILER_LINK_ALLOW_RELINK="maybe"))
    assert "RECONCILER_LINK_ALLOW_RELINK: must be true or false" in str(bad.value)
