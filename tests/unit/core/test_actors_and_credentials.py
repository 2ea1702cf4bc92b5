"""Who acts: rules, operator scopes, lock-out, session and link lifetimes (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.contacts import ContactRole, Email, Individual, PersonName
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    PermissionMissingError,
    SessionInvalidError,
    SetupInvalidError,
)
from ticketdomain.core.identity import (
    ALL_PERMISSIONS,
    ActorKind,
    ApiKey,
    Credential,
    GateActor,
    LinkPurpose,
    LoginLink,
    LoginMethod,
    LoginThrottle,
    MemberActor,
    OperatorActor,
    Permission,
    RelayActor,
    Rule,
    SecurityPolicy,
    relay_may_act,
    require_rule,
    session_for,
    token_digest,
)
from ticketdomain.core.setup import Organization, SalesPoint

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

OPERATOR = OperatorActor("op-1", "inst-1", ALL_PERMISSIONS, None)
RELAY = RelayActor("ind-1", "str-1", "sp-1", "org-1", "inst-1")
MEMBER = MemberActor("ind-2", "inst-1")
GATE = GateActor("gate-1", "org-1", "North gate", None)


def test_a_rule_admits_only_its_actor_kinds() -> None:
    rule = Rule.relay()
    assert rule.actors == frozenset({ActorKind.RELAY})
    require_rule(rule, RELAY, "PlaceOrder")
    for other in (OPERATOR, MEMBER, GATE):
        with pytest.raises(ActorNotAllowedError) as refused:
            require_rule(rule, other, "PlaceOrder")
        assert refused.value.details["given"] == other.kind.value
        assert refused.value.details["expected"] == ["relay"]


def test_an_operator_without_the_permission_is_refused_with_its_name() -> None:
    clerk = OperatorActor("op-2", "inst-1", frozenset({Permission.SALES}), None)
    require_rule(Rule.operator(Permission.SALES), clerk, "CancelOrder")
    with pytest.raises(PermissionMissingError) as refused:
        require_rule(Rule.operator(Permission.ACCOUNTING), clerk, "IssueInvoice")
    assert refused.value.details == {"command": "IssueInvoice", "permission": "accounting"}


def test_rules_describe_who_may_run_them() -> None:
    assert Rule.anonymous().describe() == "anyone, without a session"
    assert Rule.member().describe() == "member"
    assert Rule.operator(Permission.SETUP).describe() == "operator with the setup permission"


@given(
    held=st.frozensets(st.sampled_from(list(Permission))),
    scope=st.none() | st.frozensets(st.sampled_from(["org-1", "org-2", "org-3"])),
    wanted=st.sampled_from(list(Permission)),
    organization=st.none() | st.sampled_from(["org-1", "org-2", "org-3"]),
)
def test_an_operator_may_act_only_with_a_permission_held_for_an_organization_in_scope(
    held: frozenset[Permission],
    scope: frozenset[str] | None,
    wanted: Permission,
    organization: str | None,
) -> None:
    actor = OperatorActor("op", "inst", held, scope)
    expected = wanted in held and (
        scope is None or (organization is not None and organization in scope)
    )
    assert actor.may(wanted, organization) is expected


@given(st.lists(st.booleans(), max_size=40))
def test_a_credential_locks_after_five_failures_in_a_row_and_a_success_resets(
    attempts: list[bool],
) -> None:
    throttle = LoginThrottle()
    credential = Credential("individual:1", "hash", NOW)
    in_a_row = 0
    for right in attempts:
        assert not credential.is_locked(NOW)
        if right:
            credential.record_success()
            in_a_row = 0
        else:
            credential.record_failure(NOW, throttle)
            in_a_row += 1
        if in_a_row == throttle.max_failures:
            assert credential.is_locked(NOW)
            assert not credential.is_locked(NOW + throttle.lockout)
            credential.record_success()
            in_a_row = 0
        assert credential.failed_attempts == in_a_row


def test_a_session_ends_at_its_absolute_deadline_after_idling_and_once_revoked() -> None:
    policy = SecurityPolicy()
    session = session_for(
        "s-1", "tds_secret", ActorKind.MEMBER, "ind-1", NOW, policy, LoginMethod.PASSWORD
    )
    assert session.token_digest == token_digest("tds_secret") != "tds_secret"
    session.check(NOW + policy.session_idle - timedelta(seconds=1), policy.session_idle)
    with pytest.raises(SessionInvalidError):
        session.check(NOW + policy.session_idle, policy.session_idle)
    session.last_used_at = NOW + policy.session_lifetime - timedelta(minutes=1)
    with pytest.raises(SessionInvalidError):
        session.check(NOW + policy.session_lifetime, policy.session_idle)
    session.last_used_at = NOW
    session.revoke(NOW)
    with pytest.raises(SessionInvalidError):
        session.check(NOW, policy.session_idle)


def test_a_login_link_works_once_and_not_after_its_expiry() -> None:
    def link() -> LoginLink:
        return LoginLink(
            "l-1",
            token_digest("tdl_x"),
            ActorKind.MEMBER,
            "ind-1",
            LinkPurpose.LOGIN,
            NOW,
            NOW + timedelta(minutes=20),
        )

    once = link()
    once.use(NOW)
    with pytest.raises(SessionInvalidError):
        once.use(NOW)
    with pytest.raises(SessionInvalidError):
        link().use(NOW + timedelta(minutes=20))


def test_api_keys_stand_for_operators_or_gates_and_stop_once_revoked() -> None:
    with pytest.raises(SetupInvalidError):
        ApiKey("k", "d", ActorKind.RELAY, "ind-1", "script", NOW)
    key = ApiKey("k", "d", ActorKind.GATE, "gate-1", "North gate", NOW)
    key.check()
    key.revoke(NOW)
    with pytest.raises(SessionInvalidError):
        key.check()


def test_link_templates_need_a_token_placeholder() -> None:
    with pytest.raises(SetupInvalidError):
        SecurityPolicy(member_link="https://tickets.example.org/login")
    policy = SecurityPolicy(member_link="https://t.example.org/m?t={token}")
    assert policy.link(ActorKind.MEMBER, "tdl_abc") == "https://t.example.org/m?t=tdl_abc"


def test_a_relay_acts_only_where_its_structure_of_the_same_institution_is_authorized() -> None:
    relay = Individual(
        "ind-1",
        "inst-1",
        PersonName("Alice", "Martin"),
        Email("alice@hotel.example"),
        "str-1",
        ContactRole.RELAY,
    )
    organization = Organization("org-1", "inst-1", "Opera", "CHF")
    sales_point = SalesPoint("sp-1", "org-1", "ch-1", "Agencies")
    assert not relay_may_act(relay, sales_point, organization)  # not authorized yet
    sales_point.authorize("str-1")
    assert relay_may_act(relay, sales_point, organization)
    assert not relay_may_act(relay, None, organization)
    assert not relay_may_act(relay, sales_point, None)
    other_institution = Organization("org-1", "inst-2", "Opera", "CHF")
    assert not relay_may_act(relay, sales_point, other_institution)
    assert not relay_may_act(relay, sales_point, Organization("org-2", "inst-1", "Theatre", "CHF"))
    member = Individual(
        "ind-2",
        "inst-1",
        PersonName("Marc", "Dupont"),
        Email("marc@hotel.example"),
        "str-1",
        ContactRole.MEMBER,
    )
    assert not relay_may_act(member, sales_point, organization)
    sales_point.revoke("str-1")
    assert not relay_may_act(relay, sales_point, organization)
