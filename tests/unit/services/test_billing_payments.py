"""Billing details, invoice dates and references, payments by reference and rendered documents."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from support.agency import Agency, chf, set_up_agency
from support.state import refused
from ticketdomain import (
    ActorKind,
    CancelOrder,
    CreateOperator,
    CreateOrganization,
    CreateStructure,
    IssueInvoice,
    LineRequest,
    Money,
    PaymentMethod,
    Permission,
    PlaceOrder,
    RecordPayment,
    ViewHoldingAccount,
)
from ticketdomain.core.banking import is_creditor_reference, is_qr_reference
from ticketdomain.core.errors import (
    BillingDetailsInvalidError,
    CurrencyMismatchError,
    EmailInvalidError,
    IbanInvalidError,
    InvoiceAlreadySettledError,
    InvoiceReferenceForeignError,
    InvoiceReferenceUnknownError,
    NotFoundError,
    RendererMissingError,
)
from ticketdomain.core.invoices import InvoiceKind
from ticketdomain.ports.storage import Storage
from ticketdomain.services.commands import (
    RenderInvoice,
    RenderSalesReport,
    SetOrganizationBillingDetails,
    SetStructureBillingDetails,
)
from ticketdomain.services.results import InvoiceView, PaymentRecorded
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain.testing.fakes import RecordingDocumentRenderer

QR_IBAN = "CH44 3199 9123 0008 8901 2"
PLAIN_IBAN = "CH93 0076 2011 6238 5295 7"


@pytest.fixture
def world(storage: Storage) -> FakeWorld:
    return build_fake_world(storage, document_renderer=RecordingDocumentRenderer())


def bill(agency: Agency, iban: str | None = QR_IBAN, terms: int = 30) -> None:
    d = agency.world.domain
    d.handle(
        SetOrganizationBillingDetails(
            agency.operator,
            agency.organization_id,
            "Avenue du Théâtre",
            "12",
            "1003",
            "Lausanne",
            "CH",
            "CHE-123.456.789 TVA",
            iban,
            terms,
        )
    )
    d.handle(
        SetStructureBillingDetails(
            agency.operator, agency.hotel_id, "Place du Port", "17", "1006", "Lausanne", "CH"
        )
    )


def invoice(agency: Agency, quantity: int = 2, structure_token: str | None = None) -> InvoiceView:
    d = agency.world.domain
    d.sales.place_order(
        PlaceOrder(
            structure_token or agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    structure = (
        agency.hotel_id if structure_token in (None, agency.alice) else agency.other_agency_id
    )
    return d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, structure)
    )


def pay(
    agency: Agency, amount: Money, reference: str | None, structure_id: str | None = None
) -> PaymentRecorded:
    return agency.world.domain.accounts.record_payment(
        RecordPayment(
            agency.operator,
            agency.organization_id,
            structure_id or agency.hotel_id,
            amount,
            "BANK-7",
            invoice_reference=reference,
        )
    )


def test_billing_details_are_set_validated_and_shown(agency: Agency) -> None:
    d = agency.world.domain
    view = d.handle(
        SetOrganizationBillingDetails(
            agency.operator,
            agency.organization_id,
            " Rue  du Lac",
            "1",
            "1000",
            "Lausanne",
            "ch",
            None,
            QR_IBAN.lower(),
            20,
        )
    )
    assert view.billing is not None
    assert view.billing.address.street == "Rue du Lac" and view.billing.address.country == "CH"
    assert view.billing.iban == "CH4431999123000889012" and view.billing.payment_terms_days == 20
    structure = d.handle(
        SetStructureBillingDetails(
            agency.operator, agency.hotel_id, "", "", "1006", "Lausanne", "CH", "Compta@BRP.ch"
        )
    )
    assert structure.billing is not None and structure.billing.email == "Compta@brp.ch"
    with refused(agency.world, IbanInvalidError):
        d.handle(
            SetOrganizationBillingDetails(
                agency.operator,
                agency.organization_id,
                "",
                "",
                "1000",
                "Lausanne",
                "CH",
                iban="CH44 3199 9123 0008 8901 3",
            )
        )
    with refused(agency.world, BillingDetailsInvalidError):
        d.handle(
            SetOrganizationBillingDetails(
                agency.operator, agency.organization_id, "", "", "1000", "Lausanne", "CHE"
            )
        )
    with refused(agency.world, BillingDetailsInvalidError):
        d.handle(
            SetOrganizationBillingDetails(
                agency.operator,
                agency.organization_id,
                "",
                "",
                "1000",
                "Lausanne",
                "CH",
                payment_terms_days=400,
            )
        )
    with refused(agency.world, EmailInvalidError):
        d.handle(
            SetStructureBillingDetails(
                agency.operator, agency.hotel_id, "", "", "1006", "Lausanne", "CH", "not-an-email"
            )
        )
    with refused(agency.world, NotFoundError):
        d.handle(
            SetStructureBillingDetails(
                agency.operator, "structure-unknown", "", "", "1006", "Lausanne", "CH"
            )
        )


def test_an_invoice_is_due_after_the_payment_terms_and_carries_a_qr_reference(
    agency: Agency,
) -> None:
    bill(agency, QR_IBAN, terms=20)
    issued = invoice(agency)
    assert issued.due_on == issued.issued_at.date() + timedelta(days=20)
    assert issued.reference is not None and is_qr_reference(issued.reference)


def test_a_plain_swiss_iban_gives_a_creditor_reference_and_no_details_none(
    agency: Agency,
) -> None:
    first = invoice(agency)
    # Without billing details: due after the default 30 days, no reference.
    assert first.reference is None
    assert first.due_on == first.issued_at.date() + timedelta(days=30)
    bill(agency, PLAIN_IBAN)
    second = invoice(agency)
    assert second.reference is not None and is_creditor_reference(second.reference)


def test_a_payment_with_a_reference_settles_that_invoice_not_the_oldest(agency: Agency) -> None:
    bill(agency)
    first, second = invoice(agency, 2), invoice(agency, 1)
    assert second.reference is not None
    # Grouped as printed on the slip: it is read without the spaces.
    grouped = " ".join(second.reference[i : i + 5] for i in range(0, 27, 5))
    paid = pay(agency, second.total, grouped)
    assert [(a.invoice_id, a.amount) for a in paid.allocations] == [(second.id, second.total)]
    account = agency.world.domain.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert account.outstanding == first.total
    # More than due: the rest pays the oldest open invoice.
    third = invoice(agency, 1)
    assert third.reference is not None
    paid = pay(agency, third.total + chf("10.00"), third.reference)
    assert [(a.invoice_id, a.amount) for a in paid.allocations] == [
        (third.id, third.total),
        (first.id, chf("10.00")),
    ]


def test_a_payment_by_reference_is_refused_when_it_cannot_settle_its_invoice(
    agency: Agency,
) -> None:
    bill(agency)
    issued = invoice(agency)
    assert issued.reference is not None
    w = agency.world
    wrong_digit = issued.reference[:-1] + str((int(issued.reference[-1]) + 1) % 10)
    with refused(w, BillingDetailsInvalidError):
        pay(agency, issued.total, wrong_digit)
    with refused(w, InvoiceReferenceUnknownError):
        pay(agency, issued.total, "RF18539007547034")
    with refused(w, InvoiceReferenceForeignError) as caught:
        pay(agency, issued.total, issued.reference, agency.other_agency_id)
    assert caught.value.details["structure_id"] == agency.hotel_id
    with refused(w, CurrencyMismatchError):
        pay(agency, Money(Decimal("130.00"), "EUR"), issued.reference)
    pay(agency, issued.total, issued.reference)
    with refused(w, InvoiceAlreadySettledError):
        pay(agency, issued.total, issued.reference)


def test_a_credited_invoice_and_another_organizations_reference_are_refused(
    agency: Agency,
) -> None:
    bill(agency)
    issued = invoice(agency)
    assert issued.reference is not None
    d, w = agency.world.domain, agency.world
    d.accounts.cancel_order(CancelOrder(agency.operator, issued.order_ids[0]))
    with refused(w, InvoiceAlreadySettledError):
        pay(agency, issued.total, issued.reference)
    # Another organization of the institution, its reference paid to this one.
    other = d.setup.create_organization(CreateOrganization(agency.operator, "Théâtre", "CHF"))
    with refused(w, InvoiceReferenceForeignError):
        d.accounts.record_payment(
            RecordPayment(
                agency.operator,
                other.id,
                agency.hotel_id,
                issued.total,
                "B",
                invoice_reference=issued.reference,
            )
        )


def test_another_institutions_invoice_reference_is_unknown(storage: Storage) -> None:
    mine = set_up_agency(build_fake_world(storage))
    theirs = set_up_agency(mine.world)
    bill(theirs)
    issued = invoice(theirs)
    assert issued.reference is not None
    mine.world.domain.handle(
        SetStructureBillingDetails(mine.operator, mine.hotel_id, "", "", "1006", "Lausanne", "CH")
    )
    invoice(mine)
    with refused(mine.world, InvoiceReferenceUnknownError):
        pay(mine, issued.total, issued.reference)


def test_an_invoice_reference_outside_the_accountants_organizations_is_unknown(
    agency: Agency,
) -> None:
    bill(agency)
    issued = invoice(agency)
    assert issued.reference is not None
    d = agency.world.domain
    theatre = d.setup.create_organization(CreateOrganization(agency.operator, "Theatre", "CHF"))
    clerk = d.identity.create_operator(
        CreateOperator(
            agency.operator,
            "Theo",
            "Clerc",
            "theo@theatre.ch",
            frozenset({Permission.ACCOUNTING}),
            organization_ids=frozenset({theatre.id}),
        )
    )
    clerk_token = d.host.open_session(ActorKind.OPERATOR, clerk.id).token
    # The opera's invoice is not the theatre accountant's to learn about: not "foreign".
    with refused(agency.world, InvoiceReferenceUnknownError) as caught:
        d.accounts.record_payment(
            RecordPayment(
                clerk_token,
                theatre.id,
                agency.hotel_id,
                issued.total,
                "BANK-8",
                invoice_reference=issued.reference,
            )
        )
    assert agency.organization_id not in str(caught.value.details)


def test_invoices_and_credit_notes_render_through_the_document_renderer(agency: Agency) -> None:
    bill(agency)
    issued = invoice(agency)
    d = agency.world.domain
    renderer = agency.world.document_renderer
    assert isinstance(renderer, RecordingDocumentRenderer)
    rendered = d.handle(RenderInvoice(agency.operator, issued.id))
    assert rendered.filename == f"invoice-{issued.number}.pdf"
    assert rendered.media_type == "application/pdf"
    assert RecordingDocumentRenderer.read(rendered.content)["reference"] == issued.reference
    document = renderer.invoices[-1]
    assert document.total == issued.total and document.due_date == issued.due_on
    assert document.qr_bill is not None and document.qr_bill.amount == issued.total
    assert document.qr_bill.reference_type == "QRR"
    assert document.seller.vat_number == "CHE-123.456.789 TVA"
    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, issued.order_ids[0]))
    assert cancelled.credit_note is not None
    d.handle(RenderInvoice(agency.operator, cancelled.credit_note.id, language="de"))
    note = renderer.invoices[-1]
    assert note.kind is InvoiceKind.CREDIT_NOTE and note.corrects_number == issued.number
    assert note.qr_bill is None and note.due_date is None and note.language == "de"
    with pytest.raises(NotFoundError):
        d.handle(RenderInvoice(agency.operator, "invoice-unknown"))
    report = d.handle(RenderSalesReport(agency.alice))
    assert report.filename.startswith("sales-report-")
    assert renderer.reports[-1].tables[0].rows[0][1] == issued.order_ids[0]


def test_asking_for_a_document_without_a_renderer_is_a_typed_error(storage: Storage) -> None:
    agency = set_up_agency(build_fake_world(storage))
    issued = invoice(agency)
    with refused(agency.world, RendererMissingError):
        agency.world.domain.handle(RenderInvoice(agency.operator, issued.id))
    with refused(agency.world, RendererMissingError):
        agency.world.domain.handle(RenderSalesReport(agency.alice))


def test_a_new_structure_has_no_billing_details(agency: Agency) -> None:
    created = agency.world.domain.contacts.create_structure(
        CreateStructure(agency.operator, "Hotel Lac")
    )
    assert created.billing is None


def test_an_invoice_prints_its_seller_and_buyer_as_they_were_when_issued(agency: Agency) -> None:
    bill(agency)
    issued = invoice(agency)
    d = agency.world.domain
    d.handle(
        SetOrganizationBillingDetails(
            agency.operator, agency.organization_id, "Rue Neuve", "3", "1003", "Lausanne", "CH"
        )
    )
    d.handle(
        SetStructureBillingDetails(
            agency.operator, agency.hotel_id, "Quai d'Ouchy", "1", "1006", "Lausanne", "CH"
        )
    )
    d.handle(RenderInvoice(agency.operator, issued.id))
    renderer = agency.world.document_renderer
    assert isinstance(renderer, RecordingDocumentRenderer)
    document = renderer.invoices[-1]
    assert document.seller.address is not None and document.buyer.address is not None
    assert document.seller.address.street == "Avenue du Théâtre"
    assert document.seller.vat_number == "CHE-123.456.789 TVA"
    assert document.buyer.address.street == "Place du Port"
    # The payment part pays the account and creditor of the invoice, whatever changed since.
    assert document.qr_bill is not None and document.qr_bill.creditor == document.seller
    assert document.qr_bill.iban == "CH4431999123000889012"
