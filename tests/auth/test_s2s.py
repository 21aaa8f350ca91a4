"""Service-to-service yac-* headers: the spec's examples, round trips, and every refusal."""

import base64

import pytest
from Crypto.PublicKey import ECC
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.auth import s2s
from reconciler.errors import (
    BadSignature,
    ConfigError,
    CredentialMismatch,
    MalformedCredential,
    ReplayedNonce,
    StaleCredential,
    UnknownClient,
)
from reconciler.secret import Secret

CLIENT = "asia-platform-1"
TS = 1772532662
NONCE = "8f3c9a1e7b"
PATH = "/api/example"
HMAC_SECRET = "FUg7pODYd+z48OlcaMlTddUQDaH8CABxoOC7Q5EIxGM="
BASIC_SECRET = "bf6bcfba6cd20a2f0ba80208c3de9e1604358ba813b48cdfe7fd"
API_KEY = "590746ceb2a7b943ab123bdcc0105c3e296ef1d12b6a"
PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQqszVcNCJG5KSg8auk/cvMbc/Dmt
Y9Gw9/qNLmCOB2yQumh+YZ5k/feQLKb0fsDDXvmZbtux01tYoKkwz4SBVA==
-----END PUBLIC KEY-----"""
PRIVATE_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsHVgQ8L08worK8re
VqktCM3g0xqwonILOS71PM+30y6hRANCAARCqzNVw0IkbkpKDxq6T9y8xtz8Oa1j
0bD3+o0uYI4HbJC6aH5hnmT995AspvR+wMNe+Zlu27HTW1igqTDPhIFU
-----END PRIVATE KEY-----"""
SPEC_ECDSA_SIG = (
    "MEUCIAxFDTqxDSQqkhWVoBPVPkLpZ2legE+jdSrmc56GXdc6AiEA+XOgxPad1YFScBdP6VoSAr01zzdGzPGKR017MAfjNUk="
)


def clients() -> dict[str, s2s.ClientCredentials]:
    return {
        CLIENT: s2s.ClientCredentials(
            CLIENT,
            hmac_secret=Secret(HMAC_SECRET),
            basic_secret=Secret(BASIC_SECRET),
            api_key=Secret(API_KEY),
            ecdsa_public_key=s2s.load_ec_key(PUBLIC_PEM),
        )
    }


def verify(headers: dict[str, str], *, now_s: int = TS, store: s2s.MemoryNonceStore | None = None,
           query: dict[str, str] | None = None) -> s2s.Verified:
    return s2s.verify_request(
        headers, pathname=PATH, clients=clients(), now_s=now_s,
        nonces=store or s2s.MemoryNonceStore(), query=query,
    )


def base_headers() -> dict[str, str]:
    return {"yac-client-id": CLIENT, "yac-timestamp": str(TS), "yac-nonce": NONCE}


def test_spec_string_to_sign() -> None:
    assert s2s.string_to_sign(CLIENT, TS, NONCE, PATH) == (
        b"asia-platform-1;1772532662;8f3c9a1e7b;/api/example"
    )


def test_spec_hmac_example_reproduces() -> None:
    headers = s2s.request_headers(
        s2s.Scheme.HMAC, client_id=CLIENT, timestamp_s=TS, nonce=NONCE, pathname=PATH,
        secret=HMAC_SECRET,
    )
    assert headers["authorization"] == "HMAC-SHA256 kSVTmTq9QvJHa786VCkzjBmMpQ4WFk7qTupR8SBPOKo="
    assert verify(headers) == s2s.Verified(CLIENT, s2s.Scheme.HMAC)


def test_spec_basic_example_reproduces() -> None:
    assert s2s.basic_credential(CLIENT, BASIC_SECRET) == (
        "YXNpYS1wbGF0Zm9ybS0xOmJmNmJjZmJhNmNkMjBhMmYwYmE4MDIwOGMzZGU5ZTE2MDQzNThiYTgxM2I0OGNkZmU3ZmQ="
    )
    basic = s2s.basic_credential(CLIENT, BASIC_SECRET)
    headers = base_headers() | {"authorization": "Basic " + basic}
    assert verify(headers).scheme is s2s.Scheme.BASIC


def test_spec_ecdsa_example_verifies_with_spec_public_key() -> None:
    headers = base_headers() | {"authorization": f"ECDSA-SHA256 {SPEC_ECDSA_SIG}"}
    assert verify(headers).scheme is s2s.Scheme.ECDSA


def test_spec_key_pair_matches() -> None:
    assert s2s.load_ec_key(PRIVATE_PEM).public_key() == s2s.load_ec_key(PUBLIC_PEM)


def test_ecdsa_sign_is_deterministic_and_verifies() -> None:
    key = s2s.load_ec_key(PRIVATE_PEM)
    one = s2s.request_headers(s2s.Scheme.ECDSA, client_id=CLIENT, timestamp_s=TS, nonce=NONCE,
                              pathname=PATH, private_key=key)
    two = s2s.request_headers(s2s.Scheme.ECDSA, client_id=CLIENT, timestamp_s=TS, nonce=NONCE,
                              pathname=PATH, private_key=key)
    assert one == two
    assert verify(one).scheme is s2s.Scheme.ECDSA


def test_load_ec_key_accepts_base64_der_and_rejects_other_curves() -> None:
    der = base64.b64encode(s2s.load_ec_key(PUBLIC_PEM).export_key(format="DER")).decode()
    assert s2s.load_ec_key(der) == s2s.load_ec_key(PUBLIC_PEM)
    with pytest.raises(ConfigError):
        s2s.load_ec_key(ECC.generate(curve="P-384").public_key().export_key(format="PEM"))
    with pytest.raises(ConfigError):
        s2s.load_ec_key("not a key")


def test_api_key_header_wins_over_query() -> None:
    headers = base_headers() | {"api-key": API_KEY}
    assert verify(headers, query={"api_key": "wrong"}).scheme is s2s.Scheme.API_KEY
    with pytest.raises(BadSignature):
        verify(base_headers() | {"api-key": "wrong"}, query={"api_key": API_KEY})


def test_api_key_in_query_alone_is_accepted() -> None:
    assert verify(base_headers(), query={"api_key": API_KEY}).scheme is s2s.Scheme.API_KEY


def test_header_names_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in base_headers().items()} | {"API-KEY": API_KEY}
    assert verify(headers).client_id == CLIENT


def hmac_headers(**over: object) -> dict[str, str]:
    args: dict[str, object] = {"client_id": CLIENT, "timestamp_s": TS, "nonce": NONCE,
                               "pathname": PATH, "secret": HMAC_SECRET}
    args.update(over)
    return s2s.request_headers(s2s.Scheme.HMAC, **args)  # type: ignore[arg-type]


def test_replayed_nonce_is_refused() -> None:
    store = s2s.MemoryNonceStore()
    verify(hmac_headers(), store=store)
    with pytest.raises(ReplayedNonce):
        verify(hmac_headers(), store=store)


def test_memory_nonces_are_kept_until_pruned_past_their_window() -> None:
    store = s2s.MemoryNonceStore()
    assert store.remember("c", "n", expires_at_s=100)
    store.prune(now_s=100)  # still inside its window
    assert not store.remember("c", "n", expires_at_s=100)
    store.prune(now_s=101)
    assert store.remember("c", "n", expires_at_s=400)


def test_nonce_is_not_spent_by_a_rejected_request() -> None:
    store = s2s.MemoryNonceStore()
    with pytest.raises(BadSignature):
        verify(hmac_headers(secret="wrong"), store=store)
    verify(hmac_headers(), store=store)


@pytest.mark.parametrize("offset", [301, -301, 10_000])
def test_stale_timestamp_is_refused(offset: int) -> None:
    with pytest.raises(StaleCredential):
        verify(hmac_headers(), now_s=TS + offset)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_timestamp_inside_window(offset: int) -> None:
    verify(hmac_headers(), now_s=TS + offset)


def test_signature_covers_the_path() -> None:
    with pytest.raises(BadSignature):
        verify(hmac_headers(pathname="/api/other"))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"yac-client-id": "someone-else"}, UnknownClient),
        ({"yac-timestamp": "soon"}, MalformedCredential),
        ({"yac-nonce": ""}, MalformedCredential),
        ({"yac-nonce": "n" * 129}, MalformedCredential),
        ({"authorization": "HMAC-SHA256"}, MalformedCredential),
        ({"authorization": "HMAC-SHA256 !!!"}, MalformedCredential),
        ({"authorization": "Bearer abc"}, MalformedCredential),
        ({"authorization": "ECDSA-SHA256 " + base64.b64encode(b"junk").decode()}, BadSignature),
        ({"authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, MalformedCredential),
        ({"authorization": "Basic " + s2s.basic_credential("other", BASIC_SECRET)},
         CredentialMismatch),
        ({"authorization": "Basic " + s2s.basic_credential(CLIENT, "wrong")}, BadSignature),
    ],
)
def test_refusals(change: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        verify(hmac_headers() | change)


def test_missing_credential() -> None:
    with pytest.raises(MalformedCredential):
        verify(base_headers())


def test_scheme_not_enabled_for_client() -> None:
    only_key = {CLIENT: s2s.ClientCredentials(CLIENT, api_key=Secret(API_KEY))}
    with pytest.raises(BadSignature):
        s2s.verify_request(hmac_headers(), pathname=PATH, clients=only_key, now_s=TS,
                           nonces=s2s.MemoryNonceStore())


@settings(max_examples=50)
@given(
    st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), min_size=1, max_size=20),
    st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), min_size=1, max_size=30),
    st.sampled_from([s2s.Scheme.HMAC, s2s.Scheme.ECDSA, s2s.Scheme.BASIC, s2s.Scheme.API_KEY]),
)
def test_round_trip_any_nonce_and_path(nonce: str, path: str, scheme: s2s.Scheme) -> None:
    key = s2s.load_ec_key(PRIVATE_PEM)
    secret = {s2s.Scheme.HMAC: HMAC_SECRET, s2s.Scheme.BASIC: BASIC_SECRET,
              s2s.Scheme.API_KEY: API_KEY}.get(scheme)
    headers = s2s.request_headers(scheme, client_id=CLIENT, timestamp_s=TS, nonce=nonce,
                                  pathname=path, secret=secret, private_key=key)
    result = s2s.verify_request(headers, pathname=path, clients=clients(), now_s=TS,
                                nonces=s2s.MemoryNonceStore())
    assert result.scheme is scheme


@settings(max_examples=50)
@given(st.data())
def test_any_one_character_change_of_a_signature_fails(data: st.DataObject) -> None:
    scheme = data.draw(st.sampled_from([s2s.Scheme.HMAC, s2s.Scheme.ECDSA]))
    headers = s2s.request_headers(scheme, client_id=CLIENT, timestamp_s=TS, nonce=NONCE,
                                  pathname=PATH, secret=HMAC_SECRET,
                                  private_key=s2s.load_ec_key(PRIVATE_PEM))
    prefix, sig = headers["authorization"].split(" ")
    index = data.draw(st.integers(0, len(sig.rstrip("=")) - 2))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != sig[index]]))
    headers["authorization"] = f"{prefix} {sig[:index]}{replacement}{sig[index + 1:]}"
    with pytest.raises((BadSignature, MalformedCredential)):
        verify(headers)
