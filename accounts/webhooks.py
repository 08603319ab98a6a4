"""A reseller's webhook endpoint (company page, SECURITY tab): who may edit it, the URL rule, the secret.

Only the endpoint lives here; the events, their signing and the delivery log are imports'
(imports.webhooks.delivery), because dependencies point one way (imports → orders → catalog → accounts).
"""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User, WebhookEndpoint
from accounts.services import audit_log_record

SECRET_BYTES = 32
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

WEBHOOK_URL_NOT_HTTPS = _("The webhook URL must start with https://.")
WEBHOOK_URL_INVALID = _("Enter a valid webhook URL, for example https://example.com/icp-events.")
WEBHOOK_NOT_RESELLER = _("Only a reseller company can have a webhook.")


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def can_manage_webhook(user: User, company: Company) -> bool:
    """A reseller company's webhook: edited by staff or by the users of that very company."""
    if company.kind != Company.Kind.RESELLER or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.company_id == company.pk


def validate_webhook_url(url: str) -> str:
    """The URL as saved; https:// only, except http:// to this machine with DEBUG (or in tests)."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
        parts = urlsplit(url)
    except (ValidationError, ValueError):
        raise ValidationError(WEBHOOK_URL_INVALID, code="invalid") from None
    if not parts.hostname:
        raise ValidationError(WEBHOOK_URL_INVALID, code="invalid")
    if parts.scheme == "http" and not (settings.WEBHOOKS_ALLOW_LOCAL_HTTP and parts.hostname in LOCAL_HOSTS):
        raise ValidationError(WEBHOOK_URL_NOT_HTTPS, code="not_https")
    return url


def _require(actor: User, company: Company) -> None:
    if company.kind != Company.Kind.RESELLER:
        raise PermissionDenied(WEBHOOK_NOT_RESELLER)
    if not can_manage_webhook(actor, company):
        raise PermissionDenied


@transaction.atomic
def webhook_endpoint_save(*, actor: User, company: Company, url: str, is_active: bool = True) -> WebhookEndpoint:
    """Create the company's endpoint (with a new secret) or change its URL / active flag."""
    _require(actor, company)
    url = validate_webhook_url(url)
    endpoint = WebhookEndpoint.objects.select_for_update().filter(company=company).first()
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(company=company, url=url, secret=new_secret(), is_active=is_active)
        action = "webhook.created"
    else:
        endpoint.url, endpoint.is_active = url, is_active
        endpoint.save(update_fields=["url", "is_active", "updated_at"])
        action = "webhook.updated"
    audit_log_record(company=company, actor=actor, action=action, message=f"Webhook URL set to {url} (active: {is_active}).")
    return endpoint


@transaction.atomic
def webhook_secret_rotate(*, actor: User, company: Company) -> WebhookEndpoint:
    """A new secret; deliveries signed from now on use it (retries of older events too)."""
    _require(actor, company)
    endpoint = WebhookEndpoint.objects.select_for_update().get(company=company)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    audit_log_record(company=company, actor=actor, action="webhook.secret_rotated", message="Webhook secret rotated.")
    return endpoint
