"""Limits of every command field, checked before anything is loaded.

A front end may send anything; what reaches a repository is text without control characters
or lone surrogates and of bounded length, whole numbers a database column holds, and so on.
:func:`check_command` walks a command's fields by their type hints (nested values such as
``LineRequest`` or ``ContactDetails`` too) and raises a ``ValidationError`` subclass whose
``details`` name the field (``path``: ``$.lines[0].quantity``) and the ``problem``.

The limits, by kind of value (a field's own row in :data:`FIELD_LIMITS` or
:data:`CLASS_FIELD_LIMITS` overrides the kind's default):

=================  =========================================================================
kind               accepted
=================  =========================================================================
text               ``str``; at most ``MAX_TEXT`` (200) characters; no control character (tab
                   and newline neither), lone surrogate or bidirectional override/isolate
names              text of at most ``MAX_NAME`` (100) characters: ``name``, ``first_name``,
                   ``last_name``, ``venue``, ``beneficiary`` (``NameInvalidError``)
email              text of at most 254 characters: ``email``, ``beneficiary_email``
                   (``EmailInvalidError``)
passwords          ``str`` of at most 1024 characters, any character but NUL and lone
                   surrogates (``PasswordInvalidError``)
tokens             ``token`` and ``link_token``: ``str`` (else ``SessionInvalidError``, as for
                   any token that opens nothing); their content is the Authenticator's and
                   the login link's to judge; a card's token is plain text
barcode            at most 200 characters, any character but NUL and lone surrogates
time_zone          text of at most 64 characters, then an IANA zone name
                   (``TimeZoneUnknownError``)
language           text of at most 20 characters, then one of ``core.languages.LANGUAGES``
                   (``LanguageUnsupportedError``)
search text,       text of at most 200 characters; ``label`` at most 100
reference
whole numbers      ``int``, never ``bool``: ``quantity`` 1 to ``MAX_QUANTITY`` (10 000),
                   ``capacity`` 0 to ``MAX_CAPACITY`` (10^7), ``limit`` 1 to 10 000,
                   ``min_per_order``/``max_per_order`` 1 to ``MAX_QUANTITY``,
                   ``max_document_bytes`` 1 to ``MAX_CONTENT_BYTES``; any other 0 to
                   ``MAX_COUNT`` (10^6); every bound below 2^31 - 1
decimals           ``Decimal``, finite, at most ``MAX_DECIMAL`` (10^9) in size and six decimal
                   places (``vat_rate``: ``VatRateInvalidError``)
money              ``Money``: at most the currency's decimals (refused by ``Money`` itself,
                   never rounded) and ``MAX_AMOUNT`` (``AmountInvalidError``)
datetimes          aware, from ``EARLIEST`` (1970-01-01 UTC) to before ``LATEST``
                   (2200-01-01 UTC)
durations          ``timedelta`` within ``MAX_DURATION`` (ten years) either way
bytes              at most ``MAX_CONTENT_BYTES`` (20 MiB) for ``content`` (the documents and
                   spreadsheets have their own, smaller limits after this one)
collections        ``tuple`` (or ``list``) and ``frozenset`` (or ``set``) of at most
                   ``MAX_ITEMS`` (1000) items, each checked as its type says; ``ticket_ids``
                   at most ``MAX_QUANTITY``, ``lines`` at most ``MAX_LINES`` (50)
                   (``QuantityInvalidError``)
bool, enums        exactly a ``bool``, a member of the field's enum
nested values      an instance of the field's class, its own fields checked in turn
=================  =========================================================================

Every refusal is ``InputInvalidError`` unless the field's kind has a domain error of its own
(the names in brackets above; set-up dates, durations and ``max_document_bytes`` raise
``SetupInvalidError``, a report's period ``PeriodInvalidError``), so a front end meets one code
per field whatever is wrong with it. A wrong type is refused like a wrong value.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Union, get_args, get_origin, get_type_hints

import attrs

from ticketdomain.core.catalog import MAX_CAPACITY, MAX_QUANTITY
from ticketdomain.core.contacts import MAX_NAME
from ticketdomain.core.errors import (
    AmountInvalidError,
    CommandTypeUnknownError,
    EmailInvalidError,
    InputInvalidError,
    LanguageUnsupportedError,
    NameInvalidError,
    PasswordInvalidError,
    PeriodInvalidError,
    QuantityInvalidError,
    SessionInvalidError,
    SetupInvalidError,
    TimeZoneUnknownError,
    ValidationError,
    VatRateInvalidError,
)
from ticketdomain.core.money import MAX_AMOUNT, Money, minor_digits
from ticketdomain.core.sales import MAX_LINES
from ticketdomain.core.timezones import MAX_TIME_ZONE

#: the default limit of a text field, in characters
MAX_TEXT = 200
#: an email address (RFC 5321 path limit)
MAX_EMAIL = 254
#: the longest password (argon2 takes any length; this bounds the work per attempt)
MAX_PASSWORD = 1024
#: the default range of a whole number is 0 to this
MAX_COUNT = 1_000_000
#: the largest content (document, spreadsheet), in bytes
MAX_CONTENT_BYTES = 20 * 1024 * 1024
#: the most items of a tuple or frozenset field
MAX_ITEMS = 1000
#: the largest decimal (a VAT rate is below 1; amounts are ``Money``)
MAX_DECIMAL = Decimal(10**9)
#: decimal places of a decimal field (storage keeps VAT rates to six places)
DECIMAL_PLACES = 6
#: datetimes lie in [EARLIEST, LATEST)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: durations lie within this either way (ten years)
MAX_DURATION = timedelta(days=3653)
#: no whole number of any field goes beyond what a 32-bit signed column holds
INT32_MAX = 2**31 - 1


class TextRule(enum.Enum):
    """Which characters a text field accepts."""

    #: no control character, lone surrogate or bidirectional override/isolate
    PLAIN = "plain"
    #: any character but NUL and lone surrogates (a password, a scanned barcode)
    OPAQUE = "opaque"
    #: the type only (``SessionInvalidError`` otherwise): the Authenticator judges the content
    TOKEN = "token"


@attrs.frozen
class Limit:
    """What one field accepts beyond its type, and the error that refuses it."""

    #: characters of a text, bytes of a content
    length: int = MAX_TEXT
    text: TextRule = TextRule.PLAIN
    #: items of a tuple or frozenset
    items: int = MAX_ITEMS
    #: range of a whole number
    low: int = 0
    high: int = MAX_COUNT
    #: decimal places of a ``Decimal``
    places: int = DECIMAL_PLACES
    error: type[ValidationError] = InputInvalidError

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.low <= self.high <= INT32_MAX:
            raise ValueError(f"whole numbers must lie within 0..{INT32_MAX}")


DEFAULT = Limit()
_NAME = Limit(length=MAX_NAME, error=NameInvalidError)
_PASSWORD = Limit(length=MAX_PASSWORD, text=TextRule.OPAQUE, error=PasswordInvalidError)
_TOKEN = Limit(text=TextRule.TOKEN)
_SETUP = Limit(error=SetupInvalidError)
_ORDER_LIMIT = Limit(low=1, high=MAX_QUANTITY, error=SetupInvalidError)
_DURATION = _SETUP
_MONEY = Limit(error=AmountInvalidError)

#: limits by field name, for every command (and nested value) with a field of that name
FIELD_LIMITS: Mapping[str, Limit] = {
    "token": _TOKEN,
    "link_token": _TOKEN,
    "name": _NAME,
    "first_name": _NAME,
    "last_name": _NAME,
    "venue": _NAME,
    "beneficiary": _NAME,
    "email": Limit(length=MAX_EMAIL, error=EmailInvalidError),
    "beneficiary_email": Limit(length=MAX_EMAIL, error=EmailInvalidError),
    "password": _PASSWORD,
    "new_password": _PASSWORD,
    "current_password": _PASSWORD,
    "barcode": Limit(text=TextRule.OPAQUE),
    "text": Limit(length=200),
    "reference": Limit(length=200),
    "label": Limit(length=100),
    "quantity": Limit(low=1, high=MAX_QUANTITY, error=QuantityInvalidError),
    "capacity": Limit(low=0, high=MAX_CAPACITY, error=QuantityInvalidError),
    "limit": Limit(low=1, high=10_000, error=QuantityInvalidError),
    "min_per_order": _ORDER_LIMIT,
    "max_per_order": _ORDER_LIMIT,
    "max_document_bytes": Limit(low=1, high=MAX_CONTENT_BYTES, error=SetupInvalidError),
    "reservation_delay": _DURATION,
    "reservation_cutoff": _DURATION,
    "option_lifetime": _DURATION,
    "starts_at": _SETUP,
    "time_zone": Limit(length=MAX_TIME_ZONE, error=TimeZoneUnknownError),
    "language": Limit(length=20, error=LanguageUnsupportedError),
    "sale_opens_at": _SETUP,
    "sale_closes_at": _SETUP,
    "period_from": Limit(error=PeriodInvalidError),
    "period_until": Limit(error=PeriodInvalidError),
    "vat_rate": Limit(error=VatRateInvalidError),
    "price": _MONEY,
    "amount": _MONEY,
    "content": Limit(length=MAX_CONTENT_BYTES),
    "ticket_ids": Limit(items=MAX_QUANTITY, error=QuantityInvalidError),
    "lines": Limit(items=MAX_LINES, error=QuantityInvalidError),
}

#: limits of one field of one class (by class name), taking precedence over FIELD_LIMITS
CLASS_FIELD_LIMITS: Mapping[tuple[str, str], Limit] = {
    # a payment provider's card token is plain text, not a session token
    ("CardPayment", "token"): DEFAULT,
    ("SetCreditLimit", "limit"): _MONEY,
}


def limit_of(owner: type[Any], field: str) -> Limit:
    """The limit of ``field`` of the attrs class ``owner``."""
    return CLASS_FIELD_LIMITS.get((owner.__name__, field)) or FIELD_LIMITS.get(field, DEFAULT)


# --- text -----------------------------------------------------------------------------------

# C0 and C1 controls (Unicode category Cc), lone surrogates (Cs), and the right-to-left
# overrides, embeddings and isolates that let a name display as something it is not.
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_NOT_OPAQUE = re.compile("[\x00\ud800-\udfff]")


def _refuse(
    path: str, problem: str, error: type[ValidationError] = InputInvalidError
) -> ValidationError:
    return error(f"{problem} @ {path}", path=path, problem=problem)


def _check_characters(value: str, path: str, limit: Limit) -> None:
    if limit.text is TextRule.TOKEN:
        return
    if len(value) > limit.length:
        raise _refuse(path, f"At most {limit.length} characters, got {len(value)}.", limit.error)
    pattern = _NOT_PLAIN if limit.text is TextRule.PLAIN else _NOT_OPAQUE
    found = pattern.search(value)
    if found is not None:
        problem = f"Character U+{ord(found.group()):04X} is not allowed in text."
        raise _refuse(path, problem, limit.error)


def check_text(value: object, path: str, limit: int = MAX_TEXT) -> str:
    """Text of at most ``limit`` characters, with no control character (tab and newline
    neither), no lone surrogate and no bidirectional override."""
    if not isinstance(value, str):
        raise _refuse(path, f"Expected text, got {type(value).__name__}.")
    _check_characters(value, path, Limit(length=limit))
    return value


# --- the walk -------------------------------------------------------------------------------

Check = Callable[[object, str, Limit], None]


def _type_name(value: object) -> str:
    return type(value).__name__


def _check_str(value: object, path: str, limit: Limit) -> None:
    if limit.text is TextRule.TOKEN and not isinstance(value, str):
        # The answer the Authenticator gives any token that opens nothing, path and all.
        raise SessionInvalidError()
    if not isinstance(value, str):
        raise _refuse(path, f"Expected text, got {_type_name(value)}.", limit.error)
    _check_characters(value, path, limit)


def _check_int(value: object, path: str, limit: Limit) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(path, f"Expected a whole number, got {_type_name(value)}.", limit.error)
    if not limit.low <= value <= limit.high:
        # Not the value itself in the message: 10**100000 has a hundred thousand digits.
        problem = f"A whole number from {limit.low} to {limit.high} is expected."
        raise _refuse(path, problem, limit.error)


def _check_bool(value: object, path: str, limit: Limit) -> None:
    if not isinstance(value, bool):
        raise _refuse(path, f"Expected true or false, got {_type_name(value)}.", limit.error)


def _check_decimal(value: object, path: str, limit: Limit) -> None:
    if not isinstance(value, Decimal):
        raise _refuse(path, f"Expected a decimal, got {_type_name(value)}.", limit.error)
    if not value.is_finite():
        raise _refuse(path, "A finite decimal is expected.", limit.error)
    # copy_abs, not abs(): abs() rounds in the context and traps Overflow on 1e999999999.
    if value.copy_abs() > MAX_DECIMAL:
        raise _refuse(path, f"A decimal of at most {MAX_DECIMAL} is expected.", limit.error)
    if value != value.quantize(Decimal(1).scaleb(-limit.places)):
        raise _refuse(path, f"At most {limit.places} decimal places.", limit.error)


def _check_datetime(value: object, path: str, limit: Limit) -> None:
    if not isinstance(value, datetime):
        raise _refuse(path, f"Expected a datetime, got {_type_name(value)}.", limit.error)
    try:
        aware = value.utcoffset() is not None
        within = aware and EARLIEST <= value < LATEST
    except (ArithmeticError, TypeError, ValueError):
        aware = within = False
    if not aware:
        raise _refuse(path, "A datetime with a time zone is expected.", limit.error)
    if not within:
        problem = f"A datetime from {EARLIEST.date()} to before {LATEST.date()} is expected."
        raise _refuse(path, problem, limit.error)


def _check_timedelta(value: object, path: str, limit: Limit) -> None:
    if not isinstance(value, timedelta):
        raise _refuse(path, f"Expected a duration, got {_type_name(value)}.", limit.error)
    if not -MAX_DURATION <= value <= MAX_DURATION:
        problem = f"A duration of at most {MAX_DURATION.days} days either way is expected."
        raise _refuse(path, problem, limit.error)


def _check_bytes(value: object, path: str, limit: Limit) -> None:
    if not isinstance(value, bytes):
        raise _refuse(path, f"Expected bytes, got {_type_name(value)}.", limit.error)
    if len(value) > limit.length:
        raise _refuse(path, f"At most {limit.length} bytes, got {len(value)}.", limit.error)


def _check_money(value: object, path: str, limit: Limit) -> None:
    if not isinstance(value, Money):
        raise _refuse(path, f"Expected money, got {_type_name(value)}.", limit.error)
    # Money refuses these when built; a value forged around its constructor is caught here.
    amount, digits = value.amount, minor_digits(value.currency)
    if (
        not isinstance(amount, Decimal)
        or not amount.is_finite()
        or amount.copy_abs() > MAX_AMOUNT
        or amount != amount.quantize(Decimal(1).scaleb(-digits))
    ):
        problem = f"An amount of at most {MAX_AMOUNT} with at most {digits} decimals."
        raise _refuse(path, problem, limit.error)


_SCALARS: Mapping[object, Check] = {
    str: _check_str,
    int: _check_int,
    bool: _check_bool,
    Decimal: _check_decimal,
    datetime: _check_datetime,
    timedelta: _check_timedelta,
    bytes: _check_bytes,
    Money: _check_money,
}


def _checker(hint: Any, where: str) -> Check:
    """The check of a value of type ``hint`` (built once per field, then cached)."""
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        args = get_args(hint)
        others = [arg for arg in args if arg is not type(None)]
        if len(others) != 1:
            raise TypeError(f"no input check for {hint!r} ({where})")
        inner = _checker(others[0], where)
        optional = len(others) < len(args)

        def check_optional(value: object, path: str, limit: Limit) -> None:
            if value is None and optional:
                return
            inner(value, path, limit)

        return check_optional
    if origin is tuple:
        args = get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"no input check for {hint!r} ({where})")
        return _collection(_checker(args[0], where), (tuple, list), "list", ordered=True)
    if origin is frozenset:
        (item,) = get_args(hint)
        return _collection(_checker(item, where), (frozenset, set), "set", ordered=False)
    if hint in _SCALARS:
        return _SCALARS[hint]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _member_of(hint)
    if isinstance(hint, type) and attrs.has(hint):
        return _nested(hint)
    raise TypeError(f"no input check for {hint!r} ({where})")


def _collection(item: Check, kinds: tuple[type[Any], ...], noun: str, *, ordered: bool) -> Check:
    def check_collection(value: object, path: str, limit: Limit) -> None:
        if not isinstance(value, kinds):
            raise _refuse(path, f"Expected a {noun}, got {_type_name(value)}.", limit.error)
        if len(value) > limit.items:
            problem = f"At most {limit.items} items, got {len(value)}."
            raise _refuse(path, problem, limit.error)
        # A set has no order: its items are named by their place in a stable order.
        items: Iterable[object] = value if ordered else sorted(value, key=_stable)
        for index, element in enumerate(items):
            item(element, f"{path}[{index}]", limit)

    return check_collection


def _stable(item: object) -> tuple[str, str]:
    return (_type_name(item), item if isinstance(item, str) else repr(item))


def _member_of(cls: type[enum.Enum]) -> Check:
    def check_member(value: object, path: str, limit: Limit) -> None:
        if not isinstance(value, cls):
            problem = f"Expected a {cls.__name__}, got {_type_name(value)}."
            raise _refuse(path, problem, limit.error)

    return check_member


def _nested(cls: type[Any]) -> Check:
    def check_nested(value: object, path: str, limit: Limit) -> None:
        if not isinstance(value, cls):
            problem = f"Expected a {cls.__name__}, got {_type_name(value)}."
            raise _refuse(path, problem, limit.error)
        _check_fields(value, path)

    return check_nested


Plan = tuple[tuple[str, Check, Limit], ...]
# Derived from the classes alone (their hints and the tables above), so sharing it is harmless.
_PLANS: dict[type[Any], Plan] = {}


def _plan(cls: type[Any]) -> Plan:
    """The fields of ``cls`` with their check and limit, worked out once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = get_type_hints(cls)
        plan = tuple(
            (
                field.name,
                _checker(hints[field.name], f"{cls.__name__}.{field.name}"),
                limit_of(cls, field.name),
            )
            for field in attrs.fields(cls)
        )
        _PLANS[cls] = plan
    return plan


def _check_fields(value: object, path: str) -> None:
    for name, check, limit in _plan(type(value)):
        check(getattr(value, name), f"{path}.{name}", limit)


def check_field(field: str, value: object, path: str | None = None) -> str:
    """Text read outside a command (a host's trusted call), held to the rule of the command
    field of that name: ``check_field("first_name", name)`` refuses what ``CreateIndividual``
    would refuse in its ``first_name``, with the same error (``path`` by default ``$.<field>``).
    A ``token`` is only required to be text, as in a command."""
    limit = FIELD_LIMITS.get(field, DEFAULT)
    _check_str(value, path or f"$.{field}", limit)
    assert isinstance(value, str)
    return value


def check_command(command: object) -> None:
    """Raise a ``ValidationError`` subclass naming the field's path (``details["path"]``) and
    the problem (``details["problem"]``) for the first value out of its limits; see the table
    at the top of this module. ``CommandTypeUnknownError`` for an object that is no command."""
    if not attrs.has(type(command)):
        raise CommandTypeUnknownError(
            f"{_type_name(command)} is not a ticketdomain command.", type=_type_name(command)
        )
    _check_fields(command, "$")
