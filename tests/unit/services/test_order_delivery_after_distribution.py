"""Print@home and transfer by order leave alone what the structure already handed on."""

from __future__ import annotations

from support.agency import Agency
from support.corporate import Corporate
from ticketdomain import (
    CreateStructure,
    DeliveryMode,
    DistributeToMember,
    DistributeToSubStructure,
    Function,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PrintTickets,
    SetSalesPointFunctions,
    TicketState,
    TransferTickets,
    ViewDashboard,
    ViewOrder,
)
from ticketdomain.services.commands import ContactDetails


def test_printing_an_order_skips_tickets_handed_to_a_sub_structure_or_a_member(
    corporate: Corporate,
) -> None:
    d = corporate.world.domain
    order = corporate.buy(6)
    handed = d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(
            corporate.nina, corporate.performance_id, corporate.product_id, 2, corporate.club_id
        )
    )
    given = d.distribution.distribute_to_member(
        DistributeToMember(
            corporate.nina,
            corporate.performance_id,
            corporate.product_id,
            1,
            member=ContactDetails("Lea", "Blanc", "lea@nestor.ch"),
        )
    )

    printed = d.sales.print_tickets(PrintTickets(corporate.nina, order.id))

    assert len(printed.ticket_ids) == 3
    assert not set(printed.ticket_ids) & {*handed.ticket_ids, *given.ticket_ids}
    tickets = {t.id: t for t in d.sales.view_order(ViewOrder(corporate.nina, order.id)).tickets}
    assert all(tickets[id].state is TicketState.BOUGHT for id in handed.ticket_ids)
    assert all(tickets[id].stock_structure_id == corporate.club_id for id in handed.ticket_ids)
    total = d.distribution.view_dashboard(ViewDashboard(corporate.nina)).total
    assert (total.in_stock, total.handed_over, total.to_individuals) == (0, 3, 1)
    assert total.came_in == total.in_stock + total.distributed


def test_transferring_an_order_skips_tickets_handed_to_a_sub_structure(agency: Agency) -> None:
    d = agency.world.domain
    d.setup.set_sales_point_functions(
        SetSalesPointFunctions(
            agency.operator, agency.sales_point_id, frozenset({Function.DISTRIBUTION})
        )
    )
    annex = d.contacts.create_structure(
        CreateStructure(agency.operator, "Beau-Rivage annex", parent_id=agency.hotel_id)
    )
    order = d.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 3),),
            PaymentMethod.HOLDING_ACCOUNT,
            delivery_mode=DeliveryMode.TRANSFER,
        )
    )
    handed = d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(
            agency.alice, agency.performance_id, agency.product_id, 1, annex.id
        )
    )

    moved = d.sales.transfer_tickets(
        TransferTickets(agency.alice, order.id, ContactDetails("Zoe", "Client", "zoe@client.ch"))
    )

    assert len(moved.ticket_ids) == 2
    assert not set(moved.ticket_ids) & set(handed.ticket_ids)
    tickets = {t.id: t for t in d.sales.view_order(ViewOrder(agency.alice, order.id)).tickets}
    (kept,) = handed.ticket_ids
    assert (tickets[kept].state, tickets[kept].stock_structure_id) == (TicketState.BOUGHT, annex.id)
