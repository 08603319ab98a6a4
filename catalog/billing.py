"""Billing types (term + billing frequency): their labels and their cancellation rules."""

from django.utils.translation import gettext_lazy as _

from .models import BillingFrequency, Term

# Months a term commits to; also the number of monthly fees in the "12 month commitment" style totals.
TERM_MONTHS = {Term.P1M: 1, Term.P1Y: 12, Term.P3Y: 36}
# Months one invoice covers for a billing frequency.
FREQUENCY_MONTHS = {BillingFrequency.MONTHLY: 1, BillingFrequency.ANNUAL: 12, BillingFrequency.TRIENNIAL: 36}

# One whole string per billing type, so a translation can order its words as its language needs
# (the manual's "Monthly (with 1-year commitment) - P1Y"; Spanish "Mensual (con compromiso de 1 año) - P1Y").
BILLING_TYPE_LABELS = {
    (BillingFrequency.MONTHLY, Term.P1M): _("Monthly (with 1-month commitment) - P1M"),
    (BillingFrequency.MONTHLY, Term.P1Y): _("Monthly (with 1-year commitment) - P1Y"),
    (BillingFrequency.MONTHLY, Term.P3Y): _("Monthly (with 3-year commitment) - P3Y"),
    (BillingFrequency.ANNUAL, Term.P1M): _("Annual (with 1-month commitment) - P1M"),
    (BillingFrequency.ANNUAL, Term.P1Y): _("Annual (with 1-year commitment) - P1Y"),
    (BillingFrequency.ANNUAL, Term.P3Y): _("Annual (with 3-year commitment) - P3Y"),
    (BillingFrequency.TRIENNIAL, Term.P1M): _("Triennial (with 1-month commitment) - P1M"),
    (BillingFrequency.TRIENNIAL, Term.P1Y): _("Triennial (with 1-year commitment) - P1Y"),
    (BillingFrequency.TRIENNIAL, Term.P3Y): _("Triennial (with 3-year commitment) - P3Y"),
}

CANCELLATION_NOTICES = {
    (BillingFrequency.MONTHLY, Term.P1M): _(
        "You will have 7 day cancellation window from the time of provisioning (with pro-rated credit). "
        "After that you will be billed monthly starting from your next invoice. Price is protected for 1 month. "
        "Subscription will auto-renew by default."
    ),
    (BillingFrequency.MONTHLY, Term.P1Y): _(
        "You will have 7 day cancellation window from the time of provisioning (with pro-rated credit). "
        "After that you will be billed monthly starting from your next invoice. Price is protected for 1 year. "
        "Subscription will auto-renew by default."
    ),
    (BillingFrequency.ANNUAL, Term.P1Y): _(
        "You will have 7 day cancellation window from the time of provisioning (with pro-rated credit). "
        "After that you will be billed annually starting from your next invoice. Price is protected for 1 year. "
        "Subscription will auto-renew by default."
    ),
    (BillingFrequency.MONTHLY, Term.P3Y): _(
        "You will have 7 day cancellation window from the time of provisioning (with pro-rated credit). "
        "After that you will be billed monthly starting from your next invoice. Price is protected for 3 years. "
        "Subscription will auto-renew by default."
    ),
    (BillingFrequency.TRIENNIAL, Term.P3Y): _(
        "You will have 7 day cancellation window from the time of provisioning (with pro-rated credit). "
        "After that you will be billed once for 3 years starting from your next invoice. "
        "Price is protected for 3 years. Subscription will auto-renew by default."
    ),
}


def billing_type_key(frequency: str, term: str) -> str:
    """Stable form value for a billing type, e.g. "monthly:P1Y"."""
    return f"{frequency}:{term}"


def parse_billing_type_key(key: str) -> tuple[str, str] | None:
    frequency, _sep, term = (key or "").partition(":")
    if frequency in BillingFrequency.values and term in Term.values:
        return frequency, term
    return None


def billing_type_label(frequency: str, term: str) -> str:
    """The manual's label, e.g. "Monthly (with 1-year commitment) - P1Y", in the active language."""
    return str(BILLING_TYPE_LABELS[(BillingFrequency(frequency), Term(term))])


def cancellation_notice(frequency: str, term: str) -> str:
    return str(CANCELLATION_NOTICES.get((frequency, term), ""))
