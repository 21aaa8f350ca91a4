"""The user-token key cache against the sandbox Jogos (a real server on loopback), with an
injected clock: bounded staleness, bounded refetches, Cache-Control, nbf and iat."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.auth.user_token import sign_user_token
from reconciler.clients.public_key import PublicKeyCache, server_max_age_s
from reconciler.clients.retry import TransientError
from reconciler.errors import BadSignature, ConfigError, TokenNotYetValid
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions

START_S = 1_800_000_000.0
GAME = 9943


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = START_S

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=1, seed=5))


@pytest.fixture
def clock(sandbox: Sandbox) -> Clock:
    shared = Clock()
    sandbox.jogos.clock = shared  # tokens are issued on the same clock
    return shared


def cache(sandbox: Sandbox, http: aiohttp.ClientSession, clock: Clock, *, ttl_s: float = 300,
          min_refetch_s: float = 30, path: str = "/publicKey.json") -> PublicKeyCache:
    return PublicKeyCache(http, sandbox.urls["jogos"] + path, ttl_s=ttl_s,
                          min_refetch_s=min_refetch_s, clock=clock)


def forged_token(clock: Clock) -> str:
    """A well-formed token signed by a key Jogos never published."""
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    now = int(clock())
    return sign_user_token({"sub": f'{{"gameId": "{GAME}", "userId": "666"}}', "iat": now,
                            "exp": now + 3600}, pem)


async def test_one_fetch_within_the_ttl(sandbox: Sandbox, http: aiohttp.ClientSession,
                                        clock: Clock) -> None:
    keys = cache(sandbox, http, clock)
    token = sandbox.jogos.issue_user_token("7", GAME)
    users = await asyncio.gather(*(keys.verify(token, [GAME]) for _ in range(20)))
    assert {u.user_id for u in users} == {"7"}  # concurrent first uses share one fetch
    for _ in range(30):
        clock.advance(9)  # 270 s in all, still within the TTL
        assert (await keys.verify(token, [GAME])).user_id == "7"
    assert sandbox.jogos.public_key_calls == keys.fetches == 1
    clock.advance(30)  # 300 s after the fetch: the key is due again
    await keys.verify(token, [GAME])
    assert sandbox.jogos.public_key_calls == 2


async def test_replayed_bad_token_refetches_at_most_once_per_interval(
        sandbox: Sandbox, http: aiohttp.ClientSession, clock: Clock) -> None:
    keys = cache(sandbox, http, clock)
    await keys.verify(sandbox.jogos.issue_user_token("7", GAME), [GAME])
    bad = forged_token(clock)
    for _ in range(100):
        with pytest.raises(BadSignature):
            await keys.verify(bad, [GAME])
    assert sandbox.jogos.public_key_calls == 2  # the first fetch and one refetch
    clock.advance(29)
    results = await asyncio.gather(*(keys.verify(bad, [GAME]) for _ in range(100)),
                                   return_exceptions=True)
    assert all(isinstance(r, BadSignature) for r in results)
    assert sandbox.jogos.public_key_calls == 2
    clock.advance(1)  # a new interval: one more refetch, however many replays
    results = await asyncio.gather(*(keys.verify(bad, [GAME]) for _ in range(100)),
                                   return_exceptions=True)
    assert all(isinstance(r, BadSignature) for r in results)
    assert sandbox.jogos.public_key_calls == 3


async def test_rotated_out_key_stops_verifying_once_the_ttl_passed(
        sandbox: Sandbox, http: aiohttp.ClientSession, clock: Clock) -> None:
    keys = cache(sandbox, http, clock)
    old = sandbox.jogos.issue_user_token("7", GAME)
    await keys.verify(old, [GAME])
    sandbox.jogos.rotate_user_key()
    clock.advance(299)
    await keys.verify(old, [GAME])  # the bound: a rotated-out key lives at most the TTL
    clock.advance(1)
    with pytest.raises(BadSignature):
        await keys.verify(old, [GAME])
    assert (await keys.verify(sandbox.jogos.issue_user_token("8", GAME), [GAME])).user_id == "8"


async def test_new_key_is_picked_up_at_its_first_token(
        sandbox: Sandbox, http: aiohttp.ClientSession, clock: Clock) -> None:
    keys = cache(sandbox, http, clock)
    old = sandbox.jogos.issue_user_token("7", GAME)
    await keys.verify(old, [GAME])
    sandbox.jogos.rotate_user_key()
    clock.advance(1)
    new = sandbox.jogos.issue_user_token("8", GAME)
    assert (await keys.verify(new, [GAME])).user_id == "8"  # failed, refetched, verified
    with pytest.raises(BadSignature):
        await keys.verify(old, [GAME])  # the old key is gone at once
    assert sandbox.jogos.public_key_calls == 2


@pytest.mark.parametrize(("cache_control", "ttl_s", "kept_s"), [
    ("public, max-age=60", 300, 60),
    ("max-age=3600", 300, 300),  # the smaller of the two
    ("no-store", 300, 30),  # never less than the minimum refetch interval
    ('max-age="120", must-revalidate', 300, 120),
])
async def test_cache_control_max_age(sandbox: Sandbox, http: aiohttp.ClientSession,
                                     clock: Clock, cache_control: str, ttl_s: float,
                                     kept_s: float) -> None:
    sandbox.jogos.public_key_cache_control = cache_control
    keys = cache(sandbox, http, clock, ttl_s=ttl_s)
    token = sandbox.jogos.issue_user_token("7", GAME)
    await keys.verify(token, [GAME])
    clock.advance(kept_s - 1)
    await keys.verify(token, [GAME])
    assert sandbox.jogos.public_key_calls == 1
    clock.advance(1)
    await keys.verify(token, [GAME])
    assert sandbox.jogos.public_key_calls == 2


@pytest.mark.parametrize(("header", "age", "expected"), [
    (None, None, None), ("", None, None), ("public", None, None), ("max-age=60", None, 60),
    ("MAX-AGE=60", "15", 45), ("max-age=60", "90", 0), ("no-cache, max-age=60", None, 0),
    ("max-age=abc", None, None), ("max-age=-5", None, None), ("max-age=²", None, None),
    ("max-age=60", "x", 60),
])
def test_server_max_age(header: str | None, age: str | None, expected: float | None) -> None:
    assert server_max_age_s(header, age) == expected


async def test_nbf_and_iat_in_the_future(sandbox: Sandbox, http: aiohttp.ClientSession,
                                         clock: Clock) -> None:
    keys = cache(sandbox, http, clock)
    now = int(clock())
    with pytest.raises(TokenNotYetValid):
        await keys.verify(sandbox.jogos.issue_user_token("7", GAME, claims={"nbf": now + 120}),
                          [GAME])
    with pytest.raises(TokenNotYetValid):
        await keys.verify(sandbox.jogos.issue_user_token("7", GAME, claims={"iat": now + 61}),
                          [GAME])
    skewed = sandbox.jogos.issue_user_token("7", GAME, claims={"iat": now + 60, "nbf": now + 30})
    assert (await keys.verify(skewed, [GAME])).user_id == "7"  # within the 60 s leeway
    assert sandbox.jogos.public_key_calls == 1  # a time refusal is no reason to refetch


async def test_failed_fetches_are_not_retried_within_the_interval(
        sandbox: Sandbox, http: aiohttp.ClientSession, clock: Clock) -> None:
    keys = cache(sandbox, http, clock, path="/no-such-key.json")
    token = sandbox.jogos.issue_user_token("7", GAME)
    for _ in range(10):
        with pytest.raises(TransientError):
            await keys.verify(token, [GAME])
    assert keys.fetches == 1
    clock.advance(30)
    with pytest.raises(TransientError):
        await keys.verify(token, [GAME])
    assert keys.fetches == 2


def test_minimum_interval_cannot_exceed_the_ttl() -> None:
    with pytest.raises(ConfigError):
        PublicKeyCache(None, "http://127.0.0.1:9/k", ttl_s=10, min_refetch_s=30)  # type: ignore[arg-type]
