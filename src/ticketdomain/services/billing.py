"""Billing details: what invoices print about the seller and the buyer."""

from __future__ import annotations

import attrs

from ticketdomain.core.banking import Iban, PostalAddress, SellerBilling
from ticketdomain.core.contacts import BuyerBilling, Email
from ticketdomain.core.errors import NotFoundError, RendererMissingError
from ticketdomain.ports.documents import DocumentRenderer
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator, organization_for
from ticketdomain.services._context import Adapters


def _address(
    command: c.SetOrganizationBillingDetails | c.SetStructureBillingDetails,
) -> PostalAddress:
    return PostalAddress(
        command.street, command.house_number, command.postal_code, command.town, command.country
    )


@attrs.frozen
class BillingService:
    """Sets the billing details of organizations and structures. Each method is one
    transaction; a refused call changes nothing."""

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def set_organization_billing_details(
        self, command: c.SetOrganizationBillingDetails
    ) -> r.OrganizationView:
        """Replace the organization's billing details.

        Raises ``NotFoundError`` for an organization not the operator's,
        ``BillingDetailsInvalidError`` for an address, VAT number or payment terms outside
        their limits and ``IbanInvalidError`` for an IBAN whose checksum fails.
        """
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            organization.billing = SellerBilling(
                _address(command),
                command.vat_number,
                Iban(command.iban) if command.iban else None,
                command.payment_terms_days,
            )
            uow.organizations.update(organization)
            uow.commit()
        return r.OrganizationView.of(organization)

    def set_structure_billing_details(
        self, command: c.SetStructureBillingDetails
    ) -> r.StructureView:
        """Replace the structure's billing address and invoice email.

        Raises ``NotFoundError`` for a structure not of the operator's institution,
        ``BillingDetailsInvalidError`` for an address outside its limits and
        ``EmailInvalidError`` for a malformed email.
        """
        with self._auth.operator(command) as (uow, operator):
            structure = uow.structures.get(command.structure_id)
            if structure is None or structure.institution_id != operator.institution_id:
                raise NotFoundError("structure", command.structure_id)
            structure.billing = BuyerBilling(
                _address(command), Email(command.email) if command.email else None
            )
            uow.structures.update(structure)
            uow.commit()
        return r.StructureView.of(structure)


def require_renderer(adapters: Adapters) -> DocumentRenderer:
    """The host's document renderer; ``RendererMissingError`` when it configured none."""
    if adapters.document_renderer is None:
        raise RendererMissingError(
            "No document renderer is configured: pass document_renderer= to TicketDomain "
            "(ticketdomain_fpdf.FpdfDocumentRenderer renders PDF)."
        )
    return adapters.document_renderer
