"""Card payments."""

from __future__ import annotations

from typing import Protocol

import attrs

from ticketdomain.core.money import Money


@attrs.frozen
class CardPayment:
    """A card as the payment provider's front end tokenized it (never a raw card number in logs)."""

    token: str = attrs.field(repr=lambda t: t[:4] + "…")


@attrs.frozen
class PaymentReceipt:
    reference: str
    amount: Money


class PaymentGateway(Protocol):
    def charge(self, amount: Money, card: CardPayment, idempotency_key: str) -> PaymentReceipt:
        """Charge the card; the same key never charges twice. Raises CardDeclinedError."""
        ...

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        """Refund (part of) an earlier charge; the same key never refunds twice."""
        ...
