"""The one error hierarchy of reconciler.

Rules: every error raised on purpose by this package is a ReconcilerError; messages never
contain a secret (callers pass names of keys, never their values).
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base of every error this package raises on purpose."""


class UpstreamError(ReconcilerError):
    """A remote system (Jogos, PGOS, a game server) misbehaved or refused us."""


class ConfigError(ReconcilerError):
    """The operator must fix something: configuration, catalog, keys.

    `problems` holds one message per problem, each naming the key and what is wrong.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class UsageError(ReconcilerError):
    """The command line itself is wrong (a flag missing, two flags that conflict): exit 2."""


class InputError(ReconcilerError):
    """A file or text handed to a command is not acceptable (a CSV, a body); nothing was done.

    `subject` names what was read (a file name); `problems` holds one message per problem.
    """

    def __init__(self, subject: str, problems: list[str] | str) -> None:
        self.subject = subject
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(f"{subject}: " + "; ".join(self.problems))


class LedgerError(ReconcilerError):
    """The ledger's database could not be read or written."""


class InvariantError(ReconcilerError):
    """Our own bug: a state that must be impossible was reached."""


class AuthError(ReconcilerError):
    """A credential we were asked to verify is not acceptable (incoming requests, tokens)."""


class MalformedCredential(AuthError):
    """The credential cannot be parsed: missing header, bad base64, bad JSON, wrong shape."""


class BadSignature(AuthError):
    """The credential parses but its signature or secret does not match."""


class StaleCredential(AuthError):
    """The credential's time is outside the accepted window (too old or too far ahead)."""


class ReplayedNonce(AuthError):
    """The nonce of this request was already used."""


class UnknownClient(AuthError):
    """The client id (or api key) is not configured."""


class CredentialMismatch(AuthError):
    """The credential is valid but names another title, region, game or client."""


class TokenExpired(StaleCredential):
    """A user token whose `exp` has passed."""


class TokenNotYetValid(StaleCredential):
    """A user token whose `nbf` is still ahead, or whose `iat` is in the future."""


class WrongAlgorithm(AuthError):
    """A token signed with an algorithm other than the one required."""
