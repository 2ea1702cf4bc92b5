"""Money is exact: at most the currency's decimals (refused, not rounded), one currency, never
floats; computations round explicitly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.errors import (
    AmountInvalidError,
    CurrencyMismatchError,
    ValidationError,
    VatRateInvalidError,
)
from ticketdomain.core.money import MAX_AMOUNT, Money, VatRate, minor_digits
from ticketdomain.testing import strategies as tds

EUR = tds.money("EUR", Decimal("-100000"), Decimal("100000"))


@given(EUR, EUR, EUR)
def test_addition_is_associative(a: Money, b: Money, c: Money) -> None:
    assert (a + b) + c == a + (b + c)


@given(EUR, EUR)
def test_addition_is_commutative_and_subtraction_undoes_it(a: Money, b: Money) -> None:
    assert a + b == b + a
    assert (a + b) - b == a
    assert (a + b).amount == a.amount + b.amount


@given(EUR)
def test_zero_is_neutral_and_negation_cancels(a: Money) -> None:
    assert a + Money.zero("EUR") == a
    assert (a + -a).is_zero


@given(st.lists(EUR, max_size=10))
def test_sum_matches_decimal_sum(items: list[Money]) -> None:
    assert Money.sum(items, "EUR").amount == sum((m.amount for m in items), Decimal(0))


@given(EUR, st.integers(min_value=0, max_value=1000))
def test_times_is_repeated_addition(a: Money, quantity: int) -> None:
    assert a.times(quantity) == Money.sum([a] * quantity, "EUR")


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), float("inf")])
def test_floats_are_refused(value: float) -> None:
    with pytest.raises(AmountInvalidError) as refused:
        Money(value, "EUR")
    assert refused.value.code == "amount_invalid"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN", "abc", "", "1,50"])
def test_non_amounts_are_refused(value: str) -> None:
    with pytest.raises(AmountInvalidError):
        Money(value, "EUR")


def test_text_and_int_amounts_are_read_exactly() -> None:
    assert Money("0.1", "EUR") + Money("0.2", "EUR") == Money("0.3", "EUR")
    assert Money(3, "EUR").amount == Decimal("3.00")


@given(tds.currencies(), tds.currencies())
def test_currency_mismatch_is_refused(first: str, second: str) -> None:
    a, b = Money(Decimal("1"), first), Money(Decimal("2"), second)
    if first == second:
        assert (a + b).amount == Decimal("3.00")
        return
    for combine in (
        lambda: a + b,
        lambda: a - b,
        lambda: a < b,
        lambda: a <= b,
        lambda: a > b,
        lambda: a >= b,
        lambda: Money.sum([a, b], first),
    ):
        with pytest.raises(CurrencyMismatchError) as refused:
            combine()
        assert refused.value.details == {"expected": first, "actual": second}


@pytest.mark.parametrize("code", ["eur", "EURO", "E1R", "", " EUR"])
def test_malformed_currency_codes_are_refused(code: str) -> None:
    with pytest.raises(ValidationError):
        Money(Decimal("1"), code)


@pytest.mark.parametrize(
    ("raw", "currency"),
    [
        ("0.005", "CHF"),
        ("1.005", "EUR"),
        ("1.001", "EUR"),
        ("-1.005", "EUR"),
        ("2.675", "USD"),
        ("999999999.994", "EUR"),
        ("0.0000001", "EUR"),
        ("1E-30", "EUR"),
        ("100.5", "JPY"),
        ("0.01", "JPY"),
        ("1.005", "KWD"),  # three minor digits in ISO 4217; storage keeps cents
    ],
)
def test_more_decimals_than_the_currency_has_are_refused_not_rounded(
    raw: str, currency: str
) -> None:
    with pytest.raises(AmountInvalidError) as refused:
        Money(Decimal(raw), currency)
    assert refused.value.code == "amount_invalid"
    assert refused.value.details["decimals"] == minor_digits(currency)
    with pytest.raises(AmountInvalidError):
        Money(raw, currency)


@pytest.mark.parametrize(
    ("raw", "currency", "kept"),
    [
        ("1.5", "EUR", "1.50"),
        ("-0.10", "EUR", "-0.10"),
        ("1.000000", "EUR", "1.00"),
        ("1E+2", "EUR", "100.00"),
        ("100", "JPY", "100"),
        ("100.00", "JPY", "100"),
        ("999999999.99", "CHF", "999999999.99"),
    ],
)
def test_amounts_within_the_currency_decimals_are_kept_exactly(
    raw: str, currency: str, kept: str
) -> None:
    money = Money(Decimal(raw), currency)
    assert money.amount == Decimal(raw)
    assert str(money.amount) == kept
    assert money.amount.as_tuple().exponent == -minor_digits(currency)


def test_the_yen_has_no_decimals_and_the_franc_two() -> None:
    assert (minor_digits("JPY"), minor_digits("CHF"), minor_digits("EUR")) == (0, 2, 2)
    assert str(Money(1500, "JPY")) == "1500 JPY"


@given(st.decimals(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, allow_nan=False, places=6))
def test_every_amount_is_kept_exactly_or_refused(value: Decimal) -> None:
    if value == value.quantize(Decimal("0.01")):
        assert Money(value, "EUR").amount == value
    else:
        with pytest.raises(AmountInvalidError):
            Money(value, "EUR")


@pytest.mark.parametrize(
    ("raw", "currency", "rounded"),
    [
        ("1.005", "EUR", "1.01"),
        ("1.004", "EUR", "1.00"),
        ("-1.005", "EUR", "-1.01"),
        ("2.675", "EUR", "2.68"),
        ("0.001", "EUR", "0.00"),
        ("999999999.994", "EUR", "999999999.99"),
        ("100.5", "JPY", "101"),
        ("3", "EUR", "3.00"),
    ],
)
def test_computations_round_half_up_explicitly(raw: str, currency: str, rounded: str) -> None:
    money = Money.rounded(Decimal(raw), currency)
    assert (str(money.amount), money.currency) == (rounded, currency)
    assert money.amount.as_tuple().exponent == -minor_digits(currency)


@given(st.decimals(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, allow_nan=False, places=6))
def test_rounding_keeps_every_in_range_amount_within_half_a_cent(value: Decimal) -> None:
    money = Money.rounded(value, "EUR")
    assert abs(money.amount - value) <= Decimal("0.005")
    assert money.amount == money.amount.quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(0.1, "EUR"), ("NaN", "EUR"), ("x", "EUR"), (MAX_AMOUNT + 1, "EUR"), ("1", "eur")],
)
def test_rounding_refuses_what_money_refuses(amount: object, currency: str) -> None:
    with pytest.raises(ValidationError):
        Money.rounded(amount, currency)


@pytest.mark.parametrize("value", [MAX_AMOUNT + Decimal("0.01"), -MAX_AMOUNT - 1, Decimal("1e30")])
def test_out_of_range_amounts_are_refused(value: Decimal) -> None:
    with pytest.raises(AmountInvalidError):
        Money(value, "EUR")


def test_the_bound_itself_is_accepted() -> None:
    assert Money(MAX_AMOUNT, "EUR").amount == MAX_AMOUNT


def test_sums_going_out_of_range_are_refused() -> None:
    with pytest.raises(AmountInvalidError):
        Money(MAX_AMOUNT, "EUR") + Money(Decimal("0.01"), "EUR")


def test_money_is_immutable() -> None:
    price = Money(Decimal("10"), "EUR")
    with pytest.raises(AttributeError):
        price.amount = Decimal("0")  # type: ignore[misc]


@given(EUR, EUR)
def test_order_and_min_follow_the_amounts(a: Money, b: Money) -> None:
    assert (a < b) == (a.amount < b.amount)
    assert (a >= b) == (a.amount >= b.amount)
    assert a.min(b).amount == min(a.amount, b.amount)


# --- VAT -------------------------------------------------------------------------------------


@given(tds.vat_rates(), tds.money("EUR", -MAX_AMOUNT / 2, MAX_AMOUNT / 2))
def test_vat_split_adds_up_exactly(rate: VatRate, gross: Money) -> None:
    net, vat = rate.split(gross)
    assert net + vat == gross
    assert net.currency == vat.currency == "EUR"


@given(tds.vat_rates(), tds.money("CHF", Decimal("0"), MAX_AMOUNT / 2))
def test_vat_is_the_rate_applied_to_net_within_a_cent(rate: VatRate, gross: Money) -> None:
    net, vat = rate.split(gross)
    # net is rounded once (error <= 0.005), so vat differs from net * rate by < (1 + rate) * 0.005
    assert abs(vat.amount - net.amount * rate.rate) < Decimal("0.01")
    assert Decimal(0) <= net.amount <= gross.amount


@given(tds.vat_rates(), tds.money("JPY", Decimal("0"), MAX_AMOUNT / 2))
def test_vat_split_of_yen_is_in_whole_yen(rate: VatRate, gross: Money) -> None:
    net, vat = rate.split(gross)
    assert net + vat == gross
    assert net.amount == net.amount.to_integral_value()


@given(tds.vat_rates(), tds.money("EUR", Decimal("0"), MAX_AMOUNT / 2))
def test_vat_split_of_a_negated_amount_is_negated(rate: VatRate, gross: Money) -> None:
    net, vat = rate.split(gross)
    assert rate.split(-gross) == (-net, -vat)


@pytest.mark.parametrize(
    ("rate", "gross", "net", "vat"),
    [
        ("0.2", "120.00", "100.00", "20.00"),
        ("0.081", "10.00", "9.25", "0.75"),
        ("0.055", "25.00", "23.70", "1.30"),
        ("0", "42.00", "42.00", "0.00"),
    ],
)
def test_vat_split_examples(rate: str, gross: str, net: str, vat: str) -> None:
    assert VatRate(Decimal(rate)).split(Money(Decimal(gross), "EUR")) == (
        Money(Decimal(net), "EUR"),
        Money(Decimal(vat), "EUR"),
    )


@pytest.mark.parametrize("rate", [Decimal("-0.01"), Decimal("1"), Decimal("7.7"), "x"])
def test_vat_rates_outside_zero_to_one_are_refused(rate: object) -> None:
    with pytest.raises(ValidationError) as refused:
        VatRate(rate)
    assert isinstance(refused.value, VatRateInvalidError | AmountInvalidError)


def test_vat_rate_refuses_floats() -> None:
    with pytest.raises(AmountInvalidError):
        VatRate(0.2)


@pytest.mark.parametrize(
    ("rate", "shown"),
    [("0.077", "7.7 %"), ("0.2", "20 %"), ("0.10", "10 %"), ("0", "0 %"), ("0.055", "5.5 %")],
)
def test_vat_rate_reads_as_a_percentage(rate: str, shown: str) -> None:
    # "20 %", never the scientific "2E+1 %" that Decimal.normalize() alone gives
    assert str(VatRate(Decimal(rate))) == shown


@pytest.mark.parametrize("amount", ["1e999999999", "-1e999999999", "1e999999"])
def test_amounts_past_the_decimal_context_are_refused_with_a_typed_error(amount: str) -> None:
    # abs() of such a Decimal traps decimal.Overflow; the range check must not use it.
    with pytest.raises(AmountInvalidError):
        Money(Decimal(amount), "CHF")
    with pytest.raises(AmountInvalidError):
        Money.rounded(Decimal(amount), "CHF")
