"""Who will attend: the beneficiaries export's rows, the members who received an
organization's tickets and, beside each, the people they printed tickets for."""

from __future__ import annotations

import attrs

from ticketdomain.core.contacts import Individual
from ticketdomain.core.distribution import AttendeeCount
from ticketdomain.core.timezones import instant
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import results as r
from ticketdomain.services._context import need
from ticketdomain.services._tickets import Labels


def _for_someone_else(item: AttendeeCount, member: Individual) -> bool:
    """A ticket printed for another person than the member: an email given, or another
    name (a member printing for themselves is listed once, as the member)."""
    return item.beneficiary_email is not None or item.beneficiary != str(member.name)


def beneficiary_rows(
    uow: UnitOfWork,
    organization_id: str,
    performance_id: str | None,
    only_consenting: bool,
) -> tuple[r.BeneficiaryRow, ...]:
    """Per performance and distributing structure: each member holding tickets (role
    ``member``) followed by the people they printed tickets for (role ``attendee``), each
    with their own consent; ``only_consenting`` keeps the persons who consented. Two
    aggregates over the tickets, then each member and structure read once."""
    holders = uow.tickets.holder_counts(organization_id, performance_id)
    attendees = uow.tickets.attendee_counts(organization_id, performance_id)
    labels = Labels(uow)
    members: dict[str, Individual] = {}
    structures: dict[str, str] = {}

    def member(id: str) -> Individual:
        if id not in members:
            members[id] = need(uow.individuals.get(id), "individual", id)
        return members[id]

    def structure(id: str) -> str:
        if id not in structures:
            found = uow.structures.get(id)
            structures[id] = found.name if found else id
        return structures[id]

    def member_row(
        holder: Individual, stock_structure_id: str, performance_id: str, tickets: int
    ) -> r.BeneficiaryRow:
        performance = labels.performance(performance_id)
        return r.BeneficiaryRow(
            first_name=holder.name.first,
            last_name=holder.name.last,
            email=holder.email.value,
            structure_id=stock_structure_id,
            structure=structure(stock_structure_id),
            performance_id=performance.id,
            activity=labels.activity(performance.activity_id).name,
            starts_at=performance.starts_at,
            tickets=tickets,
            marketing_consent=holder.marketing_consent,
            time_zone=performance.time_zone,
            role=r.BeneficiaryRole.MEMBER,
            name=str(holder.name),
            member_id=holder.id,
        )

    found: list[tuple[tuple[object, ...], r.BeneficiaryRow]] = []
    for item in holders:
        holder = member(item.holder_id)
        if only_consenting and not holder.marketing_consent:
            continue
        row = member_row(holder, item.stock_structure_id, item.performance_id, item.count)
        found.append((_order(row, holder), row))
    for attendee in attendees:
        holder = member(attendee.holder_id)
        if not _for_someone_else(attendee, holder):
            continue
        if only_consenting and not attendee.beneficiary_consent:
            continue
        base = member_row(
            holder, attendee.stock_structure_id, attendee.performance_id, attendee.count
        )
        row = attrs.evolve(
            base,
            first_name="",
            last_name="",
            email=attendee.beneficiary_email,
            marketing_consent=attendee.beneficiary_consent,
            role=r.BeneficiaryRole.ATTENDEE,
            name=attendee.beneficiary,
            received_by=holder.email.value,
        )
        found.append((_order(row, holder), row))
    found.sort(key=lambda pair: pair[0])
    return tuple(row for _, row in found)


def _order(row: r.BeneficiaryRow, member: Individual) -> tuple[object, ...]:
    """By performance, then member (last name, first name, email), the member's row first
    and the people they printed for after it, by name and email."""
    return (
        instant(row.starts_at),
        row.performance_id,
        member.name.last,
        member.name.first,
        member.email.value,
        row.structure_id,
        row.role is r.BeneficiaryRole.ATTENDEE,
        row.name,
        row.email or "",
    )
