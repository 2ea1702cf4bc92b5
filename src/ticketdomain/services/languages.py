"""The language mail is written in: a contact's own (chosen by themselves or the back office),
else their organization's."""

from __future__ import annotations

import attrs

from ticketdomain.core.contacts import Individual
from ticketdomain.core.errors import ActorNotAllowedError, NotFoundError
from ticketdomain.core.identity import MemberActor, RelayActor
from ticketdomain.core.languages import check_language, check_optional_language
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator, require_organization
from ticketdomain.services._context import Adapters


@attrs.frozen
class LanguageService:
    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def set_my_language(self, command: c.SetMyLanguage) -> r.IndividualView:
        """The caller's (a relay's or a member's) language; ``None`` goes back to their
        organization's.

        Raises ``LanguageUnsupportedError`` for a language mail is not written in.
        """
        with self._auth.actor(command) as (uow, actor):
            language = check_optional_language(command.language)
            if isinstance(actor, RelayActor):
                individual_id = actor.relay_id
            elif isinstance(actor, MemberActor):
                individual_id = actor.individual_id
            else:  # pragma: no cover - the command's rule lets relays and members only
                raise ActorNotAllowedError("Only relays and members have a language.")
            individual = self._set(uow, individual_id, language)
            uow.commit()
        return r.IndividualView.of(individual)

    def set_contact_language(self, command: c.SetContactLanguage) -> r.IndividualView:
        """A contact's language, set by the back office; ``None`` goes back to their
        organization's.

        Raises ``LanguageUnsupportedError`` for a language mail is not written in and
        ``NotFoundError`` for an individual not of the operator's institution.
        """
        with self._auth.operator(command) as (uow, operator):
            language = check_optional_language(command.language)
            found = uow.individuals.get(command.individual_id)
            if found is None or found.institution_id != operator.institution_id:
                raise NotFoundError("individual", command.individual_id)
            individual = self._set(uow, found.id, language)
            uow.commit()
        return r.IndividualView.of(individual)

    def set_organization_language(self, command: c.SetOrganizationLanguage) -> r.OrganizationView:
        """The language of the organization's mail to contacts who name none.

        Raises ``LanguageUnsupportedError`` for a language mail is not written in and
        ``NotFoundError`` for an organization the operator may not set up.
        """
        with self._auth.operator(command) as (uow, operator):
            language = check_language(command.language)
            found = require_organization(
                uow,
                operator,
                command,
                command.organization_id,
                "organization",
                command.organization_id,
            )
            organization = uow.organizations.get_for_update(found.id)
            if organization is None:
                raise NotFoundError("organization", command.organization_id)
            organization.language = language
            uow.organizations.update(organization)
            uow.commit()
        return r.OrganizationView.of(organization)

    def _set(self, uow: UnitOfWork, individual_id: str, language: str | None) -> Individual:
        individual = uow.individuals.get_for_update(individual_id)
        if individual is None:
            raise NotFoundError("individual", individual_id)
        individual.language = language
        uow.individuals.update(individual)
        return individual
