"""Jogos user tokens (RS256 JWT with a JSON `sub`)."""

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.auth import user_token
from reconciler.errors import (
    BadSignature,
    ConfigError,
    CredentialMismatch,
    MalformedCredential,
    StaleCredential,
    TokenExpired,
    TokenNotYetValid,
    WrongAlgorithm,
)

SPEC_PUBLIC_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAhyUrr/W8bSuC+HK8Rk++BDOGDefGMEBa9jekVwVE3oeqi7QbVz"
    "ZPAuqb1K3GPJjDBfi44IWzb3w8Xa0P1ZeO2Cnbg1LltanlzFv/EcKseCIkOd8Qo78ARPfmlf4WP6MznYGKwNVGFh/s5Y6a"
    "r8QgWX1ttkcwYzHu/gUroO+nPOZkU6bfxHjRrJxk3lSQBZWfTSFd2JFwntq3h45UHymjQZiMtW47G2C4VTtTTt1Iz0VQ9r"
    "dtWie/+REqQYoFUm04Yns9jyG3TZzio9vsRrxESLQbBIRxto77cQNtEe9j/2EXNwQabRkiS6zo6i2TIN4O6uthWBVud5W"
    "XsBWdiyIOHQIDAQAB"
)
SPEC_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiIxOTY3NDIzNTM3NjE1NTgxMTg0Iiwic3ViIjoie1wicHJvZmlsZVBpY3R1cmVV"
    "cmxcIjpcImh0dHBzOi8vaW1hZ2Uuam9nb3NwcmUuY29tLzBlZTkyZjViZTRhMzQ4NzBhYjY0YWU1N2FjN2I1YmE0LmpwZ1"
    "wiLFwiZ2FtZUlkXCI6XCIxMjIwXCIsXCJ1c2VySWRcIjpcIjI1N1wiLFwidXNlcm5hbWVcIjpcIlBsYXllcjI1N1wifSIs"
    "ImlzcyI6ImNvbTpqb2dvczpzZGsiLCJpYXQiOjE3NTc5MDUyOTgsImV4cCI6MTc2MTUwNTI5OH0.MKBab0XC1o5AYGosbq1"
    "l5m9xCLN1-4xfcr7_dHn-_C8Eh2moTuq9TbQutIajB3dViFW0e1KyIg7UhxNk00rdhT2b5UrvO23tyFsgg9FYyAyCZABURx"
    "HyI0lTW9V8YA9k4faycK_gCUMXH_IubseDMz1P7cYmPpo8WxJXZq3R-mL8OhhuKCn8DlpP5BVsd0_gYSTvDUD0gjdINLUNT"
    "VrZVkETcDVWW8OXQVzJxdTH0VVlDs4cGvIyko8TJ6g1Bvz4VWj4qy1XoQFfRBH8sgBl3oGJtUodhq3b4bOx4Cr_o-2tK54"
    "CetDdmmCPbtcbmmDcBqK5EQ51A2Kws-1cYtsFxg"
)
SPEC_IAT, SPEC_EXP = 1757905298, 1761505298


@pytest.fixture(scope="module")
def private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def claims(**over: object) -> dict[str, object]:
    sub = {"gameId": "9943", "userId": "278", "username": "Player278"}
    base: dict[str, object] = {"sub": json.dumps(sub), "iat": 1000, "exp": 2000}
    base.update(over)
    return base


def test_spec_token_verifies_with_fixed_clock() -> None:
    key = user_token.load_public_key(SPEC_PUBLIC_KEY)
    user = user_token.verify_user_token(SPEC_TOKEN, key, now_s=SPEC_IAT + 60, game_id=1220)
    assert user == user_token.JogosUser(user_id="257", game_id="1220", username="Player257")


def test_spec_token_is_expired_now() -> None:
    key = user_token.load_public_key(SPEC_PUBLIC_KEY)
    with pytest.raises(TokenExpired):
        user_token.verify_user_token(SPEC_TOKEN, key, now_s=SPEC_EXP + 1)


def test_spec_public_key_as_pem() -> None:
    pem = f"-----BEGIN PUBLIC KEY-----\n{SPEC_PUBLIC_KEY}\n-----END PUBLIC KEY-----\n"
    key = user_token.load_public_key(pem)
    user_token.verify_user_token(SPEC_TOKEN, key, now_s=SPEC_EXP)


def test_wrong_game() -> None:
    key = user_token.load_public_key(SPEC_PUBLIC_KEY)
    with pytest.raises(CredentialMismatch):
        user_token.verify_user_token(SPEC_TOKEN, key, now_s=SPEC_IAT, game_id=9943)


def test_round_trip_and_leeway(private_pem: str) -> None:
    token = user_token.sign_user_token(claims(), private_pem)
    key = user_token.load_public_key(public_of(private_pem))
    assert user_token.verify_user_token(token, key, now_s=1500, game_id="9943").user_id == "278"
    user_token.verify_user_token(token, key, now_s=2030, leeway_s=30)
    with pytest.raises(TokenExpired):
        user_token.verify_user_token(token, key, now_s=2031, leeway_s=30)


def test_other_key_is_bad_signature(private_pem: str) -> None:
    token = user_token.sign_user_token(claims(), private_pem)
    with pytest.raises(BadSignature):
        user_token.verify_user_token(
            token, user_token.load_public_key(SPEC_PUBLIC_KEY), now_s=1500
        )


def test_tampered_payload_is_bad_signature(private_pem: str) -> None:
    header, _payload, sig = user_token.sign_user_token(claims(), private_pem).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(exp=99999)).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignature):
        user_token.verify_user_token(
            f"{header}.{forged}.{sig}", user_token.load_public_key(public_of(private_pem)),
            now_s=1500,
        )


@pytest.mark.parametrize("alg", ["HS256", "none"])
def test_wrong_algorithm(private_pem: str, alg: str) -> None:
    if alg == "none":
        token = jwt.encode(claims(), None, algorithm="none")
    else:
        token = jwt.encode(claims(), "k" * 32, algorithm=alg)
    with pytest.raises(WrongAlgorithm):
        user_token.verify_user_token(
            token, user_token.load_public_key(public_of(private_pem)), now_s=1500
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"sub": "not json"},
        {"sub": json.dumps(["list"])},
        {"sub": json.dumps({"gameId": "1"})},
        {"sub": json.dumps({"userId": True, "gameId": "1"})},
        {"exp": "later"},
        {"nbf": "soon"},
        {"iat": 1.5},
        {"iat": True},
    ],
)
def test_malformed_claims(private_pem: str, bad: dict[str, object]) -> None:
    token = user_token.sign_user_token(claims(**bad), private_pem)
    with pytest.raises(MalformedCredential):
        user_token.verify_user_token(
            token, user_token.load_public_key(public_of(private_pem)), now_s=1500
        )


def test_missing_sub_and_exp(private_pem: str) -> None:
    key = user_token.load_public_key(public_of(private_pem))
    for drop in ("sub", "exp"):
        token = user_token.sign_user_token(
            {k: v for k, v in claims().items() if k != drop}, private_pem
        )
        with pytest.raises(MalformedCredential):
            user_token.verify_user_token(token, key, now_s=1500)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b"])
def test_not_a_jwt(token: str) -> None:
    with pytest.raises(MalformedCredential):
        user_token.verify_user_token(token, user_token.load_public_key(SPEC_PUBLIC_KEY), now_s=1)


@pytest.mark.parametrize("text", ["", "abc", base64.b64encode(b"nope").decode()])
def test_bad_public_key(text: str) -> None:
    with pytest.raises(ConfigError):
        user_token.load_public_key(text)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_beyond_the_leeway(private_pem: str, claim: str) -> None:
    key = user_token.load_public_key(public_of(private_pem))
    token = user_token.sign_user_token(claims(**{claim: 1500}), private_pem)
    with pytest.raises(TokenNotYetValid):  # no leeway: one second early is too early
        user_token.verify_user_token(token, key, now_s=1499)
    with pytest.raises(TokenNotYetValid):
        user_token.verify_user_token(token, key, now_s=1439, leeway_s=60)
    assert user_token.verify_user_token(token, key, now_s=1440, leeway_s=60).user_id == "278"
    assert user_token.verify_user_token(token, key, now_s=1500).user_id == "278"


def test_future_iat_and_nbf_are_stale_credentials(private_pem: str) -> None:
    token = user_token.sign_user_token(claims(iat=1900, nbf=1000), private_pem)
    with pytest.raises(StaleCredential):
        user_token.verify_user_token(token, user_token.load_public_key(public_of(private_pem)),
                                     now_s=1500, leeway_s=user_token.CLOCK_LEEWAY_S)
