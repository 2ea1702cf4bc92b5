"""Hypothesis strategies for ticketdomain's value objects and aggregates.

Public, like ``xarray.testing.strategies``: hosts and adapter authors use them in their own
property tests. Hypothesis is a test dependency, so import this module from tests only::

    from hypothesis import given
    from ticketdomain.testing import strategies as tds

    @given(tds.money(currency="EUR"))
    def test_something(price): ...

Every strategy draws valid objects unless its name says otherwise (``invalid_quantities``,
``unrecognised_contents``, ``hostile_json``). :func:`commands` draws any command of the public
API within its documented limits, for tests at the boundary.
"""

from __future__ import annotations

import copy
import enum
import types
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import attrs
from hypothesis import strategies as st

from ticketdomain.core.catalog import MAX_QUANTITY, ProductConditions
from ticketdomain.core.contacts import Email, PersonName
from ticketdomain.core.languages import LANGUAGES
from ticketdomain.core.money import MAX_AMOUNT, Money, VatRate, minor_digits
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.core.quotas import QuotaLevel
from ticketdomain.core.sales import LineRequest, Order, OrderLine
from ticketdomain.core.setup import DeliveryMode, PaymentMethod
from ticketdomain.testing.fakes import TEST_CARDS

__all__ = [
    "COMMON_VAT_RATES",
    "HOSTILE_JSON",
    "amounts",
    "aware_datetimes",
    "commands",
    "currencies",
    "document_contents",
    "email_addresses",
    "emails",
    "hostile_json",
    "id_kind",
    "invalid_quantities",
    "line_request_lists",
    "line_requests",
    "money",
    "name_texts",
    "order_lines",
    "orders",
    "person_names",
    "plain_texts",
    "printable_tickets",
    "quantities",
    "quota_levels",
    "unrecognised_contents",
    "vat_rates",
]

#: rates met in practice (FR, CH, DE, BE…), drawn more often than arbitrary ones
COMMON_VAT_RATES = tuple(
    Decimal(r) for r in ("0", "0.021", "0.025", "0.026", "0.055", "0.07", "0.081", "0.1", "0.2")
)
_CURRENCIES = ("EUR", "CHF", "USD", "GBP", "JPY", "SEK")
# Fixed offsets only: zone rules with gaps and folds are not what these tests are about.
_OFFSETS = (
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=2)),
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 codes."""
    return st.sampled_from(_CURRENCIES)


def amounts(
    min_value: Decimal = Decimal("0"), max_value: Decimal = Decimal("10000"), places: int = 2
) -> st.SearchStrategy[Decimal]:
    """Decimal amounts with ``places`` decimals (whole cents by default) between the bounds
    (inclusive, within ``MAX_AMOUNT``)."""
    if not -MAX_AMOUNT <= min_value <= max_value <= MAX_AMOUNT:
        raise ValueError("amounts() bounds must be ordered and within MAX_AMOUNT.")
    return st.decimals(
        min_value=min_value,
        max_value=max_value,
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


def money(
    currency: str | None = None,
    min_value: Decimal = Decimal("0"),
    max_value: Decimal = Decimal("10000"),
) -> st.SearchStrategy[Money]:
    """``Money`` in ``currency`` (any of :func:`currencies` when ``None``), with the currency's
    decimals (whole cents, whole yen)."""
    codes = currencies() if currency is None else st.just(currency)
    return codes.flatmap(
        lambda code: st.builds(
            Money, amounts(min_value, max_value, minor_digits(code)), st.just(code)
        )
    )


def vat_rates() -> st.SearchStrategy[VatRate]:
    """Common VAT rates, and arbitrary ones in [0, 1) with up to four decimals."""
    arbitrary = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.9999"), places=4)
    return st.builds(VatRate, st.one_of(st.sampled_from(COMMON_VAT_RATES), arbitrary))


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,12}[A-Za-z0-9])?"


@st.composite
def email_addresses(draw: st.DrawFn) -> str:
    """Addresses ``Email`` accepts, as text: dotted local part, one to three domain labels, a
    top-level domain; mixed case."""
    atom = st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}", fullmatch=True)
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=3)))
    labels = draw(st.lists(st.from_regex(_LABEL, fullmatch=True), min_size=1, max_size=3))
    tld = draw(st.from_regex(r"[A-Za-z]{2,6}", fullmatch=True))
    return f"{local}@{'.'.join([*labels, tld])}"


def emails() -> st.SearchStrategy[Email]:
    """``Email`` values."""
    return email_addresses().map(Email)


@st.composite
def name_texts(draw: st.DrawFn) -> str:
    """A first or last name as typed: one to three words of letters (any script), hyphens
    or apostrophes, already normalized (single spaces, no edge spaces)."""
    letter = st.characters(categories=["L"])
    word = st.builds(
        lambda head, tail: head + tail,
        letter,
        st.text(st.one_of(letter, st.sampled_from("-'")), max_size=24),
    )
    return " ".join(draw(st.lists(word, min_size=1, max_size=3)))


def person_names() -> st.SearchStrategy[PersonName]:
    """``PersonName`` values."""
    return st.builds(PersonName, name_texts(), name_texts())


def quantities(min_value: int = 1, max_value: int = MAX_QUANTITY) -> st.SearchStrategy[int]:
    """Quantities a line accepts (1 to ``MAX_QUANTITY``)."""
    if not 1 <= min_value <= max_value <= MAX_QUANTITY:
        raise ValueError(f"quantities() bounds must lie within 1..{MAX_QUANTITY}.")
    return st.integers(min_value=min_value, max_value=max_value)


def invalid_quantities() -> st.SearchStrategy[object]:
    """Values every quantity check refuses: zero, negatives, too large, booleans, non-integers."""
    return st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=MAX_QUANTITY + 1),
        st.sampled_from([10**9, True, False, 1.0, 2.5, "3", None, Decimal(2)]),
    )


def line_requests(
    performance_ids: Sequence[str], tariff_ids: Sequence[str], max_quantity: int = 20
) -> st.SearchStrategy[LineRequest]:
    """One ``LineRequest`` for one of the given performances and tariffs."""
    return st.builds(
        LineRequest,
        st.sampled_from(performance_ids),
        st.sampled_from(tariff_ids),
        quantities(max_value=max_quantity),
    )


def line_request_lists(
    performance_ids: Sequence[str],
    tariff_ids: Sequence[str],
    max_lines: int = 5,
    max_quantity: int = 20,
) -> st.SearchStrategy[tuple[LineRequest, ...]]:
    """Lines an option, reservation or order accepts (1 to ``max_lines``)."""
    return st.lists(
        line_requests(performance_ids, tariff_ids, max_quantity), min_size=1, max_size=max_lines
    ).map(tuple)


def aware_datetimes(
    min_value: datetime = datetime(2000, 1, 1),
    max_value: datetime = datetime(2100, 1, 1),
) -> st.SearchStrategy[datetime]:
    """Time-zone aware datetimes with fixed offsets (bounds are naive, as Hypothesis wants)."""
    return st.datetimes(
        min_value=min_value, max_value=max_value, timezones=st.sampled_from(_OFFSETS)
    )


@st.composite
def order_lines(
    draw: st.DrawFn,
    currency: str = "EUR",
    line_id: str | None = None,
    max_price: Decimal = Decimal("1000"),
    max_quantity: int = 20,
) -> OrderLine:
    """An ``OrderLine`` with a price in whole cents (free tariffs included) and any VAT rate."""
    return OrderLine(
        id=line_id or draw(st.from_regex(r"line-[0-9]{1,6}", fullmatch=True)),
        performance_id=draw(st.sampled_from(["perf-1", "perf-2", "perf-3"])),
        product_id=draw(st.sampled_from(["product-1", "product-2"])),
        tariff_id=draw(st.sampled_from(["tariff-full", "tariff-reduced", "tariff-agency"])),
        quantity=draw(quantities(max_value=max_quantity)),
        unit_price=draw(money(currency, Decimal("0"), max_price)),
        vat_rate=draw(vat_rates()),
    )


@st.composite
def orders(
    draw: st.DrawFn,
    currency: str = "EUR",
    structure_id: str = "structure-1",
    organization_id: str = "org-1",
    payment_method: PaymentMethod = PaymentMethod.HOLDING_ACCOUNT,
    max_lines: int = 4,
) -> Order:
    """A confirmed ``Order`` (on account by default) with 1 to ``max_lines`` lines.

    Ids are ``order-<n>``; draw lists with ``unique_by=lambda o: o.id`` when they must differ.
    """
    order_id = f"order-{draw(st.integers(min_value=1, max_value=10**6))}"
    count = draw(st.integers(min_value=1, max_value=max_lines))
    lines = tuple(
        draw(order_lines(currency, line_id=f"{order_id}-line-{n}")) for n in range(1, count + 1)
    )
    return Order(
        id=order_id,
        organization_id=organization_id,
        sales_point_id="sales-point-1",
        structure_id=structure_id,
        placed_by="relay-1",
        placed_by_operator=False,
        purchasing_contact_id=None,
        lines=lines,
        payment_method=payment_method,
        delivery_mode=draw(st.sampled_from(DeliveryMode)),
        placed_at=draw(aware_datetimes()),
        currency=currency,
    )


def quota_levels(
    max_levels: int = 3, max_capacity: int = 50
) -> st.SearchStrategy[list[QuotaLevel]]:
    """One to ``max_levels`` nested quota levels, each with ``used <= capacity``."""

    @st.composite
    def level(draw: st.DrawFn, label: str) -> QuotaLevel:
        capacity = draw(st.integers(min_value=0, max_value=max_capacity))
        return QuotaLevel(label, capacity, draw(st.integers(min_value=0, max_value=capacity)))

    labels = ("performance", "channel", "sales point")[:max_levels]
    return st.integers(min_value=1, max_value=len(labels)).flatmap(
        lambda n: st.tuples(*(level(label) for label in labels[:n])).map(list)
    )


# Independent of core.documents on purpose: tests of the sniffer must not be generated by it.
_PDF, _PNG, _JPEG = b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"


def document_contents(max_size: int = 256) -> st.SearchStrategy[tuple[str, bytes]]:
    """``(media type, content)`` of a PDF, PNG or JPEG (a genuine signature, arbitrary rest)."""
    tail = st.binary(max_size=max_size)
    return st.one_of(
        tail.map(lambda rest: ("application/pdf", _PDF + b"1.7\n" + rest)),
        tail.map(lambda rest: ("image/png", _PNG + rest)),
        tail.map(lambda rest: ("image/jpeg", _JPEG + rest)),
    )


def unrecognised_contents(max_size: int = 256) -> st.SearchStrategy[bytes]:
    """Content that is not a PDF, PNG or JPEG, including near misses and other formats."""
    near_misses = st.sampled_from(
        [
            b"",
            b"%PDF",
            b" %PDF-1.7",
            b"%pdf-1.7",
            b"\x89PNG\r\n",
            b"PNG\r\n\x1a\n",
            b"\xff\xd8",
            b"GIF89a",
            b"PK\x03\x04",
            b"MZ\x90\x00",
            b"<html><body>",
            b"\xef\xbb\xbf%PDF-1.4",
        ]
    )
    arbitrary = st.binary(max_size=max_size).filter(
        lambda content: not content.startswith((_PDF, _PNG, _JPEG))
    )
    return st.one_of(
        near_misses,
        st.builds(lambda head, rest: head + rest, near_misses, arbitrary),
        arbitrary,
    ).filter(lambda content: not content.startswith((_PDF, _PNG, _JPEG)))


@st.composite
def printable_tickets(draw: st.DrawFn, currency: str = "EUR") -> PrintableTicket:
    """A ``PrintableTicket`` with a unique-looking id and barcode and any beneficiary name."""
    number = draw(st.integers(min_value=1, max_value=10**6))
    return PrintableTicket(
        ticket_id=f"ticket-{number}",
        barcode=draw(st.from_regex(r"[A-Z2-7]{26}", fullmatch=True)),
        organization="Opéra de Lyon",
        activity="La Traviata",
        performance_starts_at=draw(aware_datetimes()),
        venue="Grande salle",
        product="Orchestra",
        tariff="Full price",
        price=draw(money(currency)),
        order_id=f"order-{number}",
        beneficiary=str(draw(person_names())),
    )


# --- commands and hostile input -------------------------------------------------------------

T = TypeVar("T")

#: JSON values that broke front-end-facing code before: lone surrogates, NUL and other control
#: characters, bidirectional overrides, homoglyphs, huge strings and numbers, non-finite and
#: over-precise decimals, dates and durations out of any storage's range, and every JSON type
HOSTILE_JSON: tuple[object, ...] = (
    # text
    "\ud800",
    "ok\udfffok",
    "\x00",
    "Anne\x00Marie",
    "\x07\x1b[31mred",
    "two\nlines",
    "\t",
    "\x85\x9f",
    "x" * 1_000_000,
    "é" * 10_001,
    "x" * 201,
    "y" * 1025,
    "\u0430dmin",  # Cyrillic a
    "\u03a1\u0391\u03a5\u0399",  # Greek capitals that read as PAYI
    "\uff54\uff49\uff43\uff4b\uff45\uff54",  # fullwidth "ticket"
    "\u202egnp.exe",
    "\u2066isolate\u2069",
    "\ufeffbom",
    "zero\u200bwidth",
    "\uffff\U0010ffff",
    "",
    " ",
    "%",
    "%_%\\",
    "'; DROP TABLE orders; --",
    "../../etc/passwd",
    "tds_" + "A" * 60,
    # numbers
    10**19,
    -(10**19),
    2**31,
    2**31 - 1,
    2**63,
    -(2**63) - 1,
    10**100,
    -1,
    0,
    1.5,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    # decimals as text
    "NaN",
    "Infinity",
    "-Infinity",
    "sNaN",
    "1e999999999",
    "-1e-999999999",
    "0.005",
    "1E+30",
    "0.0000001",
    "12,50",
    # dates and durations
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "1969-12-31T23:59:59+00:00",
    "2200-01-01T00:00:00+00:00",
    "2026-01-05T09:00:00",
    "2026-01-05T09:00:00+23:59",
    "2026-02-30T09:00:00+00:00",
    "P999999999D",
    "P99999W",
    "-P3660D",
    "PT0.000001S",
    "P0D",
    10**12,
    # other JSON types
    True,
    False,
    None,
    [],
    {},
    [None],
    ["\ud800"],
    [10**19],
    ["x"] * 1001,
    {"amount": "0.005", "currency": "CHF"},
    {"amount": "NaN", "currency": "CHF"},
    {"amount": "1e999999", "currency": "CHF"},
    {"amount": 10**19, "currency": "CHF"},
    {"amount": "1000000000.01", "currency": "CHF"},
    {"amount": "-0.01", "currency": "CHF"},
    {"amount": "12.50", "currency": "\ud800"},
    {"amount": "12.50", "currency": "JPY"},
    {"amount": "12.50", "currency": "CHF", "extra": 1},
    {"performance_id": "\x00", "tariff_id": "t", "quantity": 10**19},
    {"token": "\ud800"},
    # bytes as base64
    "AAAA",
    "not base64!",
    "QUFB" * 700_000,  # 2.1 MB decoded
)


def _hostile_json() -> st.SearchStrategy[object]:
    any_text = st.text(st.characters(exclude_categories=()), max_size=20)
    surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        any_text,
        st.builds(lambda a, s, b: a + s + b, any_text, surrogates, any_text),
    )
    arbitrary = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
        max_leaves=6,
    )
    # Copies: a test may change what it draws (a list, a dict) without changing the corpus.
    corpus = st.sampled_from(HOSTILE_JSON).map(copy.deepcopy)
    return st.one_of(corpus, corpus, corpus, arbitrary)


# Strategies are lazy: building this one at import costs nothing, and sharing it spares each
# draw the work of building it again.
_HOSTILE_JSON = _hostile_json()


def hostile_json() -> st.SearchStrategy[object]:
    """Values a front end should never send (:data:`HOSTILE_JSON`), and arbitrary JSON
    with any code point, lone surrogates included."""
    return _HOSTILE_JSON


_PLAIN = st.characters(categories=["L", "N"], exclude_characters="\u0130\u0131") | st.sampled_from(
    " -'._@"
)


def plain_texts(min_size: int = 1, max_size: int = 30) -> st.SearchStrategy[str]:
    """Text every text field accepts: letters and digits of any script, spaces and a few
    punctuation marks; no control character, surrogate or bidirectional override."""
    return st.text(_PLAIN, min_size=min_size, max_size=max_size).filter(lambda t: t.strip())


# Valid-looking values, drawn from small vocabularies: a text draw costs Hypothesis about a
# millisecond, and a command has many text fields. Several scripts, accents and punctuation.
_WORDS = (
    "Opera",
    "Zoë",
    "Łódź 2",
    "O'Brien",
    "Jean-Luc",
    "東京",
    "Ωmega",
    "Привет",
    "شكرا",
    "שלום",
    "नमस्ते",
    "ß.ø_æ",
    "a",
    "nestor",
    "Dupont",
    "42",
    "x" * 100,
)
_PERSON_NAMES = ("Anne", "Zoë", "Jean-Luc", "O'Brien", "Müller", "Łukasz", "Иван", "李", "n" * 100)
_EMAILS = ("anne@example.ch", "Zoe.Dupont@Example.ORG", "x+tag@sub.example.co.uk", "a@b.cd")
_SECRETS = ("correct horse battery", "émojis 🎟️ okay", "tab\tand\nnewline ok", "p" * 1024)
_NAMES = frozenset({"name", "first_name", "last_name", "venue", "beneficiary"})
_PASSWORDS = frozenset({"password", "new_password", "current_password"})
_ID_ALIASES = {"parent": "structure", "sub_structure": "structure", "member": "individual"}
_ID_ALIASES |= {"key": "api_key"}
_INT_RANGES = {
    "quantity": (1, 10),
    "capacity": (0, 500),
    "limit": (1, 100),
    "max_document_bytes": (1, 10**6),
}
_SOME_DAY = datetime(2025, 6, 1, tzinfo=UTC)
_CONTENTS = (_PDF + b"1.7\n%%EOF", _PNG + b"\x00" * 8, _JPEG + b"\xe0", b"", b"\x00\xff" * 8)


def id_kind(field: str) -> str | None:
    """The kind of id a field names (``"ticket"`` for ``ticket_ids``), as ``SequentialIds``
    counts them; ``None`` for a field that is no id."""
    for suffix in ("_ids", "_id"):
        if field.endswith(suffix):
            kind = field[: -len(suffix)]
            return _ID_ALIASES.get(kind, kind)
    return None


def _text_for(field: str, known: Mapping[str, Sequence[str]]) -> st.SearchStrategy[str]:
    kind = id_kind(field)
    if field in known:
        return st.sampled_from(list(known[field]))
    if kind is not None:
        missing = st.just(f"{kind}-404")
        pool = list(known.get(kind, ()))
        return st.sampled_from(pool) | missing if pool else missing
    if field in ("email", "beneficiary_email"):
        return st.sampled_from(_EMAILS)
    if field in _NAMES:
        return st.sampled_from(_PERSON_NAMES)
    if field in _PASSWORDS:
        return st.sampled_from(_SECRETS)
    if field == "currency":
        return currencies()
    if field == "language":
        return st.sampled_from([*LANGUAGES, "FR", " de "])
    if field == "time_zone":
        return st.sampled_from(["UTC", "Europe/Zurich", "America/Sao_Paulo", "Asia/Kolkata"])
    if field == "barcode":
        return st.sampled_from(["BC000001", "BC000002", " BC000003 "])
    if field == "token":
        return st.sampled_from(sorted(TEST_CARDS))
    return st.sampled_from(_WORDS)


def _moments(low: int = 0, high: int = 2 * 366 * 24) -> st.SearchStrategy[datetime]:
    """Aware datetimes, by the hour from mid-2025, with any of a few offsets."""
    return st.builds(
        lambda hours, zone: (_SOME_DAY + timedelta(hours=hours)).astimezone(zone),
        st.integers(min_value=low, max_value=high),
        st.sampled_from(_OFFSETS),
    )


@st.composite
def _product_conditions(draw: st.DrawFn, known: Mapping[str, Sequence[str]]) -> ProductConditions:
    low = draw(st.integers(min_value=1, max_value=3))
    opens = draw(st.none() | _moments(0, 366 * 24))
    closes = draw(st.none() | _moments(366 * 24 + 1))
    return ProductConditions(
        product_id=draw(_text_for("product_id", known)),
        tariff_ids=draw(
            st.none() | st.frozensets(_text_for("tariff_id", known), min_size=1, max_size=3)
        ),
        min_per_order=low,
        max_per_order=draw(st.none() | st.integers(min_value=low, max_value=20)),
        sale_opens_at=opens,
        sale_closes_at=closes,
    )


def _value_for(hint: Any, field: str, known: Mapping[str, Sequence[str]]) -> st.SearchStrategy[Any]:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        (inner,) = [arg for arg in get_args(hint) if arg is not type(None)]
        return st.none() | _value_for(inner, field, known)
    if origin is tuple:
        item = _value_for(get_args(hint)[0], field, known)
        return st.lists(item, min_size=1, max_size=3).map(tuple)
    if origin is frozenset:
        return st.frozensets(_value_for(get_args(hint)[0], field, known), max_size=3)
    if hint is str:
        return _text_for(field, known)
    if hint is bool:
        return st.booleans()
    if hint is int:
        low, high = _INT_RANGES.get(field, (0, 100))
        return st.integers(min_value=low, max_value=high)
    if hint is Decimal:
        return st.sampled_from(COMMON_VAT_RATES)
    if hint is Money:
        cents = st.integers(min_value=0, max_value=100_000)
        return cents.map(lambda n: Money(Decimal(n).scaleb(-2), "CHF"))
    if hint is datetime:
        return _moments()
    if hint is timedelta:
        return st.integers(min_value=0, max_value=30 * 24).map(lambda h: timedelta(hours=h))
    if hint is bytes:
        return st.sampled_from(_CONTENTS)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(hint)
    if hint is ProductConditions:
        return _product_conditions(known)
    if hint is LineRequest:
        return st.builds(
            LineRequest,
            _text_for("performance_id", known),
            _text_for("tariff_id", known),
            st.integers(min_value=1, max_value=5),
        )
    if isinstance(hint, type) and attrs.has(hint):
        return _builds(hint, known)
    raise TypeError(f"no strategy for {hint!r} ({field})")


def _builds(cls: type[T], known: Mapping[str, Sequence[str]]) -> st.SearchStrategy[T]:
    hints = get_type_hints(cls)
    attributes = attrs.fields(cast(Any, cls))
    fields = {a.name: _value_for(hints[a.name], a.name, known) for a in attributes}
    return st.builds(cls, **fields)


def commands(
    command_type: type[T],
    known: Mapping[str, Sequence[str]] | None = None,
    token: str = "tds_token000001",
) -> st.SearchStrategy[T]:
    """Valid-looking instances of ``command_type``: every field of the right type and within
    its documented limits (words of several scripts, a quantity from 1 to 10, an aware date…),
    drawn from small vocabularies so that many commands are drawn per second.

    ``known`` gives the values text fields are drawn from, keyed by field name (``"email"``,
    the only values then) or by kind of id (``"ticket"`` serves ``ticket_id`` and
    ``ticket_ids``, with a missing ``ticket-404`` now and then), so commands name existing
    things often enough to get past the look-ups. ``token`` fills the ``token`` field.
    """
    values = known or {}
    hints = get_type_hints(command_type)
    fields = {
        a.name: st.just(token) if a.name == "token" else _value_for(hints[a.name], a.name, values)
        for a in attrs.fields(cast(Any, command_type))
    }
    return st.builds(command_type, **fields)
