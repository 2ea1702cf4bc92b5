"""Who acts: operators and their permissions, gates, credentials, sessions, login links and API
keys, and the rules that decide whether a stored credential still opens the door.

Nothing here reads a clock or draws a random number: the services pass ``now`` and the tokens
(drawn through the ``TokenGenerator`` port). Tokens are never stored, only their SHA-256 digest:
a token carries at least 128 random bits, so a fast hash is enough (passwords, which people
choose, go through the slow ``PasswordHasher`` port instead).
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime, timedelta

import attrs

from ticketdomain.core.catalog import CatalogProfile
from ticketdomain.core.contacts import Email, Individual, PersonName
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    PermissionMissingError,
    SessionInvalidError,
    SetupInvalidError,
)
from ticketdomain.core.setup import Organization, SalesPoint


class ActorKind(enum.Enum):
    """The four kinds of actor a credential can stand for."""

    OPERATOR = "operator"
    RELAY = "relay"
    MEMBER = "member"
    GATE = "gate"


class Permission(enum.Enum):
    """What an operator may do, in the spirit of pretix's team permissions."""

    #: channels, sales points, catalog, quotas, authorized structures, structures
    SETUP = "setup"
    #: orders by phone, cancellations, options, expiries
    SALES = "sales"
    #: holding accounts, credit limits, invoices, payments
    ACCOUNTING = "accounting"
    #: contacts (search, creation) and the beneficiaries export
    PERSONAL_DATA = "personal_data"
    #: other operators, API keys and gates
    OPERATORS = "operators"


ALL_PERMISSIONS = frozenset(Permission)


# --- who may run a command --------------------------------------------------------------------


@attrs.frozen
class Rule:
    """The actor kinds a command accepts and, for operators, the permission it needs.

    ``public`` commands (logging in) take no token; ``any_actor`` ones (logging out, changing a
    password) take any valid token.
    """

    actors: frozenset[ActorKind] = frozenset()
    permission: Permission | None = None
    public: bool = False

    @classmethod
    def operator(cls, permission: Permission) -> Rule:
        return cls(frozenset({ActorKind.OPERATOR}), permission)

    @classmethod
    def relay(cls) -> Rule:
        return cls(frozenset({ActorKind.RELAY}))

    @classmethod
    def member(cls) -> Rule:
        return cls(frozenset({ActorKind.MEMBER}))

    @classmethod
    def gate(cls) -> Rule:
        return cls(frozenset({ActorKind.GATE}))

    @classmethod
    def anyone(cls) -> Rule:
        return cls(frozenset(ActorKind))

    @classmethod
    def anonymous(cls) -> Rule:
        return cls(public=True)

    def describe(self) -> str:
        if self.public:
            return "anyone, without a session"
        kinds = " or ".join(sorted(kind.value for kind in self.actors))
        return f"{kinds} with the {self.permission.value} permission" if self.permission else kinds


# --- the resolved actors the services work with ---------------------------------------------


@attrs.frozen
class OperatorActor:
    operator_id: str
    institution_id: str
    permissions: frozenset[Permission]
    #: ``None``: every organization of the institution
    organization_ids: frozenset[str] | None
    session_id: str | None = None

    kind = ActorKind.OPERATOR

    def may(self, permission: Permission, organization_id: str | None = None) -> bool:
        """Whether the operator holds ``permission`` for ``organization_id`` (``None``: for
        the whole institution, which only an operator of every organization has)."""
        if permission not in self.permissions:
            return False
        if self.organization_ids is None:
            return True
        return organization_id is not None and organization_id in self.organization_ids


@attrs.frozen
class RelayContext:
    """What authorizing a relay read, in its unit of work: the sales point, the relay, the
    sales point's organization and the catalog profile that applies there (``None``: the
    whole catalog)."""

    sales_point: SalesPoint
    relay: Individual
    organization: Organization
    profile: CatalogProfile | None


@attrs.frozen
class RelayActor:
    relay_id: str
    structure_id: str
    sales_point_id: str
    organization_id: str
    institution_id: str
    session_id: str | None = None
    #: the sales point, the relay, the organization and the catalog profile as loaded to
    #: authenticate, in the same unit of work (the services use them rather than load them again)
    loaded: RelayContext | None = attrs.field(default=None, eq=False, repr=False)

    kind = ActorKind.RELAY


@attrs.frozen
class MemberActor:
    individual_id: str
    institution_id: str
    session_id: str | None = None

    kind = ActorKind.MEMBER


@attrs.frozen
class GateActor:
    gate_id: str
    organization_id: str
    gate: str
    #: ``None``: every performance of the organization
    performance_ids: frozenset[str] | None
    session_id: str | None = None

    kind = ActorKind.GATE


Actor = OperatorActor | RelayActor | MemberActor | GateActor


def relay_may_act(
    relay: Individual, sales_point: SalesPoint | None, organization: Organization | None
) -> bool:
    """Whether the individual may act as a relay on the sales point (of ``organization``): a
    relay of a structure of the same institution, authorized there. Checked at login and on
    every call, so a revoked structure or a removed relay stops at once."""
    return (
        sales_point is not None
        and organization is not None
        and organization.id == sales_point.organization_id
        and organization.institution_id == relay.institution_id
        and relay.structure_id is not None
        and relay.is_relay_of(relay.structure_id)
        and sales_point.is_authorized(relay.structure_id)
    )


def require_rule(rule: Rule, actor: Actor, command: str) -> None:
    """Refuse an actor of a kind the rule does not list, or an operator without the permission
    (its organizations are checked against the resources the command touches)."""
    if actor.kind not in rule.actors:
        raise ActorNotAllowedError(
            f"Only {rule.describe()} may run {command}.",
            command=command,
            expected=sorted(kind.value for kind in rule.actors),
            given=actor.kind.value,
        )
    if (
        rule.permission is not None
        and isinstance(actor, OperatorActor)
        and rule.permission not in actor.permissions
    ):
        raise PermissionMissingError(
            f"Running {command} needs the {rule.permission.value} permission.",
            command=command,
            permission=rule.permission.value,
        )


# --- stored identities ------------------------------------------------------------------------


@attrs.define
class Operator:
    """Staff of an institution acting for some or all of its organizations."""

    id: str
    institution_id: str
    name: PersonName
    email: Email
    permissions: frozenset[Permission]
    organization_ids: frozenset[str] | None = None
    active: bool = True

    def actor(self, session_id: str | None = None) -> OperatorActor:
        return OperatorActor(
            self.id, self.institution_id, self.permissions, self.organization_ids, session_id
        )


@attrs.define
class Gate:
    """An access-control device registered to an organization."""

    id: str
    organization_id: str
    name: str
    performance_ids: frozenset[str] | None = None
    active: bool = True

    def actor(self, session_id: str | None = None) -> GateActor:
        return GateActor(self.id, self.organization_id, self.name, self.performance_ids, session_id)


class CredentialOwner(enum.Enum):
    """Who a password belongs to: an operator, or an individual (relay or member)."""

    OPERATOR = "operator"
    INDIVIDUAL = "individual"


def credential_id(owner: CredentialOwner, owner_id: str) -> str:
    return f"{owner.value}:{owner_id}"


@attrs.frozen
class LoginThrottle:
    """After ``max_failures`` wrong passwords in a row the credential is locked for
    ``lockout``; a right password resets the count."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


@attrs.define
class Credential:
    """A password hash (never the password) and its failed attempts."""

    id: str
    password_hash: str
    changed_at: datetime
    failed_attempts: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def record_failure(self, now: datetime, throttle: LoginThrottle) -> None:
        self.failed_attempts += 1
        if self.failed_attempts >= throttle.max_failures:
            self.locked_until = now + throttle.lockout
            self.failed_attempts = 0

    def record_success(self) -> None:
        self.failed_attempts = 0
        self.locked_until = None


def token_digest(token: str) -> str:
    """The SHA-256 digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class LoginMethod(enum.Enum):
    """How a session was opened."""

    PASSWORD = "password"
    LINK = "link"
    #: by the host's trusted call, for an actor its own identity provider authenticated
    HOST = "host"


@attrs.define
class AuthSession:
    """A session as storage keeps it: the digest of its token, never the token."""

    id: str
    token_digest: str
    actor_kind: ActorKind
    actor_id: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime
    method: LoginMethod
    sales_point_id: str | None = None
    revoked_at: datetime | None = None

    def check(self, now: datetime, idle: timedelta) -> None:
        """Refuse a revoked, expired or idle session (one error for all: the caller learns
        nothing about which)."""
        if self.revoked_at is not None or now >= self.expires_at or now >= self.last_used_at + idle:
            raise SessionInvalidError()

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now


class LinkPurpose(enum.Enum):
    LOGIN = "login"
    INVITATION = "invitation"
    WELCOME = "welcome"


@attrs.define
class LoginLink:
    """A single-use login token sent by mail to a relay or a member."""

    id: str
    token_digest: str
    actor_kind: ActorKind
    individual_id: str
    purpose: LinkPurpose
    created_at: datetime
    expires_at: datetime
    sales_point_id: str | None = None
    used_at: datetime | None = None

    def use(self, now: datetime) -> None:
        if self.used_at is not None or now >= self.expires_at:
            raise SessionInvalidError("This login link is unknown, used or expired.")
        self.used_at = now


@attrs.define
class ApiKey:
    """A machine's credential, bound to an operator or a gate; revocable."""

    id: str
    token_digest: str
    actor_kind: ActorKind
    actor_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None

    def __attrs_post_init__(self) -> None:
        if self.actor_kind not in (ActorKind.OPERATOR, ActorKind.GATE):
            raise SetupInvalidError("An API key stands for an operator or a gate.")

    def check(self) -> None:
        if self.revoked_at is not None:
            raise SessionInvalidError()

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now


# --- lifetimes --------------------------------------------------------------------------------


@attrs.frozen
class SecurityPolicy:
    """Lifetimes and throttling a host may tune; the defaults are documented in
    ``docs/security.md``.

    ``member_link`` and ``relay_link`` are URL templates with ``{token}`` where the host's front
    end takes a login link (``https://tickets.example.org/login?token={token}``).
    """

    session_lifetime: timedelta = timedelta(hours=12)
    session_idle: timedelta = timedelta(minutes=30)
    #: a session's last use is written at most this often (a read does not write each time)
    touch_interval: timedelta = timedelta(minutes=1)
    login_link_lifetime: timedelta = timedelta(minutes=20)
    invitation_link_lifetime: timedelta = timedelta(days=7)
    throttle: LoginThrottle = LoginThrottle()
    member_link: str = "https://tickets.invalid/member/login?token={token}"
    relay_link: str = "https://tickets.invalid/relay/login?token={token}"
    min_password_length: int = 10

    def __attrs_post_init__(self) -> None:
        for name in ("member_link", "relay_link"):
            if "{token}" not in getattr(self, name):
                raise SetupInvalidError(f"{name} must contain '{{token}}'.", field=name)
        if self.session_idle <= timedelta(0) or self.session_lifetime <= timedelta(0):
            raise SetupInvalidError("Session lifetimes must be positive.")

    def link(self, kind: ActorKind, token: str) -> str:
        template = self.relay_link if kind is ActorKind.RELAY else self.member_link
        return template.replace("{token}", token)


def session_for(
    id: str,
    token: str,
    kind: ActorKind,
    actor_id: str,
    now: datetime,
    policy: SecurityPolicy,
    method: LoginMethod,
    sales_point_id: str | None = None,
) -> AuthSession:
    return AuthSession(
        id=id,
        token_digest=token_digest(token),
        actor_kind=kind,
        actor_id=actor_id,
        created_at=now,
        expires_at=now + policy.session_lifetime,
        last_used_at=now,
        method=method,
        sales_point_id=sales_point_id,
    )


#: prefixes that tell a session token, an API key and a login link apart at a glance
SESSION_PREFIX = "tds_"
API_KEY_PREFIX = "tdk_"
LINK_PREFIX = "tdl_"
