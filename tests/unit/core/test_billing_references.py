"""Structured payment references, IBANs and billing details: the pure checks of the core."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.banking import (
    Iban,
    PostalAddress,
    SellerBilling,
    creditor_reference,
    iban_is_valid,
    invoice_reference,
    is_creditor_reference,
    is_qr_reference,
    mod10_recursive,
    qr_reference,
)
from ticketdomain.core.billing import payment_terms
from ticketdomain.core.errors import BillingDetailsInvalidError, IbanInvalidError
from ticketdomain.core.setup import Organization

QR_IBAN = "CH44 3199 9123 0008 8901 2"
PLAIN_IBAN = "CH93 0076 2011 6238 5295 7"
GERMAN_IBAN = "DE89 3704 0044 0532 0130 00"

digits = st.text(alphabet="0123456789", min_size=1, max_size=26)
alphanumerics = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21)


def _changed(text: str, index: int, replacement: str) -> str:
    return text[:index] + replacement + text[index + 1 :]


@given(digits)
def test_every_qr_reference_made_validates(payload: str) -> None:
    reference = qr_reference(payload)
    assert len(reference) == 27 and reference.isdigit()
    assert is_qr_reference(reference)
    assert int(reference[:26]) == int(payload)


@given(digits, st.integers(min_value=0, max_value=26), st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_of_a_qr_reference_is_detected(
    payload: str, index: int, shift: int
) -> None:
    reference = qr_reference(payload)
    wrong = _changed(reference, index, str((int(reference[index]) + shift) % 10))
    assert wrong != reference
    assert not is_qr_reference(wrong)


@given(alphanumerics)
def test_every_creditor_reference_made_validates(payload: str) -> None:
    reference = creditor_reference(payload)
    assert reference.startswith("RF") and reference[4:] == payload
    assert is_creditor_reference(reference)
    # As people type it: grouped by four, lower case.
    grouped = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))
    assert is_creditor_reference(grouped.lower())


@given(alphanumerics, st.data())
def test_any_single_digit_change_of_a_creditor_reference_is_detected(
    payload: str, data: st.DataObject
) -> None:
    reference = creditor_reference(payload)
    positions = [i for i, c in enumerate(reference) if c.isdigit()]
    index = data.draw(st.sampled_from(positions))
    shift = data.draw(st.integers(min_value=1, max_value=9))
    wrong = _changed(reference, index, str((int(reference[index]) + shift) % 10))
    assert not is_creditor_reference(wrong)


def test_known_references_of_the_guidelines_validate() -> None:
    # Examples from the Swiss implementation guidelines and ISO 11649.
    assert is_qr_reference("21 00000 00003 13947 14300 09017")
    assert mod10_recursive("21000000000313947143000901") == 7
    assert is_creditor_reference("RF18 5390 0754 7034")
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert not is_qr_reference("210000000003139471430009018")
    assert not is_creditor_reference("RF19539007547034")


@pytest.mark.parametrize("payload", ["", "1" * 27, "12a"])
def test_a_qr_reference_holds_1_to_26_digits(payload: str) -> None:
    with pytest.raises(BillingDetailsInvalidError):
        qr_reference(payload)


@pytest.mark.parametrize("payload", ["", "A" * 22, "AB-1", "Ä1"])
def test_a_creditor_reference_holds_1_to_21_letters_or_digits(payload: str) -> None:
    with pytest.raises(BillingDetailsInvalidError):
        creditor_reference(payload)


def test_ibans_are_checked_and_swiss_qr_ibans_recognized() -> None:
    assert Iban(QR_IBAN).value == "CH4431999123000889012"
    assert Iban(QR_IBAN).is_swiss and Iban(QR_IBAN).is_qr_iban
    assert Iban(PLAIN_IBAN).is_swiss and not Iban(PLAIN_IBAN).is_qr_iban
    assert not Iban(GERMAN_IBAN).is_swiss and not Iban(GERMAN_IBAN).is_qr_iban
    assert Iban("li21 0881 0000 2324 013a a").is_swiss
    assert Iban(PLAIN_IBAN).formatted == "CH93 0076 2011 6238 5295 7"
    for wrong in ("CH93 0076 2011 6238 5295 8", "CH93", "XX00 1234", "CH9300762011623852957000"):
        assert not iban_is_valid(wrong)
        with pytest.raises(IbanInvalidError):
            Iban(wrong)


@given(st.integers(min_value=4, max_value=20), st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_of_an_iban_is_detected(index: int, shift: int) -> None:
    iban = Iban(PLAIN_IBAN).value
    wrong = _changed(iban, index, str((int(iban[index]) + shift) % 10))
    assert not iban_is_valid(wrong)


def test_postal_addresses_keep_to_the_qr_bill_lengths() -> None:
    address = PostalAddress(" Rue  du Lac ", "1", "1000", "Lausanne", "ch")
    assert address.street == "Rue du Lac" and address.country == "CH"
    assert address.lines() == ("Rue du Lac 1", "1000 Lausanne", "CH")
    assert PostalAddress("", "", "8000", "Zürich", "CH").lines() == ("8000 Zürich", "CH")
    for wrong in (
        {"street": "x" * 71},
        {"house_number": "1" * 17},
        {"postal_code": ""},
        {"town": "t" * 36},
        {"country": "CHE"},
        {"town": "Bad\x00"},
    ):
        fields = {"street": "a", "house_number": "1", "postal_code": "1000", "town": "Lausanne"}
        fields["country"] = "CH"
        fields.update(wrong)
        with pytest.raises(BillingDetailsInvalidError):
            PostalAddress(**fields)


@pytest.mark.parametrize("days", [-1, 366, True, "30"])
def test_payment_terms_are_0_to_365_days(days: object) -> None:
    with pytest.raises(BillingDetailsInvalidError):
        SellerBilling(PostalAddress("", "", "1000", "Lausanne", "CH"), payment_terms_days=days)


def _organization(currency: str, iban: str | None, time_zone: str = "UTC") -> Organization:
    billing = SellerBilling(
        PostalAddress("Rue du Lac", "1", "1000", "Lausanne", "CH"),
        "CHE-123.456.789 TVA",
        Iban(iban) if iban else None,
        10,
    )
    return Organization("org-1", "inst-1", "Opera", currency, time_zone, billing=billing)


def test_payment_terms_give_the_due_date_and_the_reference_its_iban_takes() -> None:
    # Issued late on 31 January in Zurich: the issue date is 1 February there.
    issued = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    qr = payment_terms(_organization("CHF", QR_IBAN, "Europe/Zurich"), 7, issued)
    assert qr.due_on == date(2026, 2, 11)
    assert qr.reference is not None and is_qr_reference(qr.reference)
    assert qr.iban == "CH4431999123000889012"
    scor = payment_terms(_organization("EUR", PLAIN_IBAN), 7, issued)
    assert scor.due_on == date(2026, 2, 10)
    assert scor.reference is not None and is_creditor_reference(scor.reference)
    # No QR-bill in another currency or for a foreign account: no structured reference.
    assert payment_terms(_organization("USD", PLAIN_IBAN), 7, issued).reference is None
    assert payment_terms(_organization("CHF", GERMAN_IBAN), 7, issued).reference is None
    assert payment_terms(_organization("CHF", None), 7, issued).iban is None


def test_two_organizations_invoices_numbered_alike_carry_different_references() -> None:
    iban = Iban(QR_IBAN)
    assert invoice_reference(iban, "org-1", 1) != invoice_reference(iban, "org-2", 1)
    assert invoice_reference(iban, "org-1", 1) != invoice_reference(iban, "org-1", 2)
    with pytest.raises(BillingDetailsInvalidError):
        invoice_reference(iban, "org-1", 0)
