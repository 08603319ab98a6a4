"""The subscription page's change wizard: what the reseller chooses (kind, when, the new value)."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import BillingFrequency, Service, Term
from core.datetimes import ZonedDateTimeField, ZonedForm
from orders.changes.rules import ChangeSpec
from orders.models import Subscription, SubscriptionChange

Kind = SubscriptionChange.Kind
When = SubscriptionChange.When
ON, OFF = "on", "off"
CHANGE_TERMS_REQUIRED = _("Accept the terms and conditions above to schedule the change.")


class ChangeForm(ZonedForm, forms.Form):
    kind = forms.ChoiceField(label=_("Change"), choices=Kind.choices, widget=forms.RadioSelect)
    when = forms.ChoiceField(label=_("When"), choices=When.choices, initial=When.AT, widget=forms.RadioSelect)
    schedule_at = ZonedDateTimeField(
        label=_("Apply at"), required=False,
        help_text=_("YYYY-MM-DD HH:MM in the time zone beside it; leave empty to apply it now. Ignored at renewal."),
    )
    quantity = forms.IntegerField(label=_("New quantity"), required=False)
    billing_frequency = forms.ChoiceField(
        label=_("New billing cycle"), required=False, choices=[("", "—"), *BillingFrequency.choices]
    )
    term = forms.ChoiceField(label=_("New term"), required=False, choices=[("", "—"), *Term.choices])
    service = forms.ModelChoiceField(label=_("Upgrade to"), required=False, queryset=Service.objects.none(), empty_label="—")
    auto_renew = forms.ChoiceField(label=_("Auto-renew"), required=False, choices=[("", "—"), (ON, _("On")), (OFF, _("Off"))])
    # Set by the review's "Replace and schedule": the open change of the same kind is replaced.
    replace = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, subscription: Subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.subscription = subscription
        self.fields["service"].queryset = subscription.service.upgrades_to.select_related("vendor").order_by("name")

    def spec(self) -> ChangeSpec:
        data = self.cleaned_data
        auto_renew = {ON: True, OFF: False}.get(data.get("auto_renew") or "")
        at: dt.datetime | None = data.get("schedule_at") if data["when"] == When.AT else None
        return ChangeSpec(
            kind=data["kind"], when=data["when"], at=at, quantity=data.get("quantity"),
            billing_frequency=data.get("billing_frequency") or "", term=data.get("term") or "",
            service=data.get("service"), auto_renew=auto_renew,
        )


class ChangeTermsForm(forms.Form):
    """The review's acceptance of the terms still to accept for the change (orders.changes.rules.terms_pending)."""

    accept_terms = forms.BooleanField(
        label=_("I accept these terms and conditions"), error_messages={"required": CHANGE_TERMS_REQUIRED},
    )
