"""Contacts: individuals and structures, with relays, members and sub-structures."""

from __future__ import annotations

import enum
import re

import attrs

from ticketdomain.core.banking import PostalAddress
from ticketdomain.core.errors import EmailInvalidError, NameInvalidError
from ticketdomain.core.languages import check_optional_language

# Deliberately simple: one @, a dotted domain, no spaces. Real deliverability is the mailer's job.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
MAX_NAME = 100


def _email(value: str) -> str:
    if not isinstance(value, str):
        raise EmailInvalidError("An email address is text.", email=repr(value))
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise EmailInvalidError(f"{value!r} is not a valid email address.", email=value)
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


@attrs.frozen
class Email:
    """A syntactically valid email address (domain lower-cased)."""

    value: str = attrs.field(converter=_email)

    def __str__(self) -> str:
        return self.value


def clean_name(value: str, what: str = "name") -> str:
    if not isinstance(value, str):
        raise NameInvalidError(f"A {what} is text.", field=what)
    value = " ".join(value.split())
    if not value or len(value) > MAX_NAME or any(ord(c) < 32 for c in value):
        raise NameInvalidError(
            f"A {what} must have 1 to {MAX_NAME} printable characters.", field=what
        )
    return value


def clean_first_name(value: str) -> str:
    return clean_name(value, "first name")


def clean_last_name(value: str) -> str:
    return clean_name(value, "last name")


@attrs.frozen
class PersonName:
    first: str = attrs.field(converter=clean_name)
    last: str = attrs.field(converter=clean_name)

    def __str__(self) -> str:
        return f"{self.first} {self.last}"


class ContactRole(enum.Enum):
    """How an individual belongs to a structure."""

    RELAY = "relay"
    MEMBER = "member"


@attrs.define
class Individual:
    id: str
    institution_id: str
    name: PersonName
    email: Email
    structure_id: str | None = None
    role: ContactRole | None = None
    marketing_consent: bool = False
    #: the language mail to them is written in (``None``: their organization's)
    language: str | None = attrs.field(default=None, converter=check_optional_language)

    @property
    def is_relay(self) -> bool:
        return self.role is ContactRole.RELAY

    def is_relay_of(self, structure_id: str) -> bool:
        return self.role is ContactRole.RELAY and self.structure_id == structure_id


@attrs.define
class Structure:
    """A company, agency, hotel, works council…; may be the sub-structure of another."""

    id: str
    institution_id: str
    name: str = attrs.field(converter=clean_name)
    parent_id: str | None = None
    #: where its invoices are addressed and mailed (none until set)
    billing: BuyerBilling | None = None


@attrs.frozen
class BuyerBilling:
    """A structure's billing details: the address its invoices name and, if given, the address
    they are mailed to (else its relays')."""

    address: PostalAddress
    email: Email | None = None
