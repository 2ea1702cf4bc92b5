"""Holding accounts, invoicing, payments and cancellations: the operator's back office."""

from __future__ import annotations

import attrs

from ticketdomain.core.accounts import HoldingAccount
from ticketdomain.core.banking import compact_reference
from ticketdomain.core.billing import (
    buyer_party,
    invoice_document,
    invoice_to_settle,
    payment_terms,
    seller_party,
)
from ticketdomain.core.contacts import Structure
from ticketdomain.core.errors import (
    ConcurrencyError,
    NotFoundError,
    NothingToInvoiceError,
    StateTransitionError,
    ValidationError,
)
from ticketdomain.core.identity import OperatorActor, Permission
from ticketdomain.core.invoices import Invoice, InvoiceKind, issue_credit_note, issue_invoice
from ticketdomain.core.languages import check_optional_language
from ticketdomain.core.mail import MailKind
from ticketdomain.core.money import Money
from ticketdomain.core.sales import Order, Ticket, TicketState
from ticketdomain.core.setup import Organization
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator, organization_for, require_organization
from ticketdomain.services._billing_mail import queue_invoice_mail
from ticketdomain.services._context import Adapters, line_description, need
from ticketdomain.services._locks import Locks
from ticketdomain.services._refunds import settle_refund
from ticketdomain.services._tickets import Labels, is_settled, queue_ticket_notice
from ticketdomain.services.billing import require_renderer


def _descriptions(uow: UnitOfWork, orders: list[Order]) -> dict[str, str]:
    return {
        line.id: line_description(uow, line.performance_id, line.tariff_id)
        for order in orders
        for line in order.lines
    }


@attrs.frozen
class AccountService:
    """The operator's view of holding accounts; invoices, payments and cancellations.
    Each method is one transaction; a refused call changes nothing."""

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def _structure(
        self, uow: UnitOfWork, organization: Organization, structure_id: str
    ) -> Structure:
        # Another institution's structure is reported as unknown.
        structure = uow.structures.get(structure_id)
        if structure is None or structure.institution_id != organization.institution_id:
            raise NotFoundError("structure", structure_id)
        return structure

    def _account_for_update(
        self, uow: UnitOfWork, organization: Organization, structure_id: str
    ) -> tuple[HoldingAccount, bool]:
        account = Locks(uow).account(organization.id, structure_id)
        if account is not None:
            return account, False
        return (
            HoldingAccount(
                self.adapters.ids.new_id("account"),
                organization.id,
                structure_id,
                organization.currency,
            ),
            True,
        )

    def _save(self, uow: UnitOfWork, account: HoldingAccount, new: bool) -> None:
        if new:
            uow.accounts.add(account)
        else:
            uow.accounts.update(account)

    def view_holding_account(self, command: c.ViewHoldingAccount) -> r.HoldingAccountView:
        """Every order of the structure and of all its relays, the ledger, the outstanding
        amount and the credit still available under the limit."""
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            self._structure(uow, organization, command.structure_id)
            stored = uow.accounts.for_structure(organization.id, command.structure_id)
            account = stored or HoldingAccount(
                "", organization.id, command.structure_id, organization.currency
            )
            # An account not opened yet has no entries.
            ledger = uow.accounts.ledger(stored.id) if stored is not None else []
            orders = tuple(
                r.OrderSummary(
                    id=order.id,
                    placed_at=order.placed_at,
                    placed_by=order.placed_by,
                    placed_by_operator=order.placed_by_operator,
                    total=order.total,
                    payment_method=order.payment_method,
                    state=order.state,
                    invoice_id=order.invoice_id,
                    settled=not order.is_cancelled and is_settled(order, stored),
                )
                for order in uow.orders.for_structure(organization.id, command.structure_id)
            )
        return r.HoldingAccountView.of(
            account, orders, ledger=ledger, time_zone=organization.time_zone
        )

    def set_credit_limit(self, command: c.SetCreditLimit) -> r.HoldingAccountView:
        """Cap the account (or lift the cap with ``None``); later orders on account that would
        take the outstanding amount over it are refused."""
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            self._structure(uow, organization, command.structure_id)
            account, new = self._account_for_update(uow, organization, command.structure_id)
            account.set_limit(command.limit)
            self._save(uow, account, new)
            uow.commit()
        return self.view_holding_account(
            c.ViewHoldingAccount(command.token, command.organization_id, command.structure_id)
        )

    def issue_invoice(self, command: c.IssueInvoice) -> r.InvoiceView:
        """One invoice for all unsettled, not yet invoiced orders of the structure, numbered
        next in the organization's gapless sequence, due after the organization's payment
        terms, with a structured reference for a Swiss IBAN in CHF or EUR. Credit on the account
        pays it first. With a document renderer, it is mailed with its PDF to the structure's
        billing email or else its relays (in the same commit)."""
        now = self.adapters.clock.now()
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            structure = self._structure(uow, organization, command.structure_id)
            locks = Locks(uow)
            account = locks.account(organization.id, command.structure_id)
            if account is None:
                raise NothingToInvoiceError(
                    "This structure has no order on its holding account.",
                    structure_id=command.structure_id,
                )
            sequence = locks.invoice_sequence(organization.id)
            # Orders are charged to the account and cancelled under its lock, which is held.
            candidates = uow.orders.uninvoiced_on_account(organization.id, command.structure_id)
            orders = locks.orders([order.id for order in candidates])
            orders.sort(key=lambda o: (o.placed_at, o.id))
            number = sequence.next()
            terms = payment_terms(organization, number, now)
            invoice = issue_invoice(
                id=self.adapters.ids.new_id("invoice"),
                number=number,
                structure_id=command.structure_id,
                organization_id=organization.id,
                currency=organization.currency,
                orders=orders,
                issued_at=now,
                descriptions=_descriptions(uow, orders),
                due_on=terms.due_on,
                reference=terms.reference,
                iban=terms.iban,
                seller=seller_party(organization),
                buyer=buyer_party(structure),
            )
            for order in orders:
                order.attach_invoice(invoice.id)
                uow.orders.update(order)
            account.register_invoice(invoice.id, invoice.number, invoice.total)
            uow.invoices.add(invoice)
            uow.invoice_sequences.update(sequence)
            uow.accounts.update(account)
            mails = queue_invoice_mail(uow, self.adapters, organization, invoice)
            uow.commit()
        view = r.InvoiceView.of(
            invoice, account.remaining_on(invoice.id), time_zone=organization.time_zone
        )
        return attrs.evolve(view, mail_ids=mails)

    def list_invoices(self, command: c.ListInvoices) -> tuple[r.InvoiceView, ...]:
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            self._structure(uow, organization, command.structure_id)
            account = uow.accounts.for_structure(organization.id, command.structure_id)
            invoices = uow.invoices.for_structure(organization.id, command.structure_id)
        zero = Money.zero(organization.currency)
        return tuple(
            r.InvoiceView.of(
                invoice,
                account.remaining_on(invoice.id)
                if account is not None and invoice.kind is InvoiceKind.INVOICE
                else zero,
                time_zone=organization.time_zone,
            )
            for invoice in invoices
        )

    def record_payment(self, command: c.RecordPayment) -> r.PaymentRecorded:
        """Record a payment received for the account: it settles the invoice of
        ``invoice_reference`` first if given, else the oldest open invoice first; what is left
        over stays as credit for the next invoice.

        With ``invoice_reference``, raises ``BillingDetailsInvalidError`` (check digits),
        ``InvoiceReferenceUnknownError``, ``InvoiceReferenceForeignError`` (another
        organization's or structure's invoice), ``InvoiceAlreadySettledError`` and
        ``CurrencyMismatchError`` as ``core.billing.invoice_to_settle`` decides.
        """
        now = self.adapters.clock.now()
        with self._auth.operator(command) as (uow, operator):
            reference = command.reference.strip()
            if not reference or len(reference) > 100:
                raise ValidationError("A payment needs a reference of 1 to 100 characters.")
            organization = organization_for(uow, operator, command, command.organization_id)
            self._structure(uow, organization, command.structure_id)
            account, new = self._account_for_update(uow, organization, command.structure_id)
            invoice_id = None
            if command.invoice_reference is not None:
                invoice_id = invoice_to_settle(
                    command.invoice_reference,
                    self._invoices_with(uow, operator, organization, command.invoice_reference),
                    organization_id=organization.id,
                    structure_id=command.structure_id,
                    amount=command.amount,
                    account=None if new else account,
                ).id
            allocations = account.receive_payment(command.amount, reference, now, invoice_id)
            self._save(uow, account, new)
            uow.commit()
        return r.PaymentRecorded(
            structure_id=command.structure_id,
            amount=command.amount,
            reference=reference,
            allocations=tuple(
                r.AllocationView(a.invoice_id, a.number, a.amount) for a in allocations
            ),
            outstanding=account.outstanding,
            credit=account.credit,
        )

    def _invoices_with(
        self, uow: UnitOfWork, operator: OperatorActor, organization: Organization, reference: str
    ) -> list[Invoice]:
        """The invoices carrying ``reference`` that the operator may see: its institution's,
        in the organizations its accounting permission covers (others are not the caller's
        to learn about, and read as an unknown reference)."""
        found = uow.invoices.with_reference(compact_reference(reference))
        visible = {organization.id: True}
        for invoice in found:
            if invoice.organization_id not in visible:
                other = uow.organizations.get(invoice.organization_id)
                visible[invoice.organization_id] = (
                    other is not None
                    and other.institution_id == organization.institution_id
                    and operator.may(Permission.ACCOUNTING, other.id)
                )
        return [invoice for invoice in found if visible[invoice.organization_id]]

    def render_invoice(self, command: c.RenderInvoice) -> r.RenderedDocument:
        """The invoice or credit note as a document, from the host's ``DocumentRenderer``.

        Raises ``NotFoundError`` for an invoice not the operator's, ``RendererMissingError``
        when the host configured no renderer and ``LanguageUnsupportedError``.
        """
        with self._auth.operator(command) as (uow, operator):
            language = check_optional_language(command.language)
            invoice = need(uow.invoices.get(command.invoice_id), "invoice", command.invoice_id)
            organization = require_organization(
                uow, operator, command, invoice.organization_id, "invoice", invoice.id
            )
            renderer = require_renderer(self.adapters)
            structure = need(
                uow.structures.get(invoice.structure_id), "structure", invoice.structure_id
            )
            corrected = (
                uow.invoices.get(invoice.corrects_invoice_id)
                if invoice.corrects_invoice_id is not None
                else None
            )
        document = invoice_document(
            invoice,
            organization,
            structure,
            corrected=corrected,
            language=language or organization.language,
        )
        return r.RenderedDocument(
            document.filename, renderer.media_type, renderer.render_invoice(document)
        )

    def cancel_order(self, command: c.CancelOrder) -> r.OrderCancelled:
        """Cancel an order: its tickets are cancelled and their barcodes revoked, its places
        freed, and the holding account credited (with a credit note if it was invoiced) or the
        card refunded once the cancellation has committed.

        The cancellation stores the refund as due, in the same commit; the refund is made after
        it and recorded on the order. One that fails then leaves the cancellation standing, the
        refund due (``OrderView.refund``) and the result says so (``refund_pending``):
        cancelling the cancelled order again, or ``ProcessDueExpiries``, retries it under the
        same idempotency key, so it is never made twice. Raises ``StateTransitionError`` once
        one of its tickets has been controlled, or for an order already cancelled that owes no
        refund (an order on account).
        """
        with self._auth.operator(command) as (uow, operator):
            found = need(uow.orders.get(command.order_id), "order", command.order_id)
            organization = require_organization(
                uow, operator, command, found.organization_id, "order", found.id
            )
            if found.is_cancelled and found.refund is not None:
                # Cancelled already: only its refund may be left to make.
                order, cancelled = found, r.OrderCancelled(found.id, (), None, None)
            else:
                order, cancelled = self._cancel(uow, organization, found)
                uow.commit()
        if order.refund is None:
            return cancelled
        # Money leaves only now that the cancellation is committed, and with no lock held.
        outcome = settle_refund(self.adapters, order)
        if outcome.reference is None:
            return attrs.evolve(cancelled, refund_pending=True, refund_error=outcome.error)
        return attrs.evolve(cancelled, refund_reference=outcome.reference)

    def _cancel(
        self, uow: UnitOfWork, organization: Organization, found: Order
    ) -> tuple[Order, r.OrderCancelled]:
        now = self.adapters.clock.now()
        locks = Locks(uow)
        locks.performances([line.performance_id for line in found.lines])
        account = locks.account(organization.id, found.structure_id) if found.on_account else None
        # Under the account's lock no invoice can take the order: read which one holds it.
        invoiced = (
            account is not None
            and need(uow.orders.get(found.id), "order", found.id).invoice_id is not None
        )
        sequence = locks.invoice_sequence(organization.id) if invoiced else None
        order = locks.order(found.id)
        order.cancel(now)
        tickets = locks.tickets_of_order(order.id)
        for ticket in tickets:
            if ticket.state is TicketState.CONTROLLED:
                raise StateTransitionError(
                    "A ticket of this order was already controlled at the gate.",
                    id=order.id,
                    ticket_id=ticket.id,
                    action="cancel",
                )
            ticket.cancel()
            uow.tickets.update(ticket)
        mails = self._cancellation_notices(uow, organization, tickets)
        credit_note = None
        if account is not None:
            if order.invoice_id is not None:
                if sequence is None:
                    raise ConcurrencyError(
                        "The order was invoiced meanwhile; try again.", id=order.id
                    )
                invoice = need(uow.invoices.get(order.invoice_id), "invoice", order.invoice_id)
                credit_note = issue_credit_note(
                    id=self.adapters.ids.new_id("invoice"),
                    number=sequence.next(),
                    invoice=invoice,
                    order=order,
                    issued_at=now,
                    descriptions=_descriptions(uow, [order]),
                    seller=seller_party(organization),
                    buyer=buyer_party(
                        need(
                            uow.structures.get(order.structure_id), "structure", order.structure_id
                        )
                    ),
                )
                uow.invoices.add(credit_note)
                uow.invoice_sequences.update(sequence)
                mails += queue_invoice_mail(uow, self.adapters, organization, credit_note, invoice)
            account.credit_cancelled_order(order.id, order.total, now, order.invoice_id)
            uow.accounts.update(account)
        uow.orders.update(order)
        return order, r.OrderCancelled(
            order_id=order.id,
            tickets_cancelled=tuple(t.id for t in tickets),
            credit_note=(
                r.InvoiceView.of(
                    credit_note,
                    Money.zero(organization.currency),
                    time_zone=organization.time_zone,
                )
                if credit_note
                else None
            ),
            refund_reference=None,
            mail_ids=mails,
        )

    def _cancellation_notices(
        self, uow: UnitOfWork, organization: Organization, tickets: list[Ticket]
    ) -> tuple[str, ...]:
        """Tell each individual holding some of the tickets (queued with the cancellation)."""
        held: dict[str, list[Ticket]] = {}
        for ticket in tickets:
            if ticket.holder_id is not None:
                held.setdefault(ticket.holder_id, []).append(ticket)
        labels = Labels(uow)
        mails = []
        for holder_id, theirs in sorted(held.items()):
            holder = uow.individuals.get(holder_id)
            if holder is None:
                continue
            mails.append(
                queue_ticket_notice(
                    uow,
                    self.adapters,
                    labels,
                    holder,
                    MailKind.CANCELLATION,
                    theirs,
                    organization=organization,
                )
            )
        return tuple(mails)
