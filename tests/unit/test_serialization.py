"""Every command, result and error of the public API survives JSON and comes back equal.

The classes are enumerated from their modules, so a new command, result or error whose types
the converter cannot handle fails here without anyone listing it.
"""

from __future__ import annotations

import base64
import enum
import json
import types
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ticketdomain
from ticketdomain import (
    CardPayment,
    CreatePerformance,
    CreateProduct,
    CreateSalesPoint,
    CreateTariff,
    DeliveryMode,
    DocumentUpload,
    Function,
    InstitutionView,
    LineRequest,
    Money,
    PaymentMethod,
    PlaceOrder,
    ProcessDueExpiries,
    ProductConditions,
    SecurityPolicy,
    SessionView,
    SetCatalogProfile,
    TicketDomain,
    TicketDomainError,
    ValidationError,
)
from ticketdomain.core.errors import (
    AmountInvalidError,
    AuthorizationError,
    CurrencyMismatchError,
    NotFoundError,
    QuantityInvalidError,
    SetupInvalidError,
    rebuild_error,
)
from ticketdomain.core.identity import LoginThrottle
from ticketdomain.core.mail import DeliveryPolicy
from ticketdomain.core.money import MAX_AMOUNT
from ticketdomain.serialization import (
    CommandTypeUnknownError,
    PayloadInvalidError,
    make_converter,
    structure,
    structure_command,
    structure_error,
    unstructure,
    unstructure_command,
    unstructure_error,
)
from ticketdomain.services import commands, results
from ticketdomain.testing import strategies as tds

# --- the classes, enumerated ----------------------------------------------------------------


def _attrs_classes(module: types.ModuleType) -> list[type[Any]]:
    found = (
        cls
        for cls in vars(module).values()
        if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == module.__name__
    )
    return sorted(found, key=lambda cls: cls.__name__)


def _library_errors(root: type[TicketDomainError]) -> Iterator[type[TicketDomainError]]:
    """``root`` and its subclasses defined in the library (not in some test module)."""
    if root.__module__.split(".")[0] == "ticketdomain":
        yield root
    for sub in root.__subclasses__():
        yield from _library_errors(sub)


COMMAND_CLASSES = _attrs_classes(commands)
COMMAND_TYPES = TicketDomain.command_types()
RESULT_CLASSES = _attrs_classes(results)
ERROR_CLASSES = sorted(set(_library_errors(TicketDomainError)), key=lambda cls: cls.__name__)
#: attrs value types the public API exports beside the commands and results
VALUE_CLASSES = sorted(
    {
        cls
        for cls in vars(ticketdomain).values()
        if isinstance(cls, type) and attrs.has(cls)
        if cls not in COMMAND_CLASSES and cls not in RESULT_CLASSES
    },
    key=lambda cls: cls.__name__,
)


#: any session token: serialization neither checks nor resolves it
TOKEN = "tds_token000001"


def _name(cls: type[Any]) -> str:
    return cls.__name__


def test_the_enumerations_find_the_public_api() -> None:
    assert {PlaceOrder, DocumentUpload, ProcessDueExpiries} <= set(COMMAND_CLASSES)
    assert {InstitutionView, SessionView} <= set(RESULT_CLASSES)
    assert set(TicketDomain.command_types()) <= set(COMMAND_CLASSES)
    assert {Money, LineRequest, ProductConditions, CardPayment} <= set(VALUE_CLASSES)
    assert {TicketDomainError, NotFoundError, PayloadInvalidError} <= set(ERROR_CLASSES)
    assert len({cls.code for cls in ERROR_CLASSES}) == len(ERROR_CLASSES)


def test_every_command_but_logging_in_carries_a_token_first() -> None:
    # who sends a command is what its token opens: no payload names an actor or a session
    for cls in COMMAND_TYPES:
        names = [field.name for field in attrs.fields(cls)]
        if cls.rule.public:
            assert "token" not in names, cls
        else:
            assert names[0] == "token", cls
            assert attrs.fields(cls)[0].type in (str, "str"), cls
        assert not {"session", "operator", "relay_id"} & set(names), cls
    # the host's trusted calls are not commands a payload could name
    assert not {"CreateInstitution", "Bootstrap", "OpenSession"} & {
        c.__name__ for c in COMMAND_TYPES
    }


# --- strategies for the field types ---------------------------------------------------------

_offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
_aware_datetimes = st.one_of(
    tds.aware_datetimes(),
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.one_of(st.just(UTC), _offsets),
    ),
)


@st.composite
def _product_conditions(draw: st.DrawFn) -> ProductConditions:
    min_per_order = draw(st.integers(min_value=1, max_value=100))
    opens_at = draw(st.none() | _aware_datetimes)
    window = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=3650))
    return ProductConditions(
        product_id=draw(st.text()),
        tariff_ids=draw(st.none() | st.frozensets(st.text(), max_size=4)),
        min_per_order=min_per_order,
        max_per_order=draw(st.none() | st.integers(min_value=min_per_order, max_value=1000)),
        sale_opens_at=opens_at,
        sale_closes_at=draw(
            st.none() | (_aware_datetimes if opens_at is None else window.map(opens_at.__add__))
        ),
    )


_positive_durations = st.timedeltas(min_value=timedelta(microseconds=1))
_links = st.tuples(st.text(), st.text()).map(lambda parts: "{token}".join(parts))

#: types whose valid values a plain ``from_type`` would not draw
_SPECIAL: dict[Any, st.SearchStrategy[Any]] = {
    SecurityPolicy: st.builds(
        SecurityPolicy,
        session_lifetime=_positive_durations,
        session_idle=_positive_durations,
        touch_interval=st.timedeltas(),
        login_link_lifetime=st.timedeltas(),
        invitation_link_lifetime=st.timedeltas(),
        throttle=st.builds(LoginThrottle, st.integers(), st.timedeltas()),
        member_link=_links,
        relay_link=_links,
        min_password_length=st.integers(),
    ),
    DeliveryPolicy: st.builds(
        DeliveryPolicy,
        max_attempts=st.integers(min_value=1),
        first_retry=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(1)),
        factor=st.integers(min_value=1),
        cap=st.timedeltas(min_value=timedelta(1)),
        lease=_positive_durations,
        batch=st.integers(min_value=1),
    ),
    datetime: _aware_datetimes,
    Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    Money: tds.money(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT),
    LineRequest: st.builds(LineRequest, st.text(), st.text(), tds.quantities()),
    ProductConditions: _product_conditions(),
}


def _strategy_for(type_: Any) -> st.SearchStrategy[Any]:
    if type_ in _SPECIAL:
        return _SPECIAL[type_]
    origin, args = typing.get_origin(type_), typing.get_args(type_)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_strategy_for(arg) for arg in args))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return st.lists(_strategy_for(args[0]), max_size=3).map(tuple)
    if origin is frozenset:
        return st.frozensets(_strategy_for(args[0]), max_size=4)
    if isinstance(type_, type) and issubclass(type_, enum.Enum):
        return st.sampled_from(type_)
    if attrs.has(type_):
        return _instances(type_)
    return st.from_type(type_)


_BUILDS: dict[type[Any], st.SearchStrategy[Any]] = {}


def _instances(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Instances of an attrs class, every field drawn from its annotation."""
    if cls not in _BUILDS:
        fields = attrs.fields(attrs.resolve_types(cls))
        _BUILDS[cls] = st.builds(cls, **{f.alias: _strategy_for(f.type) for f in fields})
    return _BUILDS[cls]


# --- round trips ----------------------------------------------------------------------------


def _assert_json_ready(data: object) -> None:
    if isinstance(data, dict):
        assert all(isinstance(key, str) for key in data), data
        for value in data.values():
            _assert_json_ready(value)
    elif isinstance(data, list):
        for item in data:
            _assert_json_ready(item)
    else:
        assert data is None or isinstance(data, str | int | bool), repr(data)


def _through_json(data: object) -> Any:
    return json.loads(json.dumps(data))


def _assert_round_trip(value: object) -> None:
    data = unstructure(value)
    _assert_json_ready(data)
    back = structure(_through_json(data), type(value))
    assert back == value
    assert unstructure(back) == data


_EXAMPLES = settings(max_examples=25, deadline=None)


@pytest.mark.parametrize("cls", COMMAND_CLASSES, ids=_name)
@_EXAMPLES
@given(data=st.data())
def test_every_command_round_trips(cls: type[Any], data: st.DataObject) -> None:
    command = data.draw(_instances(cls))
    _assert_round_trip(command)
    if cls in COMMAND_TYPES:
        named = unstructure_command(command)
        assert named["type"] == cls.__name__
        assert structure_command(_through_json(named), COMMAND_TYPES) == command


@pytest.mark.parametrize("cls", RESULT_CLASSES, ids=_name)
@_EXAMPLES
@given(data=st.data())
def test_every_result_round_trips(cls: type[Any], data: st.DataObject) -> None:
    _assert_round_trip(data.draw(_instances(cls)))


@pytest.mark.parametrize("cls", VALUE_CLASSES, ids=_name)
@_EXAMPLES
@given(data=st.data())
def test_every_exported_value_type_round_trips(cls: type[Any], data: st.DataObject) -> None:
    _assert_round_trip(data.draw(_strategy_for(cls)))


_detail_values = st.none() | st.booleans() | st.integers() | st.text()


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=_name)
@_EXAMPLES
@given(
    message=st.text(),
    details=st.dictionaries(
        st.text(), _detail_values | st.lists(_detail_values, max_size=3), max_size=4
    ),
)
def test_every_error_round_trips(
    cls: type[TicketDomainError], message: str, details: dict[str, Any]
) -> None:
    error = cls.__new__(cls)  # as a raise site would, with any message and details
    TicketDomainError.__init__(error, message)
    error.details = details
    data = unstructure_error(error)
    assert data == {"code": cls.code, "message": message, "details": details}
    back = structure_error(_through_json(data))
    assert type(back) is cls
    assert back == error
    assert structure(_through_json(unstructure(error)), cls) == error


# --- formats --------------------------------------------------------------------------------


def test_money_and_decimals_are_exact_strings() -> None:
    assert unstructure(Money(Decimal("12.5"), "CHF")) == {"amount": "12.50", "currency": "CHF"}
    data = unstructure(CreateProduct(TOKEN, "activity-1", "Orchestra", Decimal("0.081")))
    assert data["vat_rate"] == "0.081"
    assert structure({"amount": 12, "currency": "EUR"}, Money) == Money(Decimal(12), "EUR")


def test_datetimes_keep_their_offset() -> None:
    starts_at = datetime(2025, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=1)))
    data = unstructure(CreatePerformance(TOKEN, "activity-1", starts_at, "Grande salle", 800))
    assert data["starts_at"] == "2025-03-01T20:00:00+01:00"
    data["starts_at"] = "2025-03-01T19:00:00Z"
    assert structure(data, CreatePerformance).starts_at == starts_at


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=2), "P2D"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(0), "PT0S"),
        (timedelta(days=1, microseconds=500_000), "P1DT0.5S"),
        (-timedelta(seconds=90), "-PT1M30S"),
    ],
)
def test_durations_are_iso_8601(duration: timedelta, text: str) -> None:
    assert unstructure(duration) == text
    assert structure(text, timedelta) == duration


def test_durations_also_come_as_whole_seconds_or_weeks() -> None:
    assert structure(3600, timedelta) == timedelta(hours=1)
    assert structure("P1W", timedelta) == timedelta(days=7)


def test_bytes_are_base64() -> None:
    data = unstructure(DocumentUpload("letter.pdf", b"%PDF-1.7\n\xff"))
    assert data == {
        "filename": "letter.pdf",
        "content": base64.b64encode(b"%PDF-1.7\n\xff").decode(),
    }


def test_sets_are_sorted_lists_and_enums_their_values() -> None:
    point = CreateSalesPoint(
        TOKEN,
        "org-1",
        "channel-1",
        "Agency",
        functions=frozenset({Function.SALES_REPORT, Function.OPTIONS, Function.DISTRIBUTION}),
        payment_methods=frozenset(PaymentMethod),
    )
    data = unstructure(point)
    assert data["functions"] == ["distribution", "options", "sales_report"]
    assert data["payment_methods"] == ["card", "holding_account"]
    assert data["delivery_modes"] == [DeliveryMode.PRINT_AT_HOME.value]
    shuffled = structure(list(reversed(data["functions"])), frozenset[Function])
    assert unstructure(shuffled) == data["functions"]


def test_missing_fields_with_defaults_take_the_default() -> None:
    assert structure_command(
        {"type": "ProcessDueExpiries", "data": {"token": TOKEN}}, COMMAND_TYPES
    ) == ProcessDueExpiries(TOKEN)


# --- refusals -------------------------------------------------------------------------------


def _errors_of(raised: pytest.ExceptionInfo[PayloadInvalidError]) -> list[str]:
    errors = raised.value.details["errors"]
    assert isinstance(errors, list)
    json.dumps(raised.value.details)
    return errors


def _performance(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "token": TOKEN,
        "activity_id": "activity-1",
        "starts_at": "2025-03-01T20:00:00+01:00",
        "venue": "Grande salle",
        "capacity": 800,
    }
    return data | changes


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"starts_at": "2025-03-01T20:00:00"}, "$.starts_at"),  # naive
        ({"starts_at": "tomorrow"}, "$.starts_at"),
        ({"starts_at": 1740855600}, "$.starts_at"),
        ({"capacity": "800"}, "$.capacity"),
        ({"capacity": True}, "$.capacity"),
        ({"capacity": 800.0}, "$.capacity"),
        ({"venue": 12}, "$.venue"),
        ({"venue": None}, "$.venue"),
        ({"stage": "main"}, "$"),
    ],
)
def test_malformed_data_is_a_typed_validation_error_with_paths(
    changes: dict[str, object], path: str
) -> None:
    with pytest.raises(PayloadInvalidError) as raised:
        structure(_performance(**changes), CreatePerformance)
    assert isinstance(raised.value, ValidationError)
    assert raised.value.details["type"] == "CreatePerformance"
    assert [error.rsplit(" @ ", 1)[1] for error in _errors_of(raised)] == [path]


def test_a_missing_field_is_named() -> None:
    data = _performance()
    del data["venue"]
    with pytest.raises(PayloadInvalidError) as raised:
        structure(data, CreatePerformance)
    assert _errors_of(raised) == ["required field missing @ $.venue"]


def test_every_problem_is_listed_at_once() -> None:
    data = {
        "token": {"relay_id": "r"},
        "lines": [{"performance_id": "p", "tariff_id": "t", "quantity": 0}, "line"],
        "payment_method": "cash",
    }
    with pytest.raises(PayloadInvalidError) as raised:
        structure_command({"type": "PlaceOrder", "data": data}, COMMAND_TYPES)
    errors = _errors_of(raised)
    paths = {error.rsplit(" @ ", 1)[1] for error in errors}
    assert {"$.token", "$.lines[0]", "$.lines[1]", "$.payment_method"} <= paths
    assert any("quantity_invalid" in error for error in errors)


@pytest.mark.parametrize(
    ("value", "cls"),
    [
        (0.081, Decimal),
        ("NaN", Decimal),
        ("1e", Decimal),
        ("P1M", timedelta),
        ("P", timedelta),
        ("PT", timedelta),
        ("P1.5D", timedelta),
        (1.5, timedelta),
        ("not base64!", bytes),
        ("abc", frozenset[str]),
        ({"a": 1}, tuple[str, ...]),
        ("DOCUMENT", Function),
        ([], CardPayment),
        ({"amount": "1.00"}, Money),
        ({"amount": "1.00", "currency": "CHF", "rate": 1}, Money),
    ],
)
def test_strict_formats_refuse_what_they_do_not_describe(value: object, cls: Any) -> None:
    with pytest.raises(PayloadInvalidError):
        structure(value, cls)


def test_naive_datetimes_are_refused_on_the_way_out_too() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        unstructure(datetime(2025, 3, 1, 20, 0))


def test_the_domain_refusing_a_value_raises_its_own_error() -> None:
    price = {"amount": "10.00", "currency": "chf"}
    with pytest.raises(CurrencyMismatchError):
        structure({"token": TOKEN, "product_id": "p", "name": "Full", "price": price}, CreateTariff)
    with pytest.raises(AmountInvalidError):
        structure({"amount": 10.5, "currency": "CHF"}, Money)
    line = {"performance_id": "p", "tariff_id": "t", "quantity": 0}
    data = unstructure_command(PlaceOrder(TOKEN, (), PaymentMethod.CARD))
    data["data"]["lines"] = [line]
    with pytest.raises(QuantityInvalidError):
        structure_command(data, COMMAND_TYPES)
    conditions = unstructure(ProductConditions("product-1")) | {"min_per_order": 0}
    with pytest.raises(SetupInvalidError):
        structure(
            {"token": TOKEN, "organization_id": "o", "activity_ids": [], "products": [conditions]},
            SetCatalogProfile,
        )


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "ShipTickets", "data": {}},
        {"type": "InstitutionView", "data": {"id": "i", "name": "n"}},
        {"type": "DocumentUpload", "data": {"filename": "a.pdf", "content": ""}},
        {"type": 3, "data": {}},
    ],
)
def test_an_unknown_command_type_is_refused(payload: dict[str, object]) -> None:
    with pytest.raises(CommandTypeUnknownError, match="is not a command type; known") as raised:
        structure_command(payload, COMMAND_TYPES)
    assert isinstance(raised.value, ValidationError)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "PlaceOrder",
        {"type": "ProcessDueExpiries"},
        {"data": {}},
        {"type": "X", "data": {}, "extra": 1},
    ],
)
def test_a_command_payload_without_type_and_data_is_refused(payload: object) -> None:
    with pytest.raises(PayloadInvalidError):
        structure_command(payload, COMMAND_TYPES)


def test_only_attrs_instances_unstructure_as_commands() -> None:
    with pytest.raises(TypeError):
        unstructure_command({"type": "PlaceOrder"})


# --- errors ---------------------------------------------------------------------------------


def test_errors_come_back_as_their_class() -> None:
    error = NotFoundError("order", "order-1")
    data = unstructure_error(error)
    assert data == {
        "code": "not_found",
        "message": "No order with id 'order-1'.",
        "details": {"kind": "order", "id": "order-1"},
    }
    assert structure_error(data) == error
    assert structure_error({"code": "not_found", "message": "gone"}) == rebuild_error(
        "not_found", "gone", {}
    )


def test_errors_of_the_oserror_family_come_back_too() -> None:
    # rebuild_error alone refuses them: TicketDomainError.__new__ is unsafe for an OSError.
    error = structure_error({"code": "not_authorized", "message": "No.", "details": {}})
    assert type(error) is AuthorizationError
    assert isinstance(error, PermissionError)
    assert error == AuthorizationError("No.")


def test_an_unknown_error_code_gives_the_root_class() -> None:
    error = structure_error({"code": "no_such_code", "message": "?", "details": {}})
    assert type(error) is TicketDomainError


def test_error_details_are_made_json_ready() -> None:
    error = TicketDomainError(
        "Odd details.",
        amount=Decimal("1.50"),
        at=datetime(2025, 3, 1, tzinfo=UTC),
        price=Money(Decimal(5), "EUR"),
        states=frozenset({"b", "a"}),
        method=PaymentMethod.CARD,
        ratio=0.5,
    )
    data = unstructure_error(error)
    _assert_json_ready(data)
    assert data["details"] == {
        "amount": "1.50",
        "at": "2025-03-01T00:00:00+00:00",
        "price": {"amount": "5.00", "currency": "EUR"},
        "states": ["a", "b"],
        "method": "card",
        "ratio": "0.5",
    }


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {"message": "no code"},
        {"code": 1, "message": "m"},
        {"code": "not_found", "message": "m", "details": []},
        {"code": "not_found", "message": "m", "details": {}, "trace": "…"},
    ],
)
def test_a_malformed_error_payload_is_refused(payload: object) -> None:
    with pytest.raises(PayloadInvalidError):
        structure_error(payload)


def test_an_error_of_another_family_is_refused() -> None:
    with pytest.raises(PayloadInvalidError):
        structure({"code": "quota_exhausted", "message": "m", "details": {}}, NotFoundError)


# --- converters -----------------------------------------------------------------------------


def test_each_converter_is_independent() -> None:
    first, second = make_converter(), make_converter()
    assert first is not second
    first.register_unstructure_hook(Money, lambda money: str(money))
    price = Money(Decimal(5), "EUR")
    assert unstructure(price, converter=first) == "5.00 EUR"
    assert unstructure(price, converter=second) == {"amount": "5.00", "currency": "EUR"}
    assert unstructure(price) == {"amount": "5.00", "currency": "EUR"}


def test_make_converter_is_public() -> None:
    assert ticketdomain.make_converter is make_converter
    assert "make_converter" in ticketdomain.__all__
