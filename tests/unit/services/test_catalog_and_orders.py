"""Buying on an agency sales point: availability, profile conditions, payment, documents."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.agency import Agency, chf
from support.state import refused
from ticketdomain import (
    CardPayment,
    ContactDetails,
    CreateQuota,
    DeliveryMode,
    DocumentUpload,
    Function,
    LineRequest,
    ListOrders,
    NotFoundError,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    ProductConditions,
    SetCatalogProfile,
    SetCreditLimit,
    SetSalesPointFunctions,
    ViewCatalog,
    ViewOrder,
)
from ticketdomain.core.errors import (
    CardDeclinedError,
    CreditLimitExceededError,
    DeliveryModeNotAllowedError,
    DocumentTooLargeError,
    DocumentTypeError,
    EmailInvalidError,
    ForeignResourceError,
    FunctionDisabledError,
    OrderLimitError,
    PaymentDetailsError,
    PerformanceOverError,
    QuantityInvalidError,
    QuotaExhaustedError,
    SaleWindowClosedError,
    TariffNotOfferedError,
)

PDF = b"%PDF-1.4\n% acceptance\n"


def buy(agency: Agency, quantity: int, **kwargs: object) -> PlaceOrder:
    defaults: dict[str, object] = {
        "token": agency.alice,
        "lines": (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),),
        "payment_method": PaymentMethod.HOLDING_ACCOUNT,
    }
    defaults.update(kwargs)
    return PlaceOrder(**defaults)  # type: ignore[arg-type]


def available(agency: Agency, performance_id: str) -> int:
    catalog = agency.world.domain.sales.view_catalog(ViewCatalog(agency.alice))
    return next(e.available for e in catalog.entries if e.performance_id == performance_id)


def test_the_catalog_shows_the_profiled_tariffs_with_availability_per_level(agency: Agency) -> None:
    catalog = agency.world.domain.sales.view_catalog(ViewCatalog(agency.alice))
    by_performance = {(e.performance_id, e.tariff) for e in catalog.entries}
    assert by_performance == {
        (agency.performance_id, "Full"),
        (agency.performance_id, "Agency"),
        (agency.later_performance_id, "Full"),
        (agency.later_performance_id, "Agency"),
    }
    # the sales point quota (20) is the tightest level; the later one has only its capacity
    assert available(agency, agency.performance_id) == 20
    assert available(agency, agency.later_performance_id) == 100


def test_buying_takes_places_at_every_level_of_the_nesting(agency: Agency) -> None:
    d = agency.world.domain
    d.sales.place_order(buy(agency, 5))
    assert available(agency, agency.performance_id) == 15
    # an operator's phone sale uses the performance's capacity but not the agency quotas
    d.sales.place_order_for_structure(
        PlaceOrderForStructure(
            agency.operator,
            agency.phone_sales_point_id,
            agency.hotel_id,
            (LineRequest(agency.performance_id, agency.full_id, 80),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    # 100 - 5 - 80 = 15 left at the performance level, 15 in the sales point quota
    assert available(agency, agency.performance_id) == 15
    d.sales.place_order(buy(agency, 10))
    assert available(agency, agency.performance_id) == 5
    with refused(agency.world, QuotaExhaustedError, "quota_exhausted") as caught:
        d.sales.place_order(buy(agency, 6))
    assert caught.value.details["remaining"] == 5


def test_a_channel_quota_is_shared_by_the_channels_sales_points(agency: Agency) -> None:
    d = agency.world.domain
    d.setup.create_quota(
        CreateQuota(
            agency.operator, agency.later_performance_id, 3, channel_id=agency.agency_channel_id
        )
    )
    d.sales.place_order(
        buy(agency, 2, lines=(LineRequest(agency.later_performance_id, agency.full_id, 2),))
    )
    with refused(agency.world, QuotaExhaustedError) as caught:
        d.sales.place_order(
            buy(
                agency,
                2,
                token=agency.carol,
                lines=(LineRequest(agency.later_performance_id, agency.full_id, 2),),
            )
        )
    assert caught.value.details["level"] == "channel"


def test_an_order_on_account_issues_bought_tickets_with_unique_barcodes(agency: Agency) -> None:
    order = agency.world.domain.sales.place_order(buy(agency, 3))
    assert order.total == chf("195.00")
    assert order.placed_by == agency.alice_id
    assert order.purchasing_contact_id is None
    assert [t.state.value for t in order.tickets] == ["bought"] * 3
    assert len({t.barcode for t in order.tickets}) == 3
    assert all(t.structure_id == agency.hotel_id for t in order.tickets)


def test_a_card_order_is_charged_once(agency: Agency) -> None:
    w = agency.world
    order = w.domain.sales.place_order(
        buy(agency, 2, payment_method=PaymentMethod.CARD, card=CardPayment("tok_visa"))
    )
    assert order.payment_reference is not None
    assert [c.amount for c in w.payments.charges] == [chf("130.00")]


def test_a_declined_card_changes_nothing(agency: Agency) -> None:
    with refused(agency.world, CardDeclinedError, "card_declined"):
        agency.world.domain.sales.place_order(
            buy(agency, 2, payment_method=PaymentMethod.CARD, card=CardPayment("tok_declined"))
        )


def test_the_credit_limit_refuses_an_order_that_would_exceed_it(agency: Agency) -> None:
    d = agency.world.domain
    d.accounts.set_credit_limit(
        SetCreditLimit(agency.operator, agency.organization_id, agency.hotel_id, chf("200.00"))
    )
    d.sales.place_order(buy(agency, 3))  # 195.00
    with refused(agency.world, CreditLimitExceededError, "credit_limit_exceeded") as caught:
        d.sales.place_order(buy(agency, 1, token=agency.bob))
    assert caught.value.details["available"] == "5.00"
    # a card order is not charged to the account
    d.sales.place_order(
        buy(agency, 1, payment_method=PaymentMethod.CARD, card=CardPayment("tok_visa"))
    )


@pytest.mark.parametrize("quantity", [0, -1, 10**9])
def test_absurd_quantities_are_refused(agency: Agency, quantity: int) -> None:
    # lines validate as they are built, whether in Python or structured from a front end's JSON
    with refused(agency.world, QuantityInvalidError, "quantity_invalid"):
        agency.world.domain.sales.place_order(buy(agency, quantity))


def test_too_many_lines_are_refused(agency: Agency) -> None:
    line = LineRequest(agency.performance_id, agency.agency_tariff_id, 1)
    with refused(agency.world, QuantityInvalidError):
        agency.world.domain.sales.place_order(buy(agency, 1, lines=(line,) * 51))
    with refused(agency.world, QuantityInvalidError):
        agency.world.domain.sales.place_order(buy(agency, 1, lines=()))


def test_profile_conditions_are_enforced(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    with refused(w, TariffNotOfferedError, "tariff_not_offered"):
        d.sales.place_order(
            buy(agency, 1, lines=(LineRequest(agency.performance_id, agency.child_id, 1),))
        )
    with refused(w, OrderLimitError, "order_limit_violated"):
        d.sales.place_order(
            buy(
                agency,
                11,
                lines=(
                    LineRequest(agency.performance_id, agency.full_id, 6),
                    LineRequest(agency.performance_id, agency.agency_tariff_id, 5),
                ),
            )
        )
    with refused(w, NotFoundError):
        d.sales.place_order(
            buy(agency, 1, lines=(LineRequest("performance-404", agency.full_id, 1),))
        )
    with refused(w, NotFoundError):
        d.sales.place_order(
            buy(agency, 1, lines=(LineRequest(agency.performance_id, "tariff-404", 1),))
        )


def test_the_sale_window_is_enforced(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    now = w.clock.now()
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            agency.operator,
            agency.organization_id,
            frozenset({agency.activity_id}),
            (
                ProductConditions(
                    agency.product_id,
                    sale_opens_at=now + timedelta(days=1),
                    sale_closes_at=now + timedelta(days=2),
                ),
            ),
            sales_point_id=agency.sales_point_id,
        )
    )
    with refused(w, SaleWindowClosedError, "sale_window_closed"):
        d.sales.place_order(buy(agency, 1))
    w.clock.advance(timedelta(days=1, hours=1))
    d.sales.place_order(buy(agency, 1))
    w.clock.advance(timedelta(days=1))
    with refused(w, SaleWindowClosedError):
        d.sales.place_order(buy(agency, 1))


def test_a_started_performance_is_no_longer_sold(agency: Agency) -> None:
    agency.world.clock.advance(timedelta(days=31))
    with refused(agency.world, PerformanceOverError):
        agency.world.domain.sales.place_order(buy(agency, 1))


def test_payment_details_must_match_the_method(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    with refused(w, PaymentDetailsError):
        d.sales.place_order(buy(agency, 1, payment_method=PaymentMethod.CARD))
    with refused(w, PaymentDetailsError):
        d.sales.place_order(buy(agency, 1, card=CardPayment("tok_visa")))
    with refused(w, DeliveryModeNotAllowedError, "delivery_mode_not_allowed"):
        d.sales.place_order_for_structure(
            PlaceOrderForStructure(
                agency.operator,
                agency.phone_sales_point_id,
                agency.hotel_id,
                (LineRequest(agency.performance_id, agency.full_id, 1),),
                PaymentMethod.HOLDING_ACCOUNT,
                delivery_mode=DeliveryMode.TRANSFER,
            )
        )


def test_purchasing_contact_and_acceptance_document(agency: Agency) -> None:
    w = agency.world
    order = w.domain.sales.place_order(
        buy(
            agency,
            2,
            purchasing_contact=ContactDetails("Claire", "Dubois", "claire@example.org"),
            document=DocumentUpload("accept.pdf", PDF),
        )
    )
    assert order.purchasing_contact_id is not None
    assert order.document_id is not None
    assert w.documents.documents[order.document_id].media_type == "application/pdf"
    # the same client named again is the same contact
    again = w.domain.sales.place_order(
        buy(agency, 1, purchasing_contact=ContactDetails("Claire", "Dubois", "CLAIRE@example.org"))
    )
    assert again.purchasing_contact_id == order.purchasing_contact_id


def test_bad_documents_and_contacts_are_refused(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    with refused(w, DocumentTypeError, "document_type_unsupported"):
        d.sales.place_order(
            buy(agency, 1, document=DocumentUpload("accept.pdf", b"MZ\x90\x00 not a pdf"))
        )
    with refused(w, DocumentTooLargeError, "document_too_large"):
        d.sales.place_order(
            buy(agency, 1, document=DocumentUpload("big.pdf", PDF + b"0" * (5 * 1024 * 1024)))
        )
    with refused(w, EmailInvalidError):
        d.sales.place_order(buy(agency, 1, purchasing_contact=ContactDetails("A", "B", "a@")))
    d.setup.set_sales_point_functions(
        SetSalesPointFunctions(agency.operator, agency.sales_point_id, frozenset())
    )
    with refused(w, FunctionDisabledError, "function_disabled"):
        d.sales.place_order(buy(agency, 1, purchasing_contact=ContactDetails("A", "B", "a@b.ch")))


def test_a_relay_sees_only_its_structures_orders(agency: Agency) -> None:
    d = agency.world.domain
    mine = d.sales.place_order(buy(agency, 1))
    d.sales.place_order(buy(agency, 1, token=agency.bob))
    theirs = d.sales.place_order(buy(agency, 1, token=agency.carol))
    assert [o.placed_by for o in d.sales.list_orders(ListOrders(agency.bob))] == [
        agency.alice_id,
        agency.bob_id,
    ]
    assert d.sales.view_order(ViewOrder(agency.bob, mine.id)).id == mine.id
    with refused(agency.world, ForeignResourceError, "foreign_resource"):
        d.sales.view_order(ViewOrder(agency.alice, theirs.id))
    with refused(agency.world, NotFoundError):
        d.sales.view_order(ViewOrder(agency.alice, "order-404"))


def test_the_purchasing_contact_function_off_means_the_structure_buys(agency: Agency) -> None:
    d = agency.world.domain
    d.setup.set_sales_point_functions(
        SetSalesPointFunctions(
            agency.operator, agency.sales_point_id, frozenset({Function.OPTIONS})
        )
    )
    order = d.sales.place_order(buy(agency, 1))
    assert order.purchasing_contact_id is None
