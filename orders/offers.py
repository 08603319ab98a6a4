"""What a company can order today: every service its price list offers, with the billing types
priced today, whether its terms are accepted, and the Configuration fields of its vendor (the
API's /companies/{account_id}/services/). Read from the same PriceBook and ConfigurationFields
as the wizard, for all services at once (an unsaved order per service: a batch of OrderFacts).
"""

import datetime as dt
from dataclasses import dataclass

from django import forms

from accounts.models import Company
from catalog.billing import parse_billing_type_key
from catalog.models import Service
from catalog.selectors import price_list_for, services_on_price_list

from .configuration import ConfigurationFields
from .facts import OrderFacts
from .models import Order


@dataclass(frozen=True)
class BillingOption:
    key: str
    label: str
    term: str
    billing_frequency: str
    cost: object
    selling_price: object
    currency: str


@dataclass(frozen=True)
class ConfigurationFieldInfo:
    name: str
    label: str
    required: bool
    kind: str  # "text" or "choice"
    choices: list[tuple[str, str]]
    initial: str
    max_length: int | None
    help_text: str


@dataclass(frozen=True)
class ServiceOffer:
    service: Service
    billing_types: list[BillingOption]
    terms_required: bool
    terms_accepted: bool
    vendor_fields: list[ConfigurationFieldInfo]


def field_info(name: str, field: forms.Field) -> ConfigurationFieldInfo:
    choices = [(str(value), str(label)) for value, label in getattr(field, "choices", [])]
    return ConfigurationFieldInfo(
        name=name,
        label=str(field.label or name),
        required=field.required,
        kind="choice" if isinstance(field, forms.ChoiceField) else "text",
        choices=choices,
        initial="" if field.initial is None else str(field.initial),
        max_length=getattr(field, "max_length", None),
        help_text=str(field.help_text or ""),
    )


def service_offers(company: Company, *, day: dt.date) -> list[ServiceOffer]:
    services = list(services_on_price_list(price_list_for(company)).prefetch_related("dependencies"))
    orders = [Order(company=company, service=service) for service in services]
    facts = OrderFacts.load(orders, day=day)
    book = facts.book
    offers = []
    for order, service in zip(orders, services):
        spec = ConfigurationFields(order, facts)
        options = []
        for key, label in spec.billing_types:
            frequency, term = parse_billing_type_key(key)
            item = book.item(company.pk, service.pk, frequency, term)
            options.append(BillingOption(key, str(label), term, frequency, item.cost, item.selling_price, item.currency))
        offers.append(ServiceOffer(
            service=service,
            billing_types=options,
            terms_required=service.terms_id is not None,
            terms_accepted=book.terms_accepted(company.pk, service),
            vendor_fields=[field_info(name, spec.fields[name]) for name in spec.vendor_names],
        ))
    return offers
