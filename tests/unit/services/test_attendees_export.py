"""Who will attend: a member printing tickets for someone else may give that person's email,
with that person's consent asked apart from the member's own; the beneficiaries export lists
the members who received tickets and, beside each, the people who will attend, saying which is
which (issue 9)."""

from __future__ import annotations

import csv
import io

import pytest

from support.corporate import Corporate
from support.state import refused
from ticketdomain import (
    ActorKind,
    BeneficiaryRole,
    DistributeToMember,
    ExportBeneficiaries,
    ListMemberTickets,
    PrintMemberTickets,
    ReclaimTickets,
    SetMarketingConsent,
)
from ticketdomain.core.errors import EmailInvalidError, RecipientInvalidError

#: role, name, email, received_by, tickets, consent
Row = tuple[str, str, str | None, str | None, int, bool]


def marc_holds(c: Corporate, quantity: int) -> tuple[str, tuple[str, ...]]:
    """Marc (a member of the works council, no marketing consent) receives tickets: his
    session and the ticket ids."""
    c.buy(quantity)
    given = c.world.domain.distribution.distribute_to_member(
        DistributeToMember(c.nina, c.performance_id, c.product_id, quantity, member_id=c.marc_id)
    )
    return c.world.domain.host.open_session(ActorKind.MEMBER, c.marc_id).token, given.ticket_ids


def export(c: Corporate, only_consenting: bool = False) -> list[Row]:
    rows = c.world.domain.reports.export_beneficiaries(
        ExportBeneficiaries(c.operator, c.organization_id, only_consenting=only_consenting)
    ).rows
    assert all(row.member_id == c.marc_id for row in rows)
    return [
        (row.role.value, row.name, row.email, row.received_by, row.tickets, row.marketing_consent)
        for row in rows
    ]


MARC = ("member", "Marc Dupont", "marc@nestor.ch", None)


def test_the_export_lists_the_attendees_beside_the_member_and_says_which_is_which(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    marc, tickets = marc_holds(c, 4)
    d.members.print_member_tickets(
        PrintMemberTickets(
            marc,
            tickets[:2],
            beneficiary="Léa Roux",
            beneficiary_email="Lea.Roux@Example.ORG",
            beneficiary_consent=True,
        )
    )
    # A name without an email: who will attend is known, not how to write to them.
    d.members.print_member_tickets(PrintMemberTickets(marc, tickets[2:3], beneficiary="Paul Roux"))
    # Printed for himself: Marc is listed once, as the member.
    d.members.print_member_tickets(PrintMemberTickets(marc, tickets[3:]))
    assert export(c) == [
        (*MARC, 4, False),
        ("attendee", "Léa Roux", "Lea.Roux@example.org", "marc@nestor.ch", 2, True),
        ("attendee", "Paul Roux", None, "marc@nestor.ch", 1, False),
    ]
    rows = d.reports.export_beneficiaries(ExportBeneficiaries(c.operator, c.organization_id)).rows
    assert [row.role for row in rows] == [
        BeneficiaryRole.MEMBER,
        BeneficiaryRole.ATTENDEE,
        BeneficiaryRole.ATTENDEE,
    ]
    assert {(row.structure, row.performance_id, row.activity) for row in rows} == {
        ("Works council Nestor SA", c.performance_id, "La Traviata")
    }
    # The member sees what they gave for each ticket.
    views = d.members.list_member_tickets(ListMemberTickets(marc))
    assert sorted((v.beneficiary, v.beneficiary_email, v.beneficiary_consent) for v in views) == [
        ("Léa Roux", "Lea.Roux@example.org", True),
        ("Léa Roux", "Lea.Roux@example.org", True),
        ("Marc Dupont", None, False),
        ("Paul Roux", None, False),
    ]
    # The ticket shows the beneficiary's name, never their email.
    printed = c.world.renderer.rendered
    assert [t.beneficiary for t in printed] == ["Léa Roux", "Léa Roux", "Paul Roux", "Marc Dupont"]
    assert "example.org" not in repr(printed)


def test_consent_is_each_persons_own_and_filters_the_export_per_person(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    marc, tickets = marc_holds(c, 3)
    for ticket, (name, email, consent) in zip(
        tickets,
        [("Léa Roux", "lea@example.org", True), ("Paul Roux", "paul@example.org", False)],
        strict=False,
    ):
        d.members.print_member_tickets(
            PrintMemberTickets(
                marc,
                (ticket,),
                beneficiary=name,
                beneficiary_email=email,
                beneficiary_consent=consent,
            )
        )
    # Marc said no for himself: his attendee's yes stands, and his own no too.
    assert export(c, only_consenting=True) == [
        ("attendee", "Léa Roux", "lea@example.org", "marc@nestor.ch", 1, True)
    ]
    d.members.set_marketing_consent(SetMarketingConsent(marc, True))
    assert [row[:2] for row in export(c, only_consenting=True)] == [
        ("member", "Marc Dupont"),
        ("attendee", "Léa Roux"),
    ]
    # The member's consent changes nothing of the attendees'.
    assert [row[5] for row in export(c)] == [True, True, False]


def test_printing_again_or_taking_back_changes_who_will_attend(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    marc, tickets = marc_holds(c, 2)
    d.members.print_member_tickets(
        PrintMemberTickets(
            marc, tickets, beneficiary="Léa Roux", beneficiary_email="lea@example.org"
        )
    )
    d.members.print_member_tickets(
        PrintMemberTickets(
            marc, tickets[:1], beneficiary="Paul Roux", beneficiary_email="paul@example.org"
        )
    )
    assert [row[1:3] for row in export(c)] == [
        ("Marc Dupont", "marc@nestor.ch"),
        ("Léa Roux", "lea@example.org"),
        ("Paul Roux", "paul@example.org"),
    ]
    d.distribution.reclaim_tickets(ReclaimTickets(c.nina, tickets[1:]))
    assert [row[1:3] + row[4:5] for row in export(c)] == [
        ("Marc Dupont", "marc@nestor.ch", 1),
        ("Paul Roux", "paul@example.org", 1),
    ]


@pytest.mark.parametrize("email", ["not an email", "lea@", "@example.org", "a" * 250 + "@x.ch"])
def test_a_beneficiarys_email_that_is_not_one_is_refused(corporate: Corporate, email: str) -> None:
    c = corporate
    marc, tickets = marc_holds(c, 1)
    with refused(c.world, EmailInvalidError, "email_invalid"):
        c.world.domain.members.print_member_tickets(
            PrintMemberTickets(marc, tickets, beneficiary="Léa Roux", beneficiary_email=email)
        )
    with refused(c.world, EmailInvalidError, "email_invalid"):
        c.world.domain.handle(
            PrintMemberTickets(marc, tickets, beneficiary="Léa Roux", beneficiary_email=email)
        )


def test_an_email_needs_the_beneficiarys_name_and_a_consent_their_email(
    corporate: Corporate,
) -> None:
    c = corporate
    marc, tickets = marc_holds(c, 1)
    for command in [
        PrintMemberTickets(marc, tickets, beneficiary_email="lea@example.org"),
        PrintMemberTickets(marc, tickets, beneficiary="Léa Roux", beneficiary_consent=True),
        PrintMemberTickets(marc, tickets, beneficiary_consent=True),
    ]:
        with refused(c.world, RecipientInvalidError, "recipient_invalid"):
            c.world.domain.members.print_member_tickets(command)


def test_the_export_as_a_file_is_formula_safe_and_says_which_is_which(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    marc, tickets = marc_holds(c, 1)
    d.members.print_member_tickets(
        PrintMemberTickets(
            marc,
            tickets,
            beneficiary="=HYPERLINK(1)",
            beneficiary_email="lea@example.org",
            beneficiary_consent=True,
        )
    )
    exported = d.reports.export_beneficiaries(ExportBeneficiaries(c.operator, c.organization_id))
    records = list(csv.DictReader(io.StringIO(exported.to_csv())))
    assert [(r["role"], r["name"], r["email"], r["received_by"]) for r in records] == [
        ("member", "Marc Dupont", "marc@nestor.ch", ""),
        ("attendee", "'=HYPERLINK(1)", "lea@example.org", "marc@nestor.ch"),
    ]
    assert [r["marketing_consent"] for r in records] == ["no", "yes"]
    table = exported.to_table()
    assert table.columns[:2] == ("role", "name")
    assert [row[0] for row in table.rows] == ["member", "attendee"]
