"""Forms of the NEW SERVICE wizard: the input side only. Fields and rules of the Configuration step
are declared in orders.configuration; saving goes through orders.services."""

import datetime as dt
import hashlib

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from catalog.models import Service

from .configuration import (  # noqa: F401  (the messages are re-exported for the tests and templates)
    BILLING_START_INVALID,
    BILLING_START_REQUIRED,
    BILLING_TYPE_INVALID,
    BILLING_TYPE_REQUIRED,
    CONTRACT_ID_TOO_LONG,
    NO_BILLING_TYPES,
    QUANTITY_INVALID,
    QUANTITY_REQUIRED,
    QUANTITY_TOO_LARGE,
    QUANTITY_TOO_SMALL,
    SUBSCRIPTION_NAME_TOO_LONG,
    ConfigurationFields,
)
from core.datetimes import ZonedDateTimeField, ZonedForm
from .validation import schedule_time_error

SERVICE_REQUIRED = _("Select a service to continue.")
# Order review: scheduling an order that the review's own pre-check says would fail is confirmed first.
PRECHECK_CONFIRM_TITLE = _("This order would fail if it were provisioned now")
PRECHECK_CONFIRM = _(
    "These checks are run again at the scheduled time: if one still fails then, the import fails with "
    "its reason on My imports and nothing is created. Schedule it anyway?"
)
SCHEDULE_INVALID = _(
    "Enter the schedule time as YYYY-MM-DD HH:MM, e.g. 2024-08-01 10:00, or leave it empty for as soon as possible."
)


class ServiceChoiceForm(forms.Form):
    """Step 1. The queryset is the company's price list: any other id is a tampered form (the view 404s)."""

    service = forms.ModelChoiceField(queryset=Service.objects.none(), error_messages={"required": SERVICE_REQUIRED})

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services

    @property
    def tampered(self) -> bool:
        return self.has_error("service", "invalid_choice")


class ConfigurationForm(ZonedForm, forms.Form):
    """Step 3: the fields of orders.configuration, bound to input (or to the saved values)."""

    def __init__(self, *args, spec: ConfigurationFields, saved: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.fields.update(spec.fields)
        self.apply_time_zone()
        if saved:  # bound to the saved configuration (orders.configuration.configuration_data)
            self.show_saved_in_own_zone()

    def sections(self) -> list[tuple[str, list]]:
        """(title, bound fields) in the manual's three sections."""
        return [(title, [self[name] for name in names]) for title, names in self.spec.sections()]

    def configuration_values(self) -> dict:
        """Keyword arguments for orders.services.order_configure."""
        return self.spec.values(self.cleaned_data)

    def summary(self) -> list[tuple[str, str]]:
        return self.spec.summary(self.cleaned_data)


class ScheduleForm(ZonedForm, forms.Form):
    """Step 4: Schedule provisioning, typed in a time zone (UTC by default), stored in UTC. Empty
    means as soon as possible."""

    scheduled_for = ZonedDateTimeField(
        label=_("Schedule provisioning"),
        required=False,
        help_text=_("YYYY-MM-DD HH:MM in the time zone beside it; leave empty to provision as soon as possible."),
        error_messages={"invalid": SCHEDULE_INVALID},
    )

    # Set by the Order review's "Schedule anyway": the fingerprint of the failing checks the reseller
    # saw, so a confirmation only covers those reasons (new ones are asked about again).
    confirm_failing = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

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

    def confirms(self, reasons: list[str]) -> bool:
        """Whether the reseller confirmed scheduling despite exactly these failing checks (none: nothing to confirm)."""
        return not reasons or self.cleaned_data.get("confirm_failing") == precheck_fingerprint(reasons)


def precheck_fingerprint(reasons: list[str]) -> str:
    """A short, stable digest of the pre-check's reasons (the value "Schedule anyway" posts back)."""
    return hashlib.sha256("\n".join(sorted(str(r) for r in reasons)).encode()).hexdigest()[:32]
