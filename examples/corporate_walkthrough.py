"""The corporate space, start to finish, on SQLite.

A works council buys 35 seats (30 online on its holding account, 5 through the operator by
phone) and hands them out: to members one by one and in bulk from a spreadsheet, to its sports
club whose own relay distributes them on, and on paper at once. A member prints with the final
beneficiary's name, two tickets are taken back and given to someone else, the gates scan, the
mail goes out, the operator exports the beneficiaries, and the dashboard shows
"12 left to distribute of 35". Everyone logs in: the operator and the relays with a password
(the relays chose theirs through the link of their welcome mail), members with the link of
their invitation mail, gates with an API key; a relay whose structure is revoked is refused at
once. PDFs, spreadsheets and mails land under ``--out``.

Run it with ``make demo``, or ``python examples/corporate_walkthrough.py --out out/corporate``.
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import io
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from ticketdomain import (
    AuthorizeStructure,
    ChangePassword,
    ChannelKind,
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
    DistributeToMember,
    DistributeToSubStructure,
    ExportBeneficiaries,
    ExportStock,
    Function,
    ImportDistribution,
    ImportOutcome,
    LineRequest,
    ListDistributedTickets,
    ListMemberTickets,
    LoginOperator,
    LoginRelay,
    LoginWithLink,
    Logout,
    Money,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    PrintAtOnce,
    PrintMemberTickets,
    ReclaimTickets,
    RegisterGate,
    RenderDashboard,
    RevokeStructure,
    ScanResult,
    ScanTicket,
    SecurityPolicy,
    SetMarketingConsent,
    SheetFormat,
    TallyView,
    TicketDomain,
    TicketDomainError,
    ViewDashboard,
    ViewOrder,
    ViewStock,
    format_local,
)
from ticketdomain_argon2 import Argon2PasswordHasher
from ticketdomain_filesystem import FilesystemDocumentStore
from ticketdomain_fpdf import FpdfDocumentRenderer, FpdfTicketRenderer
from ticketdomain_jinja import JinjaMailTemplates
from ticketdomain_maildir import MailDirectoryMailer
from ticketdomain_openpyxl import OpenpyxlSpreadsheetCodec
from ticketdomain_sandbox import SandboxPaymentGateway
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_system import (
    SecretsBarcodeGenerator,
    SecretsTokenGenerator,
    SystemClock,
    UuidIdGenerator,
)

#: where the host's front end takes the links mailed to relays and members
SECURITY = SecurityPolicy(
    relay_link="https://tickets.example.org/relay/login?token={token}",
    member_link="https://tickets.example.org/me/login?token={token}",
)
OPERATOR_EMAIL = "odile.perret@riviera-culture.example"
#: what each person typed when choosing a password (a demo has to write them down somewhere)
PASSWORDS = {
    OPERATOR_EMAIL: "riviera back office at dawn",
    "nina.keller@nestor.example": "Nina's works council passphrase",
    "sam.rey@nestor.example": "sports club, second floor",
}

# Colleagues the works council's relay types into the spreadsheet, two seats each.
COLLEAGUES = (
    ("Paul", "Girard", "paul.girard@nestor.example"),
    ("Sofia", "Rossi", "sofia.rossi@nestor.example"),
    ("Luca", "Bianchi", "luca.bianchi@nestor.example"),
    ("Emma", "Meier", "emma.meier@nestor.example"),
    ("Noah", "Weber", "noah.weber@nestor.example"),
    ("Lea", "Favre", "lea.favre@nestor.example"),
)


def chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


def step(text: str) -> None:
    print(f"- {text}")


def build(out: Path, clock: SystemClock) -> TicketDomain:
    out.mkdir(parents=True, exist_ok=True)
    storage = SqlAlchemyStorage.sqlite(out / "ticketdomain.sqlite3")
    storage.create_schema()
    return TicketDomain(
        storage=storage,
        clock=clock,
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=SandboxPaymentGateway(),
        documents=FilesystemDocumentStore(out / "documents"),
        renderer=FpdfTicketRenderer(),
        document_renderer=FpdfDocumentRenderer(),
        mailer=MailDirectoryMailer(out / "mail", sender="tickets@opera-lausanne.example"),
        mail_templates=JinjaMailTemplates(),
        spreadsheets=OpenpyxlSpreadsheetCodec(),
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


def fill_in(sheet: str, names: dict[str, tuple[str, str, str]]) -> str:
    """What the relay does in a spreadsheet program: type a name and email on some rows."""
    rows = list(csv.DictReader(io.StringIO(sheet, newline="")))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        if row["ticket_id"] in names:
            row["first_name"], row["last_name"], row["email"] = names[row["ticket_id"]]
        writer.writerow(row)
    return buffer.getvalue()


def figures(tally: TallyView) -> str:
    subs = ", ".join(f"{s.structure} {s.count}" for s in tally.to_sub_structures) or "none"
    return (
        f"bought {tally.bought}, received {tally.received}, in stock {tally.in_stock}, "
        f"distributed {tally.distributed} (to individuals {tally.to_individuals}, handed over "
        f"{tally.handed_over}, to sub-structures: {subs}), printed {tally.printed} "
        f"(not yet scanned), controlled {tally.controlled}"
    )


ZURICH = ZoneInfo("Europe/Zurich")


def scanned(result: ScanResult) -> str:
    if result.accepted:
        holder = f"for {result.beneficiary}" if result.beneficiary else "no name on it"
        return f"accepted at {result.gate} ({result.product}, {holder})"
    assert result.rejection is not None
    text = f"rejected at {result.gate}: {result.rejection.value}"
    if result.controlled_at is not None:
        text += f" (controlled at {format_local(result.controlled_at)}, {result.controlled_gate})"
    return text


def main(out: Path) -> None:
    if (out / "ticketdomain.sqlite3").exists():
        (out / "ticketdomain.sqlite3").unlink()
    clock = SystemClock()
    d = build(out, clock)
    # The performance a month from now, at half past seven in Lausanne (CET or CEST).
    evening_at = (clock.now().astimezone(ZURICH) + timedelta(days=30)).replace(
        hour=19, minute=30, second=0, microsecond=0
    )

    # --- the host bootstraps, the operator logs in ---------------------------------------------
    boot = d.host.bootstrap(
        institution_name="Riviera Culture",
        first_name="Odile",
        last_name="Perret",
        email=OPERATOR_EMAIL,
        password=PASSWORDS[OPERATOR_EMAIL],
    )
    institution = boot.institution
    op = d.identity.login_operator(
        LoginOperator(institution.id, OPERATOR_EMAIL, PASSWORDS[OPERATOR_EMAIL])
    ).token
    step(f"the host bootstrapped {institution.name}; its operator logged in with her password")

    # --- operator set-up -------------------------------------------------------------------
    # Its venues are in Lausanne: every time is shown in Europe/Zurich (CET/CEST).
    opera = d.setup.create_organization(
        CreateOrganization(op, "Opera de Lausanne", "CHF", time_zone="Europe/Zurich", language="fr")
    )
    corporate = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Internet Entreprise", ChannelKind.CORPORATE)
    )
    box_office = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Box office", ChannelKind.BOX_OFFICE)
    )
    sales_point = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            opera.id,
            corporate.id,
            "Works councils",
            functions=frozenset({Function.DISTRIBUTION}),
            payment_methods=frozenset({PaymentMethod.HOLDING_ACCOUNT}),
            delivery_modes=frozenset({DeliveryMode.PRINT_AT_HOME}),
            admit_before_settlement=True,
        )
    )
    phone = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            opera.id,
            box_office.id,
            "Phone",
            payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
        )
    )
    step(
        f"operator set up {opera.name} with corporate sales point {sales_point.name!r} "
        f"(distribution on, holding account, tickets admitted before settlement) "
        f"and sales point {phone.name!r}"
    )
    council = d.contacts.create_structure(CreateStructure(op, "Works council Nestor SA"))
    club = d.contacts.create_structure(
        CreateStructure(op, "Nestor sports club", parent_id=council.id)
    )

    def person(first: str, last: str, email: str, structure_id: str, role: ContactRole) -> str:
        return d.contacts.create_individual(
            CreateIndividual(op, first, last, email, structure_id, role)
        ).id

    nina_email, sam_email = "nina.keller@nestor.example", "sam.rey@nestor.example"
    person("Nina", "Keller", nina_email, council.id, ContactRole.RELAY)
    person("Sam", "Rey", sam_email, club.id, ContactRole.RELAY)
    marc_id = person("Marc", "Dupont", "marc.dupont@nestor.example", council.id, ContactRole.MEMBER)
    for structure in (council, club):
        d.setup.authorize_structure(AuthorizeStructure(op, sales_point.id, structure.id))
    step(
        f"{council.name} (relay Nina, member Marc) and its sub-structure {club.name} "
        f"(relay Sam) authorized"
    )
    traviata = d.setup.create_activity(CreateActivity(op, opera.id, "La Traviata"))
    evening = d.setup.create_performance(
        CreatePerformance(op, traviata.id, evening_at, "Opera de Lausanne", 900)
    )
    stalls = d.setup.create_product(CreateProduct(op, traviata.id, "Stalls", Decimal("0.081")))
    tariff = d.setup.create_tariff(CreateTariff(op, stalls.id, "Works council", chf("50.00")))
    d.setup.create_quota(CreateQuota(op, evening.id, 100, channel_id=corporate.id))
    step(
        f"catalog: {traviata.name} on {evening.starts_at_text}, "
        f"{stalls.name} at {tariff.price}, corporate quota 100"
    )

    # --- relays choose a password through their welcome mail ------------------------------
    welcome = d.mail.dispatch_mail(DispatchMail(op))
    for address in (nina_email, sam_email):
        message = read_mail(out / "mail", address, "Your access to the sales point")
        by_link = d.identity.login_with_link(LoginWithLink(link_token(message), sales_point.id))
        d.identity.change_password(ChangePassword(by_link.token, PASSWORDS[address]))
        d.identity.logout(Logout(by_link.token))

    def relay_login(address: str) -> str:
        return d.identity.login_relay(LoginRelay(sales_point.id, address, PASSWORDS[address])).token

    step(
        f"{len(welcome.sent)} welcome mails delivered; Nina and Sam opened their one-time link "
        "and chose a password"
    )

    # --- buying: online and by phone -------------------------------------------------------
    nina = relay_login(nina_email)
    online = d.sales.place_order(
        PlaceOrder(nina, (LineRequest(evening.id, tariff.id, 30),), PaymentMethod.HOLDING_ACCOUNT)
    )
    by_phone = d.sales.place_order_for_structure(
        PlaceOrderForStructure(
            op,
            phone.id,
            council.id,
            (LineRequest(evening.id, tariff.id, 5),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    (line,) = d.distribution.view_stock(ViewStock(nina)).lines
    step(
        f"Nina logged in with her password and bought 30 online ({online.total}), the operator "
        f"5 by phone ({by_phone.total}), both on the holding account: stock {line.summary}"
    )

    # --- distributing to members one by one ------------------------------------------------
    to_marc = d.distribution.distribute_to_member(
        DistributeToMember(nina, evening.id, stalls.id, 2, member_id=marc_id)
    )
    to_julie = d.distribution.distribute_to_member(
        DistributeToMember(
            nina,
            evening.id,
            stalls.id,
            1,
            member=ContactDetails(
                "Julie", "Schmid", "julie.schmid@nestor.example", True, language="de"
            ),
        )
    )
    step(
        f"Nina gave 2 to {to_marc.holder_name} (a member found by id) and 1 to "
        f"{to_julie.holder_name} (created as a member, who reads German); each gets a mail "
        "inviting them to print, in their language"
    )

    # --- distributing in bulk from the spreadsheet -----------------------------------------
    sheet = d.distribution.export_stock(ExportStock(nina))
    (out / "stock-export.csv").write_text(sheet.content)
    ticket_ids = [row["ticket_id"] for row in csv.DictReader(io.StringIO(sheet.content))]
    names = {ticket_id: COLLEAGUES[index // 2] for index, ticket_id in enumerate(ticket_ids[:12])}
    typo = dict(names)
    typo[ticket_ids[6]] = ("Emma", "Meier", "emma.meier.nestor.example")
    try:
        d.distribution.import_distribution(
            ImportDistribution(nina, fill_in(sheet.content, typo).encode())
        )
    except TicketDomainError as refused:
        bad = ", ".join(f"row {row['row']}: {row['code']}" for row in refused.details["rows"])
        step(f"import refused as expected, nothing distributed: [{refused.code}] {bad}")
    filled = fill_in(sheet.content, names)
    (out / "stock-filled.csv").write_text(filled)
    imported = d.distribution.import_distribution(ImportDistribution(nina, filled.encode()))
    step(
        f"exported the stock ({sheet.tickets} rows to stock-export.csv), filled in 12 rows for "
        f"6 colleagues (stock-filled.csv) and imported it: "
        f"{imported.count(ImportOutcome.DISTRIBUTED)} distributed, "
        f"{imported.count(ImportOutcome.UNTOUCHED)} left blank stay in stock, "
        f"{len(imported.mail_ids)} invitations"
    )

    # --- a sub-structure distributes on ----------------------------------------------------
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(nina, evening.id, stalls.id, 3, club.id)
    )
    mistyped = refusal(
        lambda: d.identity.login_relay(LoginRelay(sales_point.id, sam_email, "sports club 2nd"))
    )
    sam = relay_login(sam_email)
    (club_line,) = d.distribution.view_stock(ViewStock(sam)).lines
    step(
        f"Nina handed 3 to {club.name}; Sam mistyped his password {mistyped}, then logged in: "
        f"club stock {club_line.summary}"
    )
    try:
        d.distribution.distribute_to_member(
            DistributeToMember(
                sam,
                evening.id,
                stalls.id,
                4,
                member=ContactDetails("Tom", "Roth", "tom.roth@nestor.example"),
            )
        )
    except TicketDomainError as refused:
        step(f"refused as expected: [{refused.code}] {refused.message}")
    for first, last, quantity in (("Tom", "Roth", 2), ("Ines", "Vogel", 1)):
        d.distribution.distribute_to_member(
            DistributeToMember(
                sam,
                evening.id,
                stalls.id,
                quantity,
                member=ContactDetails(first, last, f"{first}.{last}@nestor.example".lower()),
            )
        )
    step("Sam distributed them on: 2 to Tom Roth, 1 to Ines Vogel")

    # --- printing at once, to hand over by hand --------------------------------------------
    paper = d.distribution.print_at_once(PrintAtOnce(nina, evening.id, stalls.id, 5))
    (out / "handed-over.pdf").write_bytes(paper.content)
    step(f"Nina printed {len(paper.ticket_ids)} at once to hand over (handed-over.pdf)")

    # --- members log in with the link of their invitation mail --------------------------------
    invitations = d.mail.dispatch_mail(DispatchMail(op))

    def member_login(address: str) -> str:
        """Open the invitation mail, click its link: the front end opens the member's space."""
        # The opera writes in French: "Opera de Lausanne : 2 billets à imprimer".
        message = read_mail(out / "mail", address, "à imprimer")
        return d.identity.login_with_link(LoginWithLink(link_token(message))).token

    marc = member_login("marc.dupont@nestor.example")
    step(
        f"{len(invitations.sent)} invitations delivered; Marc opened his and clicked its "
        "one-time link (https://tickets.example.org/me/login?token=tdl_…): his space is open"
    )

    # --- members print with the final beneficiary's name -----------------------------------
    own = d.members.list_member_tickets(ListMemberTickets(marc))
    d.members.set_marketing_consent(SetMarketingConsent(marc, True))
    for_anna = d.members.print_member_tickets(
        PrintMemberTickets(
            marc,
            (own[0].ticket_id,),
            beneficiary="Anna Dupont",
            # who will attend: Anna's own email, and her own answer about marketing
            beneficiary_email="anna.dupont@example.org",
            beneficiary_consent=True,
        )
    )
    for_marc = d.members.print_member_tickets(PrintMemberTickets(marc, (own[1].ticket_id,)))
    (out / "marc-for-anna.pdf").write_bytes(for_anna.content)
    (out / "marc.pdf").write_bytes(for_marc.content)
    step(
        f"Marc saw his {len(own)} tickets, agreed to hear from the opera, and printed "
        "one for Anna Dupont, who will attend and gave her email (marc-for-anna.pdf), and one "
        "for himself (marc.pdf)"
    )
    paul = member_login("paul.girard@nestor.example")
    pauls = tuple(t.ticket_id for t in d.members.list_member_tickets(ListMemberTickets(paul)))
    (out / "paul.pdf").write_bytes(
        d.members.print_member_tickets(PrintMemberTickets(paul, pauls)).content
    )
    step(
        f"Paul Girard logged in from his invitation too and printed his {len(pauls)} tickets "
        "(paul.pdf)"
    )

    def barcodes(session: str) -> dict[str, str]:
        """What is printed on each ticket now (the gate reads it off the PDF's QR code)."""
        return {
            ticket.id: ticket.barcode
            for order_id in (online.id, by_phone.id)
            for ticket in d.sales.view_order(ViewOrder(session, order_id)).tickets
            if ticket.barcode is not None
        }

    printed_before = barcodes(nina)

    # --- taking back and giving to someone else --------------------------------------------
    back = d.distribution.reclaim_tickets(ReclaimTickets(nina, pauls))
    (line,) = d.distribution.view_stock(ViewStock(nina)).lines
    step(
        f"Paul cannot come: Nina took his {len(back.ticket_ids)} tickets back (new barcodes, "
        f"{len(back.mail_ids)} notice to Paul): stock {line.summary}"
    )
    again = d.distribution.distribute_to_member(
        DistributeToMember(
            nina,
            evening.id,
            stalls.id,
            2,
            member=ContactDetails("Claire", "Morel", "claire.morel@nestor.example", True),
        )
    )
    (line,) = d.distribution.view_stock(ViewStock(nina)).lines
    step(f"Nina gave 2 from the stock to {again.holder_name}: stock {line.summary}")

    # --- the gates --------------------------------------------------------------------------
    north = d.identity.register_gate(RegisterGate(op, opera.id, "North gate")).key.token
    south = d.identity.register_gate(
        RegisterGate(op, opera.id, "South gate", performance_ids=frozenset({evening.id}))
    ).key.token
    step(
        "operator registered the North gate and the South gate (this evening only): each "
        "scans with its own API key"
    )
    live = barcodes(nina)
    scans = (
        ("Marc's ticket for Anna", north, live[own[0].ticket_id]),
        ("the same barcode again", south, live[own[0].ticket_id]),
        ("a ticket handed over on paper", south, live[paper.ticket_ids[0]]),
        ("Paul's printed ticket, taken back since", north, printed_before[pauls[0]]),
    )
    for what, gate, barcode in scans:
        result = d.access.scan_ticket(ScanTicket(gate, evening.id, barcode))
        step(f"gate: {what}: {scanned(result)}")

    # --- mail, beneficiaries ----------------------------------------------------------------
    sent = d.mail.dispatch_mail(DispatchMail(op))
    step(f"{len(sent.sent)} mails delivered to {out / 'mail'}, {len(sent.failed)} failed")
    beneficiaries = d.reports.export_beneficiaries(ExportBeneficiaries(op, opera.id))
    (out / "beneficiaries.csv").write_text(beneficiaries.to_csv())
    consenting = sum(1 for row in beneficiaries.rows if row.marketing_consent)
    step(
        f"operator exported {len(beneficiaries.rows)} beneficiaries ({consenting} agree to "
        "marketing) to beneficiaries.csv"
    )

    # --- the dashboard ---------------------------------------------------------------------
    board = d.distribution.view_dashboard(ViewDashboard(nina))
    for product in board.products:
        step(f"dashboard {board.structure}, {product.activity} / {product.product}:")
        step(f"  {product.tally.summary}")
        step(f"  {figures(product.tally)}")
    sub = d.distribution.view_dashboard(ViewDashboard(nina, structure_id=club.id)).total
    step(f"dashboard {club.name}: {sub.summary}; {figures(sub)}")
    (out / "dashboard.pdf").write_bytes(d.reports.render_dashboard(RenderDashboard(nina)).content)
    left = d.distribution.export_stock(ExportStock(nina, format=SheetFormat.XLSX))
    (out / "distribution-sheet.xlsx").write_bytes(left.data)
    step(
        f"the dashboard as dashboard.pdf, and the {left.tickets} tickets still in stock as "
        "distribution-sheet.xlsx, to fill in with Excel and import"
    )
    handed = d.distribution.list_distributed_tickets(ListDistributedTickets(sam))
    holders = sorted({ticket.holder_name or "?" for ticket in handed})
    step(f"Sam sees the {len(handed)} tickets the club distributed, to {', '.join(holders)}")

    # --- a structure revoked: its relay's token stops at once --------------------------------
    d.setup.revoke_structure(RevokeStructure(op, sales_point.id, club.id))
    revoked = refusal(lambda: d.distribution.view_stock(ViewStock(sam)))
    again_login = refusal(lambda: relay_login(sam_email))
    step(
        f"operator revoked {club.name} on {sales_point.name!r}: Sam's token is refused right "
        f"after {revoked}, and so is his password login {again_login}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("out/corporate"))
    main(parser.parse_args().out)
