"""Many sellers at once on one database, each with its own engine as separate processes would:
a quota is never oversold and a capped holding account never goes over its limit.

Runs on a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it)."""

from __future__ import annotations

from support.agency import Agency, chf, set_up_agency
from support.race import SELLERS, StorageFactory, new_storage, new_world, race, seller
from ticketdomain import (
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    SetCreditLimit,
    TicketDomain,
    ViewCatalog,
    ViewHoldingAccount,
)
from ticketdomain.core.errors import CreditLimitExceededError, QuotaExhaustedError
from ticketdomain.testing.domain import FakeWorld

__all__ = ["new_storage"]  # the fixture, imported for pytest


def set_up(new_storage: StorageFactory) -> tuple[FakeWorld, Agency]:
    world = new_world(new_storage)
    return world, set_up_agency(world)


def test_concurrent_sellers_never_oversell_a_quota(new_storage: StorageFactory) -> None:
    world, agency = set_up(new_storage)
    sellers = [seller(world, new_storage()) for _ in range(SELLERS)]
    tokens = [agency.alice, agency.bob, agency.carol]

    def buy_two(domain: TicketDomain) -> bool:
        try:
            domain.sales.place_order(
                PlaceOrder(
                    tokens[id(domain) % 3],
                    (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
                    PaymentMethod.HOLDING_ACCOUNT,
                )
            )
        except QuotaExhaustedError:
            return False
        return True

    accepted = race(sellers, buy_two)
    assert accepted == 10  # the sales point quota of 20 places, two at a time, to the last one
    catalog = world.domain.sales.view_catalog(ViewCatalog(agency.alice))
    assert {e.available for e in catalog.entries if e.performance_id == agency.performance_id} == {
        0
    }


def test_concurrent_orders_on_account_never_pass_the_credit_limit(
    new_storage: StorageFactory,
) -> None:
    world, agency = set_up(new_storage)
    world.domain.accounts.set_credit_limit(
        SetCreditLimit(agency.operator, agency.organization_id, agency.hotel_id, chf("650.00"))
    )
    sellers = [seller(world, new_storage()) for _ in range(SELLERS)]

    def buy_one(domain: TicketDomain) -> bool:
        try:
            domain.sales.place_order(
                PlaceOrder(
                    agency.bob,
                    (LineRequest(agency.later_performance_id, agency.agency_tariff_id, 1),),
                    PaymentMethod.HOLDING_ACCOUNT,
                )
            )
        except CreditLimitExceededError:
            return False
        return True

    assert race(sellers, buy_one) == 10  # 10 x 65.00 = 650.00
    account = world.domain.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert account.outstanding == chf("650.00")
