"""The operator's export of the end beneficiaries: who received the organization's tickets,
from which structure, for which performance, and whether they agreed to hear from it later."""

from __future__ import annotations

from datetime import timedelta

from support.corporate import Corporate
from support.state import refused
from ticketdomain import (
    ActorKind,
    CancelOrder,
    ContactDetails,
    CreateActivity,
    CreateOperator,
    CreateOrganization,
    CreatePerformance,
    DistributeToMember,
    DistributeToSubStructure,
    ExportBeneficiaries,
    LineRequest,
    PaymentMethod,
    Permission,
    PlaceOrder,
    PrintAtOnce,
    ReclaimTickets,
    SetMarketingConsent,
    TicketsDistributed,
)
from ticketdomain.core.errors import NotFoundError

LEA = ContactDetails("Lea", "Favre", "lea@example.org", marketing_consent=True)
ZOE = ContactDetails("Zoe", "Imhof", "zoe@example.org")

Row = tuple[str, str, str | None, str, str, int, bool]


def give(
    c: Corporate,
    quantity: int,
    member: ContactDetails | None = None,
    performance_id: str | None = None,
    by_club: bool = False,
) -> TicketsDistributed:
    """The works council (or its sports club) distributes tickets to Marc or to ``member``."""
    return c.world.domain.distribution.distribute_to_member(
        DistributeToMember(
            c.sam if by_club else c.nina,
            performance_id or c.performance_id,
            c.product_id,
            quantity,
            member_id=None if member else c.marc_id,
            member=member,
        )
    )


def member_session(c: Corporate, individual_id: str) -> str:
    return c.world.domain.host.open_session(ActorKind.MEMBER, individual_id).token


def buy_later(c: Corporate, quantity: int) -> None:
    c.world.domain.sales.place_order(
        PlaceOrder(
            c.nina,
            (LineRequest(c.later_performance_id, c.tariff_id, quantity),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )


def export(
    c: Corporate, performance_id: str | None = None, only_consenting: bool = False
) -> list[Row]:
    rows = c.world.domain.reports.export_beneficiaries(
        ExportBeneficiaries(c.operator, c.organization_id, performance_id, only_consenting)
    ).rows
    assert all(row.activity == "La Traviata" for row in rows)
    assert all(
        row.structure_id == {"Works council Nestor SA": c.council_id}.get(row.structure, c.club_id)
        for row in rows
    )
    return [
        (
            row.first_name,
            row.last_name,
            row.email,
            row.structure,
            row.performance_id,
            row.tickets,
            row.marketing_consent,
        )
        for row in rows
    ]


def distributed(c: Corporate) -> None:
    """Marc 2 and Lea 1 from the works council, Zoe 1 from the sports club, for the first
    performance; Lea 1 more for the later one. Plus tickets no individual holds."""
    d = c.world.domain
    c.buy(8)
    buy_later(c, 1)
    give(c, 2)
    give(c, 1, LEA)
    give(c, 1, LEA, c.later_performance_id)
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(c.nina, c.performance_id, c.product_id, 2, c.club_id)
    )
    give(c, 1, ZOE, by_club=True)
    # printed at once and handed over by hand, or still in stock: nobody to list
    d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 1))


def test_the_export_lists_each_beneficiary_per_performance_and_structure(
    corporate: Corporate,
) -> None:
    c = corporate
    distributed(c)
    council, club = "Works council Nestor SA", "Nestor sports club"
    first, later = c.performance_id, c.later_performance_id
    assert export(c) == [
        ("Marc", "Dupont", "marc@nestor.ch", council, first, 2, False),
        ("Lea", "Favre", "lea@example.org", council, first, 1, True),
        ("Zoe", "Imhof", "zoe@example.org", club, first, 1, False),
        ("Lea", "Favre", "lea@example.org", council, later, 1, True),
    ]
    rows = c.world.domain.reports.export_beneficiaries(
        ExportBeneficiaries(c.operator, c.organization_id)
    ).rows
    assert {row.starts_at for row in rows} == {
        c.world.clock.now() + timedelta(days=30),
        c.world.clock.now() + timedelta(days=60),
    }
    assert export(c, later) == [("Lea", "Favre", "lea@example.org", council, later, 1, True)]


def test_consent_is_the_members_own_and_filters_the_export(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    distributed(c)
    assert [(row[0], row[4]) for row in export(c, only_consenting=True)] == [
        ("Lea", c.performance_id),
        ("Lea", c.later_performance_id),
    ]
    d.members.set_marketing_consent(SetMarketingConsent(c.marc, True))
    zoe = member_session(c, give(c, 1, ZOE, by_club=True).holder_id)
    d.members.set_marketing_consent(SetMarketingConsent(zoe, True))
    lea = member_session(c, give(c, 1, LEA).holder_id)
    d.members.set_marketing_consent(SetMarketingConsent(lea, False))
    assert [(row[0], row[5], row[6]) for row in export(c, c.performance_id)] == [
        ("Marc", 2, True),
        ("Lea", 2, False),
        ("Zoe", 2, True),
    ]
    assert [row[0] for row in export(c, only_consenting=True)] == ["Marc", "Zoe"]


def test_tickets_taken_back_or_cancelled_leave_the_export(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    order = c.buy(3)
    marcs = give(c, 2)
    give(c, 1, LEA)
    d.distribution.reclaim_tickets(ReclaimTickets(c.nina, marcs.ticket_ids[:1]))
    assert [(row[0], row[5]) for row in export(c)] == [("Marc", 1), ("Lea", 1)]
    d.accounts.cancel_order(CancelOrder(c.operator, order.id))
    assert export(c) == []


def test_the_export_as_a_csv_file(corporate: Corporate) -> None:
    c = corporate
    c.buy(3)
    give(c, 2)
    give(c, 1, ContactDetails("=HYPERLINK(1)", "Favre", "lea@example.org"))
    exported = c.world.domain.reports.export_beneficiaries(
        ExportBeneficiaries(c.operator, c.organization_id)
    )
    assert exported.to_csv() == (
        "role,name,first_name,last_name,email,received_by,structure,activity,performance,"
        "tickets,marketing_consent\r\n"
        "member,Marc Dupont,Marc,Dupont,marc@nestor.ch,,Works council Nestor SA,La Traviata,"
        "2026-02-04 09:00 UTC,2,no\r\n"
        "member,'=HYPERLINK(1) Favre,'=HYPERLINK(1),Favre,lea@example.org,,"
        "Works council Nestor SA,La Traviata,2026-02-04 09:00 UTC,1,no\r\n"
    )


def test_an_operator_exports_only_their_organizations_beneficiaries(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    c.buy(1)
    give(c, 1)
    theatre = d.setup.create_organization(CreateOrganization(c.operator, "Theatre de Vidy", "CHF"))
    play = d.setup.create_activity(CreateActivity(c.operator, theatre.id, "Hamlet"))
    evening = d.setup.create_performance(
        CreatePerformance(
            c.operator, play.id, c.world.clock.now() + timedelta(days=30), "Vidy", 100
        )
    )
    # an operator of the theatre only, allowed to read personal data there
    hired = d.identity.create_operator(
        CreateOperator(
            c.operator,
            "Theo",
            "Vidy",
            "theo@vidy.ch",
            frozenset({Permission.PERSONAL_DATA}),
            frozenset({theatre.id}),
        )
    )
    theatre_operator = d.host.open_session(ActorKind.OPERATOR, hired.id).token
    assert (
        d.reports.export_beneficiaries(ExportBeneficiaries(theatre_operator, theatre.id)).rows == ()
    )
    # the opera is not the theatre operator's: its ids are unknown to them
    for command in [
        ExportBeneficiaries(theatre_operator, c.organization_id),
        ExportBeneficiaries(theatre_operator, theatre.id, c.performance_id),
        ExportBeneficiaries(c.operator, c.organization_id, evening.id),
        ExportBeneficiaries(c.operator, c.organization_id, "performance-404"),
        ExportBeneficiaries(c.operator, "organization-404"),
    ]:
        with refused(c.world, NotFoundError, "not_found"):
            d.reports.export_beneficiaries(command)
