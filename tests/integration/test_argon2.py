"""Passwords hashed with real argon2id (``argon2-cffi``), alone and behind a full login."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from ticketdomain import (
    ActorKind,
    ChangePassword,
    ListOperators,
    LoginOperator,
    SecurityPolicy,
    TicketDomain,
    TicketDomainError,
)
from ticketdomain.core.errors import LoginFailedError
from ticketdomain.core.identity import CredentialOwner, credential_id
from ticketdomain.ports.security import PasswordHasher
from ticketdomain.testing import (
    FixedClock,
    InMemoryDocumentStore,
    InMemoryMailer,
    InMemoryPaymentGateway,
    InMemoryStorage,
    RecordingRenderer,
    SequentialBarcodes,
    SequentialIds,
)
from ticketdomain.testing.domain import DEFAULT_START
from ticketdomain_argon2 import Argon2PasswordHasher
from ticketdomain_system import SecretsTokenGenerator

PASSWORD = "correct horse battery"


def cheap() -> Argon2PasswordHasher:
    """Still argon2id, with the smallest cost argon2 accepts (tests only)."""
    return Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_a_hash_is_argon2id_salted_and_verifies_only_its_password() -> None:
    hasher: PasswordHasher = cheap()
    first = hasher.hash(PASSWORD)
    second = hasher.hash(PASSWORD)
    assert first.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert first != second
    assert PASSWORD not in first
    assert hasher.verify(first, PASSWORD)
    assert hasher.verify(second, PASSWORD)
    assert not hasher.verify(first, PASSWORD + " ")
    assert not hasher.verify(first, "")
    assert not hasher.verify(first, PASSWORD.upper())


def test_any_text_a_person_types_is_a_password() -> None:
    hasher = cheap()
    for password in ("motörhead über alles", "пароль-пароль", "🔑" * 12, "x" * 1024):
        assert hasher.verify(hasher.hash(password), password)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "not a hash",
        "$argon2id$",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdA",
        "$argon2id$v=19$m=8,t=1,p=1$!!!$???",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "fake-sha256$00000001$" + "0" * 64,
    ],
)
def test_a_malformed_hash_verifies_nothing_and_raises_nothing(encoded: str) -> None:
    assert cheap().verify(encoded, PASSWORD) is False


def test_a_password_that_is_not_valid_text_is_a_mismatch_not_a_crash() -> None:
    """The port promises ``False``, never an exception: a lone surrogate (which a JSON payload
    can carry) cannot be encoded to UTF-8 and must not escape as ``UnicodeEncodeError``."""
    hasher = cheap()
    assert hasher.verify(hasher.hash(PASSWORD), "\ud800" * 12) is False


def test_a_hash_made_with_other_parameters_still_verifies() -> None:
    old = Argon2PasswordHasher(time_cost=2, memory_cost=64, parallelism=2).hash(PASSWORD)
    assert "m=64,t=2,p=2" in old
    assert cheap().verify(old, PASSWORD)


def test_the_default_parameters_are_argon2_cffis_recommended_ones() -> None:
    hasher = Argon2PasswordHasher()
    encoded = hasher.hash(PASSWORD)
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", encoded)
    assert match is not None
    assert (int(match[1]), int(match[2])) == (65536, 3)
    assert hasher.verify(encoded, PASSWORD)
    assert not hasher.verify(encoded, "wrong password!")


def domain(hasher: PasswordHasher) -> tuple[TicketDomain, InMemoryStorage]:
    storage = InMemoryStorage()
    return (
        TicketDomain(
            storage=storage,
            clock=FixedClock(DEFAULT_START),
            ids=SequentialIds(),
            barcodes=SequentialBarcodes(),
            payments=InMemoryPaymentGateway(),
            documents=InMemoryDocumentStore(),
            renderer=RecordingRenderer(),
            mailer=InMemoryMailer(),
            passwords=hasher,
            tokens=SecretsTokenGenerator(),
            security=SecurityPolicy(),
        ),
        storage,
    )


def test_an_operator_logs_in_through_a_domain_built_with_argon2() -> None:
    d, storage = domain(cheap())
    boot = d.host.bootstrap(
        institution_name="Riviera Culture",
        first_name="Odile",
        last_name="Perret",
        email="odile@riviera-culture.ch",
        password=PASSWORD,
    )
    with storage.unit_of_work() as uow:
        stored = uow.credentials.get(credential_id(CredentialOwner.OPERATOR, boot.operator.id))
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    institution = boot.institution.id
    session = d.handle(LoginOperator(institution, "odile@riviera-culture.ch", PASSWORD))
    assert session.actor_kind is ActorKind.OPERATOR
    assert [o.id for o in d.handle(ListOperators(session.token))] == [boot.operator.id]
    with pytest.raises(LoginFailedError) as wrong:
        d.handle(LoginOperator(institution, "odile@riviera-culture.ch", "wrong password!"))
    with pytest.raises(LoginFailedError) as unknown:
        d.handle(LoginOperator(institution, "nobody@riviera-culture.ch", PASSWORD))
    assert wrong.value == unknown.value
    d.handle(ChangePassword(session.token, "another good password", current_password=PASSWORD))
    again = d.handle(
        LoginOperator(institution, "odile@riviera-culture.ch", "another good password")
    )
    assert again.token != session.token


def test_a_password_that_is_not_valid_text_gets_a_typed_error_through_the_domain() -> None:
    d, _ = domain(cheap())
    boot = d.host.bootstrap(
        institution_name="Riviera Culture",
        first_name="Odile",
        last_name="Perret",
        email="odile@riviera-culture.ch",
        password=PASSWORD,
    )
    institution = boot.institution.id
    session = d.handle(LoginOperator(institution, "odile@riviera-culture.ch", PASSWORD)).token
    surrogates = "\ud800" * 12
    calls: dict[str, Callable[[], object]] = {
        "login, known email": lambda: d.handle(
            LoginOperator(institution, "odile@riviera-culture.ch", surrogates)
        ),
        "login, unknown email": lambda: d.handle(
            LoginOperator(institution, "nobody@riviera-culture.ch", surrogates)
        ),
        "change": lambda: d.handle(ChangePassword(session, surrogates, current_password=PASSWORD)),
        # The host's trusted calls take passwords from the host's own forms: typed errors too.
        "host.set_password": lambda: d.host.set_password(
            ActorKind.OPERATOR, boot.operator.id, surrogates
        ),
        "host.bootstrap": lambda: d.host.bootstrap(
            institution_name="Other",
            first_name="Otto",
            last_name="Other",
            email="otto@other.ch",
            password=surrogates,
        ),
    }
    escaped: list[tuple[str, str]] = []
    for name, call in calls.items():
        try:
            call()
        except TicketDomainError:
            continue
        except Exception as error:
            escaped.append((name, type(error).__name__))
        else:
            escaped.append((name, "accepted"))
    assert escaped == []
