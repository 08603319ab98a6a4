"""Forms of the NEW SERVICE wizard. They validate input only; saving goes through orders.services."""

import datetime as dt

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from catalog.billing import billing_type_key, parse_billing_type_key
from catalog.integrations import get_integration
from catalog.models import BillingFrequency, Service, Term
from catalog.selectors import billing_types_for, price_list_for

from .models import Order
from .selectors import integration_context_for
from .validation import schedule_time_error

UTC = dt.timezone.utc
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
DATETIME_PLACEHOLDER = "YYYY-MM-DD HH:MM"
DEFAULT_BILLING_TYPE = billing_type_key(BillingFrequency.MONTHLY, Term.P1Y)

SERVICE_REQUIRED = _("Select a service to continue.")
SUBSCRIPTION_NAME_TOO_LONG = _("Subscription Name can have at most %(limit_value)d characters (it has %(show_value)d).")
QUANTITY_REQUIRED = _("Quantity is required.")
QUANTITY_INVALID = _("Quantity must be a whole number, e.g. 1.")
QUANTITY_TOO_SMALL = _("Quantity must be at least 1.")
QUANTITY_TOO_LARGE = _("Quantity can be at most %(limit_value)s for this service.")
BILLING_TYPE_REQUIRED = _("Choose a billing type.")
BILLING_TYPE_INVALID = _("Choose one of the billing types offered for this service.")
NO_BILLING_TYPES = _("The price list has no price for this service today, so it cannot be ordered now.")
BILLING_START_REQUIRED = _("Billing start date is required.")
BILLING_START_INVALID = _("Enter the billing start date as YYYY-MM-DD HH:MM (UTC), e.g. 2024-07-18 22:01.")
CONTRACT_ID_TOO_LONG = _("Contract ID can have at most %(limit_value)d characters (it has %(show_value)d).")
SCHEDULE_INVALID = _(
    "Enter the schedule time as YYYY-MM-DD HH:MM (UTC), e.g. 2024-08-01 10:00, or leave it empty for as soon as possible."
)

# The generic fields; a vendor integration must not declare fields with these names.
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


def format_utc(value: dt.datetime | None) -> str:
    return value.astimezone(UTC).strftime(DATETIME_FORMAT) if value else ""


def now_to_the_minute(now: dt.datetime) -> dt.datetime:
    return now.astimezone(UTC).replace(second=0, microsecond=0)


class UTCDateTimeField(forms.DateTimeField):
    """A `YYYY-MM-DD HH:MM` text field read as UTC, whatever the active time zone is.

    The manual's fields are plain UTC text; a datetime-local widget would use the browser's zone.
    """

    widget = forms.TextInput

    def __init__(self, **kwargs):
        super().__init__(input_formats=[DATETIME_FORMAT], **kwargs)
        self.widget.attrs.setdefault("placeholder", DATETIME_PLACEHOLDER)
        self.widget.attrs.setdefault("maxlength", "16")
        self.widget.attrs.setdefault("autocomplete", "off")

    def prepare_value(self, value):
        if isinstance(value, dt.datetime):
            return format_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            parsed = dt.datetime.strptime(str(value).strip(), DATETIME_FORMAT)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return parsed.replace(tzinfo=UTC)


class ServiceChoiceForm(forms.Form):
    """Step 1. The queryset is the company's price list: any other id is a tampered form (the view 404s)."""

    service = forms.ModelChoiceField(queryset=Service.objects.none(), error_messages={"required": SERVICE_REQUIRED})

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services

    @property
    def tampered(self) -> bool:
        return self.has_error("service", "invalid_choice")


class ConfigurationForm(forms.Form):
    """Step 3: the manual's generic fields plus the fields of the service's vendor integration."""

    subscription_name = forms.CharField(
        label=_("Subscription Name"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use the service name."),
        error_messages={"max_length": SUBSCRIPTION_NAME_TOO_LONG},
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        error_messages={
            "required": QUANTITY_REQUIRED,
            "invalid": QUANTITY_INVALID,
            "min_value": QUANTITY_TOO_SMALL,
            "max_value": QUANTITY_TOO_LARGE,
        },
    )
    billing_type = forms.ChoiceField(
        label=_("Billing Type"),
        error_messages={"required": BILLING_TYPE_REQUIRED, "invalid_choice": BILLING_TYPE_INVALID},
    )
    send_to_backend = forms.BooleanField(label=_("Send to backend"), required=False)
    notify_me = forms.BooleanField(label=_("Notify me"), required=False)
    billing_start_date = UTCDateTimeField(
        label=_("Billing start date"),
        help_text=_("UTC, YYYY-MM-DD HH:MM"),
        error_messages={"required": BILLING_START_REQUIRED, "invalid": BILLING_START_INVALID},
    )
    is_billable = forms.BooleanField(label=_("Is billable"), required=False)
    contract_id = forms.CharField(
        label=_("Contract ID"), max_length=100, required=False, error_messages={"max_length": CONTRACT_ID_TOO_LONG}
    )

    def __init__(self, *args, order: Order, day: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        if order.service_id is None:
            raise ValueError("The order has no service yet.")
        self.order = order
        service = order.service
        price_list = price_list_for(order.company)
        self.billing_types = billing_types_for(price_list=price_list, service=service, day=day) if price_list else []

        quantity = self.fields["quantity"]
        # The limit is per service, so the validator is added here rather than in the declaration.
        quantity.max_value = service.max_quantity
        quantity.validators.append(MaxValueValidator(service.max_quantity))
        quantity.widget.attrs.update({"min": "1", "max": str(service.max_quantity), "step": "1"})

        billing_type = self.fields["billing_type"]
        billing_type.choices = self.billing_types
        if not self.billing_types:
            billing_type.error_messages["required"] = NO_BILLING_TYPES

        # The vendor's fields come right after Billing Type, in the "Order details" section (as in the manual).
        integration = get_integration(service.vendor.integration)
        self.vendor_field_names = []
        for name, field in integration.form_fields(integration_context_for(order)).items():
            if name in GENERIC_FIELDS:
                raise ImproperlyConfigured(f"Vendor integration field {name!r} clashes with a generic field.")
            self.fields[name] = field
            self.vendor_field_names.append(name)

    # --- What each step shows -------------------------------------------------------------------

    @classmethod
    def initial_for(cls, order: Order, *, now: dt.datetime, billing_types: list[tuple[str, str]]) -> dict:
        """Defaults of a fresh configuration: the service name, 1, P1Y monthly, the company's flags, now."""
        keys = [key for key, _label in billing_types]
        return {
            "subscription_name": order.service.name,
            "quantity": 1,
            "billing_type": DEFAULT_BILLING_TYPE if DEFAULT_BILLING_TYPE in keys else (keys[0] if keys else ""),
            "send_to_backend": order.company.send_to_backend,
            "notify_me": False,
            "billing_start_date": now_to_the_minute(now),
            "is_billable": order.company.is_billable,
            "contract_id": "",
        }

    @staticmethod
    def data_from_order(order: Order) -> dict:
        """The saved configuration as form data, so it can be validated again (or shown) exactly like input."""
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

    def sections(self) -> list[tuple[str, list]]:
        """(title, bound fields) in the manual's three sections."""
        order_details = ["subscription_name", "quantity", "billing_type", *self.vendor_field_names]
        return [
            (_("Order details"), [self[name] for name in order_details]),
            (_("Technical details"), [self["send_to_backend"], self["notify_me"]]),
            (_("Billing"), [self["billing_start_date"], self["is_billable"], self["contract_id"]]),
        ]

    # --- Cleaning --------------------------------------------------------------------------------

    def clean_subscription_name(self) -> str:
        # Stored as typed (HTML included; templates escape it); empty means the service name.
        return self.cleaned_data["subscription_name"] or self.order.service.name

    def clean_billing_type(self) -> tuple[str, str]:
        parsed = parse_billing_type_key(self.cleaned_data["billing_type"])
        if parsed is None:  # cannot happen after the choice check; kept so a bad key never reaches the model
            raise ValidationError(BILLING_TYPE_INVALID, code="invalid_choice")
        return parsed

    def configuration_values(self) -> dict:
        """Keyword arguments for orders.services.order_configure."""
        data = self.cleaned_data
        frequency, term = data["billing_type"]
        return {
            "subscription_name": data["subscription_name"],
            "quantity": data["quantity"],
            "frequency": frequency,
            "term": term,
            "send_to_backend": data["send_to_backend"],
            "notify_me": data["notify_me"],
            "billing_start_date": data["billing_start_date"],
            "is_billable": data["is_billable"],
            "contract_id": data["contract_id"],
            "vendor_config": {name: data[name] for name in self.vendor_field_names},
        }

    def summary(self) -> list[tuple[str, str]]:
        """(label, shown value) of a valid form, for the Order review."""
        rows = []
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if name == "billing_type":
                shown = dict(self.billing_types).get(billing_type_key(*value), "")
            elif isinstance(field, forms.BooleanField):
                shown = _("Yes") if value else _("No")
            elif isinstance(field, forms.ChoiceField):
                shown = dict(field.choices).get(value, value) or "—"
            elif isinstance(value, dt.datetime):
                shown = f"{format_utc(value)} (UTC)"
            else:
                shown = value if value not in (None, "") else "—"
            rows.append((field.label, shown))
        return rows


class ScheduleForm(forms.Form):
    """Step 4: Schedule provisioning (UTC). Empty means as soon as possible."""

    scheduled_for = UTCDateTimeField(
        label=_("Schedule provisioning (UTC)"),
        required=False,
        help_text=_("YYYY-MM-DD HH:MM in UTC; leave empty to provision as soon as possible."),
        error_messages={"invalid": SCHEDULE_INVALID},
    )

    def __init__(self, *args, now: dt.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def clean_scheduled_for(self) -> dt.datetime | None:
        value = self.cleaned_data["scheduled_for"]
        if value is not None and (error := schedule_time_error(value, now=self.now)):
            raise ValidationError(error, code="out_of_range")
        return value

    def due_at(self) -> dt.datetime:
        return self.cleaned_data["scheduled_for"] or self.now
