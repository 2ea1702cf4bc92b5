"""The trust boundary, told in domain words: who logs in and how, what a session is and when it
ends, API keys and gates, what an operator may hand out, and every attack of issue 7 refused.

Runs on every storage of ``conftest.py`` (in memory and SQLite).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from support.agency import Agency
from support.corporate import Corporate, set_up_corporate
from support.identity import (
    credential,
    everything_stored,
    link_token,
    links_in,
    queued_mails,
    stored_session,
    tampered,
)
from support.state import observed, refused
from ticketdomain import (
    ActorKind,
    AuthorizeStructure,
    ChangePassword,
    ChannelKind,
    ContactDetails,
    ContactRole,
    CreateActivity,
    CreateApiKey,
    CreateIndividual,
    CreateOperator,
    CreateOrganization,
    CreateSalesChannel,
    CreateStructure,
    DispatchMail,
    DistributeToMember,
    DistributeToSubStructure,
    ListMemberTickets,
    ListOperators,
    ListOrders,
    LoginMember,
    LoginOperator,
    LoginRelay,
    LoginWithLink,
    Logout,
    Money,
    NotFoundError,
    Permission,
    RecordPayment,
    RegisterGate,
    RemoveOperator,
    RemoveRelay,
    RequestLoginLink,
    RevokeApiKey,
    RevokeGate,
    RevokeStructure,
    ScanTicket,
    SearchContacts,
    SearchMembers,
    SecurityPolicy,
    SessionView,
    SetCreditLimit,
    SetOperatorPermissions,
    TicketDomain,
    ViewCatalog,
    ViewHoldingAccount,
    ViewOrder,
    ViewStock,
)
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    CommandTypeUnknownError,
    ForeignResourceError,
    LoginFailedError,
    PasswordInvalidError,
    PermissionMissingError,
    SalesPointAccessDeniedError,
    SessionInvalidError,
    SetupInvalidError,
    ValidationError,
)
from ticketdomain.core.identity import (
    ALL_PERMISSIONS,
    API_KEY_PREFIX,
    LINK_PREFIX,
    SESSION_PREFIX,
    token_digest,
)
from ticketdomain.ports.storage import Storage
from ticketdomain.serialization import structure_command
from ticketdomain.testing.domain import FakeWorld, build_fake_world

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "staple of the battery"
WRONG = "not the password at all"


def chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


def with_passwords(corporate: Corporate) -> None:
    """Nina (relay), Sam (relay), Marc (member) and the first operator choose passwords.

    Setting a password ends the person's sessions: the fixture's tokens are replaced by new
    sessions opened by the host.
    """
    host = corporate.world.domain.host
    host.set_password(ActorKind.RELAY, corporate.nina_id, PASSWORD)
    host.set_password(ActorKind.RELAY, corporate.sam_id, PASSWORD)
    host.set_password(ActorKind.MEMBER, corporate.marc_id, PASSWORD)
    host.set_password(ActorKind.OPERATOR, corporate.operator_id, PASSWORD)
    sales_point = corporate.sales_point_id
    corporate.nina = host.open_session(
        ActorKind.RELAY, corporate.nina_id, sales_point_id=sales_point
    ).token
    corporate.sam = host.open_session(
        ActorKind.RELAY, corporate.sam_id, sales_point_id=sales_point
    ).token
    corporate.marc = host.open_session(ActorKind.MEMBER, corporate.marc_id).token
    corporate.operator = host.open_session(ActorKind.OPERATOR, corporate.operator_id).token


def relay_login(
    corporate: Corporate, email: str = "nina@nestor.ch", password: str = PASSWORD
) -> Any:
    return corporate.world.domain.handle(LoginRelay(corporate.sales_point_id, email, password))


def member_login(
    corporate: Corporate, email: str = "marc@nestor.ch", password: str = PASSWORD
) -> Any:
    return corporate.world.domain.handle(LoginMember(corporate.institution_id, email, password))


def operator_login(
    corporate: Corporate, email: str = "odile@riviera-culture.ch", password: str = PASSWORD
) -> Any:
    return corporate.world.domain.handle(LoginOperator(corporate.institution_id, email, password))


def new_operator(
    corporate: Corporate,
    email: str,
    permissions: frozenset[Permission],
    organization_ids: frozenset[str] | None = None,
) -> tuple[str, str]:
    """An operator created by the first operator, with a password, and a session of theirs."""
    d = corporate.world.domain
    view = d.handle(
        CreateOperator(
            corporate.operator,
            "Otto",
            "Staff",
            email,
            permissions,
            organization_ids,
            password=PASSWORD,
        )
    )
    return view.id, d.handle(LoginOperator(corporate.institution_id, email, PASSWORD)).token


def secure_world(storage: Storage) -> tuple[FakeWorld, Corporate]:
    """A works council in a world with the default (real) session lifetimes."""
    world = build_fake_world(storage, security=SecurityPolicy())
    return world, set_up_corporate(world)


# --- passwords ---------------------------------------------------------------------------------


def test_relays_members_and_operators_log_in_with_email_and_password(
    corporate: Corporate,
) -> None:
    d = corporate.world.domain
    with_passwords(corporate)
    relay = relay_login(corporate)
    assert isinstance(relay, SessionView)
    assert (relay.actor_kind, relay.actor_id) == (ActorKind.RELAY, corporate.nina_id)
    assert relay.sales_point_id == corporate.sales_point_id
    assert d.handle(ViewStock(relay.token)).structure_id == corporate.council_id

    member = member_login(corporate, "MARC@nestor.ch")
    assert (member.actor_kind, member.actor_id) == (ActorKind.MEMBER, corporate.marc_id)
    assert d.handle(ListMemberTickets(member.token)) == ()

    operator = operator_login(corporate)
    assert (operator.actor_kind, operator.actor_id) == (ActorKind.OPERATOR, corporate.operator_id)
    assert [o.id for o in d.handle(ListOperators(operator.token))] == [corporate.operator_id]

    # An operator created with a password logs in with it, with the permissions given.
    clerk_id, clerk = new_operator(
        corporate, "clerk@riviera-culture.ch", frozenset({Permission.SALES})
    )
    assert d.host.who(clerk).id == clerk_id
    with refused(corporate.world, PermissionMissingError):
        d.handle(ListOperators(clerk))


def test_a_password_chosen_after_a_link_login_opens_the_member_space(corporate: Corporate) -> None:
    d = corporate.world.domain
    d.handle(RequestLoginLink(corporate.institution_id, "marc@nestor.ch"))
    session = d.handle(LoginWithLink(link_token(corporate.world.storage, "marc@nestor.ch")))
    # The "forgotten password" path: a session opened by a link sets a password without the old.
    d.handle(ChangePassword(session.token, PASSWORD))
    assert member_login(corporate).actor_id == corporate.marc_id
    with pytest.raises(LoginFailedError):
        member_login(corporate, password=WRONG)


def test_storage_keeps_a_salted_hash_never_the_password(corporate: Corporate) -> None:
    with_passwords(corporate)
    storage = corporate.world.storage
    nina = credential(storage, ActorKind.RELAY, corporate.nina_id)
    sam = credential(storage, ActorKind.RELAY, corporate.sam_id)
    operator = credential(storage, ActorKind.OPERATOR, corporate.operator_id)
    assert nina is not None and sam is not None and operator is not None
    assert PASSWORD not in nina.password_hash
    # One password, two people: two different hashes (each has its own salt).
    assert nina.password_hash != sam.password_hash
    assert PASSWORD not in everything_stored(storage)


@pytest.mark.parametrize("kind", ["relay", "member", "operator"])
def test_an_unknown_email_and_a_wrong_password_get_one_answer_at_one_cost(
    corporate: Corporate, kind: str
) -> None:
    with_passwords(corporate)
    login = {"relay": relay_login, "member": member_login, "operator": operator_login}[kind]
    known = {
        "relay": "nina@nestor.ch",
        "member": "marc@nestor.ch",
        "operator": "odile@riviera-culture.ch",
    }[kind]
    hasher = corporate.world.passwords
    answers: list[tuple[str, str, dict[str, Any]]] = []
    costs: list[int] = []
    # An unknown email, a known one without a password (Olga never chose one), a wrong password.
    for email, password in [
        ("nobody@nestor.ch", PASSWORD),
        ("olga@acme.ch", PASSWORD),
        (known, WRONG),
        ("nobody@nestor.ch", PASSWORD),
    ]:
        before = hasher.verifications
        with pytest.raises(LoginFailedError) as caught:
            login(corporate, email, password)
        costs.append(hasher.verifications - before)
        answers.append((caught.value.code, caught.value.message, caught.value.details))
    assert costs == [1, 1, 1, 1]
    assert len(set(map(repr, answers))) == 1
    assert answers[0][0] == "login_failed"


def test_five_wrong_passwords_lock_the_credential_for_fifteen_minutes(
    corporate: Corporate,
) -> None:
    with_passwords(corporate)
    world = corporate.world
    for _ in range(5):
        with pytest.raises(LoginFailedError):
            relay_login(corporate, password=WRONG)
    locked = credential(world.storage, ActorKind.RELAY, corporate.nina_id)
    assert locked is not None and locked.locked_until == world.clock.now() + timedelta(minutes=15)
    # Locked: even the right password fails with the very same answer, and counts nothing.
    before = world.passwords.verifications
    with refused(world, LoginFailedError) as caught:
        relay_login(corporate)
    assert caught.value == LoginFailedError()
    assert world.passwords.verifications == before + 1
    world.clock.advance(timedelta(minutes=14, seconds=59))
    with refused(world, LoginFailedError):
        relay_login(corporate)
    # The member space shares the credential (one person, one password): locked too.
    with refused(world, LoginFailedError):
        member_login(corporate, "nina@nestor.ch")
    world.clock.advance(timedelta(seconds=1))
    assert relay_login(corporate).actor_id == corporate.nina_id
    unlocked = credential(world.storage, ActorKind.RELAY, corporate.nina_id)
    assert unlocked is not None and unlocked.failed_attempts == 0


def test_operators_are_locked_out_too(corporate: Corporate) -> None:
    with_passwords(corporate)
    for _ in range(5):
        with pytest.raises(LoginFailedError):
            operator_login(corporate, password=WRONG)
    with refused(corporate.world, LoginFailedError):
        operator_login(corporate)
    corporate.world.clock.advance(timedelta(minutes=15))
    assert operator_login(corporate).actor_id == corporate.operator_id


def test_a_right_password_resets_the_count_of_failures(corporate: Corporate) -> None:
    with_passwords(corporate)
    for _ in range(4):
        with pytest.raises(LoginFailedError):
            member_login(corporate, password=WRONG)
    counted = credential(corporate.world.storage, ActorKind.MEMBER, corporate.marc_id)
    assert counted is not None and counted.failed_attempts == 4
    member_login(corporate)
    reset = credential(corporate.world.storage, ActorKind.MEMBER, corporate.marc_id)
    assert reset is not None and reset.failed_attempts == 0
    for _ in range(4):
        with pytest.raises(LoginFailedError):
            member_login(corporate, password=WRONG)
    assert member_login(corporate).actor_id == corporate.marc_id


def test_passwords_out_of_their_limits_are_refused(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    with refused(world, PasswordInvalidError, "password_invalid"):
        d.host.set_password(ActorKind.RELAY, corporate.nina_id, "short")
    with refused(world, PasswordInvalidError):
        d.host.set_password(ActorKind.RELAY, corporate.nina_id, "x" * 1025)
    with refused(world, PasswordInvalidError):
        d.handle(
            CreateOperator(
                corporate.operator,
                "Otto",
                "Staff",
                "otto@riviera-culture.ch",
                frozenset({Permission.SALES}),
                password="short",
            )
        )
    with refused(world, PasswordInvalidError):
        d.handle(ChangePassword(corporate.nina, "short"))
    with refused(world, NotFoundError):
        d.host.set_password(ActorKind.MEMBER, "individual-404", PASSWORD)
    with refused(world, SetupInvalidError):
        d.host.set_password(ActorKind.GATE, corporate.nina_id, PASSWORD)


def test_changing_a_password_needs_the_current_one_and_ends_the_other_sessions(
    corporate: Corporate,
) -> None:
    d, world = corporate.world.domain, corporate.world
    with_passwords(corporate)
    here = relay_login(corporate).token
    elsewhere = relay_login(corporate).token
    with refused(world, LoginFailedError):
        d.handle(ChangePassword(here, OTHER_PASSWORD))
    with pytest.raises(LoginFailedError):
        d.handle(ChangePassword(here, OTHER_PASSWORD, current_password=WRONG))
    closed = d.handle(ChangePassword(here, OTHER_PASSWORD, current_password=PASSWORD))
    # Both sessions opened by the host for the set-up (corporate.nina) and by the second login.
    assert closed.revoked_sessions == 2
    with refused(world, SessionInvalidError):
        d.handle(ViewStock(elsewhere))
    with refused(world, SessionInvalidError):
        d.handle(ViewStock(corporate.nina))
    assert d.handle(ViewStock(here)).structure_id == corporate.council_id
    with pytest.raises(LoginFailedError):
        relay_login(corporate)
    assert relay_login(corporate, password=OTHER_PASSWORD).actor_id == corporate.nina_id


def test_a_password_change_ends_the_persons_sessions_of_every_kind(corporate: Corporate) -> None:
    """A relay is a person who may also open the member space with the same password (one
    credential per individual): changing or resetting it must end both kinds of session."""
    d, world = corporate.world.domain, corporate.world
    with_passwords(corporate)
    as_relay = relay_login(corporate).token
    as_member = member_login(corporate, "nina@nestor.ch").token
    d.handle(ChangePassword(as_relay, OTHER_PASSWORD, current_password=PASSWORD))
    with refused(world, SessionInvalidError):
        d.handle(ListMemberTickets(as_member))
    as_member = member_login(corporate, "nina@nestor.ch", OTHER_PASSWORD).token
    d.host.set_password(ActorKind.RELAY, corporate.nina_id, PASSWORD)
    with refused(world, SessionInvalidError):
        d.handle(ListMemberTickets(as_member))


# --- login links -------------------------------------------------------------------------------


def test_a_login_link_mailed_on_request_logs_in_once(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    answer = d.handle(RequestLoginLink(corporate.institution_id, "marc@nestor.ch"))
    assert answer.email == "marc@nestor.ch"
    [mail] = queued_mails(world.storage, "marc@nestor.ch")
    [(space, token)] = links_in(mail)
    assert space == "member"
    assert token.startswith(LINK_PREFIX)
    assert f"https://tickets.invalid/member/login?token={token}" in mail.body
    # The mail leaves through the outbox like any other.
    d.handle(DispatchMail(corporate.operator))
    assert [m.id for m in world.mailer.sent_to("marc@nestor.ch")] == [mail.id]

    session = d.handle(LoginWithLink(token))
    assert (session.actor_kind, session.actor_id) == (ActorKind.MEMBER, corporate.marc_id)
    assert d.handle(ListMemberTickets(session.token)) == ()
    with refused(world, SessionInvalidError) as used:
        d.handle(LoginWithLink(token))
    for unknown in (tampered(token), LINK_PREFIX + "x" * 20, "tds_" + token[4:], "", "x" * 300):
        with refused(world, SessionInvalidError) as caught:
            d.handle(LoginWithLink(unknown))
        assert caught.value == used.value
    # Storage keeps the link's digest, not the link (only the mail that carries it has it).
    assert token not in everything_stored(world.storage, outbox=False)


def test_once_sent_a_mail_leaves_no_usable_login_link_in_storage(corporate: Corporate) -> None:
    """Storage keeps digests of tokens, never tokens; a mail's body waits in the outbox until
    sent, but a welcome link (valid a week) must not stay readable there afterwards."""
    d, world = corporate.world.domain, corporate.world
    d.handle(RequestLoginLink(corporate.institution_id, "marc@nestor.ch"))
    emails = ("nina@nestor.ch", "sam@nestor.ch", "marc@nestor.ch")
    tokens = [link_token(world.storage, email) for email in emails]
    d.handle(DispatchMail(corporate.operator))
    assert world.mailer.sent_to("marc@nestor.ch")
    everything = everything_stored(world.storage)
    assert [token for token in tokens if token in everything] == []


def test_a_relays_login_link_opens_the_sales_point_it_was_asked_for(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    d.handle(RequestLoginLink(corporate.institution_id, "nina@nestor.ch", corporate.sales_point_id))
    [mail] = queued_mails(world.storage, "nina@nestor.ch")[-1:]
    [(space, token)] = links_in(mail)
    assert space == "relay"
    session = d.handle(LoginWithLink(token, sales_point_id=corporate.phone_sales_point_id))
    # The link names its sales point; the one in the command does not override it.
    assert session.sales_point_id == corporate.sales_point_id
    assert d.handle(ViewStock(session.token)).structure_id == corporate.council_id


def test_a_login_link_expires_after_twenty_minutes(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    d.handle(RequestLoginLink(corporate.institution_id, "marc@nestor.ch"))
    late = link_token(world.storage, "marc@nestor.ch")
    world.clock.advance(timedelta(minutes=1))
    d.handle(RequestLoginLink(corporate.institution_id, "marc@nestor.ch"))
    in_time = link_token(world.storage, "marc@nestor.ch")
    assert late != in_time
    world.clock.advance(timedelta(minutes=19))
    with refused(world, SessionInvalidError):
        d.handle(LoginWithLink(late))
    world.clock.advance(timedelta(seconds=59))
    assert d.handle(LoginWithLink(in_time)).actor_id == corporate.marc_id


def test_an_unknown_email_gets_the_same_answer_and_no_mail(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    before = observed(world)
    answers = [
        d.handle(RequestLoginLink(corporate.institution_id, "nobody@nestor.ch")),
        # Olga's structure is not authorized on the phone sales point: no link to it either.
        d.handle(
            RequestLoginLink(
                corporate.institution_id, "olga@acme.ch", corporate.phone_sales_point_id
            )
        ),
        # Marc is a member, not a relay: no link to a sales point.
        d.handle(
            RequestLoginLink(corporate.institution_id, "marc@nestor.ch", corporate.sales_point_id)
        ),
        # Another institution's id.
        d.handle(RequestLoginLink("institution-404", "marc@nestor.ch")),
    ]
    assert observed(world) == before
    known = d.handle(RequestLoginLink(corporate.institution_id, "marc@nestor.ch"))
    assert [type(a) for a in answers] == [type(known)] * 4
    assert {attrs.fields(type(known))[0].name} == {"email"}
    assert len(queued_mails(world.storage, "marc@nestor.ch")) == 1


def test_the_distribution_invitation_logs_the_member_into_its_space(
    corporate: Corporate,
) -> None:
    d, world = corporate.world.domain, corporate.world
    corporate.buy(3)
    sent = d.handle(
        DistributeToMember(
            corporate.nina,
            corporate.performance_id,
            corporate.product_id,
            2,
            member=ContactDetails("Lea", "Meier", "lea@nestor.ch"),
        )
    )
    [mail] = queued_mails(world.storage, "lea@nestor.ch")
    assert mail.id == sent.mail_id
    [(space, token)] = links_in(mail)
    assert space == "member"
    session = d.handle(LoginWithLink(token))
    assert session.actor_id == sent.holder_id
    tickets = d.handle(ListMemberTickets(session.token))
    assert sorted(t.ticket_id for t in tickets) == sorted(sent.ticket_ids)
    with refused(world, SessionInvalidError):
        d.handle(LoginWithLink(token))


def test_the_welcome_mail_logs_a_new_relay_into_a_sales_point(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    paul = d.handle(
        CreateIndividual(
            corporate.operator,
            "Paul",
            "Favre",
            "paul@nestor.ch",
            corporate.council_id,
            ContactRole.RELAY,
        )
    )
    [mail] = queued_mails(world.storage, "paul@nestor.ch")
    [(space, token)] = links_in(mail)
    assert space == "relay"
    # A welcome names no sales point: the front end gives the one the relay chose.
    with refused(world, SetupInvalidError):
        d.handle(LoginWithLink(token))
    with refused(world, SalesPointAccessDeniedError):
        d.handle(LoginWithLink(token, sales_point_id=corporate.phone_sales_point_id))
    session = d.handle(LoginWithLink(token, sales_point_id=corporate.sales_point_id))
    assert (session.actor_kind, session.actor_id) == (ActorKind.RELAY, paul.id)
    assert d.handle(ViewStock(session.token)).structure_id == corporate.council_id
    # And chooses a password with it.
    d.handle(ChangePassword(session.token, PASSWORD))
    assert relay_login(corporate, "paul@nestor.ch").actor_id == paul.id
    # A new member gets no welcome.
    d.handle(
        CreateIndividual(
            corporate.operator,
            "Ida",
            "Roth",
            "ida@nestor.ch",
            corporate.council_id,
            ContactRole.MEMBER,
        )
    )
    assert queued_mails(world.storage, "ida@nestor.ch") == []


def test_an_invitation_link_lasts_a_week(storage: Storage) -> None:
    world, corporate = secure_world(storage)
    d = world.domain
    sam = link_token(storage, "sam@nestor.ch")
    olga = link_token(storage, "olga@acme.ch")
    world.clock.advance(timedelta(days=7, seconds=-1))
    session = d.handle(LoginWithLink(olga, sales_point_id=corporate.sales_point_id))
    assert session.actor_id == corporate.olga_id
    world.clock.advance(timedelta(seconds=1))
    with refused(world, SessionInvalidError):
        d.handle(LoginWithLink(sam, sales_point_id=corporate.sales_point_id))


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_token_is_opaque_and_only_its_digest_is_stored(corporate: Corporate) -> None:
    with_passwords(corporate)
    storage = corporate.world.storage
    session = relay_login(corporate)
    assert session.token.startswith(SESSION_PREFIX)
    kept = stored_session(storage, session.token)
    assert kept is not None
    assert kept.token_digest == token_digest(session.token)
    assert (kept.actor_kind, kept.actor_id) == (ActorKind.RELAY, corporate.nina_id)
    everything = everything_stored(storage)
    for token in (
        session.token,
        corporate.nina,
        corporate.marc,
        corporate.operator,
        corporate.gate,
    ):
        assert token not in everything
        # Nor the random part alone.
        assert token[len(SESSION_PREFIX) :] not in everything
    assert "token" not in {f.name for f in attrs.fields(type(kept))}
    assert corporate.world.domain.host.who(session.token).structure_id == corporate.council_id


def test_a_session_ends_after_its_absolute_lifetime_even_when_used(storage: Storage) -> None:
    world, corporate = secure_world(storage)
    d = world.domain
    policy = SecurityPolicy()
    assert (policy.session_lifetime, policy.session_idle) == (
        timedelta(hours=12),
        timedelta(minutes=30),
    )
    token = d.host.open_session(
        ActorKind.RELAY, corporate.nina_id, sales_point_id=corporate.sales_point_id
    ).token
    for _ in range(35):  # every 20 minutes for 11 h 40 min
        world.clock.advance(timedelta(minutes=20))
        d.handle(ViewCatalog(token))
    world.clock.advance(timedelta(minutes=19, seconds=59))
    d.handle(ViewCatalog(token))
    world.clock.advance(timedelta(seconds=1))
    with refused(world, SessionInvalidError):
        d.handle(ViewCatalog(token))


def test_a_session_left_idle_ends_and_each_use_moves_the_idle_deadline(storage: Storage) -> None:
    world, corporate = secure_world(storage)
    d = world.domain
    token = d.host.open_session(ActorKind.MEMBER, corporate.marc_id).token
    world.clock.advance(timedelta(minutes=29))
    d.handle(ListMemberTickets(token))
    world.clock.advance(timedelta(minutes=29))
    d.handle(ListMemberTickets(token))
    world.clock.advance(timedelta(minutes=30))
    with refused(world, SessionInvalidError) as idle:
        d.handle(ListMemberTickets(token))
    # The same answer as for a token that never existed.
    with pytest.raises(SessionInvalidError) as unknown:
        d.handle(ListMemberTickets(SESSION_PREFIX + "unknown"))
    assert idle.value == unknown.value


def test_a_read_writes_the_last_use_at_most_once_a_minute(storage: Storage) -> None:
    world, corporate = secure_world(storage)
    d = world.domain
    token = d.host.open_session(ActorKind.OPERATOR, corporate.operator_id).token
    opened = stored_session(storage, token)
    assert opened is not None
    world.clock.advance(timedelta(seconds=59))
    before = observed(world)
    d.handle(ListOperators(token))
    assert observed(world) == before
    world.clock.advance(timedelta(seconds=1))
    d.handle(ListOperators(token))
    touched = stored_session(storage, token)
    assert touched is not None and touched.last_used_at == world.clock.now()
    assert touched.expires_at == opened.expires_at
    # Even a read refused by its own rules (not by the session) does not write the last use.
    world.clock.advance(timedelta(minutes=5))
    with refused(world, NotFoundError):
        d.handle(ViewHoldingAccount(token, "organization-404", corporate.council_id))


def test_logging_out_ends_that_session_only(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    with_passwords(corporate)
    other = member_login(corporate).token
    closed = d.handle(Logout(corporate.marc))
    assert closed.revoked_sessions == 1
    with refused(world, SessionInvalidError):
        d.handle(ListMemberTickets(corporate.marc))
    with refused(world, SessionInvalidError):
        d.handle(Logout(corporate.marc))
    assert d.handle(ListMemberTickets(other)) == ()
    kept = stored_session(world.storage, corporate.marc)
    assert kept is not None and kept.revoked_at == world.clock.now()


def test_revoking_a_structure_ends_its_relays_sessions_at_once(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    with_passwords(corporate)
    d.handle(RevokeStructure(corporate.operator, corporate.sales_point_id, corporate.council_id))
    with refused(world, SessionInvalidError):
        d.handle(ViewStock(corporate.nina))
    with refused(world, SalesPointAccessDeniedError):
        relay_login(corporate)
    # The sub-structure has its own authorization, which stays.
    assert d.handle(ViewStock(corporate.sam)).structure_id == corporate.club_id
    d.handle(AuthorizeStructure(corporate.operator, corporate.sales_point_id, corporate.council_id))
    # The old session stays ended; a new login works.
    with refused(world, SessionInvalidError):
        d.handle(ViewStock(corporate.nina))
    assert d.handle(ViewStock(relay_login(corporate).token)).structure_id == corporate.council_id


def test_removing_a_relay_ends_its_relay_sessions(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    with_passwords(corporate)
    with refused(world, ActorNotAllowedError):
        d.handle(RemoveRelay(corporate.nina, corporate.sam_id))
    _, clerk = new_operator(corporate, "clerk@riviera-culture.ch", frozenset({Permission.SALES}))
    with refused(world, PermissionMissingError):
        d.handle(RemoveRelay(clerk, corporate.nina_id))
    with refused(world, SetupInvalidError):
        d.handle(RemoveRelay(corporate.operator, corporate.marc_id))
    with refused(world, NotFoundError):
        d.handle(RemoveRelay(corporate.operator, "individual-404"))
    view = d.handle(RemoveRelay(corporate.operator, corporate.nina_id))
    assert view.role is ContactRole.MEMBER
    with refused(world, SessionInvalidError):
        d.handle(ViewStock(corporate.nina))
    with refused(world, LoginFailedError):
        relay_login(corporate)
    # Still a member of the works council, with the member space.
    assert member_login(corporate, "nina@nestor.ch").actor_id == corporate.nina_id


def test_removing_an_operator_ends_their_sessions_and_api_keys(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    clerk_id, clerk = new_operator(
        corporate, "clerk@riviera-culture.ch", frozenset({Permission.ACCOUNTING})
    )
    key = d.handle(CreateApiKey(corporate.operator, clerk_id, "nightly export")).token
    view = ViewHoldingAccount(key, corporate.organization_id, corporate.council_id)
    d.handle(view)
    with refused(world, SetupInvalidError):
        d.handle(RemoveOperator(corporate.operator, corporate.operator_id))
    removed = d.handle(RemoveOperator(corporate.operator, clerk_id))
    assert not removed.active
    for token in (clerk, key):
        with refused(world, SessionInvalidError):
            d.handle(ViewHoldingAccount(token, corporate.organization_id, corporate.council_id))
    with refused(world, LoginFailedError):
        d.handle(LoginOperator(corporate.institution_id, "clerk@riviera-culture.ch", PASSWORD))
    with refused(world, NotFoundError):
        d.host.open_session(ActorKind.OPERATOR, clerk_id)


TAMPERINGS: list[tuple[str, Any]] = [
    ("last character changed", lambda t: tampered(t)),
    ("first random character changed", lambda t: t[:4] + ("Z" if t[4] != "Z" else "Y") + t[5:]),
    ("truncated", lambda t: t[:-1]),
    ("extended", lambda t: t + "0"),
    ("another prefix", lambda t: "tdl_" + t[4:]),
    ("no prefix", lambda t: t[4:]),
    ("upper case", lambda t: t.upper()),
    ("surrounded by spaces", lambda t: f" {t} "),
    ("10 KB", lambda t: t + "x" * 10_240),
    ("empty", lambda t: ""),
    ("non-ASCII look-alike", lambda t: t.replace("t", "\u0442", 1)),
    ("lone surrogate", lambda t: t + "\ud800"),
    ("NUL byte", lambda t: t + "\x00"),
    ("an integer", lambda t: 12345),
    ("None", lambda t: None),
    ("bytes", lambda t: t.encode()),
    ("a dict claiming an operator", lambda t: {"operator": "anyone", "token": t}),
]


def test_a_tampered_token_opens_nothing(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    for name, tamper in TAMPERINGS:
        for command in (
            ViewStock(tamper(corporate.nina)),
            ListOperators(tamper(corporate.operator)),
            ScanTicket(tamper(corporate.gate), corporate.performance_id, "BC-1"),
        ):
            with refused(world, SessionInvalidError, "session_invalid") as caught:
                d.handle(command)
            assert caught.value == SessionInvalidError(), name


# --- API keys and gates -----------------------------------------------------------------------


def test_an_api_key_is_shown_once_and_acts_with_the_operators_current_permissions(
    corporate: Corporate,
) -> None:
    d, world = corporate.world.domain, corporate.world
    clerk_id, _ = new_operator(
        corporate, "clerk@riviera-culture.ch", frozenset({Permission.ACCOUNTING})
    )
    issued = d.handle(CreateApiKey(corporate.operator, clerk_id, "  nightly export "))
    assert issued.token.startswith(API_KEY_PREFIX)
    assert (issued.actor_kind, issued.actor_id, issued.label) == (
        ActorKind.OPERATOR,
        clerk_id,
        "nightly export",
    )
    assert issued.token not in repr(issued)
    assert issued.token not in everything_stored(world.storage)
    key = issued.token
    account = d.handle(ViewHoldingAccount(key, corporate.organization_id, corporate.council_id))
    assert account.structure_id == corporate.council_id
    with refused(world, PermissionMissingError):
        d.handle(ListOperators(key))
    d.handle(SetOperatorPermissions(corporate.operator, clerk_id, frozenset({Permission.SALES})))
    with refused(world, PermissionMissingError):
        d.handle(ViewHoldingAccount(key, corporate.organization_id, corporate.council_id))
    d.handle(SetOperatorPermissions(corporate.operator, clerk_id, ALL_PERMISSIONS))
    # A key is not a session: it is neither logged out nor given a password.
    with refused(world, ActorNotAllowedError):
        d.handle(Logout(key))
    with refused(world, ActorNotAllowedError):
        d.handle(ChangePassword(key, OTHER_PASSWORD))
    revoked = d.handle(RevokeApiKey(corporate.operator, issued.key_id))
    assert revoked.revoked_at == world.clock.now()
    with refused(world, SessionInvalidError):
        d.handle(ViewHoldingAccount(key, corporate.organization_id, corporate.council_id))


def test_a_gate_scans_with_its_key_until_it_is_revoked(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    registered = d.handle(
        RegisterGate(corporate.operator, corporate.organization_id, " South  gate ")
    )
    assert registered.gate.name == "South gate"
    assert registered.key.token.startswith(API_KEY_PREFIX)
    assert registered.key.actor_id == registered.gate.id
    key = registered.key.token
    answer = d.handle(ScanTicket(key, corporate.later_performance_id, "BC-404"))
    assert not answer.accepted and answer.gate == "South gate"
    # A gate does nothing else.
    with refused(world, ActorNotAllowedError):
        d.handle(ViewStock(key))
    with refused(world, ActorNotAllowedError):
        d.handle(ListOperators(key))
    d.handle(RevokeGate(corporate.operator, registered.gate.id))
    with refused(world, SessionInvalidError):
        d.handle(ScanTicket(key, corporate.later_performance_id, "BC-404"))
    # The other gate is not affected.
    assert not d.handle(ScanTicket(corporate.gate, corporate.performance_id, "BC-404")).accepted


def test_a_gate_limited_to_some_performances_does_not_know_the_others(
    corporate: Corporate, agency: Agency
) -> None:
    d, world = corporate.world.domain, corporate.world
    limited = d.handle(
        RegisterGate(
            corporate.operator,
            corporate.organization_id,
            "Balcony door",
            frozenset({corporate.performance_id}),
        )
    ).key.token
    assert d.handle(ScanTicket(limited, corporate.performance_id, "BC-404")).performance_id
    with refused(world, NotFoundError):
        d.handle(ScanTicket(limited, corporate.later_performance_id, "BC-404"))
    # Nor does any gate know another organization's performances.
    with refused(world, NotFoundError):
        d.handle(ScanTicket(corporate.gate, agency.performance_id, "BC-404"))
    with refused(world, NotFoundError):
        d.handle(
            RegisterGate(
                corporate.operator,
                corporate.organization_id,
                "Stolen",
                frozenset({agency.performance_id}),
            )
        )


# --- operators -----------------------------------------------------------------------------


def test_an_operator_grants_at_most_their_own_permissions_and_organizations(
    corporate: Corporate, agency: Agency
) -> None:
    d, world = corporate.world.domain, corporate.world
    theatre = d.handle(CreateOrganization(corporate.operator, "Theatre", "CHF"))
    manager_id, manager = new_operator(
        corporate,
        "manager@riviera-culture.ch",
        frozenset({Permission.OPERATORS, Permission.SALES}),
        frozenset({corporate.organization_id}),
    )

    def create(permissions: frozenset[Permission], organizations: frozenset[str] | None) -> Any:
        return d.handle(
            CreateOperator(
                manager, "Ulla", "New", "ulla@riviera-culture.ch", permissions, organizations
            )
        )

    with refused(world, PermissionMissingError) as caught:
        create(frozenset({Permission.SETUP}), frozenset({corporate.organization_id}))
    assert caught.value.details["permission"] == "setup"
    with refused(world, PermissionMissingError):
        create(frozenset({Permission.SALES}), None)
    with refused(world, NotFoundError):
        create(frozenset({Permission.SALES}), frozenset({theatre.id}))
    with refused(world, NotFoundError):
        create(frozenset({Permission.SALES}), frozenset({agency.organization_id}))
    made = create(frozenset({Permission.SALES}), frozenset({corporate.organization_id}))
    assert made.institution_id == corporate.institution_id
    # Nor does the manager raise anyone (themselves included) above what they hold.
    with refused(world, PermissionMissingError):
        d.handle(
            SetOperatorPermissions(
                manager, made.id, ALL_PERMISSIONS, frozenset({corporate.organization_id})
            )
        )
    with refused(world, PermissionMissingError):
        d.handle(
            SetOperatorPermissions(
                manager, manager_id, ALL_PERMISSIONS, frozenset({corporate.organization_id})
            )
        )
    # An operator of every organization is not theirs to manage.
    with refused(world, NotFoundError):
        d.handle(RemoveOperator(manager, corporate.operator_id))
    with refused(world, NotFoundError):
        d.handle(CreateApiKey(manager, corporate.operator_id, "all powers"))


def test_an_operator_hands_out_no_key_stronger_than_themself(corporate: Corporate) -> None:
    """An operator with only the operators permission must not obtain, through an API key for a
    stronger operator, the permissions they were not given (privilege escalation)."""
    d, world = corporate.world.domain, corporate.world
    _, keeper = new_operator(
        corporate, "keeper@riviera-culture.ch", frozenset({Permission.OPERATORS})
    )
    with refused(world, PermissionMissingError):
        d.handle(SetCreditLimit(keeper, corporate.organization_id, corporate.council_id, None))
    with refused(world, PermissionMissingError):
        d.handle(CreateApiKey(keeper, corporate.operator_id, "all powers"))


def test_an_operator_does_not_demote_or_remove_a_stronger_operator(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    _, keeper = new_operator(
        corporate, "keeper@riviera-culture.ch", frozenset({Permission.OPERATORS})
    )
    with refused(world, PermissionMissingError):
        d.handle(
            SetOperatorPermissions(keeper, corporate.operator_id, frozenset({Permission.OPERATORS}))
        )
    with refused(world, PermissionMissingError):
        d.handle(RemoveOperator(keeper, corporate.operator_id))


def test_an_operator_of_one_organization_touches_only_that_organization(
    corporate: Corporate,
) -> None:
    d, world = corporate.world.domain, corporate.world
    theatre = d.handle(CreateOrganization(corporate.operator, "Theatre", "CHF"))
    _, scoped = new_operator(
        corporate, "theatre@riviera-culture.ch", ALL_PERMISSIONS, frozenset({theatre.id})
    )
    assert d.handle(CreateActivity(scoped, theatre.id, "Hamlet")).organization_id == theatre.id
    with refused(world, NotFoundError):
        d.handle(CreateActivity(scoped, corporate.organization_id, "Hamlet"))
    with refused(world, NotFoundError):
        d.handle(ViewHoldingAccount(scoped, corporate.organization_id, corporate.council_id))
    with refused(world, NotFoundError):
        d.handle(SetCreditLimit(scoped, corporate.organization_id, corporate.council_id, None))
    with refused(world, NotFoundError):
        d.handle(RevokeStructure(scoped, corporate.sales_point_id, corporate.council_id))
    with refused(world, NotFoundError):
        d.handle(RegisterGate(scoped, corporate.organization_id, "Side door"))
    with refused(world, PermissionMissingError):
        d.handle(CreateOrganization(scoped, "Cinema", "CHF"))
    with refused(world, PermissionMissingError):
        d.handle(CreateSalesChannel(scoped, "Kiosk", ChannelKind.BOX_OFFICE))


def test_an_operator_of_another_institution_sees_nothing_of_this_one(
    corporate: Corporate, agency: Agency
) -> None:
    d, world = corporate.world.domain, corporate.world
    foreign = agency.operator
    assert [o.id for o in d.handle(ListOperators(foreign))] == [agency.operator_id]
    for command in (
        ViewHoldingAccount(foreign, corporate.organization_id, corporate.council_id),
        SetCreditLimit(foreign, corporate.organization_id, corporate.council_id, None),
        SearchContacts(foreign, corporate.council_id, ""),
        AuthorizeStructure(foreign, corporate.sales_point_id, corporate.council_id),
        RemoveRelay(foreign, corporate.nina_id),
        RemoveOperator(foreign, corporate.operator_id),
        CreateApiKey(foreign, corporate.operator_id, "theirs"),
        RegisterGate(foreign, corporate.organization_id, "Their gate"),
        CreateIndividual(
            foreign, "Eve", "Spy", "eve@spy.ch", corporate.council_id, ContactRole.RELAY
        ),
        CreateStructure(foreign, "Spy club", parent_id=corporate.council_id),
    ):
        with refused(world, NotFoundError):
            d.handle(command)
    with_passwords(corporate)
    with refused(world, LoginFailedError):
        d.handle(LoginOperator(agency.institution_id, "odile@riviera-culture.ch", PASSWORD))


# --- the host's trusted calls are not commands -------------------------------------------------


def test_the_hosts_trusted_calls_are_not_commands(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    names = {cls.__name__.lower() for cls in TicketDomain.command_types()}
    for trusted in (
        "bootstrap",
        "open_session",
        "opensession",
        "set_password",
        "setpassword",
        "who",
        "createinstitution",
        "loginmemberbyid",
    ):
        assert trusted not in names
    for name in (
        "Bootstrap",
        "bootstrap",
        "OpenSession",
        "SetPassword",
        "CreateInstitution",
        "HostAccess",
        "OperatorSession",
    ):
        with refused(world, CommandTypeUnknownError, "command_type_unknown"):
            structure_command({"type": name, "data": {}})
    for thing in (
        object(),
        "LoginRelay",
        {"type": "LoginRelay", "data": {}},
        d.host.bootstrap,
        d.host,
        SessionView,
        None,
    ):
        with refused(world, CommandTypeUnknownError):
            d.handle(thing)
    # Every command a payload can name declares who may run it.
    assert all(cls.rule.public or cls.rule.actors for cls in TicketDomain.command_types())


# --- the attacks of issue 7 ----------------------------------------------------------------


def send(d: TicketDomain, payload: dict[str, Any]) -> Any:
    """What a host's endpoint does with a JSON body."""
    return d.handle(structure_command(json.loads(json.dumps(payload))))


def test_a_forged_payload_claiming_an_operator_is_refused(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    limit = {"amount": "1000000000.00", "currency": "CHF"}
    target = {"organization_id": corporate.organization_id, "structure_id": corporate.council_id}
    claims: list[dict[str, Any]] = [
        {"session": {"operator": "anyone"}, **target, "limit": limit},
        {"operator": corporate.operator_id, **target, "limit": limit},
        {"token": {"operator": "anyone"}, **target, "limit": limit},
    ]
    for data in claims:
        with refused(world, ValidationError):
            send(d, {"type": "SetCreditLimit", "data": data})
    for token in (
        "forged",
        SESSION_PREFIX + "forged",
        API_KEY_PREFIX + corporate.operator_id,
        corporate.operator_id,
        token_digest(corporate.operator),
    ):
        with refused(world, SessionInvalidError):
            send(d, {"type": "SetCreditLimit", "data": {"token": token, **target, "limit": limit}})
        with refused(world, SessionInvalidError):
            send(
                d,
                {
                    "type": "RecordPayment",
                    "data": {
                        "token": token,
                        **target,
                        "amount": limit,
                        "reference": "fake",
                    },
                },
            )
    # A relay's own valid token does not make it an operator.
    with refused(world, ActorNotAllowedError):
        d.handle(RecordPayment(corporate.nina, **target, amount=chf("100"), reference="fake"))


def test_logging_in_a_member_by_id_no_longer_exists(corporate: Corporate) -> None:
    d, world = corporate.world.domain, corporate.world
    assert [f.name for f in attrs.fields(LoginMember)] == ["institution_id", "email", "password"]
    for data in (
        {"individual_id": corporate.marc_id},
        {"institution_id": corporate.institution_id, "individual_id": corporate.marc_id},
        {
            "institution_id": corporate.institution_id,
            "email": "marc@nestor.ch",
            "individual_id": corporate.marc_id,
        },
    ):
        with refused(world, ValidationError):
            send(d, {"type": "LoginMember", "data": data})
    # Without a password chosen, Marc's email opens nothing.
    with refused(world, LoginFailedError):
        d.handle(LoginMember(corporate.institution_id, "marc@nestor.ch", ""))
    with refused(world, LoginFailedError):
        d.handle(LoginMember(corporate.institution_id, "marc@nestor.ch", PASSWORD))


def test_a_front_end_sees_only_the_structure_of_the_token_it_sends(corporate: Corporate) -> None:
    """A hotel's (here: Acme's) front end cannot use the works council's data without the
    works council's token; with it, it sees the works council's only."""
    d, world = corporate.world.domain, corporate.world
    order = corporate.buy(2)
    olga = corporate.olga
    assert d.handle(ViewStock(olga)).structure_id == corporate.other_company_id
    assert d.handle(ListOrders(olga)) == ()
    for command in (
        ViewStock(olga, corporate.council_id),
        ViewOrder(olga, order.id),
        DistributeToMember(
            olga, corporate.performance_id, corporate.product_id, 1, member_id=corporate.marc_id
        ),
    ):
        with refused(world, ForeignResourceError):
            d.handle(command)
    with refused(world, ValidationError):
        send(
            d,
            {
                "type": "ViewStock",
                "data": {"token": olga, "structure_id": corporate.council_id, "relay": "nina"},
            },
        )
    # The works council's token shows the works council's orders, and nothing tells otherwise.
    assert [o.id for o in d.handle(ListOrders(corporate.nina))] == [order.id]
    assert d.host.who(corporate.nina).structure_id == corporate.council_id


def test_a_structure_of_another_institution_cannot_be_authorized(
    corporate: Corporate, agency: Agency
) -> None:
    d, world = corporate.world.domain, corporate.world
    with refused(world, NotFoundError):
        d.handle(AuthorizeStructure(corporate.operator, corporate.sales_point_id, agency.hotel_id))
    # So the hotel's relay does not log in there, whatever its password.
    d.host.set_password(ActorKind.RELAY, agency.alice_id, PASSWORD)
    with refused(world, LoginFailedError):
        d.handle(LoginRelay(corporate.sales_point_id, "alice@beau-rivage.ch", PASSWORD))
    with refused(world, SalesPointAccessDeniedError):
        d.host.open_session(
            ActorKind.RELAY, agency.alice_id, sales_point_id=corporate.sales_point_id
        )
    with refused(world, SessionInvalidError):
        d.handle(LoginWithLink(LINK_PREFIX + "guess", sales_point_id=corporate.sales_point_id))


def test_a_relay_reaches_no_contact_of_another_institution(
    corporate: Corporate, agency: Agency
) -> None:
    d, world = corporate.world.domain, corporate.world
    corporate.buy(2)
    assert d.handle(SearchMembers(corporate.nina, "alice")) == ()
    with refused(world, NotFoundError):
        d.handle(
            DistributeToMember(
                corporate.nina,
                corporate.performance_id,
                corporate.product_id,
                1,
                member_id=agency.alice_id,
            )
        )
    # The same email in this institution is another person: a new member of the works council.
    sent = d.handle(
        DistributeToMember(
            corporate.nina,
            corporate.performance_id,
            corporate.product_id,
            1,
            member=ContactDetails("Alice", "Martin", "alice@beau-rivage.ch"),
        )
    )
    assert sent.holder_id != agency.alice_id
    with world.storage.unit_of_work() as uow:
        created = uow.individuals.get(sent.holder_id)
        alice = uow.individuals.get(agency.alice_id)
    assert created is not None and created.institution_id == corporate.institution_id
    assert alice is not None and alice.institution_id == agency.institution_id
    assert alice.structure_id == agency.hotel_id
    assert (
        d.handle(
            ListMemberTickets(
                agency.world.domain.host.open_session(ActorKind.MEMBER, agency.alice_id).token
            )
        )
        == ()
    )


def test_a_relay_cannot_tell_another_institutions_ids_from_unknown_ones(
    corporate: Corporate, agency: Agency
) -> None:
    """What belongs to another institution is reported as unknown (design of issue 7), so a
    relay learns nothing by probing ids: the answer is the one for an id that never existed."""
    d, world = corporate.world.domain, corporate.world
    corporate.buy(2)
    perf, product, nina = corporate.performance_id, corporate.product_id, corporate.nina

    probes: list[tuple[str, Any]] = [
        ("stock", lambda id: ViewStock(nina, id)),
        (
            "sub-structure",
            lambda id: DistributeToSubStructure(nina, perf, product, 1, id),
        ),
        ("member", lambda id: DistributeToMember(nina, perf, product, 1, member_id=id)),
    ]
    theirs = {"stock": agency.hotel_id, "sub-structure": agency.hotel_id, "member": agency.alice_id}
    for name, probe in probes:
        with refused(world, NotFoundError) as unknown:
            d.handle(probe("nothing-404"))
        with refused(world, NotFoundError) as foreign:
            d.handle(probe(theirs[name]))
        assert (foreign.value.code, foreign.value.details["kind"]) == (
            unknown.value.code,
            unknown.value.details["kind"],
        ), name


def test_searching_contacts_needs_an_operator_with_personal_data(
    corporate: Corporate, agency: Agency
) -> None:
    d, world = corporate.world.domain, corporate.world

    def search(token: str) -> SearchContacts:
        return SearchContacts(token, corporate.council_id, "")

    found = d.handle(search(corporate.operator))
    assert {c.id for c in found} == {corporate.nina_id, corporate.marc_id}
    for token in (corporate.nina, corporate.sam, corporate.marc, corporate.gate):
        with refused(world, ActorNotAllowedError):
            d.handle(search(token))
    _, clerk = new_operator(
        corporate,
        "clerk@riviera-culture.ch",
        ALL_PERMISSIONS - {Permission.PERSONAL_DATA},
    )
    with refused(world, PermissionMissingError) as caught:
        d.handle(search(clerk))
    assert caught.value.details["permission"] == "personal_data"
    with refused(world, NotFoundError):
        d.handle(search(agency.operator))


def test_every_command_but_logging_in_carries_a_token_and_no_claim(corporate: Corporate) -> None:
    claims = {"session", "operator", "relay", "relay_id", "institution_id", "actor", "actor_id"}
    for cls in TicketDomain.command_types():
        names = [f.name for f in attrs.fields(cls)]
        if cls.rule.public:
            assert "token" not in names, cls.__name__
            continue
        assert names[0] == "token", cls.__name__
        assert not claims & set(names), (cls.__name__, claims & set(names))
