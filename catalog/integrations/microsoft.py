"""Microsoft: tenant id, MPN ID (Reseller) and subscription end date alignment.

A service with integration option {"creates_tenant": true} (Microsoft Organization tenant)
asks for the new tenant's domain instead and, when provisioned, holds the tenant id that
other Microsoft services then refer to.
"""

import re
import unicodedata
import uuid

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from core.stored_messages import stored

from . import microsoft_orders
from .asking import ask
from .base import IntegrationContext, VendorIntegration, VendorWait, register

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MPN_RE = re.compile(r"^\d{1,10}$")
TENANT_DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,25}[a-z0-9])?$")
TENANT_ATTRIBUTE = "tenant_id"
DOMAIN_ATTRIBUTE = "domain"
TENANT_DOMAIN_SUFFIX = ".onmicrosoft.com"

ALIGNMENT_NONE = ""
ALIGNMENT_CALENDAR_MONTH = "calendar_month"
ALIGNMENT_COTERM_PREFIX = "coterm:"

TENANT_ID_INVALID = _("Microsoft Tenant Id must be a GUID, e.g. e0d72b05-fb92-4d65-9424-7b58ea99d5d3.")
TENANT_ID_REQUIRED = _("Microsoft Tenant Id is required.")
TENANT_NOT_OF_COMPANY = _("Microsoft Tenant Id does not belong to a Microsoft Organization tenant of this company.")
TENANT_DOMAIN_INVALID = _(
    "Tenant domain must be 1 to 27 lower-case letters, digits or hyphens (it becomes <domain>.onmicrosoft.com)."
)
MPN_ID_INVALID = _("MPN ID (Reseller) must contain digits only (at most 10).")
ALIGNMENT_INVALID = _("Subscription end date alignment must be one of the listed options.")

# The fifth check's remote half (vendor_checks). Microsoft's own refusals (unknown tenant, no reseller
# relationship...) read as the connector's reasons (partner_center.outcomes); these are the portal's own.
TENANT_NOT_THIS_COMPANYS_DOMAIN = _(
    "Microsoft says the customer tenant %(tenant)s is not this company's: its domain is not %(domain)s, "
    "the one this company's tenant subscription holds."
)
TENANT_NOT_THIS_COMPANYS_NAME = _(
    "Microsoft says the customer tenant %(tenant)s is not this company's: Microsoft has it under another company name."
)
TENANT_NO_RELATIONSHIP = _(
    "Microsoft says the customer tenant %(tenant)s has no reseller relationship with our partner account; "
    "ask the customer to accept the reseller invitation."
)
TENANT_DOMAIN_TAKEN_AT_MICROSOFT = _(
    "The tenant domain %(domain)s is already taken at Microsoft (an onmicrosoft.com domain is unique worldwide). "
    "Choose another tenant domain."
)
# Why a pre-check did not ask (VendorWait's reason, shown inside the "could not be asked now" warning).
NOT_ASKED_BOUNDS = "too many questions for one request"
# Partner Center's relationshipToPartner when the customer is not ours (the other values, e.g. "reseller",
# "indirect_reseller", "advisor", are relationships; an empty one is not judged).
RELATIONSHIP_NONE = "none"


def creates_tenant(context: IntegrationContext) -> bool:
    return bool(context.service_options.get("creates_tenant"))


def tenant_ids_of(context: IntegrationContext) -> dict[str, str]:
    """Tenant id (lower case) → display name of the company's tenant subscriptions."""
    return {
        str(sub.attributes[TENANT_ATTRIBUTE]).lower(): sub.name
        for sub in context.subscriptions
        if sub.attributes.get(TENANT_ATTRIBUTE)
    }


def check_tenant_id(context: IntegrationContext) -> str | None:
    if creates_tenant(context):
        return None
    tenant_id = str(context.config.get("microsoft_tenant_id") or "").strip()
    if not tenant_id:
        return stored(TENANT_ID_REQUIRED)
    if not GUID_RE.match(tenant_id):
        return stored(TENANT_ID_INVALID)
    if tenant_id.lower() not in tenant_ids_of(context):
        return stored(TENANT_NOT_OF_COMPANY)
    return None


def company_name_key(name: str) -> str:
    """A company name as compared with Microsoft's: accents, case, spaces and punctuation left out
    ("Eritech Perú SA" and "ERITECH PERU S.A." are the same company)."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    return "".join(ch for ch in decomposed if ch.isalnum()).casefold()


def tenant_domains_of(context: IntegrationContext, tenant_id: str) -> set[str]:
    """The domains (lower case) the company's subscriptions hold for `tenant_id` (its tenant subscription
    holds <domain>.onmicrosoft.com; the subscriptions that only refer to the tenant hold none)."""
    return {
        str(sub.attributes[DOMAIN_ATTRIBUTE]).lower()
        for sub in context.subscriptions
        if str(sub.attributes.get(TENANT_ATTRIBUTE) or "").lower() == tenant_id and sub.attributes.get(DOMAIN_ATTRIBUTE)
    }


def customer_problems(context: IntegrationContext, tenant_id: str, customer) -> list[str]:
    """Whether Microsoft's customer `customer` (partner_center.Customer) is this company's tenant.

    The rule, in order: Microsoft must know it as our customer (relationshipToPartner not "none");
    when the company's subscriptions hold a domain for this tenant (its Microsoft Organization tenant
    subscription does), the customer's domain must be that domain; when they hold none, the company
    name Microsoft has for it must be the company's (compared by company_name_key), when Microsoft
    gives one. A tenant id typed from another customer of ours therefore fails."""
    if customer.relationship.lower() == RELATIONSHIP_NONE:
        return [stored(TENANT_NO_RELATIONSHIP, tenant=tenant_id)]
    domains = tenant_domains_of(context, tenant_id)
    if domains:
        if customer.domain.lower() not in domains:
            return [stored(TENANT_NOT_THIS_COMPANYS_DOMAIN, tenant=tenant_id, domain=" / ".join(sorted(domains)))]
        return []
    if customer.company_name and company_name_key(customer.company_name) != company_name_key(context.company.name):
        return [stored(TENANT_NOT_THIS_COMPANYS_NAME, tenant=tenant_id)]
    return []


def _wait(outcome) -> VendorWait:
    """Transient (or, for a read, Unknown) as the pre-check's VendorWait."""
    return VendorWait(reason=str(getattr(outcome, "reason", "") or outcome.kind), retry_after=getattr(outcome, "retry_after", None))


def check_tenant_domain(context: IntegrationContext) -> str | None:
    if not creates_tenant(context):
        return None
    if not TENANT_DOMAIN_RE.match(str(context.config.get("tenant_domain") or "")):
        return stored(TENANT_DOMAIN_INVALID)
    return None


def check_mpn_id(context: IntegrationContext) -> str | None:
    mpn_id = str(context.config.get("mpn_id") or "").strip()
    if mpn_id and not MPN_RE.match(mpn_id):
        return stored(MPN_ID_INVALID)
    return None


def check_alignment(context: IntegrationContext) -> str | None:
    value = str(context.config.get("end_date_alignment") or "")
    if value in (ALIGNMENT_NONE, ALIGNMENT_CALENDAR_MONTH):
        return None
    if value.startswith(ALIGNMENT_COTERM_PREFIX):
        account_id = value.removeprefix(ALIGNMENT_COTERM_PREFIX)
        if any(str(sub.account_id) == account_id for sub in context.subscriptions):
            return None
    return stored(ALIGNMENT_INVALID)


@register
class MicrosoftIntegration(VendorIntegration):
    key = "microsoft"

    def form_fields(self, context: IntegrationContext) -> dict[str, forms.Field]:
        alignment_choices = [
            (ALIGNMENT_NONE, "—"),
            (ALIGNMENT_CALENDAR_MONTH, _("End of calendar month")),
        ] + [
            (f"{ALIGNMENT_COTERM_PREFIX}{sub.account_id}", _("Co-term with %(name)s") % {"name": sub.name})
            for sub in context.subscriptions
        ]
        fields: dict[str, forms.Field] = {
            "end_date_alignment": forms.ChoiceField(
                label=_("Subscription end date alignment"),
                choices=alignment_choices,
                required=False,
                initial=context.config.get("end_date_alignment", ALIGNMENT_NONE),
                error_messages={"invalid_choice": ALIGNMENT_INVALID},
            ),
        }
        if creates_tenant(context):
            fields["tenant_domain"] = forms.CharField(
                label=_("Tenant domain"),
                help_text=_("The new tenant is <domain>.onmicrosoft.com."),
                max_length=27,
                validators=[RegexValidator(TENANT_DOMAIN_RE, message=TENANT_DOMAIN_INVALID)],
                initial=context.config.get("tenant_domain", ""),
            )
        else:
            fields["microsoft_tenant_id"] = forms.CharField(
                label=_("Microsoft Tenant Id"),
                max_length=36,
                validators=[RegexValidator(GUID_RE, message=TENANT_ID_INVALID)],
                initial=context.config.get("microsoft_tenant_id") or next(iter(tenant_ids_of(context)), ""),
                error_messages={"required": TENANT_ID_REQUIRED},
            )
        fields["mpn_id"] = forms.CharField(
            label=_("MPN ID (Reseller)"),
            max_length=10,
            required=False,
            validators=[RegexValidator(MPN_RE, message=MPN_ID_INVALID)],
            initial=context.config.get("mpn_id", ""),
        )
        return fields

    def due_time_checks(self):
        return (check_tenant_id, check_tenant_domain, check_mpn_id, check_alignment)

    def subscription_attributes(self, context: IntegrationContext) -> dict:
        if creates_tenant(context):
            domain = f"{context.config['tenant_domain']}{TENANT_DOMAIN_SUFFIX}"
            return {TENANT_ATTRIBUTE: str(uuid.uuid4()), DOMAIN_ATTRIBUTE: domain}
        return {TENANT_ATTRIBUTE: str(context.config.get("microsoft_tenant_id", "")).lower()}

    def claimed_domain(self, context: IntegrationContext) -> str | None:
        domain = str(context.config.get("tenant_domain") or "")
        if creates_tenant(context) and TENANT_DOMAIN_RE.match(domain):
            return f"{domain}{TENANT_DOMAIN_SUFFIX}"
        return None

    def connector(self):
        # None when MICROSOFT_ENABLED is off: orders of Microsoft's services are then provisioned locally.
        if not settings.MICROSOFT_ENABLED:
            return None
        from .partner_center import partner_center

        return partner_center()

    def vendor_checks(self, context: IntegrationContext) -> list[str] | VendorWait:
        """Asks Partner Center (outside any transaction; see VendorIntegration.vendor_checks):

        - an existing tenant: GET /v1/customers/{tenant id}. Unknown to Microsoft, or no reseller
          relationship: Microsoft's refusal as a reason (partner_center.outcomes). Known: it must be this
          company's (customer_problems: the domain its tenant subscription holds, else its name).
        - a new tenant (creates_tenant): HEAD /v1/domains/{domain}: taken → TENANT_DOMAIN_TAKEN_AT_MICROSOFT.

        A value the local checks refuse (no tenant id, not a GUID, a domain that is not valid) is not asked
        about: their reason says it. One question per tenant or domain within asking.questions_shared."""
        connector = self.connector()
        if connector is None:
            return []
        from .partner_center import Done, Refused

        if creates_tenant(context):
            domain = self.claimed_domain(context)
            if not domain:
                return []
            outcome = ask(("microsoft", "domain", domain), lambda: connector.domain_available(domain))
            if outcome is None:
                return VendorWait(reason=NOT_ASKED_BOUNDS)
            if isinstance(outcome, Done):
                return [] if outcome.result else [stored(TENANT_DOMAIN_TAKEN_AT_MICROSOFT, domain=domain)]
            if isinstance(outcome, Refused):
                return [outcome.reason]
            return _wait(outcome)
        tenant_id = str(context.config.get("microsoft_tenant_id") or "").strip().lower()
        if not GUID_RE.match(tenant_id):
            return []
        outcome = ask(("microsoft", "customer", tenant_id), lambda: connector.customer_get(tenant_id))
        if outcome is None:
            return VendorWait(reason=NOT_ASKED_BOUNDS)
        if isinstance(outcome, Done):
            return customer_problems(context, tenant_id, outcome.result)
        if isinstance(outcome, Refused):
            return [outcome.reason]
        return _wait(outcome)

    def provisioning(self):
        return microsoft_orders.PROVISIONING  # cart line items, new customers: catalog.integrations.microsoft_orders

    def subscription_display_name(self, name: str, attributes: dict) -> str:
        if attributes.get(DOMAIN_ATTRIBUTE):
            return f"{name} ({attributes[DOMAIN_ATTRIBUTE]})"
        return name
