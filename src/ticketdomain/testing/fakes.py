"""Deterministic fakes of the side ports, for tests, demos and hosts' own test suites.

Each fake behaves like the production adapter it stands for (it validates what the real one
would refuse) and keeps what it was given for inspection: ``InMemoryMailer.outbox``,
``RecordingRenderer.calls``, ``InMemoryPaymentGateway.charges``…
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from ticketdomain.core.billing import InvoiceDocument, ReportDocument
from ticketdomain.core.contacts import Email
from ticketdomain.core.documents import AcceptanceDocument
from ticketdomain.core.errors import (
    AmountInvalidError,
    CardDeclinedError,
    NotFoundError,
    ValidationError,
)
from ticketdomain.core.mail import MailMessage
from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.ports.mail import MailDeliveryError
from ticketdomain.ports.payment import CardPayment, PaymentReceipt

__all__ = [
    "DECLINE_MESSAGES",
    "TEST_CARDS",
    "FastPasswordHasher",
    "FixedClock",
    "InMemoryDocumentStore",
    "InMemoryMailer",
    "InMemoryPaymentGateway",
    "PaymentRecord",
    "RecordingDocumentRenderer",
    "RecordingRenderer",
    "SequentialBarcodes",
    "SequentialIds",
    "SequentialTokens",
]


# --- time, ids, barcodes --------------------------------------------------------------------


def _require_aware(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"FixedClock needs an aware datetime, got {moment!r}.")
    return moment


class FixedClock:
    """A clock that stands still until told to move; always time-zone aware."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (never backwards: use ``set`` for that) and return the
        new moment."""
        if delta < timedelta(0):
            raise ValueError("FixedClock.advance moves forward only; use set() to go back.")
        # Elapsed time, not wall-clock time: an hour after 02:29 summer time in Zurich on the
        # night the clocks go back is 02:29 winter time.
        self._now = (self._now.astimezone(UTC) + delta).astimezone(self._now.tzinfo)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _require_aware(moment)


class SequentialIds:
    """Readable ids counted per kind: ``order-1``, ``order-2``, ``ticket-1``…; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}

    def new_id(self, kind: str) -> str:
        with self._lock:
            number = self._counters.get(kind, 0) + 1
            self._counters[kind] = number
        return f"{kind}-{number}"


class SequentialBarcodes:
    """Unique barcodes ``BC000001``, ``BC000002``…; thread-safe. Guessable: tests only."""

    def __init__(self, prefix: str = "BC") -> None:
        self._lock = threading.Lock()
        self._prefix = prefix
        self._last = 0
        #: every barcode handed out, in order
        self.issued: list[str] = []

    def new_barcode(self) -> str:
        with self._lock:
            self._last += 1
            barcode = f"{self._prefix}{self._last:06d}"
            self.issued.append(barcode)
        return barcode


# --- rendering ------------------------------------------------------------------------------

_PDF_HEADER = b"%PDF-1.4\n% ticketdomain RecordingRenderer\n"
_PDF_TRAILER = b"%%EOF\n"


class SequentialTokens:
    """Unique tokens ``token000001``…; thread-safe. Guessable: tests only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def new_token(self) -> str:
        with self._lock:
            self._last += 1
            return f"token{self._last:06d}"


class FastPasswordHasher:
    """A salted SHA-256 password hash that costs microseconds: tests only, never production
    (use ``ticketdomain_argon2.Argon2PasswordHasher`` there). Each hash has its own salt, so
    two hashes of one password differ, as with a real hasher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._salt = 0
        #: how many verifications ran (the same for an unknown email and a wrong password)
        self.verifications = 0

    def hash(self, password: str) -> str:
        with self._lock:
            self._salt += 1
            salt = f"{self._salt:08x}"
        digest = hashlib.sha256(f"{salt}:{password}".encode("utf-8", "surrogatepass"))
        return f"fake-sha256${salt}${digest.hexdigest()}"

    def verify(self, encoded: str, password: str) -> bool:
        with self._lock:
            self.verifications += 1
        try:
            scheme, salt, expected = encoded.split("$")
        except ValueError:
            return False
        digest = hashlib.sha256(f"{salt}:{password}".encode("utf-8", "surrogatepass"))
        return scheme == "fake-sha256" and hmac.compare_digest(digest.hexdigest(), expected)


class RecordingRenderer:
    """A ``TicketRenderer`` whose "PDF" lists each ticket as one JSON line, and that records
    every call's tickets in ``calls``.

    The output starts with ``%PDF-`` like a real PDF and is deterministic; read it back with
    :meth:`read`.
    """

    media_type = "application/pdf"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[PrintableTicket, ...]] = []

    def render(self, tickets: Sequence[PrintableTicket]) -> bytes:
        tickets = tuple(tickets)
        with self._lock:
            self.calls.append(tickets)
        lines = [
            json.dumps(
                {
                    "ticket_id": t.ticket_id,
                    "barcode": t.barcode,
                    "beneficiary": t.beneficiary,
                    "performance_starts_at": t.performance_starts_at.isoformat(),
                    "price": str(t.price),
                },
                sort_keys=True,
            ).encode("utf-8")
            + b"\n"
            for t in tickets
        ]
        return _PDF_HEADER + b"".join(lines) + _PDF_TRAILER

    @staticmethod
    def read(document: bytes) -> list[dict[str, str]]:
        """The tickets a document rendered by this class holds (id, barcode, beneficiary…)."""
        if not document.startswith(_PDF_HEADER) or not document.endswith(_PDF_TRAILER):
            raise ValueError("Not a document rendered by RecordingRenderer.")
        body = document[len(_PDF_HEADER) : -len(_PDF_TRAILER)]
        return [json.loads(line) for line in body.splitlines()]

    @property
    def rendered(self) -> list[PrintableTicket]:
        """Every ticket rendered so far, in order."""
        with self._lock:
            return [ticket for call in self.calls for ticket in call]


class RecordingDocumentRenderer:
    """A ``DocumentRenderer`` whose "PDF" is one JSON line naming the document, and that keeps
    every document given in ``invoices`` and ``reports``."""

    media_type = "application/pdf"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.invoices: list[InvoiceDocument] = []
        self.reports: list[ReportDocument] = []

    def render_invoice(self, document: InvoiceDocument) -> bytes:
        with self._lock:
            self.invoices.append(document)
        summary = {
            "kind": document.kind.value,
            "number": document.number,
            "total": str(document.total),
            "reference": document.reference,
        }
        return _PDF_HEADER + json.dumps(summary, sort_keys=True).encode() + b"\n" + _PDF_TRAILER

    def render_report(self, document: ReportDocument) -> bytes:
        with self._lock:
            self.reports.append(document)
        summary = {"title": document.title, "rows": [len(t.rows) for t in document.tables]}
        return _PDF_HEADER + json.dumps(summary, sort_keys=True).encode() + b"\n" + _PDF_TRAILER

    @staticmethod
    def read(document: bytes) -> dict[str, object]:
        """What a document rendered by this class names."""
        if not document.startswith(_PDF_HEADER) or not document.endswith(_PDF_TRAILER):
            raise ValueError("Not a document rendered by RecordingDocumentRenderer.")
        found: dict[str, object] = json.loads(document[len(_PDF_HEADER) : -len(_PDF_TRAILER)])
        return found


# --- mail -----------------------------------------------------------------------------------


class InMemoryMailer:
    """A ``Mailer`` that keeps messages in ``outbox`` instead of sending them.

    Like Django's locmem backend it still refuses what a real mailer could not send (no valid
    recipient, a subject with a line break, an attachment without a media type), raising
    ``MailDeliveryError`` (permanent). ``fail_next(n)`` makes the next ``n`` sends fail with a
    temporary error (``permanent=True``: a permanent one), to test retries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0
        self._permanent = False
        self.outbox: list[MailMessage] = []

    def fail_next(self, count: int = 1, *, permanent: bool = False) -> None:
        if count < 0:
            raise ValueError("fail_next takes a count of sends, not a negative number.")
        with self._lock:
            self._failures = count
            self._permanent = permanent

    def send(self, message: MailMessage) -> None:
        problem = _mail_problem(message)
        if problem is not None:
            raise MailDeliveryError(
                problem, permanent=True, message_id=message.id, reason="invalid_message"
            )
        with self._lock:
            if self._failures:
                self._failures -= 1
                raise MailDeliveryError(
                    "Simulated delivery failure.",
                    permanent=self._permanent,
                    message_id=message.id,
                    reason="simulated",
                )
            self.outbox.append(message)

    def sent_to(self, email: str) -> list[MailMessage]:
        """Messages delivered to this address (compared case-insensitively)."""
        wanted = email.lower()
        with self._lock:
            return [m for m in self.outbox if str(m.to).lower() == wanted]


def _mail_problem(message: MailMessage) -> str | None:
    if not isinstance(message.to, Email):
        return f"No valid recipient: {message.to!r}."
    if "\n" in message.subject or "\r" in message.subject:
        return "A subject must not contain line breaks."
    if not isinstance(message.body, str):
        return "The body is text."
    for attachment in message.attachments:
        if not attachment.filename or "/" not in attachment.media_type:
            return f"Attachment {attachment.filename!r} needs a name and a media type."
    return None


# --- documents ------------------------------------------------------------------------------

# The same ids the filesystem store accepts, so tests on the fake catch ids it would refuse.
_DOCUMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class InMemoryDocumentStore:
    """A ``DocumentStore`` in a dict; ids follow the filesystem store's rule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.documents: dict[str, AcceptanceDocument] = {}

    @staticmethod
    def _check(document_id: str) -> None:
        if not isinstance(document_id, str) or not _DOCUMENT_ID.fullmatch(document_id):
            raise ValidationError(
                "A document id is 1 to 200 letters, digits, '.', '_' or '-'.",
                document_id=repr(document_id),
            )

    def put(self, document_id: str, document: AcceptanceDocument) -> None:
        self._check(document_id)
        with self._lock:
            self.documents[document_id] = document

    def get(self, document_id: str) -> AcceptanceDocument | None:
        self._check(document_id)
        with self._lock:
            return self.documents.get(document_id)

    def delete(self, document_id: str) -> None:
        self._check(document_id)
        with self._lock:
            self.documents.pop(document_id, None)


# --- payment --------------------------------------------------------------------------------

#: Test card tokens (or numbers) and the decline code each gets; ``None`` means accepted.
#: Any other token is declined with ``"invalid_card"``.
TEST_CARDS: Mapping[str, str | None] = {
    "tok_visa": None,
    "4242424242424242": None,
    "tok_declined": "generic_decline",
    "4000000000000002": "generic_decline",
    "tok_insufficient_funds": "insufficient_funds",
    "4000000000009995": "insufficient_funds",
}
DECLINE_MESSAGES: Mapping[str, str] = {
    "generic_decline": "The card was declined.",
    "insufficient_funds": "The card was declined for insufficient funds.",
    "invalid_card": "The card is not valid.",
}


@attrs.frozen
class PaymentRecord:
    """One accepted charge or refund (``charge_reference`` is set on refunds)."""

    reference: str
    amount: Money
    idempotency_key: str
    charge_reference: str | None = None


class InMemoryPaymentGateway:
    """A ``PaymentGateway`` with the sandbox's semantics and readable references
    (``charge-1``, ``refund-1``); thread-safe.

    Cards per :data:`TEST_CARDS`; a decline raises ``CardDeclinedError`` (with
    ``details["decline_code"]``) and is not remembered. The same idempotency key returns the same
    receipt; reused for a different request it raises ``ValidationError``. Refunds of a charge
    never exceed, together, what it took (``AmountInvalidError``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[str, tuple[tuple[str, ...], PaymentReceipt]] = {}
        self.charges: list[PaymentRecord] = []
        self.refunds: list[PaymentRecord] = []

    def _replay(self, key: str, request: tuple[str, ...]) -> PaymentReceipt | None:
        if key not in self._done:
            return None
        done_request, receipt = self._done[key]
        if done_request != request:
            raise ValidationError(
                "This idempotency key was already used for a different request.",
                idempotency_key=key,
            )
        return receipt

    def charge(self, amount: Money, card: CardPayment, idempotency_key: str) -> PaymentReceipt:
        request = ("charge", str(amount), card.token)
        with self._lock:
            replayed = self._replay(idempotency_key, request)
            if replayed is not None:
                return replayed
            if not amount.is_positive:
                raise AmountInvalidError("A charge is a positive amount.", amount=str(amount))
            code = TEST_CARDS.get(card.token.replace(" ", "").replace("-", ""), "invalid_card")
            if code is not None:
                raise CardDeclinedError(
                    DECLINE_MESSAGES[code],
                    decline_code=code,
                    amount=str(amount.amount),
                    currency=amount.currency,
                )
            receipt = PaymentReceipt(f"charge-{len(self.charges) + 1}", amount)
            self.charges.append(PaymentRecord(receipt.reference, amount, idempotency_key))
            self._done[idempotency_key] = (request, receipt)
            return receipt

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        request = ("refund", str(amount), reference)
        with self._lock:
            replayed = self._replay(idempotency_key, request)
            if replayed is not None:
                return replayed
            charge = next((c for c in self.charges if c.reference == reference), None)
            if charge is None:
                raise NotFoundError("charge", reference)
            if not amount.is_positive:
                raise AmountInvalidError("A refund is a positive amount.", amount=str(amount))
            left = charge.amount - Money.sum(
                (r.amount for r in self.refunds if r.charge_reference == reference),
                charge.amount.currency,
            )
            if amount > left:
                raise AmountInvalidError(
                    f"Only {left} of this charge can still be refunded, {amount} asked.",
                    charge_reference=reference,
                    refundable=str(left.amount),
                    requested=str(amount.amount),
                    currency=amount.currency,
                )
            receipt = PaymentReceipt(f"refund-{len(self.refunds) + 1}", amount)
            self.refunds.append(
                PaymentRecord(receipt.reference, amount, idempotency_key, reference)
            )
            self._done[idempotency_key] = (request, receipt)
            return receipt
