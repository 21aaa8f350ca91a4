"""PGOS server key, ServerTicket and title-wide signature."""

import base64
import hashlib

import pytest
from Crypto.Cipher import AES
from Crypto.Util.Padding import pad
from hypothesis import given
from hypothesis import strategies as st

from reconciler.auth import pgos
from reconciler.errors import ConfigError, CredentialMismatch, MalformedCredential, StaleCredential

SPEC_KEY = "LTRN-NANI-D3TK-YQBM-MOUX"


def test_split_server_key_at_first_dash() -> None:
    key = pgos.split_server_key(SPEC_KEY)
    assert key.secret_id == "LTRN"
    assert key.secret_key == "NANI-D3TK-YQBM-MOUX"
    assert key.aes_key == b"NANID3TKYQBMMOUX"
    assert "NANI" not in repr(key)


@pytest.mark.parametrize("bad", ["LTRNNANI", "-NANI-D3TK-YQBM-MOUX", "LTRN-", "LTRN-SHORT"])
def test_split_server_key_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        pgos.split_server_key(bad)


def test_spec_cli_ticket_plaintext_and_cipher() -> None:
    """The CLI spec's example: title 5, region cngz_5_478_test, time 1600531200, written as
    the SDK's GenerateServerTicket writes it (json.dumps default separators)."""
    key = pgos.split_server_key(SPEC_KEY)
    claims = pgos.TicketClaims("cngz_5_478_test", "LTRN", 1600531200, "5")
    assert pgos.ticket_plaintext(claims) == (
        b'{"title_id": "5", "title_region_id": "cngz_5_478_test", "secret_id": "LTRN", '
        b'"time": 1600531200}'
    )
    # Independent computation with the spec's key and IV, straight from pycryptodome.
    expected = base64.b64encode(
        AES.new(b"NANID3TKYQBMMOUX", AES.MODE_CBC, b"$3,.'/&^rgnjkl!#").encrypt(
            pad(pgos.ticket_plaintext(claims), 16)
        )
    ).decode()
    assert pgos.make_ticket(key, claims) == expected
    assert pgos.decrypt_ticket(key, expected) == claims


def test_spec_backend_ticket_example_does_not_decrypt_with_spec_key() -> None:
    """The backend spec's sample Serverticket was not made with the sample key (see README)."""
    key = pgos.split_server_key(SPEC_KEY)
    sample = (
        "O842PzLWMy2pXYwQwAY9ShHzPdj0kZL6TmIyDwd8wdRIxupNhS8Wx4I485lnDS+fU8KqVKX32OV7gstkQ/"
        "ZxZkcSIylWEYAlhKWVJVxhVLs="
    )
    with pytest.raises(MalformedCredential):
        pgos.decrypt_ticket(key, sample)


def test_decrypt_reads_python_sample_form_with_spaces() -> None:
    key = pgos.split_server_key(SPEC_KEY)
    plain = b'{"title_region_id": "d_5_123", "secret_id": "LTRN", "time": 1600531200}'
    ticket = base64.b64encode(
        AES.new(key.aes_key, AES.MODE_CBC, pgos.TICKET_IV).encrypt(pad(plain, 16))
    ).decode()
    assert pgos.decrypt_ticket(key, ticket) == pgos.TicketClaims("d_5_123", "LTRN", 1600531200)


@pytest.mark.parametrize("ticket", ["not base64!", "", base64.b64encode(b"x" * 15).decode()])
def test_decrypt_rejects_garbage(ticket: str) -> None:
    with pytest.raises(MalformedCredential):
        pgos.decrypt_ticket(pgos.split_server_key(SPEC_KEY), ticket)


def test_decrypt_with_other_key_fails() -> None:
    claims = pgos.TicketClaims("d_5_123", "LTRN", 1600531200)
    ticket = pgos.make_ticket(pgos.split_server_key(SPEC_KEY), claims)
    with pytest.raises(MalformedCredential):
        pgos.decrypt_ticket(pgos.split_server_key("LTRN-AAAA-BBBB-CCCC-DDDD"), ticket)


def _validate(claims: pgos.TicketClaims, now_s: int, **over: str | None) -> None:
    ids: dict[str, str | None] = {
        "secret_id": "LTRN", "title_region_id": "d_5_123", "title_id": "5"
    }
    ids.update(over)
    pgos.validate_ticket(claims, now_s=now_s, **ids)  # type: ignore[arg-type]


def test_validate_ticket_age_window() -> None:
    claims = pgos.TicketClaims("d_5_123", "LTRN", 1_000_000, "5")
    _validate(claims, 1_000_000 + 7200)
    _validate(claims, 1_000_000 - 300)
    with pytest.raises(StaleCredential):
        _validate(claims, 1_000_000 + 7201)
    with pytest.raises(StaleCredential):
        _validate(claims, 1_000_000 - 301)


@pytest.mark.parametrize(
    "over", [{"secret_id": "XXXX"}, {"title_region_id": "d_5_999"}, {"title_id": "6"}]
)
def test_validate_ticket_ids_must_match(over: dict[str, str]) -> None:
    claims = pgos.TicketClaims("d_5_123", "LTRN", 1_000_000, "5")
    with pytest.raises(CredentialMismatch):
        _validate(claims, 1_000_000, **over)


@given(
    st.text(min_size=1, max_size=40), st.integers(0, 2**40),
    st.one_of(st.none(), st.text(min_size=1, max_size=10)),
)
def test_ticket_round_trip(region: str, time_s: int, title_id: str | None) -> None:
    key = pgos.split_server_key(SPEC_KEY)
    claims = pgos.TicketClaims(region, "LTRN", time_s, title_id)
    assert pgos.decrypt_ticket(key, pgos.make_ticket(key, claims)) == claims


def test_title_signature_is_sha256_of_sorted_pairs() -> None:
    key = pgos.split_server_key(SPEC_KEY)
    expected = hashlib.sha256(
        b"secret_id=LTRN&secret_key=NANI-D3TK-YQBM-MOUX&timestamp=1719386647&title_id=5"
    ).hexdigest()
    assert pgos.title_signature(title_id="5", key=key, timestamp_s=1719386647) == expected


def test_spec_title_signature_example_does_not_reproduce() -> None:
    """The spec prints f9d9ad3c... for these inputs; sha256 of its own string differs."""
    key = pgos.split_server_key(SPEC_KEY)
    printed = "f9d9ad3cbd9859f7b80296eeb42019232a03c387a83769b5b9ea41ea506dafe6"
    assert pgos.title_signature(title_id="5", key=key, timestamp_s=1719386647) != printed


def test_params_string_flattens_nested_objects_like_postman_script() -> None:
    assert pgos.params_string({"b": 2, "a": {"y": 1, "x": "z"}}) == "a=x=z&y=1&b=2"


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("d_5_123", "https://d.server.pgos.intlgame.cn"),
        ("cngz_5_478_test", "https://cngz.server.pgos.intlgame.cn"),
        ("awseuff_5buyxq_589229_dev", "https://awseuff.server.pgos.intlgame.com"),
        ("", "https://euff.server.pgos.intlgame.com"),
    ],
)
def test_backend_url_for_region(region: str, url: str) -> None:
    assert pgos.backend_url_for_region(region) == url


def test_cli_headers_carry_a_ticket_that_validates() -> None:
    key = pgos.split_server_key(SPEC_KEY)
    headers = pgos.cli_headers(key, title_id="5", title_region_id="cngz_5_478_test", time_s=100)
    assert headers["SecretID"] == "LTRN"
    claims = pgos.decrypt_ticket(key, headers["ServerTicket"])
    pgos.validate_ticket(
        claims, secret_id="LTRN", title_region_id="cngz_5_478_test", title_id="5", now_s=100
    )
