"""System adapters: the real clock, random ids and unguessable barcodes.

These are the production implementations of the ``Clock``, ``IdGenerator`` and
``BarcodeGenerator`` ports (``ticketdomain.ports.system``). None keeps global state.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from ticketdomain.core.errors import SetupInvalidError

__all__ = [
    "BARCODE_ALPHABET",
    "SecretsBarcodeGenerator",
    "SecretsTokenGenerator",
    "SystemClock",
    "UuidIdGenerator",
]

#: RFC 4648 base32 alphabet: upper-case letters and digits 2-7, which QR codes (alphanumeric
#: mode) and Code 128 both carry, and which avoid the look-alikes 0/O and 1/I.
BARCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BITS_PER_CHARACTER = 5
#: the port asks for at least this much entropy
MIN_BARCODE_BITS = 128
#: the session, link and API-key tokens the ``TokenGenerator`` port asks for
MIN_TOKEN_BITS = 128


class SystemClock:
    """The operating system's clock, as an aware UTC datetime."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidIdGenerator:
    """Ids such as ``order_3f2b…``: the kind, an underscore and 32 hex digits of a random UUID."""

    def new_id(self, kind: str) -> str:
        return f"{kind}_{uuid.uuid4().hex}"


class SecretsBarcodeGenerator:
    """Barcodes drawn from :mod:`secrets`, written in base32 (``BARCODE_ALPHABET``).

    Each character carries 5 bits, so the default of 130 bits gives 26 characters, every one
    uniformly random. ``bits`` below 128 is refused (the port promises at least 128 random bits).
    """

    def __init__(self, bits: int = 130) -> None:
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < MIN_BARCODE_BITS:
            raise SetupInvalidError(
                f"A barcode needs at least {MIN_BARCODE_BITS} random bits, got {bits!r}.",
                bits=repr(bits),
            )
        self.bits = bits
        #: characters per barcode
        self.length = -(-bits // _BITS_PER_CHARACTER)

    def new_barcode(self) -> str:
        value = secrets.randbits(self.bits)
        characters = []
        for _ in range(self.length):
            value, digit = divmod(value, 1 << _BITS_PER_CHARACTER)
            characters.append(BARCODE_ALPHABET[digit])
        return "".join(reversed(characters))


class SecretsTokenGenerator:
    """Session, link and API-key tokens from :func:`secrets.token_urlsafe`: 256 random bits by
    default, written in 43 URL-safe characters. ``bits`` below 128 is refused."""

    def __init__(self, bits: int = 256) -> None:
        if isinstance(bits, bool) or not isinstance(bits, int) or bits < MIN_TOKEN_BITS:
            raise SetupInvalidError(
                f"A token needs at least {MIN_TOKEN_BITS} random bits, got {bits!r}.",
                bits=repr(bits),
            )
        self.bits = bits

    def new_token(self) -> str:
        return secrets.token_urlsafe(-(-self.bits // 8))
