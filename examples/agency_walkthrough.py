"""The agency space, start to finish, on SQLite.

A hotel's two relays sell an opera to their clients on account and by card; an option is granted
and confirmed, a reservation expires, the operator invoices the hotel and is paid in two
payments, and the hotel reads its sales report. PDFs, mails and the report land under ``--out``.

Run it with ``make demo``, or ``python examples/agency_walkthrough.py --out out/agency``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ticketdomain import (
    AuthorizeStructure,
    CardPayment,
    ChannelKind,
    ConfirmReservation,
    ContactDetails,
    ContactRole,
    CreateActivity,
    CreateIndividual,
    CreateInstitution,
    CreateOrganization,
    CreatePerformance,
    CreateProduct,
    CreateQuota,
    CreateSalesChannel,
    CreateSalesPoint,
    CreateStructure,
    CreateTariff,
    DeliveryMode,
    DispatchMail,
    DocumentUpload,
    Function,
    GrantOption,
    IssueInvoice,
    LineRequest,
    LoginRelay,
    Money,
    OperatorSession,
    PaymentMethod,
    PlaceOrder,
    PlaceReservation,
    PrintTickets,
    ProcessDueExpiries,
    ProductConditions,
    RecordPayment,
    RequestOption,
    SetCatalogProfile,
    SetCreditLimit,
    TicketDomain,
    TicketDomainError,
    TransferTickets,
    ViewCatalog,
    ViewHoldingAccount,
    ViewSalesReport,
)
from ticketdomain.testing.fakes import FixedClock
from ticketdomain_filesystem import FilesystemDocumentStore
from ticketdomain_fpdf import FpdfTicketRenderer
from ticketdomain_maildir import MailDirectoryMailer
from ticketdomain_sandbox import SandboxPaymentGateway
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_system import SecretsBarcodeGenerator, UuidIdGenerator

# A tiny PDF standing in for the client's signed acceptance.
ACCEPTANCE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


def step(text: str) -> None:
    print(f"- {text}")


def build(out: Path, clock: FixedClock) -> TicketDomain:
    out.mkdir(parents=True, exist_ok=True)
    storage = SqlAlchemyStorage.sqlite(out / "ticketdomain.sqlite3")
    storage.create_schema()
    return TicketDomain(
        storage=storage,
        # The walkthrough moves time forward to show a reservation expiring, so it drives a
        # settable clock; a real host passes ticketdomain_system.SystemClock().
        clock=clock,
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=SandboxPaymentGateway(),
        documents=FilesystemDocumentStore(out / "documents"),
        renderer=FpdfTicketRenderer(),
        mailer=MailDirectoryMailer(out / "mail", sender="tickets@opera-lausanne.example"),
    )


def main(out: Path) -> None:
    if (out / "ticketdomain.sqlite3").exists():
        (out / "ticketdomain.sqlite3").unlink()
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    d = build(out, clock)

    # --- operator set-up -------------------------------------------------------------------
    institution = d.setup.create_institution(CreateInstitution("Lausanne Tourism"))
    opera = d.setup.create_organization(
        CreateOrganization(institution.id, "Opera de Lausanne", "CHF")
    )
    channel = d.setup.create_sales_channel(
        CreateSalesChannel(institution.id, "Internet Agence", ChannelKind.AGENCY)
    )
    sales_point = d.setup.create_sales_point(
        CreateSalesPoint(
            opera.id,
            channel.id,
            "Hotels and tour agents",
            functions=frozenset(
                {Function.OPTIONS, Function.SALES_REPORT, Function.CHOOSE_PURCHASING_CONTACT}
            ),
            payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
            delivery_modes=frozenset({DeliveryMode.PRINT_AT_HOME, DeliveryMode.TRANSFER}),
        )
    )
    step(
        f"operator set up {opera.name} ({opera.currency}) "
        f"with agency sales point {sales_point.name!r}"
    )
    hotel = d.contacts.create_structure(CreateStructure(institution.id, "Hotel Beau-Rivage"))
    alice = d.contacts.create_individual(
        CreateIndividual(
            institution.id,
            "Alice",
            "Martin",
            "alice@beau-rivage.example",
            hotel.id,
            ContactRole.RELAY,
        )
    )
    bob = d.contacts.create_individual(
        CreateIndividual(
            institution.id, "Bob", "Rochat", "bob@beau-rivage.example", hotel.id, ContactRole.RELAY
        )
    )
    d.setup.authorize_structure(AuthorizeStructure(sales_point.id, hotel.id))
    step(f"{hotel.name} authorized, relays {alice.first_name} and {bob.first_name}")

    traviata = d.setup.create_activity(CreateActivity(opera.id, "La Traviata"))
    premiere = d.setup.create_performance(
        CreatePerformance(
            traviata.id, clock.now() + timedelta(days=30, hours=11), "Opera de Lausanne", 900
        )
    )
    seat = d.setup.create_product(CreateProduct(traviata.id, "Orchestra seat", Decimal("0.081")))
    full = d.setup.create_tariff(CreateTariff(seat.id, "Full price", chf("95.00")))
    agency_rate = d.setup.create_tariff(CreateTariff(seat.id, "Agency rate", chf("79.00")))
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            opera.id,
            frozenset({traviata.id}),
            (ProductConditions(seat.id, tariff_ids=frozenset({agency_rate.id}), max_per_order=8),),
            channel_id=channel.id,
        )
    )
    d.setup.create_quota(CreateQuota(premiere.id, 40, channel_id=channel.id))
    d.setup.create_quota(CreateQuota(premiere.id, 25, sales_point_id=sales_point.id))
    operator = OperatorSession(opera.id, "back office")
    d.accounts.set_credit_limit(SetCreditLimit(operator, hotel.id, chf("1000.00")))
    step(
        f"catalog: {traviata.name} on {premiere.starts_at:%Y-%m-%d %H:%M}, agency rate "
        f"{agency_rate.price} (full price {full.price} not offered to agencies), quota 40 > 25, "
        f"credit limit 1000.00 CHF"
    )

    # --- relays sell -----------------------------------------------------------------------
    alice_s = d.sales.login_relay(LoginRelay(alice.id, sales_point.id))
    bob_s = d.sales.login_relay(LoginRelay(bob.id, sales_point.id))
    catalog = d.sales.view_catalog(ViewCatalog(alice_s))
    entry = catalog.entries[0]
    step(
        f"Alice logged in and sees {entry.activity} / {entry.tariff} at {entry.price}, "
        f"{entry.available} places"
    )

    on_account = d.sales.place_order(
        PlaceOrder(
            alice_s,
            (LineRequest(premiere.id, agency_rate.id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
            purchasing_contact=ContactDetails(
                "Claire", "Dubois", "claire.dubois@example.org", True
            ),
            document=DocumentUpload("acceptance.pdf", ACCEPTANCE),
        )
    )
    printed = d.sales.print_tickets(PrintTickets(alice_s, on_account.id))
    pdf = out / f"tickets-{on_account.id}.pdf"
    pdf.write_bytes(printed.content)
    step(f"Alice sold 2 seats on account to Claire Dubois ({on_account.total}), printed {pdf.name}")

    by_card = d.sales.place_order(
        PlaceOrder(
            bob_s,
            (LineRequest(premiere.id, agency_rate.id, 3),),
            PaymentMethod.CARD,
            card=CardPayment("tok_visa"),
        )
    )
    moved = d.sales.transfer_tickets(
        TransferTickets(
            bob_s, by_card.id, ContactDetails("Jean", "Muller", "jean.muller@example.org", True)
        )
    )
    step(
        f"Bob sold 3 seats by card ({by_card.total}, payment {by_card.payment_reference}) "
        f"and transferred them to Jean Muller's online account"
    )

    try:
        d.sales.place_order(
            PlaceOrder(
                bob_s, (LineRequest(premiere.id, full.id, 1),), PaymentMethod.HOLDING_ACCOUNT
            )
        )
    except TicketDomainError as refused:
        step(f"refused as expected: [{refused.code}] {refused.message}")

    # --- option, reservation ---------------------------------------------------------------
    option = d.sales.request_option(
        RequestOption(alice_s, (LineRequest(premiere.id, agency_rate.id, 4),))
    )
    granted = d.sales.grant_option(GrantOption(operator, option.id))
    confirmed = d.sales.confirm_reservation(
        ConfirmReservation(alice_s, granted.id, PaymentMethod.HOLDING_ACCOUNT)
    )
    step(
        f"Alice's option for 4 seats was granted, held until {granted.deadline:%Y-%m-%d %H:%M}, "
        f"and confirmed into an order of {confirmed.total}"
    )

    held = d.sales.place_reservation(
        PlaceReservation(bob_s, (LineRequest(premiere.id, agency_rate.id, 6),))
    )
    before = d.sales.view_catalog(ViewCatalog(bob_s)).entries[0].available
    clock.advance(timedelta(days=3))
    expired = d.sales.process_due_expiries(ProcessDueExpiries())
    after = d.sales.view_catalog(ViewCatalog(bob_s)).entries[0].available
    step(
        f"Bob's reservation of 6 (deadline {held.deadline:%Y-%m-%d %H:%M}) expired after 3 days "
        f"({len(expired.reservations_expired)} expired): available {before} -> {after}"
    )

    # --- back office: account, invoice, payments -------------------------------------------
    account = d.accounts.view_holding_account(ViewHoldingAccount(operator, hotel.id))
    step(
        f"holding account of {hotel.name}: {len(account.orders)} orders, outstanding "
        f"{account.outstanding}, available credit {account.available_credit}"
    )
    invoice = d.accounts.issue_invoice(IssueInvoice(operator, hotel.id))
    vat = ", ".join(
        f"VAT {(Decimal(row.vat_rate) * 100).normalize():f} %: "
        f"net {row.net} + VAT {row.vat} = {row.gross}"
        for row in invoice.vat_breakdown
    )
    step(
        f"invoice no. {invoice.number} for {len(invoice.order_ids)} orders: {invoice.total} ({vat})"
    )
    first = d.accounts.record_payment(
        RecordPayment(operator, hotel.id, chf("300.00"), "BANK-2026-0311")
    )
    due = invoice.total - first.allocations[0].amount
    step(f"first payment {first.amount} goes to invoice no. {invoice.number}: {due} still due")
    second = d.accounts.record_payment(
        RecordPayment(operator, hotel.id, chf("174.00"), "BANK-2026-0325")
    )
    step(
        f"second payment {second.amount}: invoice settled, outstanding {second.outstanding}, "
        f"credit {second.credit}"
    )

    # --- report and mail -------------------------------------------------------------------
    report = d.reports.sales_report(ViewSalesReport(alice_s))
    (out / "sales-report.csv").write_text(report.to_csv())
    per_relay = ", ".join(f"{t.key} {t.quantity} seats {t.amount}" for t in report.by_relay)
    step(
        f"sales report: {len(report.rows)} lines, {report.total.quantity} seats, "
        f"{report.total.amount} ({per_relay}); written to sales-report.csv"
    )
    sent = d.mail.dispatch_mail(DispatchMail())
    step(f"{len(sent.sent)} mail(s) delivered to {out / 'mail'} (transfer notice {moved.mail_id})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("out/agency"))
    main(parser.parse_args().out)
