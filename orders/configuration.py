"""The Configuration step's fields and rules, declared once.

configuration_fields() lists every field (the manual's generic fields, then the vendor's) with its
label, limits and messages. The Configuration form shows them, the Order review summarises them,
and configuration_problems() runs the very same fields over the saved values when the order is
scheduled (prices, billing types or limits may have changed since it was saved). Nothing here
knows about HTTP; orders.forms is only the input side.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

from catalog.billing import billing_type_key, parse_billing_type_key
from catalog.integrations import get_integration
from catalog.models import BillingFrequency, Term

from .facts import OrderFacts
from core.datetimes import UTC, ZonedDateTimeField, format_utc, utc_text
from .models import Order

DEFAULT_BILLING_TYPE = billing_type_key(BillingFrequency.MONTHLY, Term.P1Y)

SUBSCRIPTION_NAME_TOO_LONG = _("Subscription Name can have at most %(limit_value)d characters (it has %(show_value)d).")
QUANTITY_REQUIRED = _("Quantity is required.")
QUANTITY_INVALID = _("Quantity must be a whole number, e.g. 1.")
QUANTITY_TOO_SMALL = _("Quantity must be at least 1.")
QUANTITY_TOO_LARGE = _("Quantity can be at most %(limit_value)s for this service.")
BILLING_TYPE_REQUIRED = _("Choose a billing type.")
BILLING_TYPE_INVALID = _("Choose one of the billing types offered for this service.")
NO_BILLING_TYPES = _("The price list has no price for this service today, so it cannot be ordered now.")
BILLING_START_REQUIRED = _("Billing start date is required.")
BILLING_START_INVALID = _("Enter the billing start date as YYYY-MM-DD HH:MM, e.g. 2024-07-18 22:01.")
BILLING_START_OUT_OF_RANGE = _("The billing start date must be between the years %(min)s and %(max)s (UTC).")
CONTRACT_ID_TOO_LONG = _("Contract ID can have at most %(limit_value)d characters (it has %(show_value)d).")

# The generic fields, each with the Order attribute it is saved to; a vendor integration must not
# declare fields with these names. Billing Type is saved to two attributes (frequency and term).
GENERIC_FIELDS = (
    "subscription_name",
    "quantity",
    "billing_type",
    "send_to_backend",
    "notify_me",
    "billing_start_date",
    "is_billable",
    "contract_id",
)
BOOLEAN_FIELDS = ("send_to_backend", "notify_me", "is_billable")
# The Order attributes the step saves (the values orders.services.order_configure takes).
CONFIGURATION_ATTRIBUTES = (
    "subscription_name",
    "quantity",
    "billing_frequency",
    "term",
    *BOOLEAN_FIELDS,
    "billing_start_date",
    "contract_id",
    "vendor_config",
)
# The manual's three sections; the vendor's fields join "Order details" right after Billing Type.
SECTIONS = (
    (_("Order details"), ("subscription_name", "quantity", "billing_type")),
    (_("Technical details"), ("send_to_backend", "notify_me")),
    (_("Billing"), ("billing_start_date", "is_billable", "contract_id")),
)


def _generic_fields(order: Order, billing_types: list[tuple[str, str]]) -> dict[str, forms.Field]:
    limit = order.service.max_quantity
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=limit,
        error_messages={
            "required": QUANTITY_REQUIRED,
            "invalid": QUANTITY_INVALID,
            "min_value": QUANTITY_TOO_SMALL,
            "max_value": QUANTITY_TOO_LARGE,
        },
    )
    quantity.widget.attrs.update({"min": "1", "max": str(limit), "step": "1"})
    return {
        "subscription_name": forms.CharField(
            label=_("Subscription Name"),
            max_length=200,
            required=False,
            help_text=_("Leave empty to use the service name."),
            error_messages={"max_length": SUBSCRIPTION_NAME_TOO_LONG},
        ),
        "quantity": quantity,
        "billing_type": forms.ChoiceField(
            label=_("Billing Type"),
            choices=billing_types,
            error_messages={
                "required": BILLING_TYPE_REQUIRED if billing_types else NO_BILLING_TYPES,
                "invalid_choice": BILLING_TYPE_INVALID,
            },
        ),
        "send_to_backend": forms.BooleanField(label=_("Send to backend"), required=False),
        "notify_me": forms.BooleanField(label=_("Notify me"), required=False),
        "billing_start_date": ZonedDateTimeField(
            label=_("Billing start date"),
            help_text=_("YYYY-MM-DD HH:MM in the time zone beside it"),
            error_messages={
                "required": BILLING_START_REQUIRED,
                "invalid": BILLING_START_INVALID,
                "year_out_of_range": BILLING_START_OUT_OF_RANGE,
            },
        ),
        "is_billable": forms.BooleanField(label=_("Is billable"), required=False),
        "contract_id": forms.CharField(
            label=_("Contract ID"), max_length=100, required=False, error_messages={"max_length": CONTRACT_ID_TOO_LONG}
        ),
    }


class ConfigurationFields:
    """The fields of one order's Configuration, in display order, for the facts of one day."""

    def __init__(self, order: Order, facts: OrderFacts):
        if order.service_id is None:
            raise ValueError("The order has no service yet.")
        self.order = order
        self.billing_types = facts.book.billing_types(order.company_id, order.service_id)
        generic = _generic_fields(order, self.billing_types)
        integration = get_integration(order.service.vendor.integration)
        vendor = integration.form_fields(facts.integration_context(order))
        if clash := set(vendor) & set(GENERIC_FIELDS):
            raise ImproperlyConfigured(f"Vendor integration fields {sorted(clash)} clash with generic fields.")
        self.vendor_names = list(vendor)
        names = [*SECTIONS[0][1], *self.vendor_names, *SECTIONS[1][1], *SECTIONS[2][1]]
        self.fields = {name: generic.get(name) or vendor[name] for name in names}

    def sections(self) -> list[tuple[str, list[str]]]:
        """(title, field names) of the manual's three sections."""
        (details, generic_details), *others = SECTIONS
        return [(details, [*generic_details, *self.vendor_names]), *[(title, list(names)) for title, names in others]]

    def initial(self, *, now: dt.datetime) -> dict:
        """Defaults of a fresh configuration: the service name, 1, P1Y monthly, the company's flags, now."""
        keys = [key for key, _label in self.billing_types]
        order = self.order
        return {
            "subscription_name": order.service.name,
            "quantity": 1,
            "billing_type": DEFAULT_BILLING_TYPE if DEFAULT_BILLING_TYPE in keys else (keys[0] if keys else ""),
            "send_to_backend": order.company.send_to_backend,
            "notify_me": False,
            "billing_start_date": now.astimezone(UTC).replace(second=0, microsecond=0),
            "is_billable": order.company.is_billable,
            "contract_id": "",
        }

    def values(self, cleaned: dict) -> dict:
        """Cleaned field values → keyword arguments of orders.services.order_configure."""
        frequency, term = parse_billing_type_key(cleaned["billing_type"]) or ("", "")
        return {
            # Stored as typed (HTML included; templates escape it); empty means the service name.
            "subscription_name": cleaned["subscription_name"] or self.order.service.name,
            "quantity": cleaned["quantity"],
            "billing_frequency": frequency,
            "term": term,
            **{name: cleaned[name] for name in BOOLEAN_FIELDS},
            "billing_start_date": cleaned["billing_start_date"],
            "contract_id": cleaned["contract_id"],
            "vendor_config": {name: cleaned[name] for name in self.vendor_names},
        }

    def summary(self, cleaned: dict) -> list[tuple[str, str]]:
        """(label, shown value) of valid values, for the Order review."""
        rows = []
        for name, field in self.fields.items():
            value = cleaned.get(name)
            if name == "billing_type":
                shown = dict(self.billing_types).get(value, "")
            elif isinstance(field, forms.BooleanField):
                shown = _("Yes") if value else _("No")
            elif isinstance(field, forms.ChoiceField):
                shown = dict(field.choices).get(value, value) or "—"
            elif isinstance(value, dt.datetime):
                shown = utc_text(value)
            else:
                shown = value if value not in (None, "") else "—"
            rows.append((field.label, shown))
        return rows

    def clean(self, data: dict) -> tuple[dict, dict[str, list[str]]]:
        """Run every field over `data` (form-encoded values): (cleaned values, errors by field)."""
        cleaned, errors = {}, {}
        for name, field in self.fields.items():
            try:
                cleaned[name] = field.clean(data.get(name))
            except ValidationError as error:
                errors[name] = error.messages
        return cleaned, errors


def configuration_cleared(order: Order) -> dict:
    """The attribute values of a draft whose configuration is forgotten (a new service was chosen):
    empty, but the company's own flags."""
    return {
        **{name: "" for name in ("subscription_name", "billing_frequency", "term", "contract_id")},
        "quantity": None,
        "send_to_backend": order.company.send_to_backend,
        "notify_me": False,
        "billing_start_date": None,
        "is_billable": order.company.is_billable,
        "vendor_config": {},
    }


def configuration_data(order: Order) -> dict:
    """The saved configuration as form data, so it is validated (or shown) exactly like input."""
    data = {
        "subscription_name": order.subscription_name,
        "quantity": "" if order.quantity is None else str(order.quantity),
        "billing_type": billing_type_key(order.billing_frequency, order.term)
        if order.billing_frequency and order.term
        else "",
        "billing_start_date": format_utc(order.billing_start_date),
        "contract_id": order.contract_id,
    }
    for name in BOOLEAN_FIELDS:
        if getattr(order, name):
            data[name] = "on"
    for name, value in (order.vendor_config or {}).items():
        if name not in GENERIC_FIELDS:
            data[name] = "" if value is None else str(value)
    return data


def configuration_problems(order: Order, facts: OrderFacts) -> dict[str, list[str]]:
    """What is wrong with the order's saved configuration on facts.day (empty when it is valid)."""
    _cleaned, errors = ConfigurationFields(order, facts).clean(configuration_data(order))
    return errors


def vendor_defaults_fill(order: Order, facts: OrderFacts, names) -> bool:
    """Give the vendor fields `names`, left empty, the default the Configuration step would show on
    facts' day (e.g. the company's Microsoft Tenant Id, which a tenant created earlier in the same
    batch provides). Bulk import lines run this before the due-time checks; True when it changed."""
    fields = get_integration(order.service.vendor.integration).form_fields(facts.integration_context(order))
    config = dict(order.vendor_config or {})
    changed = False
    for name in names:
        if not config.get(name) and name in fields and fields[name].initial:
            config[name] = fields[name].initial
            changed = True
    if changed:
        order.vendor_config = config
    return changed
