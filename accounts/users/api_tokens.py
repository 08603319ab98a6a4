"""Personal API tokens: create (shown once), revoke, and find the token a request presents.

A token is "icp_" + 43 URL-safe characters (256 random bits); the database keeps its SHA-256
(ApiToken.key_hash) and its first characters, never the token. Only the user itself creates its
tokens (a token acts as its user); the user or anyone who manages it may revoke one.
"""

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.impersonation import current_impersonator_id
from accounts.models import ApiToken, User
from accounts.services import audit_log_record
from accounts.users.selectors import users_visible_to
from core.stored_messages import stored

TOKEN_PREFIX = "icp_"
# The visible start of a token on the SECURITY tab: "icp_" and 6 characters.
SHOWN_PREFIX_LENGTH = 10
# last_used_at is written at most this often per token, so the API's reads stay reads.
LAST_USED_PRECISION = dt.timedelta(minutes=1)

# Audit entries, stored as a message and its parameters (core.stored_messages): shown in the reader's language.
AUDIT_TOKEN_CREATED = _("API token '%(name)s' (%(prefix)s…) created for %(email)s.")
AUDIT_TOKEN_REVOKED = _("API token '%(name)s' (%(prefix)s…) of %(email)s revoked.")
AUDIT_TOKENS_REVOKED = _("%(count)s API token(s) of %(email)s revoked (%(reason)s).")
TOKEN_NAME_REQUIRED = _("Give the token a name, e.g. the system that will use it.")
TOKEN_NAME_TOO_LONG = _("A token name can have at most 100 characters.")
TOKEN_ONLY_OWN = _("API tokens act as their user: only the user itself can create them.")
TOKEN_ALREADY_REVOKED = _("This token is already revoked.")
TOKEN_NOT_WHILE_IMPERSONATING = _(
    "API tokens cannot be created while impersonating a user: a token would act as the user after the session ends."
)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: User, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` (the actor itself); returns it with the raw token, which is shown once."""
    if actor.pk != user.pk:
        raise PermissionDenied(TOKEN_ONLY_OWN)
    if current_impersonator_id() is not None:
        raise PermissionDenied(TOKEN_NOT_WHILE_IMPERSONATING)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": TOKEN_NAME_REQUIRED}, code="required")
    if len(name) > 100:
        raise ValidationError({"name": TOKEN_NAME_TOO_LONG}, code="max_length")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:SHOWN_PREFIX_LENGTH], key_hash=token_hash(raw))
    if user.company_id:
        audit_log_record(
            company=user.company, actor=actor, target_user=user, action="user.api_token_created",
            message=stored(AUDIT_TOKEN_CREATED, name=name, prefix=token.prefix, email=user.email),
        )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke a token of a user `actor` may see (its own, or one it manages); else 404-like DoesNotExist."""
    token = (
        ApiToken.objects.select_for_update(of=("self",)).select_related("user", "user__company")
        .filter(pk=token_id)
        .filter(Q(user=actor) | Q(user__in=users_visible_to(actor).values("pk")))
        .first()
    )
    if token is None:
        raise ApiToken.DoesNotExist
    if token.revoked_at is not None:
        raise ValidationError(TOKEN_ALREADY_REVOKED, code="revoked")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    if token.user.company_id:
        audit_log_record(
            company=token.user.company, actor=actor, target_user=token.user, action="user.api_token_revoked",
            message=stored(AUDIT_TOKEN_REVOKED, name=token.name, prefix=token.prefix, email=token.user.email),
        )
    return token


def api_tokens_revoke_all(*, actor: User, user: User, reason) -> int:
    """Revoke every active token of `user` (its password was reset, it must choose a new one, or it
    was terminated): a token made with the old credentials must not outlive them. Call it in the
    writer's transaction; returns how many were revoked. `reason`: a message (gettext_lazy), audited."""
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked and user.company_id:
        audit_log_record(
            company=user.company, actor=actor, target_user=user, action="user.api_tokens_revoked",
            message=stored(AUDIT_TOKENS_REVOKED, count=revoked, email=user.email, reason=reason),
        )
    return revoked


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_authenticate(raw: str, *, now: dt.datetime | None = None) -> ApiToken | None:
    """The active token with this value whose user is active and not asked to change its password
    (a forced change suspends its tokens; a reset has revoked them), or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active or token.user.must_change_password:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
