"""A reseller's webhook endpoint (company page, SECURITY tab): who may edit it, the URL rule, the secret.

Only the endpoint lives here; the events, their signing and the delivery log are imports'
(imports.webhooks.delivery), because dependencies point one way (imports → orders → catalog → accounts).
"""

import ipaddress
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User, WebhookEndpoint
from accounts.services import audit_log_record
from core.stored_messages import stored

SECRET_BYTES = 32
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Names that only ever mean something inside a network (cloud metadata, mDNS, the machine itself):
# refused whatever they resolve to here, since they may resolve elsewhere (the worker's network).
INTERNAL_SUFFIXES = (".internal", ".local", ".localhost", ".localdomain", ".home.arpa", ".intranet", ".lan")

# Audit entries, stored as a message and its parameters (core.stored_messages): shown in the reader's language.
AUDIT_WEBHOOK_SET = _("Webhook URL set to %(url)s (active: %(active)s).")
AUDIT_WEBHOOK_SECRET_ROTATED = _("Webhook secret rotated.")
YES, NO = _("yes"), _("no")
WEBHOOK_URL_NOT_HTTPS = _("The webhook URL must start with https://.")
WEBHOOK_URL_INVALID = _("Enter a valid webhook URL, for example https://example.com/icp-events.")
WEBHOOK_NOT_RESELLER = _("Only a reseller company can have a webhook.")
WEBHOOK_URL_CREDENTIALS = _("The webhook URL may not contain a user name or password.")
WEBHOOK_URL_NOT_PUBLIC = _(
    "The webhook URL must point to a public internet address; %(host)s is a private, local or reserved address."
)


class UnsafeWebhookDestination(Exception):
    """The URL's host is (or resolves to) an address webhooks may not reach. Its text says why, for
    the delivery log; `message` is the translated text for the form."""

    def __init__(self, text: str, message=None):
        super().__init__(text)
        self.message = message


@dataclass(frozen=True)
class WebhookDestination:
    """Where one POST goes: the URL's parts and the one vetted address to connect to."""

    scheme: str
    host: str  # the name, for the Host header and TLS (SNI, certificate check)
    port: int
    path: str  # path and query
    address: str  # the IP connected to: vetted, never resolved again for this attempt


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def can_manage_webhook(user: User, company: Company) -> bool:
    """A reseller company's webhook: edited by staff or by the users of that very company."""
    if company.kind != Company.Kind.RESELLER or not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.company_id == company.pk


def _allowed_nets() -> list:
    return [ipaddress.ip_network(net.strip(), strict=False) for net in settings.WEBHOOKS_ALLOWED_PRIVATE_NETS if net.strip()]


def _local_allowed(host: str, address) -> bool:
    """The dev/test exception (WEBHOOKS_ALLOW_LOCAL_HTTP): this machine, by its usual names, only."""
    return bool(settings.WEBHOOKS_ALLOW_LOCAL_HTTP) and host in LOCAL_HOSTS and address.is_loopback


def address_allowed(host: str, text: str) -> bool:
    """May a webhook connect to this address? Only globally routable ones (an IPv4 address inside
    IPv6 is judged as the IPv4 one), the operator's WEBHOOKS_ALLOWED_PRIVATE_NETS, and loopback under
    a local name when WEBHOOKS_ALLOW_LOCAL_HTTP."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # (an IPv6 zone id is never public)
    except ValueError:
        return False
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            address = embedded
    if any(address in net for net in _allowed_nets()):
        return True
    if _local_allowed(host, address):
        return True
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses (an IP literal: itself). Replaced in tests that must not use DNS."""
    return list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


def _literal(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def vet_host(host: str, port: int, *, must_resolve: bool) -> str | None:
    """The address to connect to (the first one), once every address the host resolves to is allowed.

    Raises UnsafeWebhookDestination for an internal name or any disallowed address. A name that does
    not resolve: None when `must_resolve` is False (saving: it may be set up later; the POST checks
    again), refused when True (sending)."""
    host = host.lower().rstrip(".")
    refused = UnsafeWebhookDestination(
        f"refused: {host} is not a public address", WEBHOOK_URL_NOT_PUBLIC % {"host": host}
    )
    literal = _literal(host)
    if literal is None and host not in LOCAL_HOSTS and ("." not in host or host.endswith(INTERNAL_SUFFIXES)):
        raise refused
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        if literal is None and not must_resolve:
            return None
        raise UnsafeWebhookDestination(f"{host} could not be resolved: {exc}", WEBHOOK_URL_INVALID) from None
    if not addresses:
        raise UnsafeWebhookDestination(f"{host} could not be resolved", WEBHOOK_URL_INVALID)
    for address in addresses:
        if not address_allowed(host, address):
            if literal is not None:
                raise refused
            raise UnsafeWebhookDestination(f"refused: {host} resolves to {address}, not a public address",
                                           WEBHOOK_URL_NOT_PUBLIC % {"host": host})
    return addresses[0]


def _parts(url: str):
    try:
        URLValidator(schemes=["http", "https"])(url)
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except (ValidationError, ValueError):
        raise ValidationError(WEBHOOK_URL_INVALID, code="invalid") from None
    if not parts.hostname:
        raise ValidationError(WEBHOOK_URL_INVALID, code="invalid")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(WEBHOOK_URL_CREDENTIALS, code="credentials")
    if parts.scheme == "http" and not (settings.WEBHOOKS_ALLOW_LOCAL_HTTP and parts.hostname in LOCAL_HOSTS):
        raise ValidationError(WEBHOOK_URL_NOT_HTTPS, code="not_https")
    return parts


def validate_webhook_url(url: str) -> str:
    """The URL as saved: https:// only (http:// to this machine with WEBHOOKS_ALLOW_LOCAL_HTTP: DEBUG,
    tests), no credentials, and a host that is not (and does not resolve to) a private, local or
    reserved address."""
    url = (url or "").strip()
    parts = _parts(url)
    try:
        vet_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), must_resolve=False)
    except UnsafeWebhookDestination as exc:
        raise ValidationError(exc.message or WEBHOOK_URL_INVALID, code="not_public") from None
    return url


def webhook_destination(url: str) -> WebhookDestination:
    """For sending: the URL checked again as at saving (the rules or the DNS may have changed since),
    its host resolved once and vetted. Raises UnsafeWebhookDestination (with the reason)."""
    try:
        parts = _parts((url or "").strip())
    except ValidationError as exc:
        raise UnsafeWebhookDestination(f"refused: {' '.join(str(m) for m in exc.messages)}") from None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = vet_host(parts.hostname, port, must_resolve=True)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return WebhookDestination(scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=address)


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
    audit_log_record(company=company, actor=actor, action=action, message=stored(AUDIT_WEBHOOK_SET, url=url, active=YES if is_active else NO))
    return endpoint


@transaction.atomic
def webhook_secret_rotate(*, actor: User, company: Company) -> WebhookEndpoint:
    """A new secret; deliveries signed from now on use it (retries of older events too)."""
    _require(actor, company)
    endpoint = WebhookEndpoint.objects.select_for_update().get(company=company)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    audit_log_record(company=company, actor=actor, action="webhook.secret_rotated", message=stored(AUDIT_WEBHOOK_SECRET_ROTATED))
    return endpoint
