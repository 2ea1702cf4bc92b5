"""Typed errors of ticketdomain.

Every refused command raises a subclass of :class:`TicketDomainError`. Each class has a stable
``code`` a front end can switch on, a human ``message`` and structured ``details``. Families
subclass the matching builtin so hosts can catch them generically.
"""

from __future__ import annotations

from typing import Any, ClassVar

_REGISTRY: dict[str, type[TicketDomainError]] = {}


class TicketDomainError(Exception):
    """Root of every error raised on purpose by ticketdomain."""

    code: ClassVar[str] = "ticketdomain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            if cls.code in _REGISTRY:
                raise TypeError(f"duplicate error code {cls.code!r}")
            _REGISTRY[cls.code] = cls

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, details={self.details!r})"
        )

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and isinstance(other, TicketDomainError)
            and (self.message, self.details) == (other.message, other.details)
        )

    __hash__ = Exception.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (workers, queues); rebuild them from their parts.
        return (rebuild_error, (self.code, self.message, self.details))


def error_class_for(code: str) -> type[TicketDomainError]:
    """The error class registered under ``code`` (the root class for an unknown code)."""
    return _REGISTRY.get(code, TicketDomainError)


def rebuild_error(code: str, message: str, details: dict[str, Any]) -> TicketDomainError:
    """Rebuild an error from its serialized parts (used by the cattrs converter)."""
    cls = error_class_for(code)
    # cls.__new__, not Exception.__new__: PermissionError-based classes have their own __new__
    error = cls.__new__(cls)
    TicketDomainError.__init__(error, message, **details)
    return error


# --- families -------------------------------------------------------------------------------


class ValidationError(TicketDomainError, ValueError):
    """The input itself is malformed: fix the input and try again."""

    code = "validation_error"


class NotFoundError(TicketDomainError, LookupError):
    """An id names nothing visible to the caller."""

    code = "not_found"

    def __init__(self, kind: str, id: str) -> None:
        super().__init__(f"No {kind.replace('_', ' ')} with id {id!r}.", kind=kind, id=id)


class RuleViolationError(TicketDomainError):
    """The input is well formed but a business rule refuses it."""

    code = "rule_violation"


class AuthorizationError(TicketDomainError, PermissionError):
    """The actor may not do this."""

    code = "not_authorized"


class ConcurrencyError(TicketDomainError):
    """Another transaction changed the same data first; retrying may succeed."""

    code = "concurrency_conflict"


# --- validation -----------------------------------------------------------------------------


class EmailInvalidError(ValidationError):
    code = "email_invalid"


class NameInvalidError(ValidationError):
    code = "name_invalid"


class QuantityInvalidError(ValidationError):
    code = "quantity_invalid"


class AmountInvalidError(ValidationError):
    code = "amount_invalid"


class CurrencyMismatchError(ValidationError):
    code = "currency_mismatch"


class VatRateInvalidError(ValidationError):
    code = "vat_rate_invalid"


class DocumentTypeError(ValidationError):
    code = "document_type_unsupported"


class DocumentTooLargeError(ValidationError):
    code = "document_too_large"


class PeriodInvalidError(ValidationError):
    code = "period_invalid"


class SetupInvalidError(ValidationError):
    code = "setup_invalid"


class TimeZoneUnknownError(SetupInvalidError):
    """Not a time zone of the IANA database (``Europe/Zurich``, ``UTC``…)."""

    code = "time_zone_unknown"


class LanguageUnsupportedError(ValidationError):
    """Not one of the languages mail is written in (``core.languages.LANGUAGES``)."""

    code = "language_unsupported"


class CsvInvalidError(ValidationError):
    code = "csv_invalid"


class CsvTooLargeError(ValidationError):
    code = "csv_too_large"


class SheetFormatUnsupportedError(ValidationError):
    """A spreadsheet format (``.xlsx``) the host plugged no codec in for
    (``TicketDomain(spreadsheets=...)``)."""

    code = "sheet_format_unsupported"


class RecipientInvalidError(ValidationError):
    code = "recipient_invalid"


class ImportRejectedError(ValidationError):
    """Some rows of an import are wrong; ``details["rows"]`` reports every row."""

    code = "import_rejected"


# --- rule violations ------------------------------------------------------------------------


class QuotaExhaustedError(RuleViolationError):
    code = "quota_exhausted"


class CreditLimitExceededError(RuleViolationError):
    code = "credit_limit_exceeded"


class CardDeclinedError(RuleViolationError):
    code = "card_declined"


class TariffNotOfferedError(RuleViolationError):
    code = "tariff_not_offered"


class SaleWindowClosedError(RuleViolationError):
    code = "sale_window_closed"


class OrderLimitError(RuleViolationError):
    code = "order_limit_violated"


class FunctionDisabledError(RuleViolationError):
    code = "function_disabled"


class PaymentMethodNotAllowedError(RuleViolationError):
    code = "payment_method_not_allowed"


class DeliveryModeNotAllowedError(RuleViolationError):
    code = "delivery_mode_not_allowed"


class StateTransitionError(RuleViolationError):
    code = "state_transition_refused"


class NothingToInvoiceError(RuleViolationError):
    code = "nothing_to_invoice"


class PerformanceOverError(RuleViolationError):
    code = "performance_over"


class OrderNotSettledError(RuleViolationError):
    code = "order_not_settled"


class StockInsufficientError(RuleViolationError):
    code = "stock_insufficient"


class PaymentDetailsError(ValidationError):
    code = "payment_details_invalid"


# --- billing (invoices, references, documents) ------------------------------------------------


class BillingDetailsInvalidError(ValidationError):
    """An address, VAT number, payment terms or reference outside its limits
    (``details["field"]`` names it)."""

    code = "billing_details_invalid"


class IbanInvalidError(BillingDetailsInvalidError):
    """Not an IBAN: wrong shape, length or checksum."""

    code = "iban_invalid"


class InvoiceReferenceUnknownError(RuleViolationError):
    """No invoice of the organization carries this structured reference."""

    code = "invoice_reference_unknown"


class InvoiceReferenceForeignError(RuleViolationError):
    """The reference is another organization's invoice, or another structure's
    (``details["organization_id"]`` / ``details["structure_id"]`` say whose)."""

    code = "invoice_reference_foreign"


class InvoiceAlreadySettledError(RuleViolationError):
    """The invoice of this reference is paid, credited, or a credit note: nothing is due."""

    code = "invoice_already_settled"


class RendererMissingError(RuleViolationError):
    """A document was asked for but the host configured no ``DocumentRenderer``."""

    code = "renderer_missing"


# --- authorization --------------------------------------------------------------------------


class SalesPointAccessDeniedError(AuthorizationError):
    code = "sales_point_access_denied"


class ForeignResourceError(AuthorizationError):
    code = "foreign_resource"


class MemberAccessDeniedError(AuthorizationError):
    code = "member_access_denied"


class ActorNotAllowedError(AuthorizationError):
    """The session given is of a kind of actor that may not run this command."""

    code = "actor_not_allowed"


class PermissionMissingError(AuthorizationError):
    """An operator without the permission the command needs (``details["permission"]``)."""

    code = "permission_missing"


# --- authentication ---------------------------------------------------------------------------


class AuthenticationError(AuthorizationError):
    """No valid credential: the caller is not known to be anyone."""

    code = "not_authenticated"


class SessionInvalidError(AuthenticationError):
    """A token that is unknown, malformed, expired, idle too long or revoked (one error for all,
    so a caller learns nothing about which)."""

    code = "session_invalid"

    def __init__(
        self, message: str = "The session is invalid or has expired; log in again.", **details: Any
    ) -> None:
        super().__init__(message, **details)


class LoginFailedError(AuthenticationError):
    """Wrong email or password, or a credential locked after repeated failures: one error and
    one cost for all, so a caller cannot tell which."""

    code = "login_failed"

    def __init__(
        self,
        message: str = (
            "The email or password is wrong, or the account is locked for a while after "
            "repeated failures."
        ),
        **details: Any,
    ) -> None:
        super().__init__(message, **details)


class PasswordInvalidError(ValidationError):
    code = "password_invalid"


class InputInvalidError(ValidationError):
    """A field of a command outside its documented limits: ``details["path"]`` names it
    (``$.lines[0].quantity``) and ``details["problem"]`` says what is wrong."""

    code = "input_invalid"


class CommandTypeUnknownError(ValidationError):
    """A command payload or object names no command of ``TicketDomain.command_types()``."""

    code = "command_type_unknown"
