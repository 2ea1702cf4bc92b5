from support.agency import Agency
from ticketdomain import LineRequest, PaymentMethod, PlaceOrder, ViewCatalog


def test_a_relay_buys_on_account(agency: Agency) -> None:
    d = agency.world.domain
    catalog = d.sales.view_catalog(ViewCatalog(agency.alice))
    assert {e.tariff for e in catalog.entries} == {"Full", "Agency"}
    order = d.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    assert len(order.tickets) == 2
    assert str(order.total) == "130.00 CHF"
