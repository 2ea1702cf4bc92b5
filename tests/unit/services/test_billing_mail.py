"""The invoice and credit note mails: queued with the invoice, their PDF attached."""

from __future__ import annotations

import pytest

from support.agency import Agency, set_up_agency
from ticketdomain import (
    CancelOrder,
    DispatchMail,
    IssueInvoice,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    SetContactLanguage,
)
from ticketdomain.core.mail import MailMessage
from ticketdomain.ports.storage import Storage
from ticketdomain.services.commands import SetStructureBillingDetails
from ticketdomain.services.results import InvoiceView
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain.testing.fakes import RecordingDocumentRenderer


@pytest.fixture
def world(storage: Storage) -> FakeWorld:
    return build_fake_world(storage, document_renderer=RecordingDocumentRenderer())


def issue(agency: Agency, quantity: int = 2) -> InvoiceView:
    d = agency.world.domain
    d.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    return d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )


def sent(agency: Agency) -> list[MailMessage]:
    agency.world.domain.mail.dispatch_mail(DispatchMail(agency.operator, limit=1000))
    return list(agency.world.mailer.outbox)


def test_the_invoice_goes_to_the_billing_email_with_its_pdf(agency: Agency) -> None:
    d = agency.world.domain
    d.handle(
        SetStructureBillingDetails(
            agency.operator,
            agency.hotel_id,
            "Place du Port",
            "17",
            "1006",
            "Lausanne",
            "CH",
            "compta@beau-rivage.ch",
        )
    )
    issued = issue(agency)
    assert len(issued.mail_ids) == 1
    (mail,) = [m for m in sent(agency) if m.id in issued.mail_ids]
    assert mail.to.value == "compta@beau-rivage.ch"
    assert str(issued.number) in mail.subject + mail.body
    (attachment,) = mail.attachments
    assert attachment.filename == f"invoice-{issued.number}.pdf"
    assert attachment.media_type == "application/pdf"
    assert RecordingDocumentRenderer.read(attachment.content)["number"] == issued.number


def test_without_a_billing_email_the_relays_get_it_each_in_their_language(
    agency: Agency,
) -> None:
    d = agency.world.domain
    d.handle(SetContactLanguage(agency.operator, agency.bob_id, "de"))
    issued = issue(agency)
    mails = [m for m in sent(agency) if m.id in issued.mail_ids]
    assert sorted(m.to.value for m in mails) == ["alice@beau-rivage.ch", "bob@beau-rivage.ch"]
    renderer = agency.world.document_renderer
    assert isinstance(renderer, RecordingDocumentRenderer)
    assert sorted(document.language for document in renderer.invoices) == ["de", "en"]
    for mail in mails:
        assert mail.attachments[0].filename == f"invoice-{issued.number}.pdf"


def test_a_credit_note_is_mailed_naming_its_invoice(agency: Agency) -> None:
    issued = issue(agency)
    d = agency.world.domain
    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, issued.order_ids[0]))
    note = cancelled.credit_note
    assert note is not None
    mails = [m for m in sent(agency) if m.id in cancelled.mail_ids]
    notes = [m for m in mails if m.attachments]
    assert len(notes) == 2
    for mail in notes:
        assert mail.attachments[0].filename == f"credit-note-{note.number}.pdf"
        assert str(issued.number) in mail.body
        content = RecordingDocumentRenderer.read(mail.attachments[0].content)
        assert content["kind"] == "credit_note"


def test_no_invoice_mail_without_a_document_renderer(storage: Storage) -> None:
    agency = set_up_agency(build_fake_world(storage))
    issued = issue(agency)
    assert issued.mail_ids == ()
    assert not [m for m in sent(agency) if m.attachments]
