"""Logging in and out, passwords, login links, operators, API keys and gates."""

from __future__ import annotations

from datetime import datetime

import attrs

from ticketdomain.core.contacts import Email, Individual, PersonName, clean_name
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    LoginFailedError,
    NotFoundError,
    PasswordInvalidError,
    PermissionMissingError,
    SalesPointAccessDeniedError,
    SessionInvalidError,
    SetupInvalidError,
)
from ticketdomain.core.identity import (
    API_KEY_PREFIX,
    LINK_PREFIX,
    SESSION_PREFIX,
    ActorKind,
    ApiKey,
    Credential,
    CredentialOwner,
    Gate,
    LinkPurpose,
    LoginLink,
    LoginMethod,
    Operator,
    OperatorActor,
    Permission,
    credential_id,
    relay_may_act,
    session_for,
    token_digest,
)
from ticketdomain.core.mail import MailKind
from ticketdomain.core.timezones import DEFAULT_TIME_ZONE, in_zone
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import (
    MAX_TOKEN_LENGTH,
    Authenticator,
    organization_for,
    relay_sales_point,
    resolve_actor,
)
from ticketdomain.services._context import Adapters, need
from ticketdomain.services._input import MAX_PASSWORD, check_command, check_field
from ticketdomain.services._mail import queue_mail

#: the longest password accepted (one limit, the password field's in ``_input``)
MAX_PASSWORD_LENGTH = MAX_PASSWORD


def check_password(password: object, minimum: int) -> str:
    """A password people choose, held to the password field's limits (any characters but NUL
    and lone surrogates, at most ``MAX_PASSWORD_LENGTH``) and at least ``minimum`` long."""
    value = check_field("password", password)
    if len(value) < minimum:
        raise PasswordInvalidError(
            f"A password has {minimum} to {MAX_PASSWORD_LENGTH} characters.",
            minimum=minimum,
            maximum=MAX_PASSWORD_LENGTH,
        )
    return value


def open_session(
    uow: UnitOfWork,
    adapters: Adapters,
    kind: ActorKind,
    actor_id: str,
    method: LoginMethod,
    sales_point_id: str | None = None,
    time_zone: str | None = None,
) -> r.SessionView:
    """Store a new session (its token's digest only) and return the token, its expiry in
    ``time_zone`` (for a relay, the sales point's organization's, read when not given; for
    the institution-wide sessions of operators and members, UTC)."""
    now = adapters.clock.now()
    token = SESSION_PREFIX + adapters.tokens.new_token()
    session = session_for(
        adapters.ids.new_id("session"),
        token,
        kind,
        actor_id,
        now,
        adapters.security,
        method,
        sales_point_id,
    )
    uow.sessions.add(session)
    if time_zone is None:
        time_zone = _session_zone(uow, kind, sales_point_id)
    return r.SessionView(
        token,
        kind,
        actor_id,
        in_zone(session.expires_at, time_zone),
        sales_point_id,
        time_zone,
    )


def _session_zone(uow: UnitOfWork, kind: ActorKind, sales_point_id: str | None) -> str:
    """A relay acts for the sales point's organization: its zone. Operators and members act
    across the institution, which has no zone of its own."""
    sales_point = (
        uow.sales_points.get(sales_point_id)
        if kind is ActorKind.RELAY and sales_point_id is not None
        else None
    )
    organization = uow.organizations.get(sales_point.organization_id) if sales_point else None
    return organization.time_zone if organization is not None else DEFAULT_TIME_ZONE


def issue_link(
    uow: UnitOfWork,
    adapters: Adapters,
    individual: Individual,
    kind: ActorKind,
    purpose: LinkPurpose,
    sales_point_id: str | None = None,
) -> str:
    """A single-use login link for a relay or a member, as the URL the host's template makes."""
    now = adapters.clock.now()
    policy = adapters.security
    lifetime = (
        policy.login_link_lifetime
        if purpose is LinkPurpose.LOGIN
        else policy.invitation_link_lifetime
    )
    token = LINK_PREFIX + adapters.tokens.new_token()
    uow.login_links.add(
        LoginLink(
            id=adapters.ids.new_id("login_link"),
            token_digest=token_digest(token),
            actor_kind=kind,
            individual_id=individual.id,
            purpose=purpose,
            created_at=now,
            expires_at=now + lifetime,
            sales_point_id=sales_point_id,
        )
    )
    return policy.link(kind, token)


def queue_welcome(uow: UnitOfWork, adapters: Adapters, relay: Individual) -> None:
    """Tell a new relay how to log in (a link valid as long as an invitation), in their
    language (a relay acts across organizations: none is theirs)."""
    link = issue_link(uow, adapters, relay, ActorKind.RELAY, LinkPurpose.WELCOME)
    queue_mail(uow, adapters, to=relay, kind=MailKind.WELCOME, context={"link": link})


@attrs.frozen
class IdentityService:
    """Sessions, passwords, login links, operators, API keys and gates. Each method is one
    transaction; a refused call raises a ``TicketDomainError`` subclass and changes nothing,
    except that a wrong password counts towards the lock-out of its credential."""

    adapters: Adapters
    _dummy: list[str] = attrs.field(factory=list, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Hashed now, not at the first login: a first unknown email must cost what others do.
        self._dummy_hash()

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    # --- logging in ----------------------------------------------------------------------

    def _dummy_hash(self) -> str:
        # Verified against when the email is unknown, so both cases cost one argon2 check.
        if not self._dummy:
            self._dummy.append(self.adapters.passwords.hash("not a password of anyone"))
        return self._dummy[0]

    def _verify(
        self, uow: UnitOfWork, owner: CredentialOwner, owner_id: str | None, password: str
    ) -> None:
        """Check a password in ``uow``; on failure count it, commit that, and raise."""
        now = self.adapters.clock.now()
        credential = (
            uow.credentials.get(credential_id(owner, owner_id)) if owner_id is not None else None
        )
        encoded = credential.password_hash if credential is not None else self._dummy_hash()
        matches = self.adapters.passwords.verify(encoded, password)
        if credential is None:
            raise LoginFailedError()
        if credential.is_locked(now) or not matches:
            # Locked only now, after the slow check: concurrent failures each count, and
            # SQLite's write lock is not held while argon2 works.
            locked = uow.credentials.get_for_update(credential.id)
            if locked is not None and not locked.is_locked(now):
                locked.record_failure(now, self.adapters.security.throttle)
                uow.credentials.update(locked)
                uow.commit()
            raise LoginFailedError()
        if credential.failed_attempts or credential.locked_until is not None:
            credential = need(
                uow.credentials.get_for_update(credential.id), "credential", credential.id
            )
            credential.record_success()
            uow.credentials.update(credential)

    def login_relay(self, command: c.LoginRelay) -> r.SessionView:
        """A relay's session on a sales point.

        Raises ``LoginFailedError`` (wrong email or password, or locked out) and
        ``SalesPointAccessDeniedError`` when the relay's structure is not authorized there.
        """
        check_command(command)
        with self.adapters.storage.unit_of_work() as uow:
            sales_point = uow.sales_points.get(command.sales_point_id)
            organization = (
                uow.organizations.get(sales_point.organization_id) if sales_point else None
            )
            relay = (
                uow.individuals.find_by_email(organization.institution_id, command.email)
                if organization is not None
                else None
            )
            if relay is not None and not relay.is_relay:
                relay = None
            self._verify(
                uow, CredentialOwner.INDIVIDUAL, relay.id if relay else None, command.password
            )
            assert relay is not None and sales_point is not None
            if not relay_may_act(relay, sales_point, organization):
                raise _access_denied(relay, sales_point.id)
            view = open_session(
                uow,
                self.adapters,
                ActorKind.RELAY,
                relay.id,
                LoginMethod.PASSWORD,
                sales_point.id,
                organization.time_zone if organization is not None else None,
            )
            uow.commit()
        return view

    def login_member(self, command: c.LoginMember) -> r.SessionView:
        """A member's session in the individual space.

        Raises ``LoginFailedError`` (wrong email or password, or locked out).
        """
        check_command(command)
        with self.adapters.storage.unit_of_work() as uow:
            member = uow.individuals.find_by_email(command.institution_id, command.email)
            self._verify(
                uow, CredentialOwner.INDIVIDUAL, member.id if member else None, command.password
            )
            assert member is not None
            view = open_session(
                uow, self.adapters, ActorKind.MEMBER, member.id, LoginMethod.PASSWORD
            )
            uow.commit()
        return view

    def login_operator(self, command: c.LoginOperator) -> r.SessionView:
        """An operator's back-office session.

        Raises ``LoginFailedError`` (wrong email or password, removed operator, or locked out).
        """
        check_command(command)
        with self.adapters.storage.unit_of_work() as uow:
            operator = uow.operators.find_by_email(command.institution_id, command.email)
            if operator is not None and not operator.active:
                operator = None
            self._verify(
                uow, CredentialOwner.OPERATOR, operator.id if operator else None, command.password
            )
            assert operator is not None
            view = open_session(
                uow, self.adapters, ActorKind.OPERATOR, operator.id, LoginMethod.PASSWORD
            )
            uow.commit()
        return view

    def request_login_link(self, command: c.RequestLoginLink) -> r.LoginLinkRequested:
        """Mail a single-use login link, if the email belongs to a relay of a structure
        authorized on ``sales_point_id`` (or, without it, to any individual for the individual
        space). The answer never tells whether a mail left."""
        check_command(command)
        email = Email(command.email)
        with self.adapters.storage.unit_of_work() as uow:
            individual = uow.individuals.find_by_email(command.institution_id, email.value)
            if individual is None:
                return r.LoginLinkRequested(email.value)
            organization = None
            if command.sales_point_id is None:
                kind = ActorKind.MEMBER
            else:
                sales_point = relay_sales_point(uow, individual, command.sales_point_id)
                if sales_point is None:
                    return r.LoginLinkRequested(email.value)
                kind = ActorKind.RELAY
                organization = uow.organizations.get(sales_point.organization_id)
            link = issue_link(
                uow, self.adapters, individual, kind, LinkPurpose.LOGIN, command.sales_point_id
            )
            queue_mail(
                uow,
                self.adapters,
                to=individual,
                kind=MailKind.LOGIN_LINK,
                organization=organization,
                context={"link": link, "space": kind.value},
            )
            uow.commit()
        return r.LoginLinkRequested(email.value)

    def login_with_link(self, command: c.LoginWithLink) -> r.SessionView:
        """Use up a login link and open the session it is for.

        Raises ``SessionInvalidError`` for an unknown, used or expired link and
        ``SalesPointAccessDeniedError`` when a relay's structure is not authorized on the
        sales point.
        """
        check_command(command)
        token = command.link_token
        if len(token) > MAX_TOKEN_LENGTH or not token.startswith(LINK_PREFIX):
            raise SessionInvalidError("This login link is unknown, used or expired.")
        with self.adapters.storage.unit_of_work() as uow:
            link = uow.login_links.find_by_digest(token_digest(token))
            if link is None:
                raise SessionInvalidError("This login link is unknown, used or expired.")
            link.use(self.adapters.clock.now())
            individual = uow.individuals.get(link.individual_id)
            if individual is None:
                raise SessionInvalidError("This login link is unknown, used or expired.")
            sales_point_id = link.sales_point_id
            if link.actor_kind is ActorKind.RELAY:
                sales_point_id = sales_point_id or command.sales_point_id
                if sales_point_id is None:
                    raise SetupInvalidError(
                        "A relay's link opens a sales point: give sales_point_id.",
                        field="sales_point_id",
                    )
                _require_authorized(uow, individual, sales_point_id)
            uow.login_links.update(link)
            view = open_session(
                uow, self.adapters, link.actor_kind, individual.id, LoginMethod.LINK, sales_point_id
            )
            uow.commit()
        return view

    def logout(self, command: c.Logout) -> r.SessionClosed:
        """End the session of ``command.token``.

        Raises ``SessionInvalidError`` for a token that opens nothing and
        ``ActorNotAllowedError`` for an API key (revoke keys with ``RevokeApiKey``).
        """
        with self._auth.actor(command) as (uow, actor):
            if actor.session_id is None:
                raise ActorNotAllowedError(
                    "An API key is revoked with RevokeApiKey, not logged out.", command="Logout"
                )
            session = need(uow.sessions.get(actor.session_id), "session", actor.session_id)
            session.revoke(self.adapters.clock.now())
            uow.sessions.update(session)
            uow.commit()
        return r.SessionClosed(1)

    def change_password(self, command: c.ChangePassword) -> r.SessionClosed:
        """Set the caller's password and end every other session of the caller.

        Raises ``PasswordInvalidError`` for a password out of its length limits and
        ``LoginFailedError`` for a wrong current password.
        """
        with self._auth.actor(command) as (uow, actor):
            new = check_password(command.new_password, self.adapters.security.min_password_length)
            if actor.session_id is None:
                raise ActorNotAllowedError("An API key has no password.")
            session = need(uow.sessions.get(actor.session_id), "session", actor.session_id)
            owner, owner_id = _owner(actor)
            credential = uow.credentials.get(credential_id(owner, owner_id))
            now = self.adapters.clock.now()
            if credential is not None and session.method is not LoginMethod.LINK:
                if command.current_password is None:
                    raise LoginFailedError("Give the current password to change it.")
                self._verify(uow, owner, owner_id, command.current_password)
            _store_password(uow, self.adapters, owner, owner_id, new, now, credential)
            revoked = revoke_sessions(uow, owner, owner_id, now, except_id=actor.session_id)
            uow.commit()
        return r.SessionClosed(revoked)

    # --- operators, keys and gates -------------------------------------------------------

    def _grantable(
        self,
        uow: UnitOfWork,
        caller: OperatorActor,
        command: object,
        permissions: frozenset[Permission],
        organization_ids: frozenset[str] | None,
    ) -> None:
        # Nobody hands out more than they hold: permissions and organizations alike.
        if not permissions <= caller.permissions:
            raise PermissionMissingError(
                "An operator grants only permissions they hold.",
                permission=sorted(p.value for p in permissions - caller.permissions)[0],
            )
        if organization_ids is None:
            if caller.organization_ids is not None:
                raise PermissionMissingError(
                    "Only an operator of every organization grants every organization.",
                    permission=Permission.OPERATORS.value,
                )
            return
        for organization_id in sorted(organization_ids):
            organization_for(uow, caller, command, organization_id)

    def _operator(self, uow: UnitOfWork, caller: OperatorActor, operator_id: str) -> Operator:
        operator = uow.operators.get_for_update(operator_id)
        if operator is None or operator.institution_id != caller.institution_id:
            raise NotFoundError("operator", operator_id)
        if caller.organization_ids is not None and (
            operator.organization_ids is None
            or not operator.organization_ids <= caller.organization_ids
        ):
            # An operator of some organizations manages only operators within them.
            raise NotFoundError("operator", operator_id)
        if not operator.permissions <= caller.permissions:
            # Nobody manages (keys for, demotes, removes) an operator who holds more than they do.
            raise PermissionMissingError(
                "An operator manages only operators holding no more permissions than they do.",
                permission=sorted(p.value for p in operator.permissions - caller.permissions)[0],
            )
        return operator

    def create_operator(self, command: c.CreateOperator) -> r.OperatorView:
        """Another operator of the caller's institution.

        Raises ``PermissionMissingError`` when granting what the caller does not hold,
        ``NotFoundError`` for an organization not the caller's, ``SetupInvalidError`` for an
        email already taken in the institution, ``PasswordInvalidError``.
        """
        with self._auth.operator(command) as (uow, caller):
            self._grantable(uow, caller, command, command.permissions, command.organization_ids)
            email = Email(command.email)
            if uow.operators.find_by_email(caller.institution_id, email.value) is not None:
                raise SetupInvalidError("An operator of the institution has this email.")
            operator = Operator(
                id=self.adapters.ids.new_id("operator"),
                institution_id=caller.institution_id,
                name=PersonName(command.first_name, command.last_name),
                email=email,
                permissions=frozenset(command.permissions),
                organization_ids=(
                    frozenset(command.organization_ids)
                    if command.organization_ids is not None
                    else None
                ),
            )
            uow.operators.add(operator)
            if command.password is not None:
                password = check_password(
                    command.password, self.adapters.security.min_password_length
                )
                _store_password(
                    uow,
                    self.adapters,
                    CredentialOwner.OPERATOR,
                    operator.id,
                    password,
                    self.adapters.clock.now(),
                    None,
                )
            uow.commit()
        return r.OperatorView.of(operator)

    def set_operator_permissions(self, command: c.SetOperatorPermissions) -> r.OperatorView:
        """Change what an operator may do; it applies from their next call on.

        Raises ``NotFoundError`` and ``PermissionMissingError`` as ``create_operator``.
        """
        with self._auth.operator(command) as (uow, caller):
            self._grantable(uow, caller, command, command.permissions, command.organization_ids)
            operator = self._operator(uow, caller, command.operator_id)
            operator.permissions = frozenset(command.permissions)
            operator.organization_ids = (
                frozenset(command.organization_ids)
                if command.organization_ids is not None
                else None
            )
            uow.operators.update(operator)
            uow.commit()
        return r.OperatorView.of(operator)

    def remove_operator(self, command: c.RemoveOperator) -> r.OperatorView:
        """Deactivate an operator and end their sessions and API keys at once.

        Raises ``NotFoundError``; ``SetupInvalidError`` for the caller themselves.
        """
        with self._auth.operator(command) as (uow, caller):
            operator = self._operator(uow, caller, command.operator_id)
            if operator.id == caller.operator_id:
                raise SetupInvalidError("An operator does not remove themselves.")
            now = self.adapters.clock.now()
            operator.active = False
            uow.operators.update(operator)
            uow.sessions.revoke_for_actor(ActorKind.OPERATOR, operator.id, now)
            for key in uow.api_keys.for_actor(ActorKind.OPERATOR, operator.id):
                key.revoke(now)
                uow.api_keys.update(key)
            uow.commit()
        return r.OperatorView.of(operator)

    def list_operators(self, command: c.ListOperators) -> tuple[r.OperatorView, ...]:
        """The operators of the caller's institution."""
        with self._auth.operator(command) as (uow, caller):
            found = [
                item
                for item in uow.operators.for_institution(caller.institution_id)
                # An operator of some organizations sees the operators within them.
                if caller.organization_ids is None
                or (
                    item.organization_ids is not None
                    and item.organization_ids <= caller.organization_ids
                )
            ]
        return tuple(r.OperatorView.of(item) for item in found)

    def _new_key(
        self, uow: UnitOfWork, kind: ActorKind, actor_id: str, label: str
    ) -> r.ApiKeyIssued:
        token = API_KEY_PREFIX + self.adapters.tokens.new_token()
        key = ApiKey(
            id=self.adapters.ids.new_id("api_key"),
            token_digest=token_digest(token),
            actor_kind=kind,
            actor_id=actor_id,
            label=label,
            created_at=self.adapters.clock.now(),
        )
        uow.api_keys.add(key)
        return r.ApiKeyIssued(key.id, token, kind, actor_id, label)

    def create_api_key(self, command: c.CreateApiKey) -> r.ApiKeyIssued:
        """An API key acting as an operator (with that operator's permissions, as they are at
        each call). Raises ``NotFoundError``."""
        with self._auth.operator(command) as (uow, caller):
            operator = self._operator(uow, caller, command.operator_id)
            if not operator.active:
                raise NotFoundError("operator", command.operator_id)
            issued = self._new_key(uow, ActorKind.OPERATOR, operator.id, command.label.strip())
            uow.commit()
        return issued

    def revoke_api_key(self, command: c.RevokeApiKey) -> r.ApiKeyView:
        """Revoke a key of an operator or a gate the caller manages. Raises ``NotFoundError``."""
        with self._auth.operator(command) as (uow, caller):
            key = uow.api_keys.get_for_update(command.key_id)
            if key is None:
                raise NotFoundError("api_key", command.key_id)
            # An operator's key is institution-wide (UTC); a gate's is its organization's.
            zone = DEFAULT_TIME_ZONE
            if key.actor_kind is ActorKind.OPERATOR:
                self._operator(uow, caller, key.actor_id)
            else:
                gate = need(uow.gates.get(key.actor_id), "api_key", command.key_id)
                zone = organization_for(uow, caller, command, gate.organization_id).time_zone
            key.revoke(self.adapters.clock.now())
            uow.api_keys.update(key)
            uow.commit()
        return r.ApiKeyView.of(key, time_zone=zone)

    def register_gate(self, command: c.RegisterGate) -> r.GateRegistered:
        """A gate of an organization and its API key (shown once).

        Raises ``NotFoundError`` for an organization or performance not the caller's.
        """
        with self._auth.operator(command) as (uow, caller):
            organization = organization_for(uow, caller, command, command.organization_id)
            if command.performance_ids is not None:
                for performance_id in sorted(command.performance_ids):
                    performance = uow.performances.get(performance_id)
                    if performance is None or performance.organization_id != organization.id:
                        raise NotFoundError("performance", performance_id)
            gate = Gate(
                id=self.adapters.ids.new_id("gate"),
                organization_id=organization.id,
                name=clean_name(command.name, "gate"),
                performance_ids=(
                    frozenset(command.performance_ids)
                    if command.performance_ids is not None
                    else None
                ),
            )
            uow.gates.add(gate)
            issued = self._new_key(uow, ActorKind.GATE, gate.id, gate.name)
            uow.commit()
        return r.GateRegistered(r.GateView.of(gate), issued)

    def revoke_gate(self, command: c.RevokeGate) -> r.GateView:
        """Retire a gate: its keys stop working at once. Raises ``NotFoundError``."""
        with self._auth.operator(command) as (uow, caller):
            gate = uow.gates.get_for_update(command.gate_id)
            if gate is None:
                raise NotFoundError("gate", command.gate_id)
            organization_for(uow, caller, command, gate.organization_id)
            now = self.adapters.clock.now()
            gate.active = False
            uow.gates.update(gate)
            for key in uow.api_keys.for_actor(ActorKind.GATE, gate.id):
                key.revoke(now)
                uow.api_keys.update(key)
            uow.commit()
        return r.GateView.of(gate)


def _owner(actor: object) -> tuple[CredentialOwner, str]:
    if isinstance(actor, OperatorActor):
        return CredentialOwner.OPERATOR, actor.operator_id
    individual_id = getattr(actor, "relay_id", None) or getattr(actor, "individual_id", None)
    if not isinstance(individual_id, str):
        raise ActorNotAllowedError("A gate has no password.")
    return CredentialOwner.INDIVIDUAL, individual_id


def _store_password(
    uow: UnitOfWork,
    adapters: Adapters,
    owner: CredentialOwner,
    owner_id: str,
    password: str,
    now: datetime,
    existing: Credential | None,
) -> None:
    encoded = adapters.passwords.hash(password)
    if existing is None:
        uow.credentials.add(Credential(credential_id(owner, owner_id), encoded, now))
    else:
        existing.password_hash = encoded
        existing.changed_at = now
        existing.record_success()
        uow.credentials.update(existing)


def revoke_sessions(
    uow: UnitOfWork,
    owner: CredentialOwner,
    owner_id: str,
    now: datetime,
    except_id: str | None = None,
) -> int:
    """End every session the owner of a password opened: an individual's as a relay and as a
    member alike (one person, one password)."""
    if owner is CredentialOwner.OPERATOR:
        return uow.sessions.revoke_for_actor(ActorKind.OPERATOR, owner_id, now, except_id)
    return sum(
        uow.sessions.revoke_for_actor(kind, owner_id, now, except_id)
        for kind in (ActorKind.RELAY, ActorKind.MEMBER)
    )


def _require_authorized(uow: UnitOfWork, relay: Individual, sales_point_id: str) -> None:
    if relay_sales_point(uow, relay, sales_point_id) is None:
        raise _access_denied(relay, sales_point_id)


def _access_denied(relay: Individual, sales_point_id: str) -> SalesPointAccessDeniedError:
    return SalesPointAccessDeniedError(
        "This relay may not act on this sales point.",
        relay_id=relay.id,
        sales_point_id=sales_point_id,
    )


__all__ = ["IdentityService", "issue_link", "open_session", "queue_welcome", "resolve_actor"]
