"""How a scheduled change reads, in the reader's language: "Quantity 10 → 8 at renewal on 2027-03-01".

The one home of the sentence: My imports, the Upcoming view, the subscription's timeline, the emails and
the API all call change_text.
"""

from django.utils.translation import gettext as _

from catalog.models import BillingFrequency, Term
from orders.models import SubscriptionChange

Kind = SubscriptionChange.Kind


def _label(choices, value) -> str:
    return str(dict(choices.choices).get(value, value)) if value else "—"


def change_what(change: SubscriptionChange) -> str:
    """The change itself, without when: "Quantity 10 → 8"."""
    before = change.before or {}
    if change.kind == Kind.QUANTITY:
        return _("Quantity %(before)s → %(after)s") % {"before": before.get("quantity", "?"), "after": change.quantity}
    if change.kind == Kind.BILLING_CYCLE:
        return _("Billing cycle %(before)s → %(after)s") % {
            "before": _label(BillingFrequency, before.get("billing_frequency")),
            "after": _label(BillingFrequency, change.billing_frequency),
        }
    if change.kind == Kind.TERM:
        return _("Term %(before)s → %(after)s") % {
            "before": _label(Term, before.get("term")), "after": _label(Term, change.term),
        }
    if change.kind == Kind.UPGRADE:
        return _("Upgrade %(before)s → %(after)s") % {
            "before": before.get("service_name", "?"), "after": change.service.name if change.service_id else "?",
        }
    if change.kind == Kind.AUTO_RENEW:
        return _("Auto-renew on") if change.auto_renew else _("Auto-renew off")
    if change.kind == Kind.CANCEL:
        return _("Cancel at term end") if change.when == SubscriptionChange.When.RENEWAL else _("Cancel now")
    return str(change.get_kind_display())


def change_text(change: SubscriptionChange) -> str:
    """The change and when it applies: "Quantity 10 → 8 at renewal on 2027-03-01", "Quantity 1 → 3 on 2026-12-06 10:30 UTC"."""
    what = change_what(change)
    if change.kind == Kind.CANCEL and change.when == SubscriptionChange.When.RENEWAL:
        return _("%(what)s on %(date)s") % {"what": what, "date": change.due_at.strftime("%Y-%m-%d")}
    if change.when == SubscriptionChange.When.RENEWAL:
        return _("%(what)s at renewal on %(date)s") % {"what": what, "date": change.due_at.strftime("%Y-%m-%d")}
    return _("%(what)s on %(when)s") % {"what": what, "when": change.due_at.strftime("%Y-%m-%d %H:%M UTC")}
