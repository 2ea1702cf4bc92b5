"""The entry point a host builds once with the adapters it chose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ticketdomain.core.errors import CommandTypeUnknownError
from ticketdomain.core.identity import Rule, SecurityPolicy
from ticketdomain.core.mail import DeliveryPolicy
from ticketdomain.ports.documents import DocumentRenderer, DocumentStore, TicketRenderer
from ticketdomain.ports.mail import Mailer, MailTemplates
from ticketdomain.ports.payment import PaymentGateway
from ticketdomain.ports.security import PasswordHasher, TokenGenerator
from ticketdomain.ports.spreadsheets import SpreadsheetCodec
from ticketdomain.ports.storage import Storage
from ticketdomain.ports.system import BarcodeGenerator, Clock, IdGenerator
from ticketdomain.services import commands as c
from ticketdomain.services._auth import rule_of
from ticketdomain.services._context import Adapters
from ticketdomain.services._mail import PlainTextTemplates
from ticketdomain.services.access import AccessControlService
from ticketdomain.services.accounts import AccountService
from ticketdomain.services.billing import BillingService
from ticketdomain.services.contacts import ContactService
from ticketdomain.services.distribution import DistributionService
from ticketdomain.services.host import HostAccess
from ticketdomain.services.identity import IdentityService
from ticketdomain.services.languages import LanguageService
from ticketdomain.services.mail import MailService
from ticketdomain.services.members import MemberService
from ticketdomain.services.reports import ReportService
from ticketdomain.services.sales import SalesService
from ticketdomain.services.setup import SetupService


class TicketDomain:
    """All application services over one set of adapters.

    Use the services directly (``domain.sales.place_order(PlaceOrder(...))``) or hand any
    command to :meth:`handle`, which is what a front end working from serialized commands does.
    Nothing is global: a host may build several, each over its own storage.
    """

    def __init__(
        self,
        *,
        storage: Storage,
        clock: Clock,
        ids: IdGenerator,
        barcodes: BarcodeGenerator,
        payments: PaymentGateway,
        documents: DocumentStore,
        renderer: TicketRenderer,
        mailer: Mailer,
        passwords: PasswordHasher,
        tokens: TokenGenerator,
        security: SecurityPolicy | None = None,
        delivery: DeliveryPolicy | None = None,
        spreadsheets: SpreadsheetCodec | None = None,
        mail_templates: MailTemplates | None = None,
        document_renderer: DocumentRenderer | None = None,
    ) -> None:
        self.adapters = Adapters(
            storage=storage,
            clock=clock,
            ids=ids,
            barcodes=barcodes,
            payments=payments,
            documents=documents,
            renderer=renderer,
            mailer=mailer,
            passwords=passwords,
            tokens=tokens,
            security=security if security is not None else SecurityPolicy(),
            delivery=delivery if delivery is not None else DeliveryPolicy(),
            spreadsheets=spreadsheets,
            mail_templates=mail_templates if mail_templates is not None else PlainTextTemplates(),
            document_renderer=document_renderer,
        )
        #: trusted calls for the host's own code; not reachable through :meth:`handle`
        self.host = HostAccess(self.adapters)
        self.identity = IdentityService(self.adapters)
        self.setup = SetupService(self.adapters)
        self.contacts = ContactService(self.adapters)
        self.sales = SalesService(self.adapters)
        self.accounts = AccountService(self.adapters)
        self.billing = BillingService(self.adapters)
        self.reports = ReportService(self.adapters)
        self.mail = MailService(self.adapters)
        self.distribution = DistributionService(self.adapters)
        self.members = MemberService(self.adapters)
        self.access = AccessControlService(self.adapters)
        self.languages = LanguageService(self.adapters)
        self._handlers: dict[type[Any], Callable[[Any], Any]] = {
            c.LoginOperator: self.identity.login_operator,
            c.LoginRelay: self.identity.login_relay,
            c.LoginMember: self.identity.login_member,
            c.RequestLoginLink: self.identity.request_login_link,
            c.LoginWithLink: self.identity.login_with_link,
            c.Logout: self.identity.logout,
            c.ChangePassword: self.identity.change_password,
            c.CreateOperator: self.identity.create_operator,
            c.SetOperatorPermissions: self.identity.set_operator_permissions,
            c.RemoveOperator: self.identity.remove_operator,
            c.ListOperators: self.identity.list_operators,
            c.CreateApiKey: self.identity.create_api_key,
            c.RevokeApiKey: self.identity.revoke_api_key,
            c.RegisterGate: self.identity.register_gate,
            c.RevokeGate: self.identity.revoke_gate,
            c.CreateOrganization: self.setup.create_organization,
            c.SetOrganizationBillingDetails: self.billing.set_organization_billing_details,
            c.CreateSalesChannel: self.setup.create_sales_channel,
            c.CreateSalesPoint: self.setup.create_sales_point,
            c.SetSalesPointFunctions: self.setup.set_sales_point_functions,
            c.SetAdmissionPolicy: self.setup.set_admission_policy,
            c.AuthorizeStructure: self.setup.authorize_structure,
            c.RevokeStructure: self.setup.revoke_structure,
            c.CreateActivity: self.setup.create_activity,
            c.CreatePerformance: self.setup.create_performance,
            c.CreateProduct: self.setup.create_product,
            c.CreateTariff: self.setup.create_tariff,
            c.CreateQuota: self.setup.create_quota,
            c.SetCatalogProfile: self.setup.set_catalog_profile,
            c.CreateStructure: self.contacts.create_structure,
            c.SetStructureBillingDetails: self.billing.set_structure_billing_details,
            c.CreateIndividual: self.contacts.create_individual,
            c.SearchContacts: self.contacts.search_contacts,
            c.RemoveRelay: self.contacts.remove_relay,
            c.SetMyLanguage: self.languages.set_my_language,
            c.SetContactLanguage: self.languages.set_contact_language,
            c.SetOrganizationLanguage: self.languages.set_organization_language,
            c.ViewCatalog: self.sales.view_catalog,
            c.PlaceOrder: self.sales.place_order,
            c.PlaceOrderForStructure: self.sales.place_order_for_structure,
            c.ListOrders: self.sales.list_orders,
            c.ViewOrder: self.sales.view_order,
            c.ListReservations: self.sales.list_reservations,
            c.RequestOption: self.sales.request_option,
            c.GrantOption: self.sales.grant_option,
            c.DeclineOption: self.sales.decline_option,
            c.PlaceReservation: self.sales.place_reservation,
            c.ReleaseReservation: self.sales.release_reservation,
            c.ConfirmReservation: self.sales.confirm_reservation,
            c.ProcessDueExpiries: self.sales.process_due_expiries,
            c.PrintTickets: self.sales.print_tickets,
            c.TransferTickets: self.sales.transfer_tickets,
            c.ViewHoldingAccount: self.accounts.view_holding_account,
            c.SetCreditLimit: self.accounts.set_credit_limit,
            c.IssueInvoice: self.accounts.issue_invoice,
            c.ListInvoices: self.accounts.list_invoices,
            c.RecordPayment: self.accounts.record_payment,
            c.RenderInvoice: self.accounts.render_invoice,
            c.CancelOrder: self.accounts.cancel_order,
            c.ViewSalesReport: self.reports.sales_report,
            c.RenderSalesReport: self.reports.render_sales_report,
            c.DispatchMail: self.mail.dispatch_mail,
            c.ListFailedMail: self.mail.list_failed_mail,
            c.RequeueMail: self.mail.requeue_mail,
            c.ViewStock: self.distribution.view_stock,
            c.SearchMembers: self.distribution.search_members,
            c.ViewDashboard: self.distribution.view_dashboard,
            c.RenderDashboard: self.reports.render_dashboard,
            c.DistributeToMember: self.distribution.distribute_to_member,
            c.DistributeToSubStructure: self.distribution.distribute_to_sub_structure,
            c.PrintAtOnce: self.distribution.print_at_once,
            c.ExportStock: self.distribution.export_stock,
            c.ImportDistribution: self.distribution.import_distribution,
            c.ListDistributedTickets: self.distribution.list_distributed_tickets,
            c.ReclaimTickets: self.distribution.reclaim_tickets,
            c.ReclaimFromSubStructure: self.distribution.reclaim_from_sub_structure,
            c.ListMemberTickets: self.members.list_member_tickets,
            c.PrintMemberTickets: self.members.print_member_tickets,
            c.SetMarketingConsent: self.members.set_marketing_consent,
            c.ScanTicket: self.access.scan_ticket,
            c.ExportBeneficiaries: self.reports.export_beneficiaries,
        }

    def handle(self, command: object) -> Any:
        """Run any command of the public API and return its result.

        Every command but logging in carries a token; the actor it stands for is loaded from
        storage and held to the command's ``rule`` before anything else happens. Raises what the
        command's service raises, ``SessionInvalidError`` for a token that opens nothing,
        ``ActorNotAllowedError`` / ``PermissionMissingError`` for an actor the rule refuses, and
        ``CommandTypeUnknownError`` for an object that is not a command.
        """
        handler = self._handlers.get(type(command))
        if handler is None:
            raise CommandTypeUnknownError(
                f"{type(command).__name__} is not a ticketdomain command.",
                type=type(command).__name__,
            )
        rule_of(command)
        return handler(command)

    @staticmethod
    def command_types() -> tuple[type[Any], ...]:
        return COMMAND_TYPES


COMMAND_TYPES: tuple[type[Any], ...] = tuple(
    cls
    for name, cls in vars(c).items()
    if isinstance(cls, type)
    and cls.__module__ == c.__name__
    and name[0].isupper()
    and isinstance(getattr(cls, "rule", None), Rule)
)
