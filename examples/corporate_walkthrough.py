"""The corporate space, start to finish, on SQLite.

A works council buys 35 seats (30 online on its holding account, 5 through the operator by
phone) and hands them out: to members one by one and in bulk from a spreadsheet, to its sports
club whose own relay distributes them on, and on paper at once. A member prints with the final
beneficiary's name, two tickets are taken back and given to someone else, the gates scan, the
mail goes out, the operator exports the beneficiaries, and the dashboard shows
"12 left to distribute of 35". PDFs, spreadsheets and mails land under ``--out``.

Run it with ``make demo``, or ``python examples/corporate_walkthrough.py --out out/corporate``.
"""

from __future__ import annotations

import argparse
import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from ticketdomain import (
    AuthorizeStructure,
    ChannelKind,
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
    DistributeToMember,
    DistributeToSubStructure,
    ExportBeneficiaries,
    ExportStock,
    Function,
    GateSession,
    ImportDistribution,
    ImportOutcome,
    LineRequest,
    ListDistributedTickets,
    ListMemberTickets,
    LoginMember,
    LoginRelay,
    Money,
    OperatorSession,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    PrintAtOnce,
    PrintMemberTickets,
    ReclaimTickets,
    RelaySession,
    ScanResult,
    ScanTicket,
    SetMarketingConsent,
    TallyView,
    TicketDomain,
    TicketDomainError,
    ViewDashboard,
    ViewOrder,
    ViewStock,
)
from ticketdomain_filesystem import FilesystemDocumentStore
from ticketdomain_fpdf import FpdfTicketRenderer
from ticketdomain_maildir import MailDirectoryMailer
from ticketdomain_sandbox import SandboxPaymentGateway
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_system import SecretsBarcodeGenerator, SystemClock, UuidIdGenerator

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
        mailer=MailDirectoryMailer(out / "mail", sender="tickets@opera-lausanne.example"),
    )


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


def scanned(result: ScanResult) -> str:
    if result.accepted:
        holder = f"for {result.beneficiary}" if result.beneficiary else "no name on it"
        return f"accepted at {result.gate} ({result.product}, {holder})"
    assert result.rejection is not None
    text = f"rejected at {result.gate}: {result.rejection.value}"
    if result.controlled_at is not None:
        text += (
            f" (controlled at {result.controlled_at:%Y-%m-%d %H:%M:%S} "
            f"UTC, {result.controlled_gate})"
        )
    return text


def main(out: Path) -> None:
    if (out / "ticketdomain.sqlite3").exists():
        (out / "ticketdomain.sqlite3").unlink()
    clock = SystemClock()
    d = build(out, clock)
    # The performance a month from now, at half past seven (UTC).
    evening_at = (clock.now() + timedelta(days=30)).replace(
        hour=19, minute=30, second=0, microsecond=0
    )

    # --- operator set-up -------------------------------------------------------------------
    institution = d.setup.create_institution(CreateInstitution("Riviera Culture"))
    opera = d.setup.create_organization(
        CreateOrganization(institution.id, "Opera de Lausanne", "CHF")
    )
    corporate = d.setup.create_sales_channel(
        CreateSalesChannel(institution.id, "Internet Entreprise", ChannelKind.CORPORATE)
    )
    box_office = d.setup.create_sales_channel(
        CreateSalesChannel(institution.id, "Box office", ChannelKind.BOX_OFFICE)
    )
    sales_point = d.setup.create_sales_point(
        CreateSalesPoint(
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
    council = d.contacts.create_structure(
        CreateStructure(institution.id, "Works council Nestor SA")
    )
    club = d.contacts.create_structure(
        CreateStructure(institution.id, "Nestor sports club", parent_id=council.id)
    )

    def person(first: str, last: str, email: str, structure_id: str, role: ContactRole) -> str:
        return d.contacts.create_individual(
            CreateIndividual(institution.id, first, last, email, structure_id, role)
        ).id

    nina_id = person("Nina", "Keller", "nina.keller@nestor.example", council.id, ContactRole.RELAY)
    sam_id = person("Sam", "Rey", "sam.rey@nestor.example", club.id, ContactRole.RELAY)
    marc_id = person("Marc", "Dupont", "marc.dupont@nestor.example", council.id, ContactRole.MEMBER)
    for structure in (council, club):
        d.setup.authorize_structure(AuthorizeStructure(sales_point.id, structure.id))
    step(
        f"{council.name} (relay Nina, member Marc) and its sub-structure {club.name} "
        f"(relay Sam) authorized"
    )
    traviata = d.setup.create_activity(CreateActivity(opera.id, "La Traviata"))
    evening = d.setup.create_performance(
        CreatePerformance(traviata.id, evening_at, "Opera de Lausanne", 900)
    )
    stalls = d.setup.create_product(CreateProduct(traviata.id, "Stalls", Decimal("0.081")))
    tariff = d.setup.create_tariff(CreateTariff(stalls.id, "Works council", chf("50.00")))
    d.setup.create_quota(CreateQuota(evening.id, 100, channel_id=corporate.id))
    step(
        f"catalog: {traviata.name} on {evening.starts_at:%Y-%m-%d %H:%M} UTC, "
        f"{stalls.name} at {tariff.price}, corporate quota 100"
    )
    operator = OperatorSession(opera.id, "back office")

    # --- buying: online and by phone -------------------------------------------------------
    nina = d.sales.login_relay(LoginRelay(nina_id, sales_point.id))
    online = d.sales.place_order(
        PlaceOrder(nina, (LineRequest(evening.id, tariff.id, 30),), PaymentMethod.HOLDING_ACCOUNT)
    )
    by_phone = d.sales.place_order_for_structure(
        PlaceOrderForStructure(
            operator,
            phone.id,
            council.id,
            (LineRequest(evening.id, tariff.id, 5),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    (line,) = d.distribution.view_stock(ViewStock(nina)).lines
    step(
        f"Nina bought 30 online ({online.total}) and the operator 5 by phone ({by_phone.total}), "
        f"both on the holding account: stock {line.summary}"
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
            member=ContactDetails("Julie", "Schmid", "julie.schmid@nestor.example", True),
        )
    )
    step(
        f"Nina gave 2 to {to_marc.holder_name} (a member found by id) and 1 to "
        f"{to_julie.holder_name} (created as a member); each gets a mail inviting them to print"
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
    sam = d.sales.login_relay(LoginRelay(sam_id, sales_point.id))
    (club_line,) = d.distribution.view_stock(ViewStock(sam)).lines
    step(f"Nina handed 3 to {club.name}; Sam logged in: club stock {club_line.summary}")
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

    # --- members print with the final beneficiary's name -----------------------------------
    marc = d.members.login_member(LoginMember(marc_id))
    own = d.members.list_member_tickets(ListMemberTickets(marc))
    d.members.set_marketing_consent(SetMarketingConsent(marc, True))
    for_anna = d.members.print_member_tickets(
        PrintMemberTickets(marc, (own[0].ticket_id,), beneficiary="Anna Dupont")
    )
    for_marc = d.members.print_member_tickets(PrintMemberTickets(marc, (own[1].ticket_id,)))
    (out / "marc-for-anna.pdf").write_bytes(for_anna.content)
    (out / "marc.pdf").write_bytes(for_marc.content)
    step(
        f"Marc logged in, saw his {len(own)} tickets, agreed to hear from the opera, and printed "
        "one for Anna Dupont (marc-for-anna.pdf) and one for himself (marc.pdf)"
    )
    paul_row = next(row for row in imported.rows if row.outcome is ImportOutcome.DISTRIBUTED)
    assert paul_row.holder_id is not None
    paul = d.members.login_member(LoginMember(paul_row.holder_id))
    pauls = tuple(t.ticket_id for t in d.members.list_member_tickets(ListMemberTickets(paul)))
    (out / "paul.pdf").write_bytes(
        d.members.print_member_tickets(PrintMemberTickets(paul, pauls)).content
    )
    step(f"Paul Girard printed his {len(pauls)} tickets (paul.pdf)")

    def barcodes(session: RelaySession) -> dict[str, str]:
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
    north = GateSession(opera.id, "North gate")
    south = GateSession(opera.id, "South gate")
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
    sent = d.mail.dispatch_mail(DispatchMail())
    step(f"{len(sent.sent)} mails delivered to {out / 'mail'}, {len(sent.failed)} failed")
    beneficiaries = d.reports.export_beneficiaries(ExportBeneficiaries(operator))
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
    handed = d.distribution.list_distributed_tickets(ListDistributedTickets(sam))
    holders = sorted({ticket.holder_name or "?" for ticket in handed})
    step(f"Sam sees the {len(handed)} tickets the club distributed, to {', '.join(holders)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("out/corporate"))
    main(parser.parse_args().out)
