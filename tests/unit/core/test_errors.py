"""Every error has a stable code a front end can switch on, and survives serialization."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core import errors
from ticketdomain.core.errors import TicketDomainError, error_class_for, rebuild_error


def all_error_classes() -> list[type[TicketDomainError]]:
    found: list[type[TicketDomainError]] = []
    pending = [TicketDomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def coded_classes() -> list[type[TicketDomainError]]:
    return [cls for cls in all_error_classes() if "code" in cls.__dict__]


# Codes are public API: front ends switch on them. Renaming one must fail this test.
STABLE_CODES = {
    "TicketDomainError": "ticketdomain_error",
    "ValidationError": "validation_error",
    "NotFoundError": "not_found",
    "RuleViolationError": "rule_violation",
    "AuthorizationError": "not_authorized",
    "ConcurrencyError": "concurrency_conflict",
    "EmailInvalidError": "email_invalid",
    "NameInvalidError": "name_invalid",
    "QuantityInvalidError": "quantity_invalid",
    "AmountInvalidError": "amount_invalid",
    "CurrencyMismatchError": "currency_mismatch",
    "VatRateInvalidError": "vat_rate_invalid",
    "DocumentTypeError": "document_type_unsupported",
    "DocumentTooLargeError": "document_too_large",
    "PeriodInvalidError": "period_invalid",
    "SetupInvalidError": "setup_invalid",
    "CsvInvalidError": "csv_invalid",
    "QuotaExhaustedError": "quota_exhausted",
    "CreditLimitExceededError": "credit_limit_exceeded",
    "CardDeclinedError": "card_declined",
    "TariffNotOfferedError": "tariff_not_offered",
    "SaleWindowClosedError": "sale_window_closed",
    "OrderLimitError": "order_limit_violated",
    "FunctionDisabledError": "function_disabled",
    "PaymentMethodNotAllowedError": "payment_method_not_allowed",
    "DeliveryModeNotAllowedError": "delivery_mode_not_allowed",
    "StateTransitionError": "state_transition_refused",
    "NothingToInvoiceError": "nothing_to_invoice",
    "PerformanceOverError": "performance_over",
    "SalesPointAccessDeniedError": "sales_point_access_denied",
    "ForeignResourceError": "foreign_resource",
}


@pytest.mark.parametrize(("name", "code"), sorted(STABLE_CODES.items()))
def test_codes_are_stable(name: str, code: str) -> None:
    cls = getattr(errors, name)
    assert cls.code == code
    assert error_class_for(code) is cls


def test_every_error_class_has_its_own_registered_code() -> None:
    classes = coded_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "two error classes share a code"
    for cls in classes:
        assert error_class_for(cls.code) is cls
        assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.code), cls.code


def test_every_error_of_the_core_declares_a_code() -> None:
    in_core = [c for c in all_error_classes() if c.__module__ == errors.__name__]
    assert {c.__name__ for c in in_core} >= set(STABLE_CODES)
    assert all("code" in c.__dict__ for c in in_core)


def test_a_duplicate_code_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match="duplicate error code 'quota_exhausted'"):

        class Imposter(errors.RuleViolationError):
            code = "quota_exhausted"

    assert error_class_for("quota_exhausted") is errors.QuotaExhaustedError


def test_families_subclass_the_matching_builtins() -> None:
    assert issubclass(errors.EmailInvalidError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.ForeignResourceError, PermissionError)
    assert issubclass(errors.QuotaExhaustedError, errors.RuleViolationError)
    assert not issubclass(errors.QuotaExhaustedError, ValueError)


DETAILS = st.dictionaries(
    st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True).filter(lambda k: k != "message"),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
    max_size=5,
)


@given(st.sampled_from(coded_classes()), st.text(max_size=80), DETAILS)
def test_rebuild_error_round_trips(
    cls: type[TicketDomainError], message: str, details: dict[str, object]
) -> None:
    rebuilt = rebuild_error(cls.code, message, details)
    assert type(rebuilt) is cls
    assert (rebuilt.code, rebuilt.message, rebuilt.details) == (cls.code, message, details)
    assert str(rebuilt) == message
    assert rebuild_error(rebuilt.code, rebuilt.message, rebuilt.details) == rebuilt


def test_raised_errors_round_trip_too() -> None:
    original = errors.NotFoundError("order", "order-9")
    rebuilt = rebuild_error(original.code, original.message, original.details)
    assert rebuilt == original
    assert isinstance(rebuilt, LookupError)
    assert rebuilt.details == {"kind": "order", "id": "order-9"}


def test_an_unknown_code_rebuilds_the_root_error() -> None:
    rebuilt = rebuild_error("from_a_newer_version", "Something new.", {"x": 1})
    assert type(rebuilt) is TicketDomainError
    assert rebuilt.details == {"x": 1}


def test_errors_show_code_and_details() -> None:
    error = errors.QuotaExhaustedError("No place left.", remaining=0)
    assert repr(error) == (
        "QuotaExhaustedError('No place left.', code='quota_exhausted', details={'remaining': 0})"
    )
    assert error != errors.QuotaExhaustedError("No place left.", remaining=1)
    assert error != errors.OrderLimitError("No place left.", remaining=0)


@pytest.mark.parametrize(
    "cls",
    [errors.AuthorizationError, errors.SalesPointAccessDeniedError, errors.ForeignResourceError],
)
def test_authorization_errors_round_trip(cls: type[TicketDomainError]) -> None:
    # PermissionError has its own __new__; rebuilding once crashed on these classes
    rebuilt = rebuild_error(cls.code, "Not yours.", {"id": "order-1"})
    assert isinstance(rebuilt, cls) and isinstance(rebuilt, PermissionError)
    assert rebuilt == cls("Not yours.", id="order-1")


def test_every_error_survives_pickling_across_processes() -> None:
    import pickle

    from ticketdomain.core.errors import NotFoundError, SalesPointAccessDeniedError

    for error in (NotFoundError("order", "o1"), SalesPointAccessDeniedError("no", relay_id="r")):
        again = pickle.loads(pickle.dumps(error))
        assert again == error and again.code == error.code
