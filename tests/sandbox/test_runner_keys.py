"""The sandbox's throwaway keys are always ones a configuration accepts."""

from __future__ import annotations

from reconciler.core.secret_floor import SecretKind, weakness
from reconciler.sandbox.runner import SandboxOptions, _fresh, new_server_key


def test_a_key_that_spells_a_placeholder_is_drawn_again() -> None:
    drawn = iter(["SBOX-TODO-AB12-CD34-EF56", "SBOX-AAAA-AAAA-AAAA-AAAA",
                  "SBOX-K3P9-ZQ72-M8VD-T4RN"])
    assert _fresh(SecretKind.SERVER_KEY, lambda: next(drawn)) == "SBOX-K3P9-ZQ72-M8VD-T4RN"


def test_fresh_keys_pass_the_floor() -> None:
    for _ in range(2000):
        assert weakness(SecretKind.SERVER_KEY, new_server_key()) is None
    options = SandboxOptions()
    assert weakness(SecretKind.SHARED_KEY, options.shared_key) is None
    assert weakness(SecretKind.CLIENT_SECRET, options.s2s_secret) is None
