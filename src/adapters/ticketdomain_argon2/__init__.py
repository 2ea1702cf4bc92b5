"""Password hashing with argon2id (``argon2-cffi``), the ``PasswordHasher`` port's production
adapter.

The defaults are argon2-cffi's (RFC 9106 low-memory profile: 3 passes over 64 MiB in 4 lanes;
tens to hundreds of milliseconds a hash, depending on the machine and its load). Tests may pass
cheaper parameters: it is still argon2id.
"""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Argon2PasswordHasher"]


class Argon2PasswordHasher:
    """argon2id through ``argon2-cffi``; hashes carry their own parameters and salt, so
    changing the parameters later still verifies the old ones."""

    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        parallelism: int | None = None,
    ) -> None:
        defaults = argon2.PasswordHasher()
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost if time_cost is not None else defaults.time_cost,
            memory_cost=memory_cost if memory_cost is not None else defaults.memory_cost,
            parallelism=parallelism if parallelism is not None else defaults.parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        try:
            return self._hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeEncodeError):
            # A lone surrogate cannot be encoded: it is no one's password.
            return False
