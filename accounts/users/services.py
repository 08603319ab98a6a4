"""Writes on users from the user page's action bar: RENAME, RESET PASSWORD, CREDENTIALS TO THIS
USER and TERMINATE. Each checks that the acting user may manage the target (its own subtree; a
crafted POST for anyone else is refused like a missing page), writes, and audits."""

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.datetimes import UTC_ZONE, is_time_zone
from accounts.impersonation import current_impersonator_id
from accounts.models import Company, User
from accounts.selectors import company_visible_to
from accounts.services import audit_log_record
from accounts.users.api_tokens import api_tokens_revoke_all
from accounts.users.selectors import users_visible_to
from core.stored_messages import stored

# Audit entries, stored as a message and its parameters (core.stored_messages): shown in the reader's language.
AUDIT_USER_RENAMED = _("User %(email)s renamed from %(old)s to %(new)s.")
AUDIT_PASSWORD_RESET = _("Password of %(email)s reset.")
AUDIT_PASSWORD_RESET_CHANGE = _("Password of %(email)s reset (must be changed at the next login).")
AUDIT_CREDENTIALS_SENT = _("Credentials (a one-time set-password link) sent to %(email)s.")
AUDIT_USER_CREATED = _("User %(email)s created.")
AUDIT_USER_TERMINATED = _("User %(email)s terminated.")
AUDIT_PASSWORD_SET = _("%(email)s set a new password (%(via)s).")
PASSWORD_SET_VIA_LINK = _("credentials link")
PASSWORD_SET_VIA_CHANGE = _("password change")
TOKENS_REVOKED_PASSWORD_RESET = _("password reset")
TOKENS_REVOKED_TERMINATED = _("user terminated")
AUDIT_NOTIFICATIONS_CHANGED = _(
    "Notification settings of %(email)s: language %(language)s, scheduled email %(scheduled)s, reminder %(reminder)s, "
    "time zone %(time_zone)s."
)
SETTING_COMPANY = pgettext_lazy("notification language", "company")
SETTING_ON = pgettext_lazy("notification setting", "on")
SETTING_OFF = pgettext_lazy("notification setting", "off")
SETTING_HOURS_BEFORE = _("%(hours)s h before")
CANNOT_TERMINATE_SELF = _("You cannot terminate your own user.")
ALREADY_TERMINATED = _("This user is already terminated.")
TERMINATED_NO_CREDENTIALS = _("This user is terminated; activate it before sending credentials.")
CREDENTIALS_SUBJECT = _("Your Intcomex Cloud Platform credentials")
NOT_WHILE_IMPERSONATING = _(
    "A password cannot be reset while impersonating a user. Stop impersonating and use the admin instead."
)


def _lock_manageable(actor: User, target: User) -> User:
    """The target row, locked, if `actor` may manage it; otherwise 404 as for any unknown user."""
    locked = users_visible_to(actor).select_for_update(of=("self",)).filter(pk=target.pk).first()
    if locked is None:
        raise Http404
    # Staff see every user, but only a superuser may act on another staff account (else a staff
    # member could take over a superuser by resetting its password).
    if (locked.is_staff or locked.is_superuser) and locked.pk != actor.pk and not actor.is_superuser:
        raise PermissionDenied
    return locked


@transaction.atomic
def user_rename(*, actor: User, user: User, first_name: str, last_name: str) -> User:
    locked = _lock_manageable(actor, user)
    old = locked.get_full_name() or "-"
    locked.first_name, locked.last_name = first_name.strip(), last_name.strip()
    locked.full_clean(exclude=["password"])
    locked.save(update_fields=["first_name", "last_name"])
    audit_log_record(
        company=locked.company,
        actor=actor,
        target_user=locked,
        action="user.renamed",
        message=stored(AUDIT_USER_RENAMED, email=locked.email, old=old, new=locked.get_full_name() or "-"),
    )
    return locked


@transaction.atomic
def user_password_reset(*, actor: User, user: User, password: str, change_at_next_login: bool) -> User:
    """A new password typed by the manager (Django's password validators apply); the user may be
    asked to choose its own at the next login. The user's API tokens are revoked: they were made
    under the old credentials (whoever reset the password suspected them, or the user must choose
    a new one before working again). Refused while impersonating: staff working as a user must not
    take over its credentials."""
    if current_impersonator_id() is not None:
        raise PermissionDenied(NOT_WHILE_IMPERSONATING)
    locked = _lock_manageable(actor, user)
    validate_password(password, user=locked)
    locked.set_password(password)
    locked.must_change_password = change_at_next_login
    locked.save(update_fields=["password", "must_change_password"])
    api_tokens_revoke_all(actor=actor, user=locked, reason=TOKENS_REVOKED_PASSWORD_RESET)
    audit_log_record(
        company=locked.company,
        actor=actor,
        target_user=locked,
        action="user.password_reset",
        message=stored(AUDIT_PASSWORD_RESET_CHANGE if change_at_next_login else AUDIT_PASSWORD_RESET, email=locked.email),
    )
    return locked


def set_password_url(user: User) -> str:
    """The one-time link of a credentials email: Django's token generator signs the user's current
    password hash and last login, so the link stops working once used (or once the user logs in)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("set_password", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def user_credentials_send(*, actor: User, user: User, robust_email: bool = False) -> User:
    """CREDENTIALS TO THIS USER: an email with the login and a one-time link to set a password,
    sent once the transaction has committed. With robust_email (one of many, CREDENTIALS TO ALL
    USERS), a mail server refusing this message is logged and the others still go."""
    locked = _lock_manageable(actor, user)
    if not locked.is_active:
        raise ValidationError(TERMINATED_NO_CREDENTIALS, code="terminated")
    _credentials_mail(actor=actor, user=locked, robust=robust_email)
    return locked


def _credentials_mail(*, actor: User, user: User, robust: bool = False) -> None:
    """The credentials email (login and one-time set-password link), sent after commit; audited."""
    context = {"user": user, "url": set_password_url(user), "site_url": settings.SITE_URL}
    body = render_to_string("accounts/email/credentials.txt", context)
    subject = str(CREDENTIALS_SUBJECT)
    audit_log_record(
        company=user.company,
        actor=actor,
        target_user=user,
        action="user.credentials_sent",
        message=stored(AUDIT_CREDENTIALS_SENT, email=user.email),
    )
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]), robust=robust)


@transaction.atomic
def user_create(
    *, actor: User, company: Company, email: str, first_name: str = "", last_name: str = "", job_title: str = "",
    phone: str = "", robust_email: bool = False,
) -> User:
    """A new user of `company` (which `actor` must see), with no password: it gets the credentials
    email with a one-time link to set one (no password ever travels in a file or an email).
    Raises ValidationError for a taken email or a bad value. With robust_email (background runs), a
    mail server refusing the message is logged instead of raised after the commit."""
    if not company_visible_to(actor, company.pk):
        raise PermissionDenied
    user = User(
        email=User.objects.normalize_email(email.strip()).lower(), company=company, first_name=first_name.strip(),
        last_name=last_name.strip(), job_title=job_title.strip(), phone=phone.strip(),
    )
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_log_record(
        company=company, actor=actor, target_user=user, action="user.created", message=stored(AUDIT_USER_CREATED, email=user.email)
    )
    _credentials_mail(actor=actor, user=user, robust=robust_email)
    return user


@transaction.atomic
def user_terminate(*, actor: User, user: User) -> User:
    """TERMINATE: the user can no longer log in (its open sessions end at their next request).
    Nothing else changes: the import jobs it scheduled stay pending and still run."""
    if actor.pk == user.pk:
        raise ValidationError(CANNOT_TERMINATE_SELF, code="self")
    locked = _lock_manageable(actor, user)
    if not locked.is_active:
        raise ValidationError(ALREADY_TERMINATED, code="terminated")
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    # (Refused already while inactive; revoked so that activating the user again does not revive them.)
    api_tokens_revoke_all(actor=actor, user=locked, reason=TOKENS_REVOKED_TERMINATED)
    audit_log_record(
        company=locked.company,
        actor=actor,
        target_user=locked,
        action="user.terminated",
        message=stored(AUDIT_USER_TERMINATED, email=locked.email),
    )
    return locked


@transaction.atomic
def user_password_set(*, user: User, password: str, via) -> User:
    """The user chose its own password (credentials link, or the change asked at login); `via` says
    which (PASSWORD_SET_VIA_*, a message), audited."""
    validate_password(password, user=user)
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    if user.company_id:
        audit_log_record(
            company=user.company,
            actor=user,
            target_user=user,
            action="user.password_set",
            message=stored(AUDIT_PASSWORD_SET, email=user.email, via=via),
        )
    return user


NOTIFICATION_SETTINGS = ("email_language", "notify_scheduled", "reminder_hours", "notify_window_closing", "time_zone")


@transaction.atomic
def user_notifications_update(
    *, actor: User, user: User, email_language: str, notify_scheduled: bool, reminder_hours: int, time_zone: str | None = None,
    notify_window_closing: bool | None = None,
) -> User:
    """NOTIFICATIONS tab: the optional emails and their language (the completion email is mandatory),
    the opt-in notice before a cancellation window closes, and the user's time zone (None: unchanged)."""
    locked = _lock_manageable(actor, user)
    locked.email_language, locked.notify_scheduled, locked.reminder_hours = email_language, notify_scheduled, reminder_hours
    if time_zone is not None:
        locked.time_zone = time_zone
    if notify_window_closing is not None:
        locked.notify_window_closing = notify_window_closing
    # Only these fields: the choices are the rule (the rest of the user is not this tab's to judge).
    locked.clean_fields(exclude=[f.name for f in User._meta.fields if f.name not in NOTIFICATION_SETTINGS])
    locked.save(update_fields=list(NOTIFICATION_SETTINGS))
    audit_log_record(
        company=locked.company,
        actor=actor,
        target_user=locked,
        action="user.notifications_changed",
        message=stored(
            AUDIT_NOTIFICATIONS_CHANGED, email=locked.email, language=email_language or SETTING_COMPANY,
            scheduled=SETTING_ON if notify_scheduled else SETTING_OFF,
            reminder=stored(SETTING_HOURS_BEFORE, hours=reminder_hours) if reminder_hours else SETTING_OFF,
            time_zone=locked.time_zone or UTC_ZONE,
        ),
    )
    return locked


def user_time_zone_remember(*, user: User, time_zone: str | None) -> None:
    """The zone a user picked in a date-time control becomes its own: the next control starts in it
    and its dates' local line is shown in it. A display preference: no audit entry, and not while
    staff impersonate the user (their zone is not the reseller's)."""
    if not time_zone or (user.time_zone or UTC_ZONE) == time_zone:  # nothing new: the usual case
        return
    if not user.is_authenticated or current_impersonator_id() is not None or not is_time_zone(time_zone):
        return
    User.objects.filter(pk=user.pk).update(time_zone=time_zone)
    user.time_zone = time_zone
