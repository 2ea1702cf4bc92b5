"""Hypothesis strategies for ticketdomain's value objects and aggregates.

Public, like ``xarray.testing.strategies``: hosts and adapter authors use them in their own
property tests. Hypothesis is a test dependency, so import this module from tests only::

    from hypothesis import given
    from ticketdomain.testing import strategies as tds

    @given(tds.money(currency="EUR"))
    def test_something(price): ...

Every strategy draws valid objects unless its name says otherwise (``invalid_quantities``,
``unrecognised_contents``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from ticketdomain.core.catalog import MAX_QUANTITY
from ticketdomain.core.contacts import Email, PersonName
from ticketdomain.core.money import MAX_AMOUNT, Money, VatRate
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.core.quotas import QuotaLevel
from ticketdomain.core.sales import LineRequest, Order, OrderLine
from ticketdomain.core.setup import DeliveryMode, PaymentMethod

__all__ = [
    "COMMON_VAT_RATES",
    "amounts",
    "aware_datetimes",
    "currencies",
    "document_contents",
    "email_addresses",
    "emails",
    "invalid_quantities",
    "line_request_lists",
    "line_requests",
    "money",
    "name_texts",
    "order_lines",
    "orders",
    "person_names",
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
    min_value: Decimal = Decimal("0"), max_value: Decimal = Decimal("10000")
) -> st.SearchStrategy[Decimal]:
    """Decimal amounts in whole cents between the bounds (inclusive, within ``MAX_AMOUNT``)."""
    if not -MAX_AMOUNT <= min_value <= max_value <= MAX_AMOUNT:
        raise ValueError("amounts() bounds must be ordered and within MAX_AMOUNT.")
    return st.decimals(
        min_value=min_value, max_value=max_value, places=2, allow_nan=False, allow_infinity=False
    )


def money(
    currency: str | None = None,
    min_value: Decimal = Decimal("0"),
    max_value: Decimal = Decimal("10000"),
) -> st.SearchStrategy[Money]:
    """``Money`` in ``currency`` (any of :func:`currencies` when ``None``), in whole cents."""
    codes = currencies() if currency is None else st.just(currency)
    return st.builds(Money, amounts(min_value, max_value), codes)


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
