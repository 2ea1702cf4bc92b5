"""The trust boundary every service crosses first: check the command's input, turn its token
into an actor loaded from storage, and hold the actor to the command's rule."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, TypeVar

import attrs

from ticketdomain.core.contacts import Individual
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    NotFoundError,
    PermissionMissingError,
    SessionInvalidError,
)
from ticketdomain.core.identity import (
    API_KEY_PREFIX,
    SESSION_PREFIX,
    Actor,
    ActorKind,
    GateActor,
    MemberActor,
    OperatorActor,
    RelayActor,
    RelayContext,
    Rule,
    SecurityPolicy,
    relay_may_act,
    require_rule,
    token_digest,
)
from ticketdomain.core.setup import Organization, SalesPoint
from ticketdomain.ports.storage import SessionContext, UnitOfWork
from ticketdomain.services._context import Adapters, profile_for
from ticketdomain.services._input import check_command

A = TypeVar("A", OperatorActor, RelayActor, MemberActor, GateActor)

#: longer than any token the library hands out; longer ones are refused before any lookup
MAX_TOKEN_LENGTH = 200


def rule_of(command: object) -> Rule:
    rule = getattr(type(command), "rule", None)
    if not isinstance(rule, Rule):
        raise TypeError(f"{type(command).__name__} is not a ticketdomain command")
    return rule


def _token(value: object) -> str:
    if (
        not isinstance(value, str)
        or len(value) > MAX_TOKEN_LENGTH
        or not value.isascii()
        or not value.startswith((SESSION_PREFIX, API_KEY_PREFIX))
    ):
        raise SessionInvalidError()
    return value


def resolve_actor(
    uow: UnitOfWork, token: object, now: datetime, policy: SecurityPolicy
) -> tuple[Actor, bool]:
    """The actor a token stands for, loaded from storage, and whether the session's last use
    was written (the caller then commits). Raises ``SessionInvalidError`` for anything else."""
    value = _token(token)
    digest = token_digest(value)
    if value.startswith(API_KEY_PREFIX):
        key = uow.api_keys.find_by_digest(digest)
        if key is None:
            raise SessionInvalidError()
        key.check()
        return _load(uow, key.actor_kind, key.actor_id, None, None), False
    # The session with its individual, sales point, organization and profile in one or two
    # reads: a relay is authorized from them, checked again on every call.
    context = uow.sessions.find_with_context(digest)
    if context is None:
        raise SessionInvalidError()
    session = context.session
    session.check(now, policy.session_idle)
    actor = _load(
        uow, session.actor_kind, session.actor_id, session.sales_point_id, session.id, context
    )
    touched = now - session.last_used_at >= policy.touch_interval
    if touched:
        session.last_used_at = now
        uow.sessions.update(session)
    return actor, touched


def relay_sales_point(
    uow: UnitOfWork, individual: Individual, sales_point_id: str | None
) -> SalesPoint | None:
    """The sales point, if the individual may act there as a relay (``relay_may_act``)."""
    sales_point = uow.sales_points.get(sales_point_id) if sales_point_id else None
    organization = uow.organizations.get(sales_point.organization_id) if sales_point else None
    return sales_point if relay_may_act(individual, sales_point, organization) else None


def _load(
    uow: UnitOfWork,
    kind: ActorKind,
    actor_id: str,
    sales_point_id: str | None,
    session_id: str | None,
    context: SessionContext | None = None,
) -> Actor:
    if kind is ActorKind.OPERATOR:
        operator = uow.operators.get(actor_id)
        if operator is None or not operator.active:
            raise SessionInvalidError()
        return operator.actor(session_id)
    if kind is ActorKind.GATE:
        gate = uow.gates.get(actor_id)
        if gate is None or not gate.active:
            raise SessionInvalidError()
        return gate.actor(session_id)
    individual = context.individual if context else uow.individuals.get(actor_id)
    if individual is None:
        raise SessionInvalidError()
    if kind is ActorKind.MEMBER:
        return MemberActor(individual.id, individual.institution_id, session_id)
    if context is not None:
        sales_point, organization = context.sales_point, context.organization
        profile = context.profile
    else:
        sales_point = uow.sales_points.get(sales_point_id) if sales_point_id else None
        organization = uow.organizations.get(sales_point.organization_id) if sales_point else None
        profile = profile_for(uow, sales_point) if sales_point else None
    if (
        sales_point is None
        or organization is None
        or individual.structure_id is None
        or not relay_may_act(individual, sales_point, organization)
    ):
        # The structure was revoked or the relay removed since the session opened.
        raise SessionInvalidError()
    return RelayActor(
        individual.id,
        individual.structure_id,
        sales_point.id,
        sales_point.organization_id,
        individual.institution_id,
        session_id,
        loaded=RelayContext(sales_point, individual, organization, profile),
    )


@attrs.frozen
class Authenticator:
    """Opens the unit of work of a command with its actor checked.

    ``with auth.relay(command) as (uow, relay): ...`` checks the command's input (limits of
    every field), resolves its token and holds the actor to the command's ``rule``; a session
    whose last use was written is committed on a clean exit even by a read-only command.
    """

    adapters: Adapters

    @contextmanager
    def actor(self, command: Any) -> Iterator[tuple[UnitOfWork, Actor]]:
        rule = rule_of(command)
        check_command(command)
        with self.adapters.storage.unit_of_work() as uow:
            actor, touched = resolve_actor(
                uow, command.token, self.adapters.clock.now(), self.adapters.security
            )
            require_rule(rule, actor, type(command).__name__)
            yield uow, actor
            if touched:
                uow.commit()

    @contextmanager
    def _as(self, command: Any, kind: type[A]) -> Iterator[tuple[UnitOfWork, A]]:
        with self.actor(command) as (uow, actor):
            if not isinstance(actor, kind):
                # Only for a rule that lists several kinds, served by a one-kind service.
                raise ActorNotAllowedError(
                    f"{type(command).__name__} is for another kind of actor.",
                    command=type(command).__name__,
                    given=actor.kind.value,
                )
            yield uow, actor

    def operator(self, command: Any) -> AbstractContextManager[tuple[UnitOfWork, OperatorActor]]:
        return self._as(command, OperatorActor)

    def relay(self, command: Any) -> AbstractContextManager[tuple[UnitOfWork, RelayActor]]:
        return self._as(command, RelayActor)

    def member(self, command: Any) -> AbstractContextManager[tuple[UnitOfWork, MemberActor]]:
        return self._as(command, MemberActor)

    def gate(self, command: Any) -> AbstractContextManager[tuple[UnitOfWork, GateActor]]:
        return self._as(command, GateActor)


def _permission(command: object) -> Any:
    return rule_of(command).permission


def organization_for(
    uow: UnitOfWork, operator: OperatorActor, command: object, organization_id: str
) -> Organization:
    """The organization, if the operator may run ``command`` for it; another institution's or
    organization's is reported as unknown (its ids are not the operator's to probe)."""
    organization = uow.organizations.get(organization_id)
    if (
        organization is None
        or organization.institution_id != operator.institution_id
        or not operator.may(_permission(command), organization.id)
    ):
        raise NotFoundError("organization", organization_id)
    return organization


def require_organization(
    uow: UnitOfWork,
    operator: OperatorActor,
    command: object,
    organization_id: str,
    kind: str,
    id: str,
) -> Organization:
    """The organization of a resource the caller loaded from an id, if the operator may run
    ``command`` for it; otherwise the resource is reported as unknown."""
    organization = uow.organizations.get(organization_id)
    if (
        organization is None
        or organization.institution_id != operator.institution_id
        or not operator.may(_permission(command), organization.id)
    ):
        raise NotFoundError(kind, id)
    return organization


def require_institution_wide(operator: OperatorActor, command: object) -> None:
    """Institution-level set-up (organizations, channels) needs an operator of every
    organization."""
    if operator.organization_ids is not None:
        raise PermissionMissingError(
            f"Running {type(command).__name__} needs an operator of every organization.",
            command=type(command).__name__,
            permission=str(_permission(command).value),
        )
