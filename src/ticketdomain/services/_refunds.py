"""Making the card refund a cancelled order owes, after the cancellation committed.

The cancellation stores the refund as due (``Order.refund``) in its own commit; the payment
provider is then asked with no unit of work open, and its reference is recorded in a short unit
of work of its own. A refund that fails, or a process that dies in between, leaves the refund
due: ``CancelOrder`` again or ``ProcessDueExpiries`` retries it under the same idempotency key,
so the provider never refunds it twice and the answer it lost is found again.
"""

from __future__ import annotations

import attrs

from ticketdomain.core.errors import TicketDomainError
from ticketdomain.core.sales import Order
from ticketdomain.services._context import Adapters
from ticketdomain.services._locks import Locks


@attrs.frozen
class RefundOutcome:
    order_id: str
    #: the provider's reference; ``None`` while the refund is still due
    reference: str | None
    #: why the provider did not make it (the error's code, or the exception's type)
    error: str | None = None


def settle_refund(adapters: Adapters, order: Order) -> RefundOutcome:
    """Make ``order``'s refund if it is still due and record it; call it with no unit of work
    open. A failure of the provider is returned, not raised (the refund stays due); an error of
    the storage when recording propagates, and the refund stays due until a retry records it.
    """
    refund, charge = order.refund, order.card_charge
    if refund is None or charge is None:
        return RefundOutcome(order.id, None, "no_refund_due")
    if refund.reference is not None:
        return RefundOutcome(order.id, refund.reference)
    try:
        receipt = adapters.payments.refund(charge, refund.amount, refund.idempotency_key)
    except Exception as error:  # whatever failed, the refund stays due for the next attempt
        code = error.code if isinstance(error, TicketDomainError) else type(error).__name__
        return RefundOutcome(order.id, None, code)
    with adapters.storage.unit_of_work() as uow:
        stored = Locks(uow).order(order.id)
        # False when a concurrent attempt recorded the same receipt first
        if stored.record_refund(receipt.reference, adapters.clock.now()):
            uow.orders.update(stored)
            uow.commit()
    return RefundOutcome(order.id, receipt.reference)
