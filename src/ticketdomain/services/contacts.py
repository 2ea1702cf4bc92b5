"""Contacts: structures, their relays, members and sub-structures."""

from __future__ import annotations

import attrs

from ticketdomain.core.contacts import ContactRole, Email, Individual, PersonName, Structure
from ticketdomain.core.errors import (
    NotFoundError,
    QuantityInvalidError,
    SetupInvalidError,
    ValidationError,
)
from ticketdomain.core.identity import ActorKind, OperatorActor
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator
from ticketdomain.services._context import Adapters
from ticketdomain.services.identity import queue_welcome


@attrs.frozen
class ContactService:
    """Creates and finds contacts. Each method is one transaction."""

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def _structure(self, uow: UnitOfWork, operator: OperatorActor, id: str) -> Structure:
        # Another institution's structure is reported as unknown.
        item = uow.structures.get(id)
        if item is None or item.institution_id != operator.institution_id:
            raise NotFoundError("structure", id)
        return item

    def create_structure(self, command: c.CreateStructure) -> r.StructureView:
        """A structure of the operator's institution, optionally below another one.

        Raises ``NotFoundError`` for a parent not of the institution.
        """
        with self._auth.operator(command) as (uow, operator):
            if command.parent_id is not None:
                self._structure(uow, operator, command.parent_id)
            item = Structure(
                self.adapters.ids.new_id("structure"),
                operator.institution_id,
                command.name,
                command.parent_id,
            )
            uow.structures.add(item)
            uow.commit()
        return r.StructureView.of(item)

    def create_individual(self, command: c.CreateIndividual) -> r.IndividualView:
        """An individual of the operator's institution; a new relay is mailed a welcome with a
        login link.

        Raises ``EmailInvalidError`` / ``NameInvalidError`` / ``LanguageUnsupportedError`` for
        bad input, ``NotFoundError`` for a structure not of the institution and
        ``ValidationError`` when the email is already a contact of the institution.
        """
        with self._auth.operator(command) as (uow, operator):
            email = Email(command.email)
            name = PersonName(command.first_name, command.last_name)
            if (command.structure_id is None) != (command.role is None):
                raise SetupInvalidError("A role needs a structure, and a structure a role.")
            if command.structure_id is not None:
                self._structure(uow, operator, command.structure_id)
            if uow.individuals.find_by_email(operator.institution_id, email.value) is not None:
                raise ValidationError(
                    f"{email} is already a contact of this institution.", email=email.value
                )
            item = Individual(
                id=self.adapters.ids.new_id("individual"),
                institution_id=operator.institution_id,
                name=name,
                email=email,
                structure_id=command.structure_id,
                role=ContactRole(command.role) if command.role is not None else None,
                marketing_consent=command.marketing_consent,
                language=command.language,
            )
            uow.individuals.add(item)
            if item.is_relay:
                queue_welcome(uow, self.adapters, item)
            uow.commit()
        return r.IndividualView.of(item)

    def remove_relay(self, command: c.RemoveRelay) -> r.IndividualView:
        """Make a relay a plain member of its structure and end its sessions.

        Raises ``NotFoundError`` for an individual not of the institution and
        ``SetupInvalidError`` for one who is not a relay.
        """
        with self._auth.operator(command) as (uow, operator):
            item = uow.individuals.get_for_update(command.individual_id)
            if item is None or item.institution_id != operator.institution_id:
                raise NotFoundError("individual", command.individual_id)
            if not item.is_relay:
                raise SetupInvalidError("This individual is not a relay.", id=item.id)
            item.role = ContactRole.MEMBER
            uow.individuals.update(item)
            uow.sessions.revoke_for_actor(ActorKind.RELAY, item.id, self.adapters.clock.now())
            uow.commit()
        return r.IndividualView.of(item)

    def search_contacts(self, command: c.SearchContacts) -> tuple[r.IndividualView, ...]:
        """Relays and members of a structure of the operator's institution whose name or email
        contains the text. Raises ``NotFoundError`` and ``QuantityInvalidError``."""
        with self._auth.operator(command) as (uow, operator):
            if not 1 <= command.limit <= 500:
                raise QuantityInvalidError(
                    "A search returns 1 to 500 contacts.", limit=command.limit
                )
            self._structure(uow, operator, command.structure_id)
            found = uow.individuals.search(
                command.structure_id, command.text.strip(), command.limit
            )
        return tuple(r.IndividualView.of(item) for item in found)
