"""Every command field has a documented limit (``ticketdomain.services._input``): a value out
of it, or of the wrong type, is refused with a ``ValidationError`` naming the field's path
before anything is loaded, whether the command comes from JSON or is built in Python."""

from __future__ import annotations

import enum
import types
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

import attrs
import pytest
from hypothesis import find, given
from hypothesis import strategies as st

from support.state import refused
from ticketdomain.core.catalog import MAX_CAPACITY, MAX_QUANTITY, ProductConditions
from ticketdomain.core.errors import (
    AmountInvalidError,
    CommandTypeUnknownError,
    EmailInvalidError,
    InputInvalidError,
    NameInvalidError,
    PasswordInvalidError,
    PeriodInvalidError,
    QuantityInvalidError,
    SessionInvalidError,
    SetupInvalidError,
    TicketDomainError,
    ValidationError,
    VatRateInvalidError,
)
from ticketdomain.core.identity import Permission
from ticketdomain.core.money import Money
from ticketdomain.core.sales import MAX_LINES, LineRequest
from ticketdomain.core.setup import ChannelKind, Function, PaymentMethod
from ticketdomain.ports.payment import CardPayment
from ticketdomain.services import commands as c
from ticketdomain.services._input import (
    CLASS_FIELD_LIMITS,
    EARLIEST,
    FIELD_LIMITS,
    INT32_MAX,
    LATEST,
    MAX_CONTENT_BYTES,
    MAX_DURATION,
    MAX_ITEMS,
    Limit,
    check_command,
    check_field,
    check_text,
    limit_of,
)
from ticketdomain.services.app import COMMAND_TYPES
from ticketdomain.testing import strategies as tds
from ticketdomain.testing.domain import FakeWorld, build_fake_world

TOKEN = "tds_token000001"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CHF = Money(Decimal("12.50"), "CHF")


def refusal(
    command: object, path: str, error: type[ValidationError] = InputInvalidError
) -> ValidationError:
    """The error ``check_command`` raises, of exactly ``error``, at ``path``."""
    with pytest.raises(ValidationError) as caught:
        check_command(command)
    assert type(caught.value) is error, caught.value
    assert caught.value.details["path"] == path, caught.value
    problem = caught.value.details["problem"]
    assert problem and caught.value.message == f"{problem} @ {path}"
    assert set(caught.value.details) == {"path", "problem"}
    return caught.value


def untyped(value: object) -> Any:
    """A value of the wrong type, as a caller without a type checker passes it."""
    return value


def order(**changes: Any) -> c.PlaceOrder:
    return attrs.evolve(
        c.PlaceOrder(
            TOKEN,
            (LineRequest("performance-1", "tariff-1", 2),),
            PaymentMethod.CARD,
            card=CardPayment("tok_visa"),
            purchasing_contact=c.ContactDetails("Anne", "Martin", "anne@example.ch"),
            document=c.DocumentUpload("accept.pdf", b"%PDF-1.7\n"),
            idempotency_key="retry-1",
        ),
        **changes,
    )


def sales_point(**changes: Any) -> c.CreateSalesPoint:
    return attrs.evolve(
        c.CreateSalesPoint(TOKEN, "organization-1", "channel-1", "Agencies"), **changes
    )


def profile(**changes: Any) -> c.SetCatalogProfile:
    return c.SetCatalogProfile(
        TOKEN,
        "organization-1",
        frozenset({"activity-1"}),
        (ProductConditions("product-1", **changes),),
        channel_id="channel-1",
    )


# --- every command, every field --------------------------------------------------------------


@given(st.sampled_from(COMMAND_TYPES).flatmap(tds.commands))
def test_every_valid_looking_command_of_every_type_passes(command: object) -> None:
    check_command(command)


def _attrs_classes() -> set[type[Any]]:
    found: set[type[Any]] = set()

    def visit(hint: Any) -> None:
        for arg in get_args(hint):
            visit(arg)
        if isinstance(hint, type) and attrs.has(hint) and hint not in found:
            found.add(hint)
            for inner in get_type_hints(hint).values():
                visit(inner)

    for cls in COMMAND_TYPES:
        visit(cls)
    return found


def test_the_limit_tables_name_fields_that_exist() -> None:
    classes = _attrs_classes()
    fields = {(cls.__name__, a.name) for cls in classes for a in attrs.fields(cls)}
    assert set(FIELD_LIMITS) <= {name for _, name in fields}
    assert set(CLASS_FIELD_LIMITS) <= fields
    for limit in [*FIELD_LIMITS.values(), *CLASS_FIELD_LIMITS.values()]:
        assert 0 <= limit.low <= limit.high <= INT32_MAX
    assert {LineRequest, c.ContactDetails, c.DocumentUpload, CardPayment, ProductConditions} <= (
        classes
    )


def test_no_whole_number_limit_goes_beyond_a_32_bit_column() -> None:
    with pytest.raises(ValueError):
        Limit(high=INT32_MAX + 1)
    with pytest.raises(ValueError):
        Limit(low=-1)


def test_an_object_that_is_no_command_is_refused() -> None:
    for value in (object(), {"type": "ViewCatalog"}, "ViewCatalog", None):
        with pytest.raises(CommandTypeUnknownError):
            check_command(value)


# --- text -----------------------------------------------------------------------------------

TEXT_CASES: list[tuple[object, str, type[ValidationError]]] = [
    (c.CreateStructure(TOKEN, "Hotel\ud800"), "$.name", NameInvalidError),
    (c.CreateIndividual(TOKEN, "Anne", "x" * 101, "a@b.ch"), "$.last_name", NameInvalidError),
    (c.CreateIndividual(TOKEN, "An\x00ne", "M", "a@b.ch"), "$.first_name", NameInvalidError),
    (c.CreateIndividual(TOKEN, "Anne", "M", "a\n@b.ch"), "$.email", EmailInvalidError),
    (
        c.CreatePerformance(TOKEN, "activity-1", EARLIEST, "Hall\u202e", 10),
        "$.venue",
        NameInvalidError,
    ),
    (c.SearchContacts(TOKEN, "structure-1", "x" * 201), "$.text", InputInvalidError),
    (c.SearchContacts(TOKEN, "structure-1\x00", "a"), "$.structure_id", InputInvalidError),
    (c.SearchMembers(TOKEN, "x" * 1_000_000), "$.text", InputInvalidError),
    (
        order(lines=(LineRequest("performance-1\u2066", "tariff-1", 1),)),
        "$.lines[0].performance_id",
        InputInvalidError,
    ),
    (
        order(purchasing_contact=c.ContactDetails("Anne", "Martin", "anne@\x00.ch")),
        "$.purchasing_contact.email",
        EmailInvalidError,
    ),
    (order(card=CardPayment("tok\x07")), "$.card.token", InputInvalidError),
    (order(document=c.DocumentUpload("a\nb.pdf", b"")), "$.document.filename", InputInvalidError),
    (order(idempotency_key="k" * 201), "$.idempotency_key", InputInvalidError),
    (
        c.RecordPayment(TOKEN, "organization-1", "structure-1", CHF, "r" * 201),
        "$.reference",
        InputInvalidError,
    ),
    (c.CreateApiKey(TOKEN, "operator-1", "l" * 101), "$.label", InputInvalidError),
    (c.ScanTicket(TOKEN, "performance-1", "B" * 201), "$.barcode", InputInvalidError),
    (c.ScanTicket(TOKEN, "performance-1", "BC\x00"), "$.barcode", InputInvalidError),
    (c.PrintMemberTickets(TOKEN, ("ticket-1",), "\x85"), "$.beneficiary", NameInvalidError),
    (
        c.RequestLoginLink("institution-1", "a@b.ch", "\ufeff\ud800"),
        "$.sales_point_id",
        InputInvalidError,
    ),
]


@pytest.mark.parametrize(("command", "path", "error"), TEXT_CASES)
def test_text_out_of_its_limits_is_refused_with_its_path(
    command: object, path: str, error: type[ValidationError]
) -> None:
    refusal(command, path, error)


FORBIDDEN = st.one_of(st.characters(categories=["Cc", "Cs"]), st.sampled_from(BIDI))


@given(tds.plain_texts(max_size=100), FORBIDDEN, st.data())
def test_every_control_character_surrogate_or_bidi_control_is_refused_anywhere(
    text: str, bad: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    value = text[:at] + bad + text[at:]
    refusal(c.SearchContacts(TOKEN, "structure-1", value), "$.text")
    refusal(c.CreateStructure(TOKEN, value), "$.name", NameInvalidError)
    refusal(c.ViewOrder(TOKEN, value), "$.order_id")


@given(st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=200))
def test_every_text_without_those_characters_passes_up_to_its_limit(text: str) -> None:
    if any(ch in BIDI for ch in text):
        return
    check_command(c.SearchContacts(TOKEN, "structure-1", text))
    check_command(c.CreateStructure(TOKEN, text[:100]))


LENGTHS: list[tuple[Callable[[str], object], str, int, type[ValidationError]]] = [
    (lambda s: c.CreateStructure(TOKEN, s), "$.name", 100, NameInvalidError),
    (lambda s: c.CreateIndividual(TOKEN, "A", "B", s), "$.email", 254, EmailInvalidError),
    (lambda s: c.SearchContacts(TOKEN, "structure-1", s), "$.text", 200, InputInvalidError),
    (lambda s: c.ViewOrder(TOKEN, s), "$.order_id", 200, InputInvalidError),
    (lambda s: c.CreateApiKey(TOKEN, "operator-1", s), "$.label", 100, InputInvalidError),
    (lambda s: c.ScanTicket(TOKEN, "p", s), "$.barcode", 200, InputInvalidError),
    (lambda s: c.LoginOperator("i", "a@b.ch", s), "$.password", 1024, PasswordInvalidError),
    (lambda s: c.ChangePassword(TOKEN, s), "$.new_password", 1024, PasswordInvalidError),
    (lambda s: order(card=CardPayment(s)), "$.card.token", 200, InputInvalidError),
]


@pytest.mark.parametrize(("make", "path", "limit", "error"), LENGTHS)
def test_each_text_field_takes_up_to_its_documented_length(
    make: Callable[[str], object], path: str, limit: int, error: type[ValidationError]
) -> None:
    check_command(make("é" * limit))
    refusal(make("é" * (limit + 1)), path, error)
    refusal(make(untyped(42)), path, error)


def test_check_text_is_the_rule_for_text_read_outside_commands() -> None:
    assert check_text("Lausanne Tourism", "$.institution_name") == "Lausanne Tourism"
    for bad in ("Lausanne\x00", "x" * 201, "\u202eevil", 7):
        with pytest.raises(InputInvalidError) as caught:
            check_text(bad, "$.institution_name")
        assert caught.value.details["path"] == "$.institution_name"


def test_check_field_holds_text_of_a_trusted_call_to_the_rule_of_that_field() -> None:
    assert check_field("first_name", "Odile") == "Odile"
    assert check_field("individual_id", "individual-1") == "individual-1"
    for field, value, error in [
        ("first_name", "Odile\ud800", NameInvalidError),
        ("last_name", "P" * 101, NameInvalidError),
        ("email", "a@b.ch\x00", EmailInvalidError),
        ("password", "pass\ud800word", PasswordInvalidError),
        ("individual_id", "individual-1\x00", InputInvalidError),
        ("sales_point_id", 7, InputInvalidError),
    ]:
        with pytest.raises(ValidationError) as caught:
            check_field(field, value)
        assert type(caught.value) is error
        assert caught.value.details["path"] == f"$.{field}"
    with pytest.raises(SessionInvalidError):
        check_field("token", None)
    assert check_field("token", "anything\x00") == "anything\x00"


# --- passwords and tokens -------------------------------------------------------------------


@given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=1024))
def test_a_password_may_hold_every_character_but_nul_and_lone_surrogates(password: str) -> None:
    check_command(c.LoginMember("institution-1", "a@b.ch", password))
    check_command(c.ChangePassword(TOKEN, password, current_password=password))


@pytest.mark.parametrize(
    "password", ["secret\x00word", "secret\ud800word", "s" * 1025, None, b"pw"]
)
def test_other_passwords_are_refused_without_being_echoed(password: Any) -> None:
    error = refusal(
        c.LoginOperator("institution-1", "a@b.ch", password), "$.password", PasswordInvalidError
    )
    assert "secret" not in error.message and "sss" not in error.message
    if password is not None:  # no current password is a current password's right value
        refusal(
            c.ChangePassword(TOKEN, "long enough password", current_password=password),
            "$.current_password",
            PasswordInvalidError,
        )


def test_a_token_is_text_and_its_content_is_the_authenticators_to_judge() -> None:
    for content in ("", "\x00\ud800\u202e", "x" * 10_000, "tds_" + "A" * 300):
        check_command(c.ViewCatalog(content))
        check_command(c.LoginWithLink(content))
    for not_text in (12345, None, b"tds_token", {"operator": "anyone"}):
        for command in (c.ViewCatalog(untyped(not_text)), c.LoginWithLink(untyped(not_text))):
            with pytest.raises(SessionInvalidError) as caught:
                check_command(command)
            # the very answer of a token that opens nothing: nothing to learn from it
            assert caught.value == SessionInvalidError()


# --- whole numbers --------------------------------------------------------------------------

NUMBERS: list[tuple[Callable[[Any], object], str, int, int, type[ValidationError]]] = [
    (
        lambda n: c.DistributeToMember(TOKEN, "performance-1", "product-1", n, "individual-1"),
        "$.quantity",
        1,
        MAX_QUANTITY,
        QuantityInvalidError,
    ),
    (
        lambda n: c.CreateQuota(TOKEN, "performance-1", n),
        "$.capacity",
        0,
        MAX_CAPACITY,
        QuantityInvalidError,
    ),
    (
        lambda n: c.CreatePerformance(TOKEN, "activity-1", EARLIEST, "Hall", n),
        "$.capacity",
        0,
        MAX_CAPACITY,
        QuantityInvalidError,
    ),
    (lambda n: c.SearchContacts(TOKEN, "s", "a", n), "$.limit", 1, 10_000, QuantityInvalidError),
    (lambda n: c.DispatchMail(TOKEN, n), "$.limit", 1, 10_000, QuantityInvalidError),
    (lambda n: c.ProcessDueExpiries(TOKEN, n), "$.limit", 1, 10_000, QuantityInvalidError),
    (
        lambda n: sales_point(max_document_bytes=n),
        "$.max_document_bytes",
        1,
        MAX_CONTENT_BYTES,
        SetupInvalidError,
    ),
    (
        lambda n: profile(max_per_order=n),
        "$.products[0].max_per_order",
        1,
        MAX_QUANTITY,
        SetupInvalidError,
    ),
]


@pytest.mark.parametrize(("make", "path", "low", "high", "error"), NUMBERS)
def test_whole_numbers_lie_in_their_documented_range(
    make: Callable[[Any], object], path: str, low: int, high: int, error: type[ValidationError]
) -> None:
    check_command(make(low))
    check_command(make(high))
    for value in (low - 1, high + 1, 10**19, -(10**19), 2**63, True, False, "1", 1.0, Decimal(1)):
        if value in (low, high) and type(value) is int:
            continue
        if isinstance(value, str) and path.startswith("$.products"):
            continue  # see test_product_conditions_refuse_text_numbers_as_they_are_built
        try:
            command = make(value)
        except error:
            continue  # refused as it is built (``ProductConditions`` wants max >= min)
        refusal(command, path, error)


def test_product_conditions_refuse_text_numbers_as_they_are_built() -> None:
    with pytest.raises(ValidationError):
        ProductConditions("product-1", max_per_order=cast(Any, "10"))


@given(st.integers())
def test_every_quantity_outside_one_to_max_is_refused_and_every_one_inside_passes(
    quantity: int,
) -> None:
    command = c.PrintAtOnce(TOKEN, "performance-1", "product-1", quantity)
    if 1 <= quantity <= MAX_QUANTITY:
        check_command(command)
    else:
        refusal(command, "$.quantity", QuantityInvalidError)


# --- decimals and money ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "rate",
    [
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("0.0000001"),
        Decimal("1e-999999"),
        Decimal(10**10),
        Decimal("1e999999"),
        Decimal("1e999999999"),
        Decimal("-1e999999999"),
        Decimal("1e-999999999"),
        0.2,
        1,
        "0.2",
    ],
    ids=repr,
)
def test_a_vat_rate_is_a_finite_decimal_with_at_most_six_places(rate: Any) -> None:
    refusal(c.CreateProduct(TOKEN, "activity-1", "Seat", rate), "$.vat_rate", VatRateInvalidError)


@pytest.mark.parametrize("rate", ["0", "0.081", "0.123456", "0.5000000"])
def test_vat_rates_within_six_places_pass(rate: str) -> None:
    check_command(c.CreateProduct(TOKEN, "activity-1", "Seat", Decimal(rate)))


def test_money_with_more_decimals_than_its_currency_never_gets_into_a_command() -> None:
    with pytest.raises(AmountInvalidError):
        c.CreateTariff(TOKEN, "product-1", "Full", Money(Decimal("0.005"), "CHF"))
    price = untyped(Decimal("12.50"))
    refusal(c.CreateTariff(TOKEN, "product-1", "Full", price), "$.price", AmountInvalidError)
    forged = Money(Decimal("1.00"), "CHF")
    object.__setattr__(forged, "amount", Decimal("0.005"))
    refusal(c.CreateTariff(TOKEN, "product-1", "Full", forged), "$.price", AmountInvalidError)
    yen = Money(Decimal("100"), "JPY")
    object.__setattr__(yen, "amount", Decimal("100.5"))
    refusal(c.RecordPayment(TOKEN, "o", "s", yen, "ref"), "$.amount", AmountInvalidError)


def test_a_credit_limit_is_money_or_none() -> None:
    check_command(c.SetCreditLimit(TOKEN, "organization-1", "structure-1", None))
    check_command(c.SetCreditLimit(TOKEN, "organization-1", "structure-1", CHF))
    for limit in (5, "12.50", {"amount": "1", "currency": "CHF"}):
        refusal(c.SetCreditLimit(TOKEN, "o", "s", untyped(limit)), "$.limit", AmountInvalidError)


# --- dates and durations --------------------------------------------------------------------


class _Broken(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta:
        raise OverflowError("no offset")

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "broken"


def performance(starts_at: Any) -> c.CreatePerformance:
    return c.CreatePerformance(TOKEN, "activity-1", starts_at, "Hall", 10)


@pytest.mark.parametrize(
    "starts_at",
    [
        datetime(2026, 1, 1),  # naive
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        LATEST,
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-23))),
        datetime(2026, 1, 1, tzinfo=_Broken()),
        date(2026, 1, 1),
        "2026-01-01T00:00:00+00:00",
        1_767_225_600,
    ],
    ids=repr,
)
def test_a_date_is_aware_and_from_1970_to_2200(starts_at: Any) -> None:
    refusal(performance(starts_at), "$.starts_at", SetupInvalidError)


@pytest.mark.parametrize(
    "starts_at",
    [
        EARLIEST,
        LATEST - timedelta(microseconds=1),
        datetime(2026, 1, 1, tzinfo=timezone(-timedelta(hours=5))),
    ],
)
def test_dates_within_the_range_pass(starts_at: datetime) -> None:
    check_command(performance(starts_at))


@given(
    st.datetimes(
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))]
        )
    )
)
def test_every_aware_date_passes_exactly_when_in_range(moment: datetime) -> None:
    if EARLIEST <= moment < LATEST:
        check_command(performance(moment))
    else:
        refusal(performance(moment), "$.starts_at", SetupInvalidError)


def test_dates_of_a_report_and_of_a_sale_window_name_their_field() -> None:
    naive = datetime(2026, 1, 1)
    refusal(c.ViewSalesReport(TOKEN, naive), "$.period_from", PeriodInvalidError)
    refusal(c.ViewSalesReport(TOKEN, None, LATEST), "$.period_until", PeriodInvalidError)
    refusal(
        profile(sale_opens_at=datetime(1900, 1, 1, tzinfo=UTC)),
        "$.products[0].sale_opens_at",
        SetupInvalidError,
    )


@pytest.mark.parametrize(
    ("delay", "passes"),
    [
        (MAX_DURATION, True),
        (-MAX_DURATION, True),  # the check lets it through; the sales point refuses it
        (MAX_DURATION + timedelta(microseconds=1), False),
        (timedelta.max, False),
        (timedelta.min, False),
        (60, False),
        ("P2D", False),
    ],
    ids=repr,
)
def test_a_duration_lies_within_ten_years(delay: Any, passes: bool) -> None:
    command = sales_point(reservation_delay=delay)
    if passes:
        check_command(command)
    else:
        refusal(command, "$.reservation_delay", SetupInvalidError)


# --- bytes, collections, enums, nested values -----------------------------------------------


def test_content_is_bytes_of_at_most_the_outer_cap() -> None:
    check_command(c.ImportDistribution(TOKEN, b"x" * MAX_CONTENT_BYTES))
    refusal(c.ImportDistribution(TOKEN, b"x" * (MAX_CONTENT_BYTES + 1)), "$.content")
    for content in ("text", bytearray(b"x"), memoryview(b"x"), None):
        refusal(c.ImportDistribution(TOKEN, untyped(content)), "$.content")
        refusal(
            order(document=c.DocumentUpload("a.pdf", untyped(content))),
            "$.document.content",
        )


def test_a_list_field_takes_a_tuple_or_a_list_of_bounded_size() -> None:
    check_command(c.ReclaimTickets(TOKEN, ("ticket-1", "ticket-2")))
    check_command(c.ReclaimTickets(TOKEN, untyped(["ticket-1"])))
    refusal(c.ReclaimTickets(TOKEN, untyped("ticket-1")), "$.ticket_ids", QuantityInvalidError)
    refusal(
        c.ReclaimTickets(TOKEN, untyped(frozenset({"t"}))), "$.ticket_ids", QuantityInvalidError
    )
    refusal(
        c.ReclaimTickets(TOKEN, untyped(("ticket-1", 2))), "$.ticket_ids[1]", QuantityInvalidError
    )
    many = tuple(f"ticket-{n}" for n in range(MAX_QUANTITY + 1))
    refusal(c.ReclaimTickets(TOKEN, many), "$.ticket_ids", QuantityInvalidError)
    line = LineRequest("performance-1", "tariff-1", 1)
    refusal(order(lines=(line,) * (MAX_LINES + 1)), "$.lines", QuantityInvalidError)
    refusal(order(lines=(line, 1)), "$.lines[1]", QuantityInvalidError)
    refusal(order(lines=line), "$.lines", QuantityInvalidError)


def test_a_set_field_takes_a_frozenset_or_a_set_of_bounded_size() -> None:
    def activities(ids: Any) -> c.SetCatalogProfile:
        return c.SetCatalogProfile(TOKEN, "organization-1", ids, ())

    check_command(activities({"activity-1"}))
    check_command(activities(frozenset(f"activity-{n}" for n in range(MAX_ITEMS))))
    refusal(activities(frozenset(f"activity-{n}" for n in range(MAX_ITEMS + 1))), "$.activity_ids")
    refusal(activities(("activity-1",)), "$.activity_ids")
    refusal(activities("activity-1"), "$.activity_ids")
    # items of a set are named by their place in a stable order: other types first, then text
    refusal(activities(frozenset({"b", 3, "a"})), "$.activity_ids[0]")
    refusal(activities(frozenset({"b", "a\x00"})), "$.activity_ids[0]")
    refusal(
        c.CreateOperator(TOKEN, "A", "B", "a@b.ch", untyped(frozenset({"sales"}))),
        "$.permissions[0]",
    )
    check_command(c.CreateOperator(TOKEN, "A", "B", "a@b.ch", frozenset(Permission)))


def test_enums_and_booleans_are_exactly_what_the_field_says() -> None:
    refusal(order(payment_method="card"), "$.payment_method")
    refusal(c.CreateSalesChannel(TOKEN, "Web", untyped(PaymentMethod.CARD)), "$.kind")
    check_command(c.CreateSalesChannel(TOKEN, "Web", ChannelKind.AGENCY))
    functions = untyped(frozenset({"options"}))
    refusal(c.SetSalesPointFunctions(TOKEN, "sales_point-1", functions), "$.functions[0]")
    check_command(c.SetSalesPointFunctions(TOKEN, "sales_point-1", frozenset(Function)))
    for flag in (1, 0, "true", None):
        refusal(
            c.SetAdmissionPolicy(TOKEN, "sales_point-1", untyped(flag)), "$.admit_before_settlement"
        )
        refusal(c.SetMarketingConsent(TOKEN, untyped(flag)), "$.consent")


def test_nested_values_are_instances_of_their_class_checked_in_turn() -> None:
    contact = {"first_name": "Anne", "last_name": "Martin", "email": "anne@example.ch"}
    refusal(order(purchasing_contact=contact), "$.purchasing_contact")
    refusal(c.TransferTickets(TOKEN, "order-1", untyped(None)), "$.client")
    refusal(order(card="tok_visa"), "$.card")
    refusal(
        profile(tariff_ids=frozenset({"tariff-1", "\ud800"})),
        "$.products[0].tariff_ids[1]",
    )
    check_command(order(card=None, purchasing_contact=None, document=None))


# --- through handle(): nothing is loaded before the check -----------------------------------


_VALID: dict[str, Any] = {}


def _valid(command_type: type[Any]) -> Any:
    """The simplest valid-looking command of the type (found once)."""
    name = command_type.__name__
    if name not in _VALID:
        _VALID[name] = find(tds.commands(command_type), lambda _: True)
    return _VALID[name]


def _wrong_for(hint: Any) -> object:
    """A value whose type the hint does not allow."""
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        (inner,) = [arg for arg in get_args(hint) if arg is not type(None)]
        return _wrong_for(inner)
    wrong: dict[Any, object] = {
        tuple: "not a list",
        frozenset: ["a list"],
        str: 42,
        int: "42",
        bool: 1,
        Decimal: 0.5,
        Money: Decimal("1"),
        datetime: "2026-01-01T00:00:00+00:00",
        timedelta: 60,
        bytes: "text",
    }
    if origin in wrong:
        return wrong[origin]
    if hint in wrong:
        return wrong[hint]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint)).value
    assert isinstance(hint, type) and attrs.has(hint), hint
    return {"not": "an instance"}


WRONG_TYPES = [
    pytest.param(cls, field.name, id=f"{cls.__name__}.{field.name}")
    for cls in COMMAND_TYPES
    for field in attrs.fields(cls)
]


@pytest.fixture(scope="module")
def empty_world() -> FakeWorld:
    return build_fake_world()


@pytest.mark.parametrize(("command_type", "field"), WRONG_TYPES)
def test_a_command_built_in_python_with_a_wrong_type_is_refused_with_the_fields_path(
    empty_world: FakeWorld, command_type: type[Any], field: str
) -> None:
    hint = get_type_hints(command_type)[field]
    command = attrs.evolve(_valid(command_type), **{field: _wrong_for(hint)})
    limit = limit_of(command_type, field)
    with refused(empty_world, TicketDomainError) as caught:
        empty_world.domain.handle(command)
    if field in ("token", "link_token"):
        assert caught.value == SessionInvalidError()
    else:
        assert type(caught.value) is limit.error
        assert caught.value.details["path"] == f"$.{field}"


PYTHON_VALUES = st.one_of(
    tds.hostile_json(),
    st.sampled_from(
        [
            object(),
            b"bytes",
            bytearray(b"x"),
            Decimal("NaN"),
            Decimal("1e999999"),
            datetime(1, 1, 1),
            datetime.max.replace(tzinfo=UTC),
            date(2026, 1, 1),
            timedelta.max,
            PaymentMethod.CARD,
            Permission.SALES,
            frozenset({"a", 1}),
            {"a"},
            (1, 2),
            LineRequest("performance-1", "tariff-1", 1),
            CHF,
            c.ContactDetails("A", "B", "a@b.ch"),
        ]
    ),
)


@given(st.sampled_from(COMMAND_TYPES), st.data())
def test_any_python_value_in_any_field_passes_or_is_refused_at_that_field(
    command_type: type[Any], data: st.DataObject
) -> None:
    field = data.draw(st.sampled_from([a.name for a in attrs.fields(command_type)]))
    value = data.draw(PYTHON_VALUES)
    command = attrs.evolve(data.draw(tds.commands(command_type)), **{field: value})
    try:
        check_command(command)
    except SessionInvalidError:
        assert field in ("token", "link_token")
    except ValidationError as error:
        assert error.details["path"].startswith(f"$.{field}")
        assert (
            type(error) is limit_of(command_type, field).error
            or error.details["path"] != f"$.{field}"
        )
