"""Operator set-up: institution, organizations, sales channels and sales points."""

from __future__ import annotations

import enum
from datetime import timedelta

import attrs

from ticketdomain.core.banking import SellerBilling
from ticketdomain.core.contacts import clean_name
from ticketdomain.core.errors import (
    DeliveryModeNotAllowedError,
    FunctionDisabledError,
    PaymentMethodNotAllowedError,
    SetupInvalidError,
)
from ticketdomain.core.languages import DEFAULT_LANGUAGE, check_language
from ticketdomain.core.money import _currency
from ticketdomain.core.timezones import DEFAULT_TIME_ZONE, check_time_zone


class ChannelKind(enum.Enum):
    AGENCY = "agency"
    CORPORATE = "corporate"
    INDIVIDUAL = "individual"
    BOX_OFFICE = "box_office"


class Function(enum.Enum):
    """Functions a sales point can switch on or off."""

    OPTIONS = "options"
    SALES_REPORT = "sales_report"
    CHOOSE_PURCHASING_CONTACT = "choose_purchasing_contact"
    DISTRIBUTION = "distribution"


class PaymentMethod(enum.Enum):
    CARD = "card"
    HOLDING_ACCOUNT = "holding_account"


class DeliveryMode(enum.Enum):
    PRINT_AT_HOME = "print_at_home"
    TRANSFER = "transfer"


@attrs.define
class Institution:
    id: str
    name: str = attrs.field(converter=clean_name)


@attrs.define
class Organization:
    id: str
    institution_id: str
    name: str = attrs.field(converter=clean_name)
    currency: str = attrs.field(converter=_currency)
    #: the IANA time zone of its venues, unless a performance names another
    time_zone: str = attrs.field(default=DEFAULT_TIME_ZONE, converter=check_time_zone)
    #: the language of its mail to contacts who name none
    language: str = attrs.field(default=DEFAULT_LANGUAGE, converter=check_language)
    #: what its invoices print as the seller (``set_billing_details``); none until set
    billing: SellerBilling | None = None


@attrs.define
class SalesChannel:
    id: str
    institution_id: str
    name: str = attrs.field(converter=clean_name)
    kind: ChannelKind = ChannelKind.INDIVIDUAL


def _non_negative(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value < timedelta(0):
        raise SetupInvalidError(f"{attribute.name} must not be negative.", field=attribute.name)


@attrs.frozen
class SalesPointPolicy:
    """Delays and limits a sales point applies to what is sold there."""

    #: how long a reservation holds places at most
    reservation_delay: timedelta = attrs.field(default=timedelta(days=2), validator=_non_negative)
    #: a reservation lapses at the latest this long before the performance starts
    reservation_cutoff: timedelta = attrs.field(default=timedelta(days=1), validator=_non_negative)
    #: how long an option request waits for the operator
    option_lifetime: timedelta = attrs.field(default=timedelta(days=7), validator=_non_negative)
    #: largest acceptance document accepted, in bytes
    max_document_bytes: int = 5 * 1024 * 1024
    #: whether tickets of an unsettled holding-account order may be printed and admitted
    admit_before_settlement: bool = True


@attrs.define
class SalesPoint:
    id: str
    organization_id: str
    channel_id: str
    name: str = attrs.field(converter=clean_name)
    functions: frozenset[Function] = frozenset()
    payment_methods: frozenset[PaymentMethod] = frozenset({PaymentMethod.CARD})
    delivery_modes: frozenset[DeliveryMode] = frozenset({DeliveryMode.PRINT_AT_HOME})
    authorized_structure_ids: set[str] = attrs.Factory(set)
    policy: SalesPointPolicy = attrs.Factory(SalesPointPolicy)

    def __attrs_post_init__(self) -> None:
        if not self.payment_methods:
            raise SetupInvalidError("A sales point needs at least one payment method.")
        if not self.delivery_modes:
            raise SetupInvalidError("A sales point needs at least one delivery mode.")

    def has(self, function: Function) -> bool:
        return function in self.functions

    def require(self, function: Function) -> None:
        if function not in self.functions:
            raise FunctionDisabledError(
                f"The function {function.value!r} is off on sales point {self.name!r}.",
                function=function.value,
                sales_point_id=self.id,
            )

    def require_payment_method(self, method: PaymentMethod) -> None:
        if method not in self.payment_methods:
            raise PaymentMethodNotAllowedError(
                f"Payment method {method.value!r} is not allowed on sales point {self.name!r}.",
                payment_method=method.value,
            )

    def require_delivery_mode(self, mode: DeliveryMode) -> None:
        if mode not in self.delivery_modes:
            raise DeliveryModeNotAllowedError(
                f"Delivery mode {mode.value!r} is not allowed on sales point {self.name!r}.",
                delivery_mode=mode.value,
            )

    def authorize(self, structure_id: str) -> None:
        self.authorized_structure_ids.add(structure_id)

    def revoke(self, structure_id: str) -> None:
        self.authorized_structure_ids.discard(structure_id)

    def is_authorized(self, structure_id: str) -> bool:
        return structure_id in self.authorized_structure_ids
