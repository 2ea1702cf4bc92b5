"""Bank details and payment references: IBANs, postal addresses, structured references.

Pure checks with the standard library only: the IBAN's ISO 13616 checksum, the Swiss QR-IBAN
range, the Swiss QR reference (27 digits, modulo 10 recursive) and the ISO 11649 Creditor
Reference (``RF`` and two check digits). Adapters that print a QR-bill validate again with their
own library; the core never needs one.
"""

from __future__ import annotations

import hashlib
import re

import attrs

from ticketdomain.core.errors import BillingDetailsInvalidError, IbanInvalidError

#: countries whose IBANs a Swiss QR-bill accepts
QR_BILL_COUNTRIES = frozenset({"CH", "LI"})
#: currencies a Swiss QR-bill is made out in
QR_BILL_CURRENCIES = frozenset({"CHF", "EUR"})

_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
#: lengths of the IBANs of a few countries (others are checked by their checksum alone)
_IBAN_LENGTHS = {"CH": 21, "LI": 21, "DE": 22, "FR": 27, "AT": 20, "IT": 27, "GB": 22}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
#: Swiss payments are numbered by their structured reference, not by free text
_MOD10_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)


def _compact(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise BillingDetailsInvalidError(f"A {what} is text.", field=what)
    return "".join(value.split()).upper()


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 over letters and digits (A=10 … Z=35)."""
    return int("".join(str(int(c, 36)) for c in text)) % 97


def iban_is_valid(value: str) -> bool:
    compact = "".join(value.split()).upper()
    if not _IBAN.match(compact):
        return False
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


def _iban(value: object) -> str:
    compact = _compact(value, "iban")
    if not iban_is_valid(compact):
        raise IbanInvalidError(f"{value!r} is not a valid IBAN.", iban=str(value))
    return compact


@attrs.frozen
class Iban:
    """An IBAN, stored without spaces; ``CH93 0076 2011 6238 5295 7`` is accepted as typed."""

    value: str = attrs.field(converter=_iban)

    @property
    def country(self) -> str:
        return self.value[:2]

    @property
    def is_swiss(self) -> bool:
        """Swiss or Liechtenstein: an account a QR-bill can be paid into."""
        return self.country in QR_BILL_COUNTRIES

    @property
    def is_qr_iban(self) -> bool:
        """A Swiss QR-IBAN: its institution id (5th to 9th characters) is 30000 to 31999. It
        takes QR references only; a plain IBAN takes Creditor References."""
        iid = self.value[4:9]
        return self.is_swiss and iid.isdigit() and 30000 <= int(iid) <= 31999

    @property
    def formatted(self) -> str:
        return " ".join(self.value[i : i + 4] for i in range(0, len(self.value), 4))

    def __str__(self) -> str:
        return self.value


def _clean(value: object, limit: int, what: str, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BillingDetailsInvalidError(f"A {what} is text.", field=what)
    value = " ".join(value.split())
    if (required and not value) or len(value) > limit or any(ord(c) < 32 for c in value):
        low = 1 if required else 0
        raise BillingDetailsInvalidError(
            f"A {what} has {low} to {limit} printable characters.", field=what
        )
    return value


def _street(value: object) -> str:
    return _clean(value, 70, "street", required=False)


def _house_number(value: object) -> str:
    return _clean(value, 16, "house number", required=False)


def _postal_code(value: object) -> str:
    return _clean(value, 16, "postal code")


def _town(value: object) -> str:
    return _clean(value, 35, "town")


def _country(value: object) -> str:
    compact = _compact(value, "country")
    if not _COUNTRY.match(compact):
        raise BillingDetailsInvalidError(
            f"{value!r} is not a two-letter country code (ISO 3166).", field="country"
        )
    return compact


@attrs.frozen
class PostalAddress:
    """A structured postal address, with the lengths a Swiss QR-bill allows."""

    street: str = attrs.field(converter=_street)
    house_number: str = attrs.field(converter=_house_number)
    postal_code: str = attrs.field(converter=_postal_code)
    town: str = attrs.field(converter=_town)
    country: str = attrs.field(converter=_country)

    def lines(self) -> tuple[str, ...]:
        """As printed: street and number, postal code and town, country."""
        street = " ".join(part for part in (self.street, self.house_number) if part)
        return tuple(
            line for line in (street, f"{self.postal_code} {self.town}", self.country) if line
        )


@attrs.frozen
class Party:
    """A seller or a buyer as an invoice prints it."""

    name: str
    address: PostalAddress | None = None
    vat_number: str | None = None
    email: str | None = None

    def lines(self) -> tuple[str, ...]:
        return (self.name, *(self.address.lines() if self.address else ()))


def clean_vat_number(value: object) -> str:
    """A VAT number as printed (``CHE-123.456.789 MWST``): 1 to 40 printable characters."""
    return _clean(value, 40, "VAT number")


MAX_PAYMENT_TERMS_DAYS = 365


def check_payment_terms(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise BillingDetailsInvalidError(
            "Payment terms are a number of days.", field="payment_terms"
        )
    if not 0 <= days <= MAX_PAYMENT_TERMS_DAYS:
        raise BillingDetailsInvalidError(
            f"Payment terms are 0 to {MAX_PAYMENT_TERMS_DAYS} days.", field="payment_terms"
        )
    return days


# --- structured references ------------------------------------------------------------------


def mod10_recursive(digits: str) -> int:
    """The check digit of the Swiss QR reference (modulo 10, recursive)."""
    carry = 0
    for digit in digits:
        carry = _MOD10_TABLE[(carry + int(digit)) % 10]
    return (10 - carry) % 10


def qr_reference(payload: str) -> str:
    """A QR reference: up to 26 digits, zero-padded on the left, and the check digit."""
    if not payload.isdigit() or len(payload) > 26:
        raise BillingDetailsInvalidError("A QR reference holds 1 to 26 digits.", field="reference")
    body = payload.rjust(26, "0")
    return body + str(mod10_recursive(body))


def is_qr_reference(reference: str) -> bool:
    compact = "".join(reference.split())
    return (
        len(compact) == 27
        and compact.isascii()
        and compact.isdigit()
        and mod10_recursive(compact[:26]) == int(compact[26])
    )


def creditor_reference(payload: str) -> str:
    """An ISO 11649 Creditor Reference: ``RF``, two check digits, up to 21 letters or digits."""
    payload = payload.upper()
    if not payload or len(payload) > 21 or not payload.isascii() or not payload.isalnum():
        raise BillingDetailsInvalidError(
            "A Creditor Reference holds 1 to 21 letters or digits.", field="reference"
        )
    check = 98 - _mod97(payload + "RF00")
    return f"RF{check:02d}{payload}"


def is_creditor_reference(reference: str) -> bool:
    compact = "".join(reference.split()).upper()
    body = compact[4:]
    return (
        compact.startswith("RF")
        and 5 <= len(compact) <= 25
        and compact[2:4].isdigit()
        and body.isascii()
        and body.isalnum()
        and _mod97(body + compact[:4]) == 1
    )


def compact_reference(reference: str) -> str:
    """A reference as stored and compared: no spaces, upper case (as paid, it may be grouped)."""
    return "".join(reference.split()).upper()


def _organization_code(organization_id: str) -> str:
    # Eight digits derived from the organization's id, so that two organizations' invoices
    # numbered alike still carry different references.
    digest = hashlib.sha256(organization_id.encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


def invoice_reference(iban: Iban, organization_id: str, number: int) -> str:
    """The structured reference of an invoice paid into ``iban``: a QR reference for a
    QR-IBAN, else a Creditor Reference; both carry the organization's code and the number."""
    if not 0 < number < 10**12:
        raise BillingDetailsInvalidError("An invoice number is 1 to 12 digits.", field="number")
    payload = _organization_code(organization_id) + f"{number:012d}"
    return qr_reference(payload) if iban.is_qr_iban else creditor_reference(payload)


def _optional_vat_number(value: object) -> str | None:
    return None if value is None or value == "" else clean_vat_number(value)


@attrs.frozen
class SellerBilling:
    """An organization's billing details: what its invoices print as the seller."""

    address: PostalAddress
    vat_number: str | None = attrs.field(default=None, converter=_optional_vat_number)
    #: the account invoices are paid into; a Swiss one gets a QR-bill on CHF and EUR invoices
    iban: Iban | None = None
    payment_terms_days: int = attrs.field(default=30, converter=check_payment_terms)

    def qr_bill_iban(self, currency: str) -> Iban | None:
        """The IBAN a QR-bill is made out to for invoices in ``currency`` (``None``: no
        QR-bill, for a foreign account or another currency)."""
        if self.iban is None or not self.iban.is_swiss or currency not in QR_BILL_CURRENCIES:
            return None
        return self.iban
