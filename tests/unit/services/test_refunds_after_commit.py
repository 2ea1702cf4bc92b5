"""Money leaves only after the change that justifies it committed: a cancelled card order is
refunded once the cancellation is stored, and a refund that fails then can be retried, never
made twice."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import pytest

from support.agency import Agency, chf
from support.state import stored
from ticketdomain import (
    CancelOrder,
    CardPayment,
    LineRequest,
    OrderState,
    PaymentMethod,
    PlaceOrder,
    ProcessDueExpiries,
    RefundState,
    TicketState,
    ViewOrder,
)
from ticketdomain.core.errors import ConcurrencyError, StateTransitionError
from ticketdomain.core.money import Money
from ticketdomain.ports.payment import PaymentReceipt
from ticketdomain.ports.storage import Storage
from ticketdomain.testing.domain import FakeWorld, build_fake_world


class _FailingUnitOfWork:
    """A unit of work whose commit fails when its storage says so (as a lost connection or a
    serialization failure would), before anything is stored."""

    def __init__(self, storage: FailingCommits) -> None:
        self._storage = storage
        self._inner = storage.inner.unit_of_work()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _FailingUnitOfWork:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        if self._storage.fail_next_commit:
            self._storage.fail_next_commit = False
            raise ConcurrencyError("The commit failed (on purpose).")
        self._inner.commit()


class FailingCommits:
    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.fail_next_commit = False

    def unit_of_work(self) -> Any:
        return _FailingUnitOfWork(self)


@pytest.fixture
def world(storage: Storage) -> FakeWorld:
    return build_fake_world(FailingCommits(storage))


def card_order(agency: Agency) -> str:
    return agency.world.domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
            PaymentMethod.CARD,
            card=CardPayment("tok_visa"),
        )
    ).id


def state_of(agency: Agency, order_id: str) -> tuple[OrderState, set[TicketState]]:
    view = agency.world.domain.sales.view_order(ViewOrder(agency.alice, order_id))
    return view.state, {t.state for t in view.tickets}


def test_no_refund_leaves_when_the_cancellation_does_not_commit(agency: Agency) -> None:
    w = agency.world
    order_id = card_order(agency)
    assert isinstance(w.storage, FailingCommits)
    before = stored(w.storage.inner)
    w.storage.fail_next_commit = True
    with pytest.raises(ConcurrencyError):
        w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert w.payments.refunds == []
    assert stored(w.storage.inner) == before
    assert state_of(agency, order_id) == (OrderState.CONFIRMED, {TicketState.BOUGHT})
    # once the cancellation commits, the card is refunded, once
    cancelled = w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert cancelled.refund_reference is not None and not cancelled.refund_pending
    assert [r.amount for r in w.payments.refunds] == [chf("130.00")]


def test_a_refund_failing_after_the_commit_leaves_the_cancellation_and_is_retried(
    agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = agency.world
    order_id = card_order(agency)
    refund = w.payments.refund
    attempts: list[str] = []

    def unreachable(reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        attempts.append(idempotency_key)
        raise ConnectionError("payment provider unreachable")

    monkeypatch.setattr(w.payments, "refund", unreachable)
    first = w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert (first.refund_pending, first.refund_error, first.refund_reference) == (
        True,
        "ConnectionError",
        None,
    )
    assert len(first.tickets_cancelled) == 2
    assert state_of(agency, order_id) == (OrderState.CANCELLED, {TicketState.CANCELLED})
    assert w.payments.refunds == []

    # The provider took the refund but the answer was lost: still pending for us.
    def lost_answer(reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        attempts.append(idempotency_key)
        refund(reference, amount, idempotency_key)
        raise TimeoutError("no answer")

    monkeypatch.setattr(w.payments, "refund", lost_answer)
    second = w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert second.refund_pending and second.tickets_cancelled == ()
    # the maintenance job retries it too, and reports it still due
    processed = w.domain.sales.process_due_expiries(ProcessDueExpiries(agency.operator))
    assert (processed.refunds_settled, processed.refunds_pending) == ((), (order_id,))
    view = w.domain.sales.view_order(ViewOrder(agency.alice, order_id))
    assert view.refund is not None
    assert (view.refund.state, view.refund.amount) == (RefundState.DUE, chf("130.00"))

    monkeypatch.setattr(w.payments, "refund", refund)
    third = w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    again = w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert third.refund_reference is not None and not third.refund_pending
    assert again.refund_reference == third.refund_reference
    view = w.domain.sales.view_order(ViewOrder(agency.alice, order_id))
    assert view.refund is not None
    assert (view.refund.state, view.refund.reference) == (
        RefundState.REFUNDED,
        third.refund_reference,
    )
    processed = w.domain.sales.process_due_expiries(ProcessDueExpiries(agency.operator))
    assert (processed.refunds_settled, processed.refunds_pending) == ((), ())
    # every attempt under one key: the card got its money back once
    assert set(attempts) == {f"cancel-{order_id}"}
    assert [r.amount for r in w.payments.refunds] == [chf("130.00")]
    assert state_of(agency, order_id) == (OrderState.CANCELLED, {TicketState.CANCELLED})


def test_cancelling_an_order_on_account_twice_is_still_refused(agency: Agency) -> None:
    w = agency.world
    order_id = w.domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    ).id
    w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    with pytest.raises(StateTransitionError):
        w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert w.payments.refunds == []
