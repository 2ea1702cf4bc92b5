"""The corporate space: a works council's stock, its dashboard, distributing tickets to members,
to its sports club or on paper at once, in bulk from a spreadsheet, and taking them back."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any, cast

import attrs
import pytest

from support.corporate import Corporate, chf
from support.state import refused
from ticketdomain import (
    MAX_QUANTITY,
    ActorKind,
    CardPayment,
    ContactDetails,
    ContactRole,
    CreateIndividual,
    CreateStructure,
    Dashboard,
    DispatchMail,
    DistributeToMember,
    DistributeToSubStructure,
    ExportStock,
    Function,
    ImportDistribution,
    ImportOutcome,
    LineRequest,
    ListDistributedTickets,
    ListMemberTickets,
    LoginRelay,
    OptionState,
    OrderView,
    PaymentMethod,
    PlaceOrder,
    PrintAtOnce,
    PrintMemberTickets,
    ReclaimFromSubStructure,
    ReclaimTickets,
    RequestOption,
    RevokeStructure,
    ScanRejection,
    ScanTicket,
    SearchContacts,
    SearchMembers,
    SetSalesPointFunctions,
    SubStructureCount,
    TallyView,
    TicketsDistributed,
    TicketState,
    ViewDashboard,
    ViewHoldingAccount,
    ViewOrder,
    ViewStock,
)
from ticketdomain.core.errors import (
    CsvInvalidError,
    CsvTooLargeError,
    EmailInvalidError,
    ForeignResourceError,
    FunctionDisabledError,
    ImportRejectedError,
    LoginFailedError,
    NameInvalidError,
    NotFoundError,
    PaymentMethodNotAllowedError,
    QuantityInvalidError,
    RecipientInvalidError,
    SalesPointAccessDeniedError,
    SessionInvalidError,
    StateTransitionError,
    StockInsufficientError,
)
from ticketdomain.testing.fakes import RecordingRenderer

LEA = ContactDetails("Lea", "Favre", "lea@example.org")
PASSWORD = "correct horse battery"
ZOE = ContactDetails("Zoe", "Imhof", "zoe@example.org")


# --- helpers, in the words of the corporate space --------------------------------------------


def buy_balcony(c: Corporate, quantity: int, session: str | None = None) -> OrderView:
    return c.world.domain.sales.place_order(
        PlaceOrder(
            session or c.nina,
            (LineRequest(c.performance_id, c.balcony_tariff_id, quantity),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )


def stock(
    c: Corporate, session: str | None = None, structure_id: str | None = None
) -> dict[str, str]:
    """What the relay sees in a structure's stock, per product: "N left to distribute of M"."""
    view = c.world.domain.distribution.view_stock(ViewStock(session or c.nina, structure_id))
    for line in view.lines:
        assert line.summary == f"{line.in_stock} left to distribute of {line.came_in}"
        assert line.performance_id == c.performance_id
        assert line.activity == "La Traviata"
    return {line.product: line.summary for line in view.lines}


def dashboard(
    c: Corporate, session: str | None = None, structure_id: str | None = None
) -> Dashboard:
    board = c.world.domain.distribution.view_dashboard(
        ViewDashboard(session or c.nina, structure_id)
    )
    # rule 3 of DOMAIN.md: what came in is in stock or distributed, per product and in total
    for counts in [board.total, *(p.tally for p in board.products)]:
        assert counts.bought + counts.received == counts.in_stock + counts.distributed
    return board


def per_product(board: Dashboard) -> dict[str, TallyView]:
    return {item.product: item.tally for item in board.products}


def tally(
    *,
    bought: int = 0,
    received: int = 0,
    in_stock: int = 0,
    to_individuals: int = 0,
    handed_over: int = 0,
    subs: tuple[SubStructureCount, ...] = (),
    printed: int = 0,
    controlled: int = 0,
    cancelled: int = 0,
) -> TallyView:
    return TallyView(
        bought=bought,
        received=received,
        in_stock=in_stock,
        distributed=to_individuals + handed_over + sum(s.count for s in subs),
        to_individuals=to_individuals,
        handed_over=handed_over,
        to_sub_structures=subs,
        printed=printed,
        controlled=controlled,
        cancelled=cancelled,
    )


def club(c: Corporate, count: int) -> tuple[SubStructureCount, ...]:
    return (SubStructureCount(c.club_id, "Nestor sports club", count),)


def give(
    c: Corporate,
    quantity: int,
    member: ContactDetails | None = LEA,
    session: str | None = None,
    member_id: str | None = None,
    product_id: str | None = None,
) -> TicketsDistributed:
    return c.world.domain.distribution.distribute_to_member(
        DistributeToMember(
            session or c.nina,
            c.performance_id,
            product_id or c.product_id,
            quantity,
            member_id=member_id,
            member=None if member_id else member,
        )
    )


def hand_to_club(c: Corporate, quantity: int) -> tuple[str, ...]:
    return c.world.domain.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(c.nina, c.performance_id, c.product_id, quantity, c.club_id)
    ).ticket_ids


def tickets(c: Corporate, order_id: str) -> dict[str, tuple[TicketState, str | None]]:
    """State and live barcode of each ticket of one of the works council's orders."""
    view = c.world.domain.sales.view_order(ViewOrder(c.nina, order_id))
    return {t.id: (t.state, t.barcode) for t in view.tickets}


def member_session(c: Corporate, individual_id: str) -> str:
    """A session in the individual space, opened by the host for an individual it knows."""
    return c.world.domain.host.open_session(ActorKind.MEMBER, individual_id).token


def welcomes_sent(c: Corporate) -> None:
    """Send the welcome mails queued when the relays were created, and forget them."""
    c.world.domain.mail.dispatch_mail(DispatchMail(c.operator))
    c.world.mailer.outbox.clear()


def sheet(rows: list[tuple[str, str, str, str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["ticket_id", "first_name", "last_name", "email"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def fill_in(exported: str, names: dict[str, tuple[str, str, str]], delimiter: str = ",") -> str:
    """The exported sheet as a spreadsheet program saves it after the relay typed the names."""
    reader = csv.DictReader(io.StringIO(exported))
    assert reader.fieldnames is not None
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=reader.fieldnames, delimiter=delimiter, lineterminator="\r\n"
    )
    writer.writeheader()
    for row in reader:
        if row["ticket_id"] in names:
            row["first_name"], row["last_name"], row["email"] = names[row["ticket_id"]]
        writer.writerow(row)
    return out.getvalue()


# --- the corporate sales point ---------------------------------------------------------------


def test_a_corporate_sales_point_takes_option_requests_and_holding_account_orders(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    option = d.sales.request_option(
        RequestOption(c.nina, (LineRequest(c.performance_id, c.tariff_id, 10),))
    )
    assert option.state is OptionState.REQUESTED
    assert option.structure_id == c.council_id

    order = c.buy(2)
    assert order.payment_method is PaymentMethod.HOLDING_ACCOUNT
    account = d.accounts.view_holding_account(
        ViewHoldingAccount(c.operator, c.organization_id, c.council_id)
    )
    assert account.outstanding == chf("100.00")
    assert stock(c) == {"Stalls": "2 left to distribute of 2"}

    with refused(c.world, PaymentMethodNotAllowedError, "payment_method_not_allowed"):
        d.sales.place_order(
            PlaceOrder(
                c.nina,
                (LineRequest(c.performance_id, c.tariff_id, 1),),
                PaymentMethod.CARD,
                card=CardPayment("tok_visa"),
            )
        )


def test_only_relays_of_authorized_structures_log_in_to_the_corporate_space(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    outsider = d.contacts.create_structure(CreateStructure(c.operator, "Outsider SA"))
    stranger = d.contacts.create_individual(
        CreateIndividual(
            c.operator, "Tom", "Stranger", "tom@outsider.ch", outsider.id, ContactRole.RELAY
        )
    )
    d.host.set_password(ActorKind.RELAY, stranger.id, PASSWORD)
    d.host.set_password(ActorKind.MEMBER, c.marc_id, PASSWORD)
    d.host.set_password(ActorKind.RELAY, c.sam_id, PASSWORD)
    # a relay of a structure not authorized on the sales point knows its password, in vain
    with refused(c.world, SalesPointAccessDeniedError, "sales_point_access_denied"):
        d.identity.login_relay(LoginRelay(c.sales_point_id, "tom@outsider.ch", PASSWORD))
    # a member is no relay, and an unknown email is nobody's: the same answer for both
    for email in ("marc@nestor.ch", "nobody@nestor.ch"):
        with refused(c.world, LoginFailedError, "login_failed"):
            d.identity.login_relay(LoginRelay(c.sales_point_id, email, PASSWORD))
    session = d.identity.login_relay(LoginRelay(c.sales_point_id, "sam@nestor.ch", PASSWORD))
    relay = d.host.who(session.token)
    assert (relay.kind, relay.id) == (ActorKind.RELAY, c.sam_id)
    assert (relay.structure_id, relay.sales_point_id) == (c.club_id, c.sales_point_id)


# --- stock ------------------------------------------------------------------------------------


def test_what_the_structure_bought_online_or_by_phone_is_in_its_stock(
    corporate: Corporate,
) -> None:
    c = corporate
    c.buy(20)
    c.buy_by_phone(15)
    assert stock(c) == {"Stalls": "35 left to distribute of 35"}
    give(c, 20)
    c.world.domain.distribution.print_at_once(
        PrintAtOnce(c.nina, c.performance_id, c.product_id, 3)
    )
    assert stock(c) == {"Stalls": "12 left to distribute of 35"}
    board = dashboard(c)
    assert board.total == tally(bought=35, in_stock=12, to_individuals=20, handed_over=3, printed=3)
    assert board.total.summary == "12 left to distribute of 35"
    # nothing of it shows in another company's stock, nor in the sports club's
    assert stock(c, c.olga) == {}
    assert stock(c, c.sam) == {}


def test_stock_and_dashboard_are_kept_per_product(corporate: Corporate) -> None:
    c = corporate
    c.buy(5)
    buy_balcony(c, 3)
    give(c, 2)
    c.world.domain.distribution.print_at_once(
        PrintAtOnce(c.nina, c.performance_id, c.balcony_id, 1)
    )
    hand_to_club(c, 1)
    assert stock(c) == {
        "Balcony": "2 left to distribute of 3",
        "Stalls": "2 left to distribute of 5",
    }
    board = dashboard(c)
    assert [p.product for p in board.products] == ["Balcony", "Stalls"]
    assert {p.activity for p in board.products} == {"La Traviata"}
    assert per_product(board) == {
        "Balcony": tally(bought=3, in_stock=2, handed_over=1, printed=1),
        "Stalls": tally(bought=5, in_stock=2, to_individuals=2, subs=club(c, 1)),
    }
    assert board.total == tally(
        bought=8, in_stock=4, to_individuals=2, handed_over=1, subs=club(c, 1), printed=1
    )
    assert (board.structure_id, board.structure) == (c.council_id, "Works council Nestor SA")


# --- distributing to an individual ----------------------------------------------------------


def test_distributing_to_a_new_contact_makes_them_a_member_and_queues_an_invitation(
    corporate: Corporate,
) -> None:
    c = corporate
    welcomes_sent(c)
    d, w = c.world.domain, c.world
    order = c.buy(5)
    given = give(c, 2)
    assert (given.holder_name, given.holder_email) == ("Lea Favre", "lea@example.org")
    assert len(given.ticket_ids) == 2 and set(given.ticket_ids) <= set(tickets(c, order.id))
    (lea,) = d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "lea@"))
    assert (lea.id, lea.role, lea.structure_id) == (
        given.holder_id,
        ContactRole.MEMBER,
        c.council_id,
    )

    distributed = d.distribution.list_distributed_tickets(ListDistributedTickets(c.nina))
    assert sorted(t.ticket_id for t in distributed) == sorted(given.ticket_ids)
    assert {(t.state, t.holder_id, t.holder_name, t.holder_email) for t in distributed} == {
        (TicketState.DISTRIBUTED, lea.id, "Lea Favre", "lea@example.org")
    }
    assert stock(c) == {"Stalls": "3 left to distribute of 5"}
    assert dashboard(c).total == tally(bought=5, in_stock=3, to_individuals=2)

    # queued in the outbox, sent when the outbox is dispatched
    assert w.mailer.outbox == []
    assert d.mail.dispatch_mail(DispatchMail(c.operator)).sent == (given.mail_id,)
    (mail,) = w.mailer.outbox
    assert str(mail.to) == "lea@example.org"
    assert mail.subject == "Opera de Lausanne: 2 ticket(s) to print"
    assert "Works council Nestor SA sent you 2 ticket(s)" in mail.body
    assert mail.body.count("La Traviata") == 2
    assert d.mail.dispatch_mail(DispatchMail(c.operator)).sent == ()


def test_distributing_to_an_existing_member_by_id_or_by_email_finds_them(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    c.buy(4)
    members_before = d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "@"))
    by_id = give(c, 1, member_id=c.marc_id)
    by_email = give(c, 2, ContactDetails("Marcel", "Other name", "Marc@Nestor.CH"))
    assert by_id.holder_id == by_email.holder_id == c.marc_id
    assert by_email.holder_name == "Marc Dupont"
    assert (
        d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "@")) == members_before
    )
    own = d.members.list_member_tickets(ListMemberTickets(c.marc))
    assert sorted(t.ticket_id for t in own) == sorted(by_id.ticket_ids + by_email.ticket_ids)
    d.mail.dispatch_mail(DispatchMail(c.operator))
    assert [m.subject for m in w.mailer.sent_to("marc@nestor.ch")] == [
        "Opera de Lausanne: 1 ticket(s) to print",
        "Opera de Lausanne: 2 ticket(s) to print",
    ]


# --- to a sub-structure ---------------------------------------------------------------------


def test_tickets_handed_to_the_sports_club_join_its_stock_for_its_relays(
    corporate: Corporate,
) -> None:
    c = corporate
    welcomes_sent(c)
    d, w = c.world.domain, c.world
    c.buy(10)
    handed = d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(c.nina, c.performance_id, c.product_id, 4, c.club_id)
    )
    assert handed.sub_structure_id == c.club_id and len(handed.ticket_ids) == 4
    assert stock(c) == {"Stalls": "6 left to distribute of 10"}
    assert stock(c, c.sam) == {"Stalls": "4 left to distribute of 4"}
    assert dashboard(c).total == tally(bought=10, in_stock=6, subs=club(c, 4))
    # handed down is not handed out: no mail, nobody holds them yet
    assert d.mail.dispatch_mail(DispatchMail(c.operator)).sent == ()

    zoe = give(c, 1, ZOE, session=c.sam)
    assert zoe.ticket_ids[0] in handed.ticket_ids
    (found,) = d.contacts.search_contacts(SearchContacts(c.operator, c.club_id, "zoe@"))
    assert found.structure_id == c.club_id
    d.distribution.print_at_once(PrintAtOnce(c.sam, c.performance_id, c.product_id, 1))
    d.mail.dispatch_mail(DispatchMail(c.operator))
    (mail,) = w.mailer.sent_to("zoe@example.org")
    assert "Nestor sports club sent you 1 ticket(s)" in mail.body

    club_board = tally(received=4, in_stock=2, to_individuals=1, handed_over=1, printed=1)
    assert dashboard(c, c.sam).total == club_board
    # the works council sees what it handed down, read-only, as the club's relays see it
    assert dashboard(c, c.nina, c.club_id).total == club_board
    assert stock(c, c.nina, c.club_id) == {"Stalls": "2 left to distribute of 4"}
    assert dashboard(c).total == tally(bought=10, in_stock=6, subs=club(c, 4), printed=1)
    listed = d.distribution.list_distributed_tickets(ListDistributedTickets(c.nina, c.club_id))
    assert {(t.holder_name, t.state) for t in listed} == {
        ("Zoe Imhof", TicketState.DISTRIBUTED),
        (None, TicketState.PRINTED),
    }
    assert d.distribution.list_distributed_tickets(ListDistributedTickets(c.nina)) == ()


def test_a_sub_structure_does_not_see_its_parents_or_a_strangers_stock(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    c.buy(2)
    for session, structure_id in [
        (c.sam, c.council_id),
        (c.olga, c.council_id),
        (c.olga, c.club_id),
        (c.nina, c.other_company_id),
    ]:
        with refused(w, ForeignResourceError, "foreign_resource"):
            d.distribution.view_stock(ViewStock(session, structure_id))
        with refused(w, ForeignResourceError, "foreign_resource"):
            d.distribution.view_dashboard(ViewDashboard(session, structure_id))
        with refused(w, ForeignResourceError, "foreign_resource"):
            d.distribution.list_distributed_tickets(ListDistributedTickets(session, structure_id))
    with refused(w, NotFoundError, "not_found"):
        d.distribution.view_dashboard(ViewDashboard(c.nina, "structure-404"))


def test_a_structure_sees_every_level_below_it(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    team = d.contacts.create_structure(
        CreateStructure(c.operator, "Nestor running team", parent_id=c.club_id)
    )
    c.buy(3)
    hand_to_club(c, 3)
    assert dashboard(c, c.nina, team.id).total == tally()
    assert dashboard(c, c.sam, team.id).total == tally()
    with refused(c.world, ForeignResourceError, "foreign_resource"):
        dashboard(c, c.olga, team.id)
    assert dashboard(c).total == tally(bought=3, subs=club(c, 3))


# --- printing at once -----------------------------------------------------------------------


def test_printing_at_once_renders_a_pdf_without_mail_or_assignment(corporate: Corporate) -> None:
    c = corporate
    welcomes_sent(c)
    d, w = c.world.domain, c.world
    order = c.buy(5)
    document = d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 3))
    assert document.media_type == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    rendered = RecordingRenderer.read(document.content)
    assert sorted(t["ticket_id"] for t in rendered) == sorted(document.ticket_ids)
    assert {t["beneficiary"] for t in rendered} == {"Works council Nestor SA"}
    states = tickets(c, order.id)
    assert {t["barcode"] for t in rendered} == {states[id][1] for id in document.ticket_ids}
    assert {states[id][0] for id in document.ticket_ids} == {TicketState.PRINTED}

    listed = d.distribution.list_distributed_tickets(ListDistributedTickets(c.nina))
    assert {(t.state, t.holder_id) for t in listed} == {(TicketState.PRINTED, None)}
    assert d.mail.dispatch_mail(DispatchMail(c.operator)).sent == () and w.mailer.outbox == []
    assert dashboard(c).total == tally(bought=5, in_stock=2, handed_over=3, printed=3)


# --- in bulk from a spreadsheet -------------------------------------------------------------


def test_the_stock_exports_one_row_per_ticket_with_names_left_to_fill_in(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    stalls = c.buy(3)
    balcony = buy_balcony(c, 2)
    given = give(c, 1)
    exported = d.distribution.export_stock(ExportStock(c.nina))
    assert (exported.media_type, exported.tickets) == ("text/csv", 4)
    assert exported.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(exported.content)))
    in_stock = (set(tickets(c, stalls.id)) | set(tickets(c, balcony.id))) - set(given.ticket_ids)
    assert {row["ticket_id"] for row in rows} == in_stock
    assert {(row["first_name"], row["last_name"], row["email"]) for row in rows} == {("", "", "")}
    assert {(row["activity"], row["venue"]) for row in rows} == {
        ("La Traviata", "Opera de Lausanne")
    }
    assert sorted(row["product"] for row in rows) == ["Balcony", "Balcony", "Stalls", "Stalls"]

    only_balcony = d.distribution.export_stock(ExportStock(c.nina, c.performance_id, c.balcony_id))
    assert only_balcony.tickets == 2
    assert d.distribution.export_stock(ExportStock(c.olga)).tickets == 0


def test_an_import_distributes_the_filled_rows_and_leaves_blank_rows_in_stock(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    c.buy(4)
    exported = d.distribution.export_stock(ExportStock(c.nina))
    first, second, third, fourth = sorted(
        row["ticket_id"] for row in csv.DictReader(io.StringIO(exported.content))
    )
    content = fill_in(
        exported.content,
        {
            first: ("Ann", "Muller", "ann@example.org"),
            second: ("Ann", "Muller", "ann@example.org"),
            third: ("Marc", "Dupont", "marc@nestor.ch"),
        },
    )
    report = d.distribution.import_distribution(ImportDistribution(c.nina, content.encode("utf-8")))
    assert [(row.ticket_id, row.outcome) for row in report.rows] == [
        (first, ImportOutcome.DISTRIBUTED),
        (second, ImportOutcome.DISTRIBUTED),
        (third, ImportOutcome.DISTRIBUTED),
        (fourth, ImportOutcome.UNTOUCHED),
    ]
    assert [row.row for row in report.rows] == [2, 3, 4, 5]
    ann_id = report.rows[0].holder_id
    assert ann_id is not None and report.rows[1].holder_id == ann_id
    assert report.rows[2].holder_id == c.marc_id
    # one invitation per individual
    assert len(report.mail_ids) == 2
    assert stock(c) == {"Stalls": "1 left to distribute of 4"}
    assert [t.ticket_id for t in d.members.list_member_tickets(ListMemberTickets(c.marc))] == [
        third
    ]
    ann = member_session(c, ann_id)
    assert sorted(t.ticket_id for t in d.members.list_member_tickets(ListMemberTickets(ann))) == [
        first,
        second,
    ]
    d.mail.dispatch_mail(DispatchMail(c.operator))
    assert [m.subject for m in w.mailer.sent_to("ann@example.org")] == [
        "Opera de Lausanne: 2 ticket(s) to print"
    ]
    assert len(w.mailer.sent_to("marc@nestor.ch")) == 1
    # the same sheet again: those tickets are no longer in stock
    with refused(w, ImportRejectedError, "import_rejected") as caught:
        d.distribution.import_distribution(ImportDistribution(c.nina, content.encode("utf-8")))
    assert {row["code"] for row in caught.value.details["rows"]} == {"ticket_not_in_stock"}


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "utf-8-sig"), ("\t", "utf-8"), (",", "utf-8-sig")],
    ids=["semicolon with BOM", "tab", "comma with BOM"],
)
def test_sheets_saved_by_spreadsheet_programs_are_read(
    corporate: Corporate, delimiter: str, encoding: str
) -> None:
    c = corporate
    d = c.world.domain
    c.buy(2)
    exported = d.distribution.export_stock(ExportStock(c.nina))
    first = min(row["ticket_id"] for row in csv.DictReader(io.StringIO(exported.content)))
    content = fill_in(
        exported.content, {first: ("Chloé", "Zürcher", "chloe@example.org")}, delimiter
    )
    report = d.distribution.import_distribution(
        ImportDistribution(c.nina, content.encode(encoding))
    )
    assert report.count(ImportOutcome.DISTRIBUTED) == 1
    assert report.count(ImportOutcome.UNTOUCHED) == 1
    (row,) = [row for row in report.rows if row.outcome is ImportOutcome.DISTRIBUTED]
    assert row.ticket_id == first
    assert row.holder_id is not None
    (chloe,) = d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "chloe@"))
    assert (chloe.first_name, chloe.last_name) == ("Chloé", "Zürcher")


def bad_sheet(c: Corporate) -> tuple[bytes, dict[str, str]]:
    """A filled-in sheet with one good row and one row of each kind of mistake."""
    c.buy(5)
    given = give(c, 1, member_id=c.marc_id)
    foreign = c.buy(1, c.olga)
    foreign_ticket = next(iter(tickets_of(c, foreign, c.olga)))
    left = sorted(
        row["ticket_id"]
        for row in csv.DictReader(
            io.StringIO(c.world.domain.distribution.export_stock(ExportStock(c.nina)).content)
        )
    )
    ids = {"good": left[0], "bad_email": left[1], "incomplete": left[2], "blank": left[3]}
    ids["distributed"] = given.ticket_ids[0]
    ids["foreign"] = foreign_ticket
    content = sheet(
        [
            (ids["good"], "Ann", "Muller", "ann@example.org"),
            (ids["bad_email"], "Ben", "Meier", "ben-at-example.org"),
            ("ticket-999", "Cy", "Roth", "cy@example.org"),
            (ids["distributed"], "Di", "Frey", "di@example.org"),
            (ids["incomplete"], "Ed", "", "ed@example.org"),
            (ids["good"], "Fa", "Graf", "fa@example.org"),
            (ids["foreign"], "Gil", "Hug", "gil@example.org"),
            (ids["blank"], "", "", ""),
            ("", "Hal", "Iten", "hal@example.org"),
        ]
    )
    return content, ids


def tickets_of(c: Corporate, order: OrderView, session: str) -> list[str]:
    return [t.id for t in c.world.domain.sales.view_order(ViewOrder(session, order.id)).tickets]


def expected_rejections(ids: dict[str, str]) -> list[tuple[int, str, str]]:
    return [
        (3, ids["bad_email"], "email_invalid"),
        (4, "ticket-999", "ticket_unknown"),
        (5, ids["distributed"], "ticket_not_in_stock"),
        (6, ids["incomplete"], "incomplete"),
        (7, ids["good"], "duplicate_ticket"),
        (8, ids["foreign"], "ticket_not_in_stock"),
        (10, "", "incomplete"),
    ]


def test_a_bad_row_rejects_the_whole_import_with_a_report_per_row(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    content, ids = bad_sheet(c)
    with refused(w, ImportRejectedError, "import_rejected") as caught:
        d.distribution.import_distribution(ImportDistribution(c.nina, content))
    rows = caught.value.details["rows"]
    assert [(row["row"], row["ticket_id"], row["code"]) for row in rows] == expected_rejections(ids)
    assert all(isinstance(row["message"], str) and row["message"] for row in rows)
    assert stock(c) == {"Stalls": "4 left to distribute of 5"}
    assert d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "ann@")) == ()


def test_apply_valid_rows_distributes_the_good_rows_and_reports_the_rest(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    content, ids = bad_sheet(c)
    report = d.distribution.import_distribution(
        ImportDistribution(c.nina, content, apply_valid_rows=True)
    )
    rejected = [
        (row.row, row.ticket_id, row.code)
        for row in report.rows
        if row.outcome is ImportOutcome.REJECTED
    ]
    assert rejected == expected_rejections(ids)
    assert all(row.message for row in report.rows if row.outcome is ImportOutcome.REJECTED)
    (good,) = [row for row in report.rows if row.outcome is ImportOutcome.DISTRIBUTED]
    (blank,) = [row for row in report.rows if row.outcome is ImportOutcome.UNTOUCHED]
    assert (good.row, good.ticket_id) == (2, ids["good"])
    assert (blank.row, blank.ticket_id) == (9, ids["blank"])
    (ann,) = d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "ann@"))
    assert good.holder_id == ann.id
    assert len(report.mail_ids) == 1
    d.mail.dispatch_mail(DispatchMail(c.operator))
    assert [str(m.to) for m in w.mailer.outbox if m.id in report.mail_ids] == ["ann@example.org"]
    assert stock(c) == {"Stalls": "3 left to distribute of 5"}


def test_a_file_that_is_not_a_distribution_sheet_is_refused(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    c.buy(2)
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
    latin1 = "ticket_id,first_name,last_name,email\nticket-1,Chloé,Zürcher,c@example.org\n"
    for content in [
        pdf,
        latin1.encode("latin-1"),
        b"ticket_id,first_name,email\nticket-1,Ann,ann@example.org\n",
        b"name;email\nAnn;ann@example.org\n",
        b"",
        b"ticket_id,first_name,last_name,email\x00\n",
    ]:
        with refused(w, CsvInvalidError, "csv_invalid"):
            d.distribution.import_distribution(ImportDistribution(c.nina, content))
    with refused(w, CsvInvalidError) as caught:
        d.distribution.import_distribution(
            ImportDistribution(c.nina, b"ticket_id,first_name,email\n")
        )
    assert caught.value.details["missing"] == ["last_name"]
    oversized = sheet([]) + b"," * (2 * 1024 * 1024)
    with refused(w, CsvTooLargeError, "csv_too_large"):
        d.distribution.import_distribution(ImportDistribution(c.nina, oversized))
    too_many_rows = sheet([("", "", "", "")] * 10_001)
    with refused(w, CsvTooLargeError, "csv_too_large"):
        d.distribution.import_distribution(ImportDistribution(c.nina, too_many_rows))
    assert stock(c) == {"Stalls": "2 left to distribute of 2"}


# --- reclaiming -----------------------------------------------------------------------------


def test_reclaiming_from_a_member_revokes_the_barcode_tells_them_and_restocks(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    order = c.buy(2)
    given = give(c, 2)
    lea = member_session(c, given.holder_id)
    d.members.print_member_tickets(PrintMemberTickets(lea, given.ticket_ids))
    taken, kept = sorted(given.ticket_ids)
    printed_barcode = tickets(c, order.id)[taken][1]
    assert printed_barcode is not None
    d.mail.dispatch_mail(DispatchMail(c.operator))
    w.mailer.outbox.clear()

    reclaimed = d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (taken,)))
    assert reclaimed.ticket_ids == (taken,) and len(reclaimed.mail_ids) == 1
    state, new_barcode = tickets(c, order.id)[taken]
    assert state is TicketState.BOUGHT
    assert new_barcode is not None and new_barcode != printed_barcode
    assert tickets(c, order.id)[kept][0] is TicketState.PRINTED
    assert [t.ticket_id for t in d.members.list_member_tickets(ListMemberTickets(lea))] == [kept]
    assert stock(c) == {"Stalls": "1 left to distribute of 2"}
    assert dashboard(c).total == tally(bought=2, in_stock=1, to_individuals=1, printed=1)
    scan = d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, printed_barcode))
    assert scan.rejection is ScanRejection.REVOKED

    d.mail.dispatch_mail(DispatchMail(c.operator))
    (mail,) = w.mailer.outbox
    assert str(mail.to) == "lea@example.org"
    assert mail.subject == "Works council Nestor SA took back 1 ticket(s)"

    # in stock again: it can go to someone else
    again = give(c, 1, member_id=c.marc_id)
    assert again.ticket_ids == (taken,)
    assert [t.ticket_id for t in d.members.list_member_tickets(ListMemberTickets(c.marc))] == [
        taken
    ]


def test_reclaiming_a_ticket_printed_at_once_mails_nobody(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    order = c.buy(1)
    (ticket_id,) = d.distribution.print_at_once(
        PrintAtOnce(c.nina, c.performance_id, c.product_id, 1)
    ).ticket_ids
    printed_barcode = tickets(c, order.id)[ticket_id][1]
    reclaimed = d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (ticket_id,)))
    assert reclaimed == type(reclaimed)((ticket_id,), ())
    state, barcode = tickets(c, order.id)[ticket_id]
    assert state is TicketState.BOUGHT and barcode not in (None, printed_barcode)
    assert dashboard(c).total == tally(bought=1, in_stock=1)


def test_a_controlled_ticket_is_not_reclaimed(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    order = c.buy(2)
    given = give(c, 2, member_id=c.marc_id)
    d.members.print_member_tickets(PrintMemberTickets(c.marc, given.ticket_ids))
    entered, other = sorted(given.ticket_ids)
    barcode = tickets(c, order.id)[entered][1]
    assert barcode is not None
    assert d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, barcode)).accepted
    # the ticket that may be taken back is not taken either: all or nothing
    with refused(w, StateTransitionError, "state_transition_refused"):
        d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (other, entered)))
    assert tickets(c, order.id)[other][0] is TicketState.PRINTED


def test_only_tickets_distributed_from_the_relays_stock_are_reclaimed(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    order = c.buy(4)
    handed = hand_to_club(c, 2)
    given = give(c, 1)
    (in_stock,) = set(tickets(c, order.id)) - set(handed) - set(given.ticket_ids)
    zoe = give(c, 1, ZOE, session=c.sam)
    (olga_ticket,) = tickets_of(c, c.buy(1, c.olga), c.olga)

    with refused(w, StateTransitionError, "state_transition_refused"):
        d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (in_stock,)))
    # what the sports club handed out is the club's to take back
    with refused(w, ForeignResourceError, "foreign_resource"):
        d.distribution.reclaim_tickets(ReclaimTickets(c.nina, zoe.ticket_ids))
    with refused(w, ForeignResourceError, "foreign_resource"):
        d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (olga_ticket,)))
    with refused(w, ForeignResourceError, "foreign_resource"):
        d.distribution.reclaim_tickets(ReclaimTickets(c.sam, given.ticket_ids))
    with refused(w, NotFoundError, "not_found"):
        d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (*given.ticket_ids, "ticket-404")))
    for ids in [(), tuple(f"ticket-{n}" for n in range(MAX_QUANTITY + 1)), given.ticket_ids[0]]:
        with refused(w, QuantityInvalidError, "quantity_invalid"):
            d.distribution.reclaim_tickets(ReclaimTickets(c.nina, cast(Any, ids)))
    assert d.distribution.reclaim_tickets(ReclaimTickets(c.sam, zoe.ticket_ids)).ticket_ids == (
        zoe.ticket_ids
    )
    assert stock(c, c.sam) == {"Stalls": "2 left to distribute of 2"}
    assert d.distribution.reclaim_tickets(ReclaimTickets(c.nina, given.ticket_ids)).mail_ids
    assert stock(c) == {"Stalls": "2 left to distribute of 4"}


def test_reclaiming_from_the_sports_club_takes_back_only_what_was_handed_down(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    c.buy(3)
    handed = set(hand_to_club(c, 3))
    zoe = give(c, 1, ZOE, session=c.sam)
    own = c.buy(2, c.sam)
    assert stock(c, c.sam) == {"Stalls": "4 left to distribute of 5"}

    with refused(w, StockInsufficientError, "stock_insufficient") as caught:
        d.distribution.reclaim_from_sub_structure(
            ReclaimFromSubStructure(c.nina, c.club_id, c.performance_id, c.product_id, 3)
        )
    assert (caught.value.details["in_stock"], caught.value.details["requested"]) == (2, 3)
    back = d.distribution.reclaim_from_sub_structure(
        ReclaimFromSubStructure(c.nina, c.club_id, c.performance_id, c.product_id, 2)
    )
    assert set(back.ticket_ids) == handed - set(zoe.ticket_ids)
    assert back.mail_ids == ()
    assert stock(c) == {"Stalls": "2 left to distribute of 3"}
    assert stock(c, c.sam) == {"Stalls": "2 left to distribute of 3"}
    assert dashboard(c).total == tally(bought=3, in_stock=2, subs=club(c, 1))
    assert dashboard(c, c.sam).total == tally(bought=2, received=1, in_stock=2, to_individuals=1)
    # what the club bought itself stays with the club
    with refused(w, StockInsufficientError, "stock_insufficient"):
        d.distribution.reclaim_from_sub_structure(
            ReclaimFromSubStructure(c.nina, c.club_id, c.performance_id, c.product_id, 1)
        )
    own_tickets = d.sales.view_order(ViewOrder(c.sam, own.id)).tickets
    assert {(t.state, t.stock_structure_id) for t in own_tickets} == {
        (TicketState.BOUGHT, c.club_id)
    }
    # taken back, distributable again
    document = d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 2))
    assert set(document.ticket_ids) == set(back.ticket_ids)


# --- refusals -------------------------------------------------------------------------------

QuantityCommand = Callable[[Corporate, Any], object]

TAKING_FROM_STOCK: dict[str, QuantityCommand] = {
    "to a member": lambda c, n: DistributeToMember(
        c.nina, c.performance_id, c.product_id, n, member_id=c.marc_id
    ),
    "to a new contact": lambda c, n: DistributeToMember(
        c.nina, c.performance_id, c.product_id, n, member=LEA
    ),
    "to a sub-structure": lambda c, n: DistributeToSubStructure(
        c.nina, c.performance_id, c.product_id, n, c.club_id
    ),
    "printed at once": lambda c, n: PrintAtOnce(c.nina, c.performance_id, c.product_id, n),
    "back from a sub-structure": lambda c, n: ReclaimFromSubStructure(
        c.nina, c.club_id, c.performance_id, c.product_id, n
    ),
}


@pytest.mark.parametrize("make", list(TAKING_FROM_STOCK.values()), ids=list(TAKING_FROM_STOCK))
@pytest.mark.parametrize(
    "quantity", [0, -1, MAX_QUANTITY + 1, 10**18, True, 1.5, "2", None], ids=repr
)
def test_a_quantity_that_is_not_a_positive_whole_number_is_refused(
    corporate: Corporate, make: QuantityCommand, quantity: Any
) -> None:
    c = corporate
    c.buy(5)
    hand_to_club(c, 2)
    with refused(c.world, QuantityInvalidError, "quantity_invalid"):
        c.world.domain.handle(make(c, quantity))


@pytest.mark.parametrize("make", list(TAKING_FROM_STOCK.values()), ids=list(TAKING_FROM_STOCK))
def test_more_than_the_stock_holds_is_refused(corporate: Corporate, make: QuantityCommand) -> None:
    c = corporate
    c.buy(5)
    hand_to_club(c, 2)
    in_stock = 2 if isinstance(make(c, 1), ReclaimFromSubStructure) else 3
    with refused(c.world, StockInsufficientError, "stock_insufficient") as caught:
        c.world.domain.handle(make(c, in_stock + 1))
    assert caught.value.details["in_stock"] == in_stock
    assert caught.value.details["requested"] == in_stock + 1
    c.world.domain.handle(make(c, in_stock))


@pytest.mark.parametrize("make", list(TAKING_FROM_STOCK.values()), ids=list(TAKING_FROM_STOCK))
def test_an_unknown_performance_or_product_is_reported_as_not_found(
    corporate: Corporate, make: QuantityCommand
) -> None:
    c = corporate
    c.buy(5)
    hand_to_club(c, 2)
    command: Any = make(c, 1)
    for kind, changes in [
        ("performance", {"performance_id": "performance-404"}),
        ("product", {"product_id": "product-404"}),
    ]:
        with refused(c.world, NotFoundError, "not_found") as caught:
            c.world.domain.handle(attrs.evolve(command, **changes))
        assert caught.value.details["kind"] == kind


def test_tickets_go_to_direct_sub_structures_only(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    team = d.contacts.create_structure(
        CreateStructure(c.operator, "Nestor running team", parent_id=c.club_id)
    )
    c.buy(3)
    hand_to_club(c, 1)
    c.buy(1, c.sam)
    for session, target in [
        (c.nina, team.id),  # a grandchild
        (c.nina, c.other_company_id),  # another company
        (c.nina, c.council_id),  # itself
        (c.sam, c.council_id),  # its parent
        (c.olga, c.club_id),  # someone else's sub-structure
    ]:
        for command in [
            DistributeToSubStructure(session, c.performance_id, c.product_id, 1, target),
            ReclaimFromSubStructure(session, target, c.performance_id, c.product_id, 1),
        ]:
            with refused(w, ForeignResourceError, "foreign_resource"):
                d.handle(command)
    for command in [
        DistributeToSubStructure(c.nina, c.performance_id, c.product_id, 1, "structure-404"),
        ReclaimFromSubStructure(c.nina, "structure-404", c.performance_id, c.product_id, 1),
    ]:
        with refused(w, NotFoundError, "not_found"):
            d.handle(command)


def test_the_member_is_named_once_and_must_belong_to_the_structure(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    c.buy(3)
    hand_to_club(c, 1)
    with refused(w, RecipientInvalidError, "recipient_invalid"):
        give(c, 1, member=None)
    with refused(w, RecipientInvalidError, "recipient_invalid"):
        d.distribution.distribute_to_member(
            DistributeToMember(
                c.nina, c.performance_id, c.product_id, 1, member_id=c.marc_id, member=LEA
            )
        )
    # a contact of another structure, of the sub-structure, or no one at all
    for session, member_id in [(c.nina, c.olga_id), (c.nina, c.sam_id), (c.sam, c.marc_id)]:
        with refused(w, ForeignResourceError, "foreign_resource"):
            give(c, 1, session=session, member_id=member_id)
    with refused(w, NotFoundError, "not_found"):
        give(c, 1, member_id="individual-404")
    for details, error, code in [
        (ContactDetails("Lea", "Favre", "lea-at-example.org"), EmailInvalidError, "email_invalid"),
        (ContactDetails("Lea", "Favre", ""), EmailInvalidError, "email_invalid"),
        (ContactDetails("  ", "Favre", "lea@example.org"), NameInvalidError, "name_invalid"),
        (ContactDetails("Lea", "\n", "lea@example.org"), NameInvalidError, "name_invalid"),
    ]:
        with refused(w, error, code):
            give(c, 1, details)
    assert stock(c) == {"Stalls": "2 left to distribute of 3"}


def relay_commands(c: Corporate, session: str, content: bytes, distributed: str) -> list[object]:
    """Every command of the corporate space a relay sends."""
    return [
        ViewStock(session),
        ViewDashboard(session),
        ListDistributedTickets(session),
        DistributeToMember(session, c.performance_id, c.product_id, 1, member_id=c.marc_id),
        DistributeToMember(session, c.performance_id, c.product_id, 1, member=LEA),
        DistributeToSubStructure(session, c.performance_id, c.product_id, 1, c.club_id),
        PrintAtOnce(session, c.performance_id, c.product_id, 1),
        ExportStock(session),
        ImportDistribution(session, content),
        ReclaimTickets(session, (distributed,)),
        ReclaimFromSubStructure(session, c.club_id, c.performance_id, c.product_id, 1),
    ]


def a_filled_sheet(c: Corporate) -> tuple[bytes, str]:
    """A sheet ready to import, and a ticket distributed to a member."""
    c.buy(3)
    (given,) = give(c, 1).ticket_ids
    hand_to_club(c, 1)
    exported = c.world.domain.distribution.export_stock(ExportStock(c.nina))
    first = min(row["ticket_id"] for row in csv.DictReader(io.StringIO(exported.content)))
    content = fill_in(exported.content, {first: ("Ann", "Muller", "ann@example.org")})
    return content.encode(), given


def test_nothing_is_distributed_where_the_function_is_off(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    content, distributed = a_filled_sheet(c)
    d.setup.set_sales_point_functions(
        SetSalesPointFunctions(c.operator, c.sales_point_id, frozenset({Function.OPTIONS}))
    )
    for command in relay_commands(c, c.nina, content, distributed):
        with refused(w, FunctionDisabledError, "function_disabled"):
            d.handle(command)
    # switched on again, the same commands work
    d.setup.set_sales_point_functions(
        SetSalesPointFunctions(c.operator, c.sales_point_id, frozenset({Function.DISTRIBUTION}))
    )
    assert d.distribution.import_distribution(ImportDistribution(c.nina, content)).mail_ids


def test_a_structure_revoked_after_login_can_do_nothing_more(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    content, distributed = a_filled_sheet(c)
    d.setup.revoke_structure(RevokeStructure(c.operator, c.sales_point_id, c.council_id))
    # its relays' sessions on the sales point ended with the authorization
    for command in relay_commands(c, c.nina, content, distributed):
        with refused(w, SessionInvalidError, "session_invalid"):
            d.handle(command)
    # the sports club is authorized in its own right and keeps distributing
    assert stock(c, c.sam) == {"Stalls": "1 left to distribute of 1"}
    assert give(c, 1, ZOE, session=c.sam).holder_email == "zoe@example.org"


def test_an_import_row_naming_another_structures_contact_is_rejected_on_its_own(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    c.buy(3)
    sheet = d.distribution.export_stock(ExportStock(c.nina)).content.splitlines()
    filled = "\r\n".join(
        [
            sheet[0],
            sheet[1][:-3] + ",Olga,Berset,olga@acme.ch",
            sheet[2][:-3] + ",Lea,Blanc,lea@nestor.ch",
            sheet[3],
        ]
    ).encode()
    with refused(c.world, ImportRejectedError, "import_rejected") as caught:
        d.distribution.import_distribution(ImportDistribution(c.nina, filled))
    assert [(row["row"], row["code"]) for row in caught.value.details["rows"]] == [
        (2, "foreign_contact")
    ]

    report = d.distribution.import_distribution(
        ImportDistribution(c.nina, filled, apply_valid_rows=True)
    )

    assert [(row.row, row.outcome, row.code) for row in report.rows] == [
        (2, ImportOutcome.REJECTED, "foreign_contact"),
        (3, ImportOutcome.DISTRIBUTED, None),
        (4, ImportOutcome.UNTOUCHED, None),
    ]
    assert d.distribution.view_stock(ViewStock(c.nina)).lines[0].in_stock == 2


def test_a_relay_searches_the_members_of_its_own_structure_only(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain

    found = d.distribution.search_members(SearchMembers(c.nina, "DUPONT"))

    assert [(m.id, m.email) for m in found] == [(c.marc_id, "marc@nestor.ch")]
    assert d.distribution.search_members(SearchMembers(c.sam, "dupont")) == ()
    assert d.distribution.search_members(SearchMembers(c.olga, "nestor")) == ()
    assert {m.id for m in d.distribution.search_members(SearchMembers(c.nina, "@"))} == {
        c.nina_id,
        c.marc_id,
    }
    for limit in (0, 501, True):
        with refused(c.world, QuantityInvalidError, "quantity_invalid"):
            d.distribution.search_members(SearchMembers(c.nina, "@", limit))
