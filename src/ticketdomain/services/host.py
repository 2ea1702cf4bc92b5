"""What only the host may do, by a trusted Python call that is not a command: no serialized
payload reaches it (it is not in ``handle()`` nor in the JSON converter's command types)."""

from __future__ import annotations

import attrs

from ticketdomain.core.contacts import Email, PersonName
from ticketdomain.core.errors import NotFoundError, SessionInvalidError, SetupInvalidError
from ticketdomain.core.identity import (
    ALL_PERMISSIONS,
    ActorKind,
    CredentialOwner,
    LoginMethod,
    Operator,
    credential_id,
)
from ticketdomain.core.setup import Institution
from ticketdomain.services import results as r
from ticketdomain.services._auth import resolve_actor
from ticketdomain.services._context import Adapters
from ticketdomain.services._input import check_field, check_text
from ticketdomain.services.identity import (
    _require_authorized,
    _store_password,
    check_password,
    open_session,
    revoke_sessions,
)


@attrs.frozen
class HostAccess:
    """Trusted calls for the host's own code (its set-up scripts, its identity provider, its
    CLI). Never wire these to a request a user sends: they believe what they are told."""

    adapters: Adapters

    def bootstrap(
        self,
        *,
        institution_name: str,
        first_name: str,
        last_name: str,
        email: str,
        password: str | None = None,
    ) -> r.Bootstrapped:
        """A new institution and its first operator, with every permission on every
        organization. Raises ``ValidationError`` subclasses for bad names, email or password."""
        check_text(institution_name, "$.institution_name")
        for field, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("email", email),
        ):
            check_field(field, value)
        name = " ".join(institution_name.split())
        if not name:
            raise SetupInvalidError("An institution has a name.", field="institution_name")
        with self.adapters.storage.unit_of_work() as uow:
            institution = Institution(self.adapters.ids.new_id("institution"), name)
            operator = Operator(
                id=self.adapters.ids.new_id("operator"),
                institution_id=institution.id,
                name=PersonName(first_name, last_name),
                email=Email(email),
                permissions=ALL_PERMISSIONS,
            )
            uow.institutions.add(institution)
            uow.operators.add(operator)
            if password is not None:
                _store_password(
                    uow,
                    self.adapters,
                    CredentialOwner.OPERATOR,
                    operator.id,
                    check_password(password, self.adapters.security.min_password_length),
                    self.adapters.clock.now(),
                    None,
                )
            uow.commit()
        return r.Bootstrapped(r.InstitutionView.of(institution), r.OperatorView.of(operator))

    def open_session(
        self, kind: ActorKind, actor_id: str, *, sales_point_id: str | None = None
    ) -> r.SessionView:
        """A session for an actor the host authenticated itself (an operator, a relay on
        ``sales_point_id``, or a member); gates use API keys.

        Raises ``NotFoundError`` for an unknown or removed actor and
        ``SalesPointAccessDeniedError`` for a relay whose structure is not authorized there.
        """
        check_field("individual_id", actor_id, "$.actor_id")
        if sales_point_id is not None:
            check_field("sales_point_id", sales_point_id)
        with self.adapters.storage.unit_of_work() as uow:
            if kind is ActorKind.OPERATOR:
                operator = uow.operators.get(actor_id)
                if operator is None or not operator.active:
                    raise NotFoundError("operator", actor_id)
            elif kind in (ActorKind.RELAY, ActorKind.MEMBER):
                individual = uow.individuals.get(actor_id)
                if individual is None:
                    raise NotFoundError("individual", actor_id)
                if kind is ActorKind.RELAY:
                    if sales_point_id is None:
                        raise SetupInvalidError("A relay's session is on a sales point.")
                    _require_authorized(uow, individual, sales_point_id)
            else:
                raise SetupInvalidError("A gate authenticates with an API key.")
            view = open_session(
                uow,
                self.adapters,
                kind,
                actor_id,
                LoginMethod.HOST,
                sales_point_id if kind is ActorKind.RELAY else None,
            )
            uow.commit()
        return view

    def set_password(self, kind: ActorKind, actor_id: str, password: str) -> None:
        """Set (or reset) a password for an operator, a relay or a member, and end their
        sessions. Raises ``NotFoundError`` and ``PasswordInvalidError``."""
        check_field("individual_id", actor_id, "$.actor_id")
        checked = check_password(password, self.adapters.security.min_password_length)
        with self.adapters.storage.unit_of_work() as uow:
            if kind is ActorKind.OPERATOR:
                if uow.operators.get(actor_id) is None:
                    raise NotFoundError("operator", actor_id)
                owner = CredentialOwner.OPERATOR
            elif kind in (ActorKind.RELAY, ActorKind.MEMBER):
                if uow.individuals.get(actor_id) is None:
                    raise NotFoundError("individual", actor_id)
                owner = CredentialOwner.INDIVIDUAL
            else:
                raise SetupInvalidError("A gate authenticates with an API key.")
            now = self.adapters.clock.now()
            existing = uow.credentials.get(credential_id(owner, actor_id))
            _store_password(uow, self.adapters, owner, actor_id, checked, now, existing)
            revoke_sessions(uow, owner, actor_id, now)
            uow.commit()

    def who(self, token: str) -> r.ActorView:
        """Who a token stands for (for a host that logs or shows it). Raises
        ``SessionInvalidError``."""
        if not isinstance(token, str):
            raise SessionInvalidError()
        with self.adapters.storage.unit_of_work() as uow:
            actor, _ = resolve_actor(uow, token, self.adapters.clock.now(), self.adapters.security)
        return r.ActorView.of(actor)
