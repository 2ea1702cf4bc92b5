"""A sandbox card gateway for demos and integration tests: no network, no real money.

Test cards, as the token of ``CardPayment`` (a token or the test card number, spaces allowed):

- ``tok_visa`` or ``4242 4242 4242 4242``: accepted;
- ``tok_declined`` or ``4000 0000 0000 0002``: declined, ``decline_code="generic_decline"``;
- ``tok_insufficient_funds`` or ``4000 0000 0000 9995``: declined,
  ``decline_code="insufficient_funds"``;
- anything else: declined, ``decline_code="invalid_card"``.

A decline raises ``CardDeclinedError`` with a human message and ``details["decline_code"]``; it
moves no money and is not remembered, so the same key may be retried with another card.
An accepted charge or refund is idempotent: the same idempotency key returns the same receipt and
never moves money twice; reusing the key for a different request raises ``ValidationError``.
Refunds of a charge never exceed, together, what the charge took (``AmountInvalidError``).
"""

from __future__ import annotations

import threading
import uuid

import attrs

from ticketdomain.core.errors import (
    AmountInvalidError,
    CardDeclinedError,
    NotFoundError,
    ValidationError,
)
from ticketdomain.core.money import Money
from ticketdomain.ports.payment import CardPayment, PaymentReceipt

__all__ = ["SandboxCharge", "SandboxPaymentGateway", "SandboxRefund"]

# token -> decline code, None when the card is accepted
_CARDS: dict[str, str | None] = {
    "tok_visa": None,
    "4242424242424242": None,
    "tok_declined": "generic_decline",
    "4000000000000002": "generic_decline",
    "tok_insufficient_funds": "insufficient_funds",
    "4000000000009995": "insufficient_funds",
}
_MESSAGES = {
    "generic_decline": "The card was declined.",
    "insufficient_funds": "The card was declined for insufficient funds.",
    "invalid_card": "The card is not valid.",
}


@attrs.frozen
class SandboxCharge:
    reference: str
    amount: Money
    idempotency_key: str


@attrs.frozen
class SandboxRefund:
    reference: str
    charge_reference: str
    amount: Money
    idempotency_key: str


@attrs.frozen
class _Outcome:
    request: tuple[str, ...]
    receipt: PaymentReceipt


class SandboxPaymentGateway:
    """A ``PaymentGateway`` that accepts or declines the documented test cards; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[str, _Outcome] = {}
        self._charges: list[SandboxCharge] = []
        self._refunds: list[SandboxRefund] = []

    @property
    def charges(self) -> list[SandboxCharge]:
        """Accepted charges, oldest first (a copy)."""
        with self._lock:
            return list(self._charges)

    @property
    def refunds(self) -> list[SandboxRefund]:
        """Refunds made, oldest first (a copy)."""
        with self._lock:
            return list(self._refunds)

    def _replay(self, key: str, request: tuple[str, ...]) -> PaymentReceipt | None:
        outcome = self._outcomes.get(key)
        if outcome is None:
            return None
        if outcome.request != request:
            raise ValidationError(
                "This idempotency key was already used for a different request.",
                idempotency_key=key,
            )
        return outcome.receipt

    def charge(self, amount: Money, card: CardPayment, idempotency_key: str) -> PaymentReceipt:
        request = ("charge", str(amount), card.token)
        with self._lock:
            replayed = self._replay(idempotency_key, request)
            if replayed is not None:
                return replayed
            if not amount.is_positive:
                raise AmountInvalidError("A charge is a positive amount.", amount=str(amount))
            token = card.token.replace(" ", "").replace("-", "")
            code = _CARDS.get(token, "invalid_card")
            if code is not None:
                raise CardDeclinedError(
                    _MESSAGES[code],
                    decline_code=code,
                    amount=str(amount.amount),
                    currency=amount.currency,
                )
            receipt = PaymentReceipt(f"ch_{uuid.uuid4().hex}", amount)
            self._charges.append(SandboxCharge(receipt.reference, amount, idempotency_key))
            self._outcomes[idempotency_key] = _Outcome(request, receipt)
            return receipt

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        request = ("refund", str(amount), reference)
        with self._lock:
            replayed = self._replay(idempotency_key, request)
            if replayed is not None:
                return replayed
            charge = next((c for c in self._charges if c.reference == reference), None)
            if charge is None:
                raise NotFoundError("charge", reference)
            if not amount.is_positive:
                raise AmountInvalidError("A refund is a positive amount.", amount=str(amount))
            refunded = Money.sum(
                (r.amount for r in self._refunds if r.charge_reference == reference),
                charge.amount.currency,
            )
            left = charge.amount - refunded
            if amount > left:
                raise AmountInvalidError(
                    f"Only {left} of this charge can still be refunded, {amount} asked.",
                    charge_reference=reference,
                    refundable=str(left.amount),
                    requested=str(amount.amount),
                    currency=amount.currency,
                )
            receipt = PaymentReceipt(f"re_{uuid.uuid4().hex}", amount)
            self._refunds.append(
                SandboxRefund(receipt.reference, reference, amount, idempotency_key)
            )
            self._outcomes[idempotency_key] = _Outcome(request, receipt)
            return receipt
