"""Contacts: structures, their relays, members and sub-structures."""

from __future__ import annotations

import attrs

from ticketdomain.core.contacts import ContactRole, Email, Individual, PersonName, Structure
from ticketdomain.core.errors import QuantityInvalidError, SetupInvalidError, ValidationError
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._context import Adapters, need


@attrs.frozen
class ContactService:
    """Creates and finds contacts. Each method is one transaction."""

    adapters: Adapters

    def create_structure(self, command: c.CreateStructure) -> r.StructureView:
        with self.adapters.storage.unit_of_work() as uow:
            need(
                uow.institutions.get(command.institution_id), "institution", command.institution_id
            )
            if command.parent_id is not None:
                parent = need(uow.structures.get(command.parent_id), "structure", command.parent_id)
                if parent.institution_id != command.institution_id:
                    raise SetupInvalidError("The parent structure belongs to another institution.")
            item = Structure(
                self.adapters.ids.new_id("structure"),
                command.institution_id,
                command.name,
                command.parent_id,
            )
            uow.structures.add(item)
            uow.commit()
        return r.StructureView.of(item)

    def create_individual(self, command: c.CreateIndividual) -> r.IndividualView:
        """Raises ``EmailInvalidError`` / ``NameInvalidError`` for bad input and
        ``ValidationError`` when the email is already a contact of the institution."""
        email = Email(command.email)
        name = PersonName(command.first_name, command.last_name)
        if (command.structure_id is None) != (command.role is None):
            raise SetupInvalidError("A role needs a structure, and a structure a role.")
        with self.adapters.storage.unit_of_work() as uow:
            need(
                uow.institutions.get(command.institution_id), "institution", command.institution_id
            )
            if command.structure_id is not None:
                structure = need(
                    uow.structures.get(command.structure_id), "structure", command.structure_id
                )
                if structure.institution_id != command.institution_id:
                    raise SetupInvalidError("The structure belongs to another institution.")
            if uow.individuals.find_by_email(command.institution_id, email.value) is not None:
                raise ValidationError(
                    f"{email} is already a contact of this institution.", email=email.value
                )
            item = Individual(
                id=self.adapters.ids.new_id("individual"),
                institution_id=command.institution_id,
                name=name,
                email=email,
                structure_id=command.structure_id,
                role=ContactRole(command.role) if command.role is not None else None,
                marketing_consent=command.marketing_consent,
            )
            uow.individuals.add(item)
            uow.commit()
        return r.IndividualView.of(item)

    def search_contacts(self, command: c.SearchContacts) -> tuple[r.IndividualView, ...]:
        """Relays and members of a structure whose name or email contains the text."""
        if not 1 <= command.limit <= 500:
            raise QuantityInvalidError("A search returns 1 to 500 contacts.", limit=command.limit)
        with self.adapters.storage.unit_of_work() as uow:
            need(uow.structures.get(command.structure_id), "structure", command.structure_id)
            found = uow.individuals.search(
                command.structure_id, command.text.strip(), command.limit
            )
        return tuple(r.IndividualView.of(item) for item in found)
