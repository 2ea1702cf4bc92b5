"""The invoice and credit note mails, their PDF attached (queued with the invoice)."""

from __future__ import annotations

from datetime import datetime, time

from ticketdomain.core.billing import invoice_document
from ticketdomain.core.contacts import ContactRole, Individual, PersonName, Structure
from ticketdomain.core.invoices import Invoice, InvoiceKind
from ticketdomain.core.mail import Attachment, MailKind
from ticketdomain.core.setup import Organization
from ticketdomain.core.timezones import zone
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services._context import Adapters, need
from ticketdomain.services._mail import queue_mail

#: relays mailed at most, when the structure gave no billing email
MAX_RELAYS = 20


def _recipients(uow: UnitOfWork, structure: Structure) -> list[Individual]:
    """The structure's billing email (as the contact of that address if there is one), else
    its relays."""
    billing = structure.billing
    if billing is not None and billing.email is not None:
        found = uow.individuals.find_by_email(structure.institution_id, billing.email.value)
        if found is not None:
            return [found]
        # An address, not a contact: greeted as the structure's accounts department.
        return [
            Individual(
                id="",
                institution_id=structure.institution_id,
                name=PersonName("Accounts", structure.name),
                email=billing.email,
            )
        ]
    contacts = uow.individuals.search(structure.id, "", MAX_RELAYS)
    return [item for item in contacts if item.role is ContactRole.RELAY]


def _context(
    invoice: Invoice, organization: Organization, corrected: Invoice | None
) -> dict[str, object]:
    context: dict[str, object] = {
        "organization": organization.name,
        "number": str(invoice.number),
        "issued_at": invoice.issued_at,
        # A credit note's total is negative; its mail tells the amount credited.
        "total": invoice.total if invoice.kind is InvoiceKind.INVOICE else -invoice.total,
    }
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        context["invoice_number"] = str(corrected.number) if corrected is not None else ""
        return context
    # Noon on the due day in the organization's zone: shown as that day in any zone nearby.
    due = invoice.due_on
    context["due_at"] = (
        datetime.combine(due, time(12), tzinfo=zone(organization.time_zone)) if due else None
    )
    context["reference"] = invoice.reference
    return context


def queue_invoice_mail(
    uow: UnitOfWork,
    adapters: Adapters,
    organization: Organization,
    invoice: Invoice,
    corrected: Invoice | None = None,
) -> tuple[str, ...]:
    """Queue the INVOICE (or CREDIT_NOTE, ``corrected`` naming the invoice it negates) mail
    with its PDF, in each recipient's language, to the structure's billing email or else its
    relays; nothing without a document renderer. Returns the message ids."""
    renderer = adapters.document_renderer
    if renderer is None:
        return ()
    structure = need(uow.structures.get(invoice.structure_id), "structure", invoice.structure_id)
    kind = MailKind.CREDIT_NOTE if invoice.kind is InvoiceKind.CREDIT_NOTE else MailKind.INVOICE
    context = _context(invoice, organization, corrected)
    rendered: dict[str, Attachment] = {}
    mails = []
    for to in _recipients(uow, structure):
        language = to.language or organization.language
        if language not in rendered:
            document = invoice_document(
                invoice, organization, structure, corrected=corrected, language=language
            )
            content = renderer.render_invoice(document)
            rendered[language] = Attachment(document.filename, renderer.media_type, content)
        mails.append(
            queue_mail(
                uow,
                adapters,
                to=to,
                kind=kind,
                context=context,
                attachments=(rendered[language],),
                organization=organization,
            )
        )
    return tuple(mails)
