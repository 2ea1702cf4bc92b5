"""JSON-ready data for the public API: commands, results and errors, with cattrs.

Serialization is kept apart from the model (as cattrs keeps it apart from attrs): the commands
and results stay plain attrs classes and this module knows how to turn them into data that
``json.dumps`` takes as is (dicts, lists, strings, integers, booleans and ``None``) and back::

    data = unstructure_command(PlaceOrder(...))   # {"type": "PlaceOrder", "data": {...}}
    command = structure_command(json.loads(text))   # any command of the public API

The formats, chosen to be exact and deterministic:

- ``Decimal`` as a string (``"0.081"``), never a float; ``Money`` as
  ``{"amount": "12.50", "currency": "CHF"}``;
- ``date`` as ISO 8601 (``"2025-03-31"``);
- ``datetime`` as ISO 8601 with its offset (``"2025-03-01T20:00:00+01:00"``); naive ones are
  refused both ways;
- ``timedelta`` as an ISO 8601 duration in days, hours, minutes and (fractional) seconds
  (``"P2D"``, ``"PT1H30M"``, ``"-PT0.5S"``); a whole number of seconds is accepted too;
- ``bytes`` as base64 (standard alphabet, padded);
- ``frozenset`` as a sorted list, tuples as lists, enums by value;
- errors as ``{"code", "message", "details"}``, rebuilt into the class of their code.

Structuring is strict (a string is not a number, a number is not a string, unknown keys are
refused) and runs the domain's own validation. The helpers :func:`structure`,
:func:`structure_command` and :func:`structure_error` translate failures into the library's
errors: a domain error raised while building a value (``Money`` with a bad currency, a zero
quantity) comes out as itself when it is the only problem; anything else wrong with the data
is a :class:`PayloadInvalidError` whose ``details["errors"]`` lists every problem with its path
(``"Expected a whole number, got str. @ $.lines[0].quantity"``).

:func:`make_converter` builds a fresh converter each call; ``converter`` is one built at import
(registering hooks only, which is cheap) and used by the helpers unless they are given another.
A host that wants to customize hooks should build its own with :func:`make_converter` rather
than change the shared one.
"""

from __future__ import annotations

import base64
import binascii
import collections.abc
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn
from cattrs.v import format_exception, transform_error

from ticketdomain.core.errors import (
    CommandTypeUnknownError,
    TicketDomainError,
    ValidationError,
    error_class_for,
    rebuild_error,
)
from ticketdomain.core.money import Money
from ticketdomain.services.app import COMMAND_TYPES

__all__ = [
    "CommandTypeUnknownError",
    "PayloadInvalidError",
    "converter",
    "make_converter",
    "structure",
    "structure_command",
    "structure_error",
    "unstructure",
    "unstructure_command",
    "unstructure_error",
]

T = TypeVar("T")


class PayloadInvalidError(ValidationError):
    """Data that does not structure into the type asked for.

    ``details``: ``type`` (the class asked for) and ``errors`` (one ``"<problem> @ <path>"``
    string per problem, paths in JSONPath style from ``$``).
    """

    code = "payload_invalid"


# --- scalar formats -------------------------------------------------------------------------

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SUBSECOND_OFFSET = re.compile(r"([+-])00:?00:?00\.(\d{1,6})$")
_DURATION = re.compile(
    r"(?P<sign>-)?P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+)(?:\.(?P<fraction>\d{1,6}))?S)?)?"
)


def _type_name(value: object) -> str:
    return type(value).__name__


def _unstructure_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number.")
    return str(value)


def _structure_decimal(value: object, _: object) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if not isinstance(value, str):
        raise TypeError(f"A decimal is a string such as '12.50', got {_type_name(value)}.")
    if not _DECIMAL.fullmatch(value):
        raise ValueError(f"{value!r} is not a decimal number.")
    return Decimal(value)


def _unstructure_datetime(value: datetime) -> str:
    if value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no time zone.")
    return value.isoformat()


def _structure_datetime(value: object, _: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"A datetime is an ISO 8601 string, got {_type_name(value)}.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 datetime.") from None
    if parsed.utcoffset() is None:
        raise ValueError(f"{value!r} has no offset (such as +01:00 or Z).")
    fraction = _SUBSECOND_OFFSET.search(value)
    if fraction is not None:
        # CPython 3.11 reads an offset below one second ("+00:00:00.000001") as zero.
        sign, micro = fraction.groups()
        offset = timedelta(microseconds=int(micro.ljust(6, "0")))
        parsed = parsed.replace(tzinfo=timezone(-offset if sign == "-" else offset))
    return parsed


def _unstructure_date(value: date) -> str:
    return value.isoformat()


def _structure_date(value: object, _: object) -> date:
    if not isinstance(value, str):
        raise TypeError(f"A date is an ISO 8601 string, got {_type_name(value)}.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date.") from None


def _unstructure_timedelta(value: timedelta) -> str:
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time = ""
    if hours:
        time += f"{hours}H"
    if minutes:
        time += f"{minutes}M"
    if seconds or value.microseconds:
        fraction = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
        time += f"{seconds}{fraction}S"
    text = (f"{value.days}D" if value.days else "") + (f"T{time}" if time else "")
    return f"{sign}P{text or 'T0S'}"


def _structure_timedelta(value: object, _: object) -> timedelta:
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return timedelta(seconds=value)
        if not isinstance(value, str):
            raise TypeError(
                f"A duration is an ISO 8601 string such as 'P2D', got {_type_name(value)}."
            )
        match = _DURATION.fullmatch(value)
        if match is None:
            raise ValueError(
                f"{value!r} is not an ISO 8601 duration in weeks, days, hours, minutes and "
                "seconds (such as 'P2D' or 'PT1H30M')."
            )
        units = ("weeks", "days", "hours", "minutes", "seconds")
        parts = {unit: int(match[unit] or 0) for unit in units}
        result = timedelta(**parts, microseconds=int((match["fraction"] or "").ljust(6, "0")))
        return -result if match["sign"] else result
    except OverflowError:
        raise ValueError(f"{value!r} is out of range for a duration.") from None


def _unstructure_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _structure_bytes(value: object, _: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"Bytes are a base64 string, got {_type_name(value)}.")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("Not a base64 string.") from None


def _structure_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"Expected a string, got {_type_name(value)}.")
    return value


def _structure_int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Expected a whole number, got {_type_name(value)}.")
    return value


def _structure_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"Expected true or false, got {_type_name(value)}.")
    return value


# --- money ----------------------------------------------------------------------------------


def _unstructure_money(value: Money) -> dict[str, str]:
    return {"amount": str(value.amount), "currency": value.currency}


def _structure_money(value: object, _: object) -> Money:
    if not isinstance(value, Mapping):
        raise TypeError(
            f"Money is an object such as {{'amount': '12.50', 'currency': 'CHF'}}, "
            f"got {_type_name(value)}."
        )
    if set(value) != {"amount", "currency"}:
        raise ValueError(
            f"Money has exactly the keys 'amount' and 'currency', got {sorted(map(str, value))}."
        )
    amount = value["amount"]
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = str(amount)
    # Money validates the rest and raises its own typed errors (AmountInvalidError…).
    return Money(amount, value["currency"])


# --- collections ----------------------------------------------------------------------------

_SET_ORIGINS = (frozenset, set, collections.abc.Set, collections.abc.MutableSet)


def _is_set(type_: Any) -> bool:
    return (get_origin(type_) or type_) in _SET_ORIGINS


def _is_homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _item_type(type_: Any) -> Any:
    args = get_args(type_)
    return args[0] if args else Any


def _sort_key(item: object) -> tuple[int, Any]:
    if isinstance(item, bool) or item is None:
        return (0, repr(item))
    if isinstance(item, int):
        return (1, item)
    if isinstance(item, str):
        return (2, item)
    return (3, repr(item))


def _structure_items(conv: cattrs.Converter, value: object, type_: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"Expected a list, got {_type_name(value)}.")
    item_type = _item_type(type_)
    hook = conv.get_structure_hook(item_type)
    items: list[Any] = []
    errors: list[Exception] = []
    for index, item in enumerate(value):
        try:
            items.append(hook(item, item_type))
        except Exception as exc:
            exc.add_note(IterableValidationNote(f"Structuring item @ index {index}", index, type_))
            errors.append(exc)
    if errors:
        raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
    return items


# --- errors ---------------------------------------------------------------------------------


def _is_error(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, TicketDomainError)


def _json_ready(conv: cattrs.Converter, value: Any) -> Any:
    """``value`` as JSON-ready data: converter formats where known, ``str()`` otherwise."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_ready(conv, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(conv, v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_json_ready(conv, v) for v in value), key=_sort_key)
    try:
        data = conv.unstructure(value)
    except Exception:
        return str(value)
    return str(value) if data is value or isinstance(data, float) else _json_ready(conv, data)


def _error_unstructure_factory(conv: cattrs.Converter) -> Callable[[TicketDomainError], Any]:
    def unstructure_error(error: TicketDomainError) -> dict[str, Any]:
        return {
            "code": error.code,
            "message": error.message,
            "details": _json_ready(conv, error.details),
        }

    return unstructure_error


def _rebuild(code: str, message: str) -> TicketDomainError:
    try:
        return rebuild_error(code, message, {})
    except TypeError:
        # rebuild_error allocates with TicketDomainError.__new__, which the OSError family
        # (AuthorizationError is a PermissionError) refuses; the class's own __new__ works.
        cls = error_class_for(code)
        error = cls.__new__(cls)
        TicketDomainError.__init__(error, message)
        return error


def _structure_error(value: object, type_: type[TicketDomainError]) -> TicketDomainError:
    if not isinstance(value, Mapping):
        raise TypeError(f"An error is an object, got {_type_name(value)}.")
    if not {"code", "message"} <= set(value) <= {"code", "message", "details"}:
        raise ValueError(
            "An error has the keys 'code', 'message' and optionally 'details', "
            f"got {sorted(map(str, value))}."
        )
    code, message, details = value["code"], value["message"], value.get("details", {})
    if not isinstance(code, str) or not isinstance(message, str):
        raise TypeError("An error's code and message are strings.")
    if not isinstance(details, Mapping) or not all(isinstance(k, str) for k in details):
        raise TypeError("An error's details are an object.")
    error = _rebuild(code, message)
    # Set afterwards: keys such as "message" would collide with the constructor's arguments.
    error.details = dict(details)
    if not isinstance(error, type_):
        raise ValueError(f"Code {code!r} is not a {type_.__name__}.")
    return error


# --- the converter --------------------------------------------------------------------------


def make_converter() -> cattrs.Converter:
    """A new converter for every command, result and error of the public API.

    Each call builds an independent converter: hooks registered on one never reach another.
    """
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)

    for type_, unstructure_hook, structure_hook in (
        (Decimal, _unstructure_decimal, _structure_decimal),
        (datetime, _unstructure_datetime, _structure_datetime),
        (date, _unstructure_date, _structure_date),
        (timedelta, _unstructure_timedelta, _structure_timedelta),
        (bytes, _unstructure_bytes, _structure_bytes),
        (Money, _unstructure_money, _structure_money),
    ):
        conv.register_unstructure_hook(type_, unstructure_hook)
        conv.register_structure_hook(type_, structure_hook)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)

    def set_unstructure_factory(type_: Any) -> Callable[[Any], list[Any]]:
        item_type = _item_type(type_)
        return lambda value: sorted(
            (conv.unstructure(item, item_type) for item in value), key=_sort_key
        )

    def tuple_unstructure_factory(type_: Any) -> Callable[[Any], list[Any]]:
        item_type = _item_type(type_)
        return lambda value: [conv.unstructure(item, item_type) for item in value]

    def set_structure_factory(type_: Any) -> Callable[[Any, Any], frozenset[Any]]:
        return lambda value, _: frozenset(_structure_items(conv, value, type_))

    def tuple_structure_factory(type_: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        return lambda value, _: tuple(_structure_items(conv, value, type_))

    def attrs_structure_factory(type_: type[Any]) -> Callable[[Any, Any], Any]:
        build = make_dict_structure_fn(type_, conv, _cattrs_forbid_extra_keys=True)

        def structure_attrs(value: object, _: object) -> Any:
            if not isinstance(value, Mapping):
                raise TypeError(f"{type_.__name__} is an object, got {_type_name(value)}.")
            return build(value, type_)

        return structure_attrs

    conv.register_unstructure_hook_factory(_is_set, set_unstructure_factory)
    conv.register_unstructure_hook_factory(_is_homogeneous_tuple, tuple_unstructure_factory)
    conv.register_structure_hook_factory(_is_set, set_structure_factory)
    conv.register_structure_hook_factory(_is_homogeneous_tuple, tuple_structure_factory)
    conv.register_structure_hook_factory(
        lambda t: attrs.has(t) and t is not Money, attrs_structure_factory
    )
    conv.register_unstructure_hook_factory(_is_error, lambda _: _error_unstructure_factory(conv))
    conv.register_structure_hook_factory(_is_error, lambda _: _structure_error)
    return conv


#: a converter built at import, used by the helpers below when given none
converter = make_converter()
_DEFAULT = converter


# --- helpers that speak the library's errors ------------------------------------------------


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


def _describe(error: BaseException, type_: type | None) -> str:
    if isinstance(error, TicketDomainError):
        return f"{error.message} ({error.code})"
    if isinstance(error, TypeError | ValueError) and str(error):
        # The hooks above and the enums say what is wrong in their own words.
        return str(error)
    return format_exception(error, type_)


def structure(data: Any, cls: type[T], *, converter: cattrs.Converter | None = None) -> T:
    """``data`` (as :func:`unstructure` made it, or as JSON brings it) as an instance of ``cls``.

    Raises the domain's own error when building a value refuses it (``CurrencyMismatchError``
    for ``Money`` with a bad currency…) and that is the only problem; otherwise
    :class:`PayloadInvalidError` listing every problem with its path.
    """
    conv = converter if converter is not None else _DEFAULT
    try:
        return conv.structure(data, cls)
    except TicketDomainError:
        raise
    except (BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        failure = exc
    leaves = _leaves(failure)
    if len(leaves) == 1 and isinstance(leaves[0], TicketDomainError):
        raise leaves[0]
    name = getattr(cls, "__name__", repr(cls))
    errors = (
        transform_error(failure, format_exception=_describe)
        if isinstance(failure, ClassValidationError | IterableValidationError)
        else [f"{_describe(failure, None)} @ $"]
    )
    raise PayloadInvalidError(
        f"The data is not a valid {name}: {'; '.join(errors)}", type=name, errors=errors
    ) from failure


def unstructure(obj: Any, *, converter: cattrs.Converter | None = None) -> Any:
    """``obj`` (a command, result, error or value of the public API) as JSON-ready data."""
    conv = converter if converter is not None else _DEFAULT
    return conv.unstructure(obj)


def unstructure_error(
    error: TicketDomainError, *, converter: cattrs.Converter | None = None
) -> dict[str, Any]:
    """``{"code", "message", "details"}``, details made JSON-ready (Decimal and dates as text)."""
    data: dict[str, Any] = unstructure(error, converter=converter)
    return data


def structure_error(data: Any, *, converter: cattrs.Converter | None = None) -> TicketDomainError:
    """The error of the class registered for ``data["code"]`` (the root class if unknown)."""
    return structure(data, TicketDomainError, converter=converter)


def unstructure_command(
    command: Any, *, converter: cattrs.Converter | None = None
) -> dict[str, Any]:
    """``{"type": "PlaceOrder", "data": {...}}`` for a front end to send or store."""
    if not attrs.has(type(command)):
        raise TypeError(f"{type(command).__name__} is not a command.")
    return {"type": type(command).__name__, "data": unstructure(command, converter=converter)}


def structure_command(
    data: Any,
    command_types: Iterable[type[Any]] | None = None,
    *,
    converter: cattrs.Converter | None = None,
) -> Any:
    """The command ``data`` names (``{"type": "PlaceOrder", "data": {...}}``) among
    ``command_types`` (by default every command of the public API).

    Raises :class:`CommandTypeUnknownError` for a type that is none of ``command_types``, and
    what :func:`structure` raises for data that does not fit the command.
    """
    if not isinstance(data, Mapping) or set(data) != {"type", "data"}:
        keys = sorted(map(str, data)) if isinstance(data, Mapping) else _type_name(data)
        raise PayloadInvalidError(
            "A command is an object with the keys 'type' and 'data'.",
            type="command",
            errors=[f"expected the keys 'type' and 'data', got {keys} @ $"],
        )
    name = data["type"]
    known = {cls.__name__: cls for cls in command_types or COMMAND_TYPES}
    cls = known.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CommandTypeUnknownError(
            f"{name!r} is not a command type; known types: {', '.join(sorted(known))}.",
            type=name if isinstance(name, str) else repr(name),
        )
    return structure(data["data"], cls, converter=converter)
