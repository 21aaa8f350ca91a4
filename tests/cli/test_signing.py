"""`reconciler sign`: the headers of each scheme, against the specs' examples; clear errors."""

from pathlib import Path

import pytest

from reconciler.auth import pgos
from tests.cli.conftest import headers, run

SERVER = "LTRN-NANI-D3TK-YQBM-MOUX"


def test_sign_jogos(capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.auth import jogos

    code, out, _ = run(capsys, "sign", "jogos", "--body", '{"gameId":9943}', "--secret", "k")
    assert code == 0
    assert headers(out) == {"Authorization": jogos.sign(b'{"gameId":9943}', "k")}


def test_sign_jogos_body_file_exact_bytes(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'{"gameId": 9943}\n')
    from reconciler.auth import jogos

    _, out, _ = run(capsys, "sign", "jogos", "--body-file", str(body), "--secret", "k")
    assert headers(out)["Authorization"] == jogos.sign(b'{"gameId": 9943}\n', "k")


def test_sign_pgos_ticket_cli_form(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "sign", "pgos-ticket", "--cli", "--title-id", "5",
                    "--title-region-id", "cngz_5_478_test", "--secret", SERVER,
                    "--timestamp", "1600531200")
    got = headers(out)
    claims = pgos.decrypt_ticket(pgos.split_server_key(SERVER), got["ServerTicket"])
    assert claims == pgos.TicketClaims("cngz_5_478_test", "LTRN", 1600531200, "5")
    assert got["SecretID"] == "LTRN"
    assert "NANI" not in out


def test_sign_pgos_title(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "sign", "pgos-title", "--title-id", "5", "--secret", SERVER,
                    "--timestamp", "1719386647")
    assert headers(out)["Signature"] == pgos.title_signature(
        title_id="5", key=pgos.split_server_key(SERVER), timestamp_s=1719386647
    )


def test_sign_s2s_hmac_spec_example(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("FUg7pODYd+z48OlcaMlTddUQDaH8CABxoOC7Q5EIxGM=\n")
    _, out, _ = run(capsys, "sign", "s2s-hmac", "--client-id", "asia-platform-1",
                    "--timestamp", "1772532662", "--nonce", "8f3c9a1e7b", "--path", "/api/example",
                    "--secret-file", str(secret))
    assert headers(out) == {
        "yac-client-id": "asia-platform-1",
        "yac-timestamp": "1772532662",
        "yac-nonce": "8f3c9a1e7b",
        "authorization": "HMAC-SHA256 kSVTmTq9QvJHa786VCkzjBmMpQ4WFk7qTupR8SBPOKo=",
    }


def test_sign_s2s_ecdsa_basic_apikey(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.auth.test_s2s import PRIVATE_PEM

    key = tmp_path / "private.pem"
    key.write_text(PRIVATE_PEM)
    _, out, _ = run(capsys, "sign", "s2s-ecdsa", "--client-id", "c", "--secret-file", str(key))
    assert headers(out)["authorization"].startswith("ECDSA-SHA256 ")
    _, out, _ = run(capsys, "sign", "s2s-basic", "--client-id", "c", "--secret", "s")
    assert headers(out)["authorization"] == "Basic Yzpz"
    _, out, _ = run(capsys, "sign", "s2s-api-key", "--client-id", "c", "--secret", "abc")
    assert headers(out)["api-key"] == "abc"


def test_sign_signed_headers_spec_example(capsys: pytest.CaptureFixture[str]) -> None:
    params = ["platformId=1", "version=2.0.0", "appId=TDh15qYay3x0sARo",
              "timestamp=1656653400000", "aid=wIfu6jaF", "uid=782622",
              "token=uoX1hk6SHUgB2MFGJwNx38dem9DA7Vsz"]
    argv = ["sign", "signed-headers", "--secret", "qUiEaDNQh2IpvGHOKlTMx7ujn8t1CZWX"]
    for p in params:
        argv += ["--param", p]
    _, out, _ = run(capsys, *argv)
    assert headers(out)["sign"] == "3443b2e74710a1293e4250c930e18c8f"


def test_sign_missing_key_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "sign", "jogos", "--body", "{}")
    assert exit_info.value.code == 2
    assert "--secret" in capsys.readouterr().err


def test_each_scheme_shows_only_its_own_flags() -> None:
    import contextlib
    import io

    from reconciler.cli import build_parser

    for scheme, absent in (("s2s-hmac", "--title-id"), ("jogos", "--client-id"),
                           ("pgos-title", "--body"), ("s2s-basic", "--path")):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            build_parser().parse_args(["sign", scheme, "--help"])
        assert absent not in out.getvalue()
        assert "--secret-file" in out.getvalue()
