"""The agency space, start to finish, on SQLite.

The host bootstraps an institution and its first operator, who logs in with a password and sets
up an opera for hotels. A hotel's two relays open the welcome mail, log in once with its link
and choose a password; they sell to their clients on account and by card; an option is granted
and confirmed, a reservation expires, the operator invoices the hotel (a PDF with its Swiss
QR-bill, mailed to the hotel's accounts), cancels an invoiced order (a credit note), and is paid
by the invoice's reference; the hotel reads its sales report. Forged JSON payloads are refused
along the way. Mails go out in each person's language (French by default, English for those who
asked). Ticket, invoice, credit-note and report PDFs, the mails and the report's CSV land under
``--out``.

Run it with ``make demo``, or ``python examples/agency_walkthrough.py --out out/agency``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from ticketdomain import (
    AuthorizeStructure,
    CancelOrder,
    CardPayment,
    ChangePassword,
    ChannelKind,
    ConfirmReservation,
    ContactDetails,
    ContactRole,
    CreateActivity,
    CreateIndividual,
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
    LoginOperator,
    LoginRelay,
    LoginWithLink,
    Logout,
    Money,
    PaymentMethod,
    PlaceOrder,
    PlaceReservation,
    PrintTickets,
    ProcessDueExpiries,
    ProductConditions,
    RecordPayment,
    RenderInvoice,
    RenderSalesReport,
    RequestOption,
    SecurityPolicy,
    SetCatalogProfile,
    SetCreditLimit,
    SetOrganizationBillingDetails,
    SetStructureBillingDetails,
    TicketDomain,
    TicketDomainError,
    TransferTickets,
    ViewCatalog,
    ViewHoldingAccount,
    ViewSalesReport,
)
from ticketdomain.serialization import structure_command
from ticketdomain.testing.fakes import FixedClock
from ticketdomain_argon2 import Argon2PasswordHasher
from ticketdomain_filesystem import FilesystemDocumentStore
from ticketdomain_fpdf import FpdfDocumentRenderer, FpdfTicketRenderer
from ticketdomain_jinja import JinjaMailTemplates
from ticketdomain_maildir import MailDirectoryMailer
from ticketdomain_sandbox import SandboxPaymentGateway
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_system import SecretsBarcodeGenerator, SecretsTokenGenerator, UuidIdGenerator

# A tiny PDF standing in for the client's signed acceptance.
ACCEPTANCE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

#: where the host's front end takes the links mailed to relays and members
SECURITY = SecurityPolicy(
    relay_link="https://tickets.example.org/relay/login?token={token}",
    member_link="https://tickets.example.org/me/login?token={token}",
)
OPERATOR_EMAIL = "odile.perret@opera-lausanne.example"
#: what each person typed when choosing a password (a demo has to write them down somewhere)
PASSWORDS = {
    OPERATOR_EMAIL: "lake-view opera back office",
    "alice@beau-rivage.example": "Alice chose this one at the front desk",
    "bob@beau-rivage.example": "bob's night-shift passphrase",
}


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
        document_renderer=FpdfDocumentRenderer(),
        mailer=MailDirectoryMailer(out / "mail", sender="tickets@opera-lausanne.example"),
        # French, German and English mail with an HTML part; a host may pass its own folder.
        mail_templates=JinjaMailTemplates(),
        passwords=Argon2PasswordHasher(),
        tokens=SecretsTokenGenerator(),
        security=SECURITY,
    )


def read_mail(mail: Path, to: str, subject: str) -> EmailMessage:
    """The one delivered mail to ``to`` whose subject contains ``subject``, as a mail program
    reads it."""
    (found,) = (
        message
        for path in sorted(mail.glob("*.eml"))
        for message in [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)]
        if isinstance(message, EmailMessage)
        and message["To"] == to
        and subject in str(message["Subject"])
    )
    return found


def link_token(message: EmailMessage) -> str:
    """What clicking the mail's link hands to the front end: the ``token`` of its URL."""
    body = message.get_body(("plain",))
    assert body is not None
    url = re.search(r"https://tickets\.example\.org/\S+", body.get_content())
    assert url is not None, "the mail carries a login link"
    (token,) = parse_qs(urlsplit(url.group()).query)["token"]
    return token


def refusal(action: Callable[[], object]) -> str:
    """Run a call that must be refused; give its error code."""
    try:
        action()
    except TicketDomainError as refused:
        return f"[{refused.code}]"
    raise AssertionError("the call was not refused")


ZURICH = ZoneInfo("Europe/Zurich")


def main(out: Path) -> None:
    if (out / "ticketdomain.sqlite3").exists():
        (out / "ticketdomain.sqlite3").unlink()
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    d = build(out, clock)

    # --- the host bootstraps, the operator logs in ---------------------------------------------
    boot = d.host.bootstrap(
        institution_name="Lausanne Tourism",
        first_name="Odile",
        last_name="Perret",
        email=OPERATOR_EMAIL,
        password=PASSWORDS[OPERATOR_EMAIL],
    )
    institution = boot.institution

    def operator_login() -> str:
        return d.identity.login_operator(
            LoginOperator(institution.id, OPERATOR_EMAIL, PASSWORDS[OPERATOR_EMAIL])
        ).token

    op = operator_login()
    step(
        f"the host bootstrapped {institution.name} and its first operator "
        f"{boot.operator.first_name} {boot.operator.last_name}, who logged in with her password "
        f"(argon2id) and got a session token"
    )

    # --- operator set-up -------------------------------------------------------------------
    # Its venues are in Lausanne: every time is shown in Europe/Zurich (CET/CEST).
    opera = d.setup.create_organization(
        CreateOrganization(op, "Opera de Lausanne", "CHF", time_zone="Europe/Zurich", language="fr")
    )
    # A QR-IBAN: its invoices carry a Swiss QR-bill with a QR reference.
    d.billing.set_organization_billing_details(
        SetOrganizationBillingDetails(
            op,
            opera.id,
            street="Avenue du Theatre",
            house_number="12",
            postal_code="1005",
            town="Lausanne",
            country="CH",
            vat_number="CHE-123.456.788 MWST",
            iban="CH44 3199 9123 0008 8901 2",
            payment_terms_days=30,
        )
    )
    channel = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Internet Agence", ChannelKind.AGENCY)
    )
    sales_point = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
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
    hotel = d.contacts.create_structure(CreateStructure(op, "Hotel Beau-Rivage"))
    d.billing.set_structure_billing_details(
        SetStructureBillingDetails(
            op,
            hotel.id,
            street="Place du Port",
            house_number="17",
            postal_code="1006",
            town="Lausanne",
            country="CH",
            email="accounts@beau-rivage.example",
        )
    )
    alice = d.contacts.create_individual(
        CreateIndividual(
            op,
            "Alice",
            "Martin",
            "alice@beau-rivage.example",
            hotel.id,
            ContactRole.RELAY,
            language="fr",
        )
    )
    bob = d.contacts.create_individual(
        CreateIndividual(
            op,
            "Bob",
            "Rochat",
            "bob@beau-rivage.example",
            hotel.id,
            ContactRole.RELAY,
            language="en",
        )
    )
    d.setup.authorize_structure(AuthorizeStructure(op, sales_point.id, hotel.id))
    welcome = d.mail.dispatch_mail(DispatchMail(op))
    step(
        f"{hotel.name} authorized, relays {alice.first_name} and {bob.first_name}: "
        f"{len(welcome.sent)} welcome mails with a one-time login link delivered"
    )

    traviata = d.setup.create_activity(CreateActivity(op, opera.id, "La Traviata"))
    # 1 April 2026 at 20:00 in Lausanne (summer time since 29 March): 18:00 UTC.
    premiere = d.setup.create_performance(
        CreatePerformance(
            op,
            traviata.id,
            datetime(2026, 4, 1, 20, 0, tzinfo=ZURICH),
            "Opera de Lausanne",
            900,
            time_zone="Europe/Zurich",
        )
    )
    seat = d.setup.create_product(
        CreateProduct(op, traviata.id, "Orchestra seat", Decimal("0.081"))
    )
    full = d.setup.create_tariff(CreateTariff(op, seat.id, "Full price", chf("95.00")))
    agency_rate = d.setup.create_tariff(CreateTariff(op, seat.id, "Agency rate", chf("79.00")))
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            op,
            opera.id,
            frozenset({traviata.id}),
            (ProductConditions(seat.id, tariff_ids=frozenset({agency_rate.id}), max_per_order=8),),
            channel_id=channel.id,
        )
    )
    d.setup.create_quota(CreateQuota(op, premiere.id, 40, channel_id=channel.id))
    d.setup.create_quota(CreateQuota(op, premiere.id, 25, sales_point_id=sales_point.id))
    d.accounts.set_credit_limit(SetCreditLimit(op, opera.id, hotel.id, chf("1000.00")))
    step(
        f"catalog: {traviata.name} on {premiere.starts_at_text}, agency rate "
        f"{agency_rate.price} (full price {full.price} not offered to agencies), quota 40 > 25, "
        f"credit limit 1000.00 CHF"
    )

    # --- relays log in: the welcome link once, then a password -------------------------------
    # A relay's welcome is in the relay's own language: French for Alice, English for Bob.
    welcome_links = {
        alice.email: link_token(read_mail(out / "mail", alice.email, "Votre accès")),
        bob.email: link_token(read_mail(out / "mail", bob.email, "Your access")),
    }
    for address, link in welcome_links.items():
        # What the relay's browser does on the page the link opens: log in with the link,
        # choose a password, log out.
        by_link = d.identity.login_with_link(LoginWithLink(link, sales_point.id))
        d.identity.change_password(ChangePassword(by_link.token, PASSWORDS[address]))
        d.identity.logout(Logout(by_link.token))
    used_again = refusal(
        lambda: d.identity.login_with_link(
            LoginWithLink(welcome_links[alice.email], sales_point.id)
        )
    )

    def relay_login(address: str) -> str:
        return d.identity.login_relay(LoginRelay(sales_point.id, address, PASSWORDS[address])).token

    alice_s = relay_login(alice.email)
    bob_s = relay_login(bob.email)
    catalog = d.sales.view_catalog(ViewCatalog(alice_s))
    entry = catalog.entries[0]
    step(
        f"Alice and Bob opened their welcome link, chose a password and logged in with it "
        f"(the link again: {used_again}); Alice sees {entry.activity} / {entry.tariff} at "
        f"{entry.price}, {entry.available} places"
    )

    # --- relays sell -----------------------------------------------------------------------
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
            bob_s,
            by_card.id,
            ContactDetails("Jean", "Muller", "jean.muller@example.org", True, language="en"),
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

    # --- forged payloads, as a front end would receive them -------------------------------------
    def forged(data: dict[str, object]) -> str:
        """A JSON body lifting the hotel's credit limit to a billion, as a front end gets it."""
        body = json.dumps(
            {
                "type": "SetCreditLimit",
                "data": {
                    **data,
                    "organization_id": opera.id,
                    "structure_id": hotel.id,
                    "limit": {"amount": "1000000000.00", "currency": "CHF"},
                },
            }
        )
        return refusal(lambda: d.handle(structure_command(json.loads(body))))

    made_up = forged({"token": "tds_" + "A" * 43})
    as_relay = forged({"token": alice_s})
    claimed = forged({"session": {"type": "OperatorSession", "operator": "anyone"}})
    account = d.accounts.view_holding_account(ViewHoldingAccount(op, opera.id, hotel.id))
    step(
        f"forged payload refused: SetCreditLimit to 1000000000 CHF with a made-up token "
        f"{made_up}, with Alice's own relay token {as_relay}, with a session object claiming "
        f"to be an operator {claimed}; the credit limit is still {account.credit_limit}"
    )

    # --- option, reservation ---------------------------------------------------------------
    option = d.sales.request_option(
        RequestOption(alice_s, (LineRequest(premiere.id, agency_rate.id, 4),))
    )
    granted = d.sales.grant_option(GrantOption(op, option.id))
    confirmed = d.sales.confirm_reservation(
        ConfirmReservation(alice_s, granted.id, PaymentMethod.HOLDING_ACCOUNT)
    )
    step(
        f"Alice's option for 4 seats was granted, held until {granted.deadline_text}, "
        f"and confirmed into an order of {confirmed.total}"
    )

    held = d.sales.place_reservation(
        PlaceReservation(bob_s, (LineRequest(premiere.id, agency_rate.id, 6),))
    )
    before = d.sales.view_catalog(ViewCatalog(bob_s)).entries[0].available
    clock.advance(timedelta(days=3))
    expired_session = refusal(lambda: d.sales.view_catalog(ViewCatalog(bob_s)))
    op = operator_login()
    bob_s = relay_login(bob.email)
    alice_s = relay_login(alice.email)
    expired = d.sales.process_due_expiries(ProcessDueExpiries(op))
    after = d.sales.view_catalog(ViewCatalog(bob_s)).entries[0].available
    step(
        f"Bob's reservation of 6 (deadline {held.deadline_text}) expired after 3 days "
        f"({len(expired.reservations_expired)} expired): available {before} -> {after}; "
        f"the sessions had expired too {expired_session}, so everyone logged in again"
    )

    # --- back office: account, invoice, payments -------------------------------------------
    account = d.accounts.view_holding_account(ViewHoldingAccount(op, opera.id, hotel.id))
    step(
        f"holding account of {hotel.name}: {len(account.orders)} orders, outstanding "
        f"{account.outstanding}, available credit {account.available_credit}"
    )
    invoice = d.accounts.issue_invoice(IssueInvoice(op, opera.id, hotel.id))
    vat = ", ".join(
        f"VAT {(Decimal(row.vat_rate) * 100).normalize():f} %: "
        f"net {row.net} + VAT {row.vat} = {row.gross}"
        for row in invoice.vat_breakdown
    )
    invoice_pdf = d.accounts.render_invoice(RenderInvoice(op, invoice.id))
    (out / invoice_pdf.filename).write_bytes(invoice_pdf.content)
    step(
        f"invoice no. {invoice.number} for {len(invoice.order_ids)} orders: {invoice.total} "
        f"({vat}), due on {invoice.due_on}, reference {invoice.reference}; written to "
        f"{invoice_pdf.filename} with its QR-bill and mailed to the hotel's accounts in French"
    )

    # The client of the confirmed option withdraws: the order was invoiced, so a credit note.
    cancelled = d.accounts.cancel_order(CancelOrder(op, confirmed.id))
    credit_note = cancelled.credit_note
    assert credit_note is not None
    credit_pdf = d.accounts.render_invoice(RenderInvoice(op, credit_note.id))
    (out / credit_pdf.filename).write_bytes(credit_pdf.content)
    step(
        f"order {confirmed.id} cancelled after invoicing: credit note no. {credit_note.number} "
        f"of {credit_note.total} negates part of invoice no. {invoice.number}; written to "
        f"{credit_pdf.filename}"
    )
    first = d.accounts.record_payment(
        RecordPayment(
            op,
            opera.id,
            hotel.id,
            chf("100.00"),
            "BANK-2026-0311",
            invoice_reference=invoice.reference,
        )
    )
    due = d.accounts.view_holding_account(ViewHoldingAccount(op, opera.id, hotel.id)).outstanding
    step(
        f"first payment {first.amount}, by the QR reference, goes to invoice no. "
        f"{invoice.number}: {due} still due"
    )
    second = d.accounts.record_payment(
        RecordPayment(
            op, opera.id, hotel.id, due, "BANK-2026-0325", invoice_reference=invoice.reference
        )
    )
    step(
        f"second payment {second.amount}: invoice settled, outstanding {second.outstanding}, "
        f"credit {second.credit}"
    )

    # --- report and mail -------------------------------------------------------------------
    report = d.reports.sales_report(ViewSalesReport(alice_s))
    (out / "sales-report.csv").write_text(report.to_csv())
    report_pdf = d.reports.render_sales_report(RenderSalesReport(alice_s))
    (out / "sales-report.pdf").write_bytes(report_pdf.content)
    per_relay = ", ".join(f"{t.key} {t.quantity} seats {t.amount}" for t in report.by_relay)
    step(
        f"sales report: {len(report.rows)} lines, {report.total.quantity} seats, "
        f"{report.total.amount} ({per_relay}); written to sales-report.csv and sales-report.pdf"
    )
    sent = d.mail.dispatch_mail(DispatchMail(op))
    step(f"{len(sent.sent)} mail(s) delivered to {out / 'mail'} (transfer notice {moved.mail_id})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("out/agency"))
    main(parser.parse_args().out)
