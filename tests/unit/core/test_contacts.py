"""Emails and names are validated on construction, with stable error codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.contacts import (
    MAX_NAME,
    ContactRole,
    Email,
    Individual,
    PersonName,
    Structure,
    clean_first_name,
    clean_name,
)
from ticketdomain.core.errors import EmailInvalidError, NameInvalidError
from ticketdomain.testing import strategies as tds


@given(tds.email_addresses())
def test_valid_addresses_are_accepted_with_the_domain_lower_cased(address: str) -> None:
    email = Email(address)
    local, domain = address.rsplit("@", 1)
    assert email.value == f"{local}@{domain.lower()}"
    assert str(email) == email.value


@given(tds.email_addresses())
def test_the_same_address_typed_with_another_domain_case_is_equal(address: str) -> None:
    local, domain = address.rsplit("@", 1)
    assert Email(f"{local}@{domain.upper()}") == Email(f"{local}@{domain.lower()}")


def test_surrounding_spaces_are_dropped() -> None:
    assert Email("  Anne.Martin@Example.COM \n").value == "Anne.Martin@example.com"


@pytest.mark.parametrize(
    "address",
    [
        "",
        "   ",
        "anne",
        "anne@",
        "@example.com",
        "anne@example",
        "anne@@example.com",
        "an ne@example.com",
        "anne@exa mple.com",
        "anne@-example.com",
        "anne@example-.com",
        "anne@example..com",
        "anne@.example.com",
        "anne@example.com.",
        "anne\n@example.com",
        "anne@example.com\nBcc: x@y.z",
        "anne@exämple.com",
        "a" * 250 + "@example.com",
    ],
)
def test_invalid_addresses_are_refused(address: str) -> None:
    with pytest.raises(EmailInvalidError) as refused:
        Email(address)
    assert refused.value.code == "email_invalid"
    assert "email" in refused.value.details


@pytest.mark.parametrize("value", [None, 42, b"anne@example.com"])
def test_an_address_must_be_text(value: object) -> None:
    with pytest.raises(EmailInvalidError):
        Email(value)  # type: ignore[arg-type]


@given(tds.name_texts())
def test_valid_names_are_kept(name: str) -> None:
    assert clean_name(name) == name


@given(tds.name_texts(), st.sampled_from([" ", "  ", "\t", "\n", " \r\n "]))
def test_whitespace_inside_and_around_names_is_collapsed(name: str, gap: str) -> None:
    assert clean_name(gap + name.replace(" ", gap) + gap) == name


@pytest.mark.parametrize(
    "name", ["", "   ", "\t\n", "x" * (MAX_NAME + 1), "Anne\x00", "An\x07ne", "Jean\x1b[31m"]
)
def test_empty_too_long_or_control_names_are_refused(name: str) -> None:
    with pytest.raises(NameInvalidError) as refused:
        clean_first_name(name)
    assert refused.value.code == "name_invalid"
    assert refused.value.details == {"field": "first name"}


def test_a_name_of_exactly_the_maximum_length_is_accepted() -> None:
    assert clean_name("x" * MAX_NAME) == "x" * MAX_NAME


@pytest.mark.parametrize("value", [None, 12, ["Anne"]])
def test_a_name_must_be_text(value: object) -> None:
    with pytest.raises(NameInvalidError):
        clean_name(value)  # type: ignore[arg-type]


@given(tds.person_names())
def test_person_names_read_first_then_last(name: PersonName) -> None:
    assert str(name) == f"{name.first} {name.last}"


def test_person_name_refuses_a_blank_last_name() -> None:
    with pytest.raises(NameInvalidError):
        PersonName("Anne", " ")


def test_structure_names_are_validated_too() -> None:
    with pytest.raises(NameInvalidError):
        Structure("s-1", "inst-1", "")
    assert Structure("s-1", "inst-1", "  Voyages   Martin ").name == "Voyages Martin"


def test_only_a_relay_of_the_structure_is_its_relay() -> None:
    def individual(role: ContactRole | None, structure_id: str | None) -> Individual:
        return Individual(
            "i-1", "inst-1", PersonName("Anne", "Martin"), Email("a@b.fr"), structure_id, role
        )

    assert individual(ContactRole.RELAY, "s-1").is_relay_of("s-1")
    assert not individual(ContactRole.RELAY, "s-2").is_relay_of("s-1")
    assert not individual(ContactRole.MEMBER, "s-1").is_relay_of("s-1")
    assert not individual(None, None).is_relay
