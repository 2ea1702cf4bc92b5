"""Exact money: ``Decimal`` amounts with a currency, never floats.

An amount has at most the decimals of its currency (two for most, none for the yen): more is
refused, never rounded away, so ``0.005 CHF`` from a front end is an error and not ``0.01``.
Computations that do produce more decimals (a VAT split) round on purpose, through
:meth:`Money.rounded`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import attrs

from ticketdomain.core.errors import AmountInvalidError, CurrencyMismatchError, VatRateInvalidError

_CURRENCY = re.compile(r"^[A-Z]{3}$")
CENT = Decimal("0.01")
#: decimals of an amount in most currencies; storage keeps amounts to the cent, so currencies
#: with three minor digits (BHD, KWD, TND…) are held to two as well
MINOR_DIGITS = 2
#: ISO 4217 currencies without minor unit: their amounts are whole numbers
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
        "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
# A bound far above any ticketing amount; keeps absurd input out of storage columns.
MAX_AMOUNT = Decimal("1000000000")


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, float):
        raise AmountInvalidError("Money amounts must not be floats.", value=repr(value))
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise AmountInvalidError(f"{value!r} is not an amount.", value=repr(value)) from exc
    if not amount.is_finite():
        raise AmountInvalidError(f"{value!r} is not a finite amount.", value=repr(value))
    return amount


def minor_digits(currency: str) -> int:
    """How many decimals an amount in ``currency`` may have (0 for the yen, 2 otherwise)."""
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else MINOR_DIGITS


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_digits(currency))


def _currency(value: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise CurrencyMismatchError(
            f"{value!r} is not an ISO 4217 currency code.", currency=str(value)
        )
    return value


@attrs.frozen(order=False)
class Money:
    """An exact amount in one currency, with at most the currency's decimals.

    Raises ``AmountInvalidError`` for a float, a non-number, an amount beyond ``MAX_AMOUNT`` or
    one with more decimals than the currency has (``Money("0.005", "CHF")``): nothing is
    rounded silently. Use :meth:`rounded` where a computation rounds on purpose.
    """

    amount: Decimal = attrs.field(converter=_to_decimal)
    currency: str = attrs.field(converter=_currency)

    def __attrs_post_init__(self) -> None:
        if self.amount.copy_abs() > MAX_AMOUNT:
            raise AmountInvalidError(
                f"{self.amount} {self.currency} is out of range.", amount=str(self.amount)
            )
        # In range, so the quantized amount has at most 12 digits: quantize cannot fail.
        exact = self.amount.quantize(_quantum(self.currency))
        if exact != self.amount:
            digits = minor_digits(self.currency)
            raise AmountInvalidError(
                f"{self.amount} {self.currency} has more than {digits} decimals; "
                f"{self.currency} amounts are not rounded.",
                amount=str(self.amount),
                currency=self.currency,
                decimals=digits,
            )
        # Always the currency's exponent ("3" becomes "3.00"), so equal amounts print alike.
        object.__setattr__(self, "amount", exact)

    @classmethod
    def rounded(cls, amount: object, currency: str) -> Money:
        """``amount`` rounded half up to ``currency``'s decimals: for results of computations
        (a VAT split, a share), never for input, which :class:`Money` takes exactly or refuses."""
        value = _to_decimal(amount)
        code = _currency(currency)
        if value.copy_abs() > MAX_AMOUNT:
            raise AmountInvalidError(f"{value} {code} is out of range.", amount=str(value))
        return cls(value.quantize(_quantum(code), rounding=ROUND_HALF_UP), code)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal("0"), currency)

    @classmethod
    def sum(cls, items: Iterable[Money], currency: str) -> Money:
        total = cls.zero(currency)
        for item in items:
            total = total + item
        return total

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"Cannot combine {self.currency} with {other.currency}.",
                expected=self.currency,
                actual=other.currency,
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount * quantity, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def min(self, other: Money) -> Money:
        return self if self <= other else other

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def _vat(value: object) -> Decimal:
    rate = _to_decimal(value)
    if rate < 0 or rate >= 1:
        raise VatRateInvalidError(
            f"A VAT rate is a fraction in [0, 1), got {rate}.", rate=str(rate)
        )
    return rate


@attrs.frozen
class VatRate:
    """A VAT rate as a fraction (``Decimal("0.077")`` for 7.7 %)."""

    rate: Decimal = attrs.field(converter=_vat)

    def split(self, gross: Money) -> tuple[Money, Money]:
        """Split a VAT-inclusive amount into (net, vat); net + vat == gross exactly."""
        net = Money.rounded(gross.amount / (1 + self.rate), gross.currency)
        return net, gross - net

    def __str__(self) -> str:
        return f"{(self.rate * 100).normalize():f} %"
