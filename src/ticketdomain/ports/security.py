"""Passwords and tokens: the two secrets the domain needs but must not make itself."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    """A slow, salted password hash (argon2id in production)."""

    def hash(self, password: str) -> str:
        """The encoded hash to store (algorithm, parameters, salt and digest)."""
        ...

    def verify(self, encoded: str, password: str) -> bool:
        """Whether ``password`` matches; ``False`` (never an exception) for a mismatch or a
        malformed hash."""
        ...


class TokenGenerator(Protocol):
    def new_token(self) -> str:
        """A new unguessable token of URL-safe characters (at least 128 random bits)."""
        ...
