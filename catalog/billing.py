"""Billing types (term + billing frequency): their labels and their cancellation rules."""

from django.utils import translation
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


# Refusals of billing_type_parse: they list the valid keys (with their labels), whoever asked.
BILLING_TYPE_UNKNOWN = _("%(value)s is not a billing type of this service; use one of: %(options)s.")
BILLING_TYPE_AMBIGUOUS = _("%(value)s matches more than one billing type of this service; write one of: %(options)s.")


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


def _words(text) -> str:
    """Matching ignores case and surrounding or repeated spaces."""
    return " ".join(str(text or "").split()).casefold()


def billing_type_options(offered: list[tuple[str, str]]) -> str:
    """The valid values, for a refusal: "monthly:P1Y (Monthly (with 1-year commitment) - P1Y); ..."."""
    return "; ".join(f"{key} ({label})" for key, label in offered) or "—"


def billing_type_parse(text: str, offered: list[tuple[str, str]]) -> str:
    """**The** reading of a billing type typed by a person or sent by a program, for the bulk files
    and the API alike: the key ("monthly:P1Y"), the manual's label ("Monthly (with 1-year
    commitment) - P1Y", in English or in the active language) or the term alone ("P1Y") when only
    one offered billing type has it. `offered` is (key, label) of the service's billing types
    (catalog.selectors.PriceBook.billing_types). Returns the key; raises ValueError(message) naming
    the valid keys otherwise."""
    wanted = _words(text)
    for key, label in offered:
        frequency, term = parse_billing_type_key(key) or ("", "")
        names = {key.casefold(), _words(label)}
        if frequency:
            with translation.override("en"):
                names.add(_words(billing_type_label(frequency, term)))
            names.add(_words(billing_type_label(frequency, term)))
        if wanted in names:
            return key
    short = [key for key, _label in offered if key.partition(":")[2].casefold() == wanted]
    if len(short) == 1:
        return short[0]
    params = {"value": text, "options": billing_type_options(offered)}
    if short:
        raise ValueError(str(BILLING_TYPE_AMBIGUOUS % params))
    raise ValueError(str(BILLING_TYPE_UNKNOWN % params))
