"""The company tree, its users and the audit log.

The tree (distributor → reseller → customer, any depth) is stored as a materialized
path: every company keeps the chain of its ancestors' ids, so a whole subtree is one
indexed `path LIKE 'prefix%'` query however deep or wide the tree is.
"""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Concat, Lower, Substr
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.dates import validate_portal_year
from core.datetimes import validate_time_zone
from accounts.text import SEARCH_NAME_MAX_LENGTH, search_folded, without_bidi_controls
from accounts.tree import PATH_SEGMENT_WIDTH, TreePathField

COMPANY_BELOW_ITSELF = _("A company cannot be moved below itself or one of its own child companies.")
# What is unique in reality is unique on the whole platform (database constraints, whatever the caller).
COMPANY_DOMAIN_TAKEN = _("Another company already has this domain; a domain belongs to one company only.")
USER_EMAIL_TAKEN = _("Another user already has this email address; an email belongs to one user only.")


class AccountNumber(models.Model):
    """A single increasing sequence of ICP account ids, shared by companies and subscriptions.

    Allocating an id inserts a row; the database hands out the number, so concurrent
    workers never collide.
    """

    class Meta:
        verbose_name = _("account number")
        verbose_name_plural = _("account numbers")

    # Ids start above the manual's demo ids (466158, 734772, 793131).
    FIRST_ID = 900000

    def __str__(self):
        return str(self.pk)


class Company(models.Model):
    class Kind(models.TextChoices):
        DISTRIBUTOR = "distributor", _("Distributor")
        RESELLER = "reseller", _("Reseller")
        CUSTOMER = "customer", _("Customer")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    name = models.CharField(_("company name"), max_length=200)
    # The name without accents and case-folded (accounts.text.search_folded), kept by save(): what the
    # searches compare with, so "Eritech Perú" finds ERITECH PERU S.A. on SQLite and PostgreSQL alike.
    search_name = models.CharField(max_length=SEARCH_NAME_MAX_LENGTH, editable=False, db_index=True, default="")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.CUSTOMER)
    status = models.CharField(_("account status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent company"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = TreePathField(max_length=1000, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    # Identifiers of the manual: the account id is shown in the breadcrumb, the numeric id in the overview.
    account_id = models.PositiveBigIntegerField(_("account id"), unique=True)
    numeric_id = models.PositiveBigIntegerField(_("numeric ID"), unique=True)

    # COMPANY DETAILS
    domain = models.CharField(_("domain"), max_length=255, blank=True)
    vat_id = models.CharField(_("VAT ID"), max_length=50, blank=True)
    # ACCOUNT INFORMATION
    language = models.CharField(_("language"), max_length=50, blank=True, default="English")
    sales_manager = models.CharField(_("sales manager"), max_length=200, blank=True)
    marketplace = models.CharField(_("marketplaces"), max_length=200, blank=True)
    send_to_backend = models.BooleanField(_("send to backend"), default=True)
    create_user_id_service = models.BooleanField(_("CreateUserIdService"), default=False)
    # CONTRACT DETAILS
    contract_id = models.CharField(_("contract ID"), max_length=100, blank=True)
    customer_id = models.CharField(_("customer ID"), max_length=100, blank=True)
    contract_end_date = models.DateTimeField(_("company contract end date"), null=True, blank=True, validators=[validate_portal_year])
    # CONTACT DETAILS
    address = models.CharField(_("address"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    zip_code = models.CharField(_("zip code"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    contact_person = models.CharField(_("contact person"), max_length=200, blank=True)
    technical_contact = models.CharField(_("technical contact"), max_length=200, blank=True)
    technical_account_manager = models.CharField(_("technical account manager"), max_length=200, blank=True)
    technical_contact_email = models.EmailField(_("technical contact email"), blank=True)
    # PAYMENT DETAILS
    billing_start_date = models.DateTimeField(_("billing start date"), null=True, blank=True, validators=[validate_portal_year])
    is_billable = models.BooleanField(_("is billable"), default=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    bank_name = models.CharField(_("bank name"), max_length=200, blank=True)
    bank_identifier_code = models.CharField(_("bank identifier code"), max_length=50, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(parent=models.F("id")), name="company_not_own_parent"),
            # Case-insensitive: AbbieBox.com and abbiebox.com are the same domain. Empty means none.
            models.UniqueConstraint(
                Lower("domain"),
                condition=~models.Q(domain=""),
                name="company_domain_unique",
                violation_error_message=COMPANY_DOMAIN_TAKEN,
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def parent_numeric_id(self):
        return self.parent.numeric_id if self.parent_id else None

    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this company (inclusive), read from the path."""
        return [int(part) for part in self.path.split("/") if part]

    def ancestors(self):
        """The chain from the root to the parent, in order, in one query."""
        ids = self.ancestor_ids()[:-1]
        by_id = Company.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]

    def subtree(self):
        return Company.objects.filter(path__under=self.path)

    def is_in_subtree_of(self, other: "Company") -> bool:
        """This company is `other` or below it (read from the stored paths)."""
        return bool(other.path) and self.path.startswith(other.path)

    def clean(self):
        # save() refuses a cycle too (as a last resort, with a ValueError); here it is a validation
        # error, so the admin form and the services say it on the parent field.
        if self.pk and self.parent_id and self.parent.is_in_subtree_of(self):
            raise ValidationError({"parent": COMPANY_BELOW_ITSELF})

    def _computed_path(self) -> str:
        prefix = self.parent.path if self.parent_id else ""
        return f"{prefix}{self.pk:0{PATH_SEGMENT_WIDTH}d}/"

    def save(self, *args, **kwargs):
        self.name = without_bidi_controls(self.name)
        self.search_name = search_folded(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields and "search_name" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "search_name"]
        with transaction.atomic():
            if self.parent_id and self.pk:
                parent_path = Company.objects.values_list("path", flat=True).get(pk=self.parent_id)
                if parent_path.startswith(self.path) and self.path:
                    raise ValueError("A company cannot be moved below itself.")
            old_path = self.path
            super().save(*args, **kwargs)
            if self.parent_id:
                self.parent.refresh_from_db(fields=["path", "depth"])
            new_path = self._computed_path()
            if new_path != old_path:
                self.path = new_path
                self.depth = new_path.count("/") - 1
                Company.objects.filter(pk=self.pk).update(path=self.path, depth=self.depth)
                if old_path:
                    # Re-parenting: rewrite every descendant's prefix in one UPDATE.
                    shift = self.depth - (old_path.count("/") - 1)
                    Company.objects.filter(path__under=old_path).exclude(pk=self.pk).update(
                        path=Concat(models.Value(new_path), Substr("path", len(old_path) + 1)),
                        depth=models.F("depth") + shift,
                    )


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("The email must be set.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        # Emails are stored lower-cased; logging in as Admin@AbbieBox.com must find admin@abbiebox.com.
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username.strip()})

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class ReminderHours(models.IntegerChoices):
    """How long before a scheduled provisioning is due its creator is reminded (0: never)."""

    OFF = 0, _("Off")
    HOUR = 1, _("1 hour before")
    DAY = 24, _("24 hours before")
    THREE_DAYS = 72, _("72 hours before")


class User(AbstractUser):
    """A portal user; logs in with its email and belongs to one company."""

    class PrimaryIdentity(models.TextChoices):
        INTERNAL = "internal", _("Internal")

    def clean(self):
        super().clean()
        self.first_name, self.last_name = without_bidi_controls(self.first_name), without_bidi_controls(self.last_name)

    def save(self, *args, **kwargs):
        # Every writer (services, admin, bulk lines): no bidirectional controls in a name.
        self.first_name, self.last_name = without_bidi_controls(self.first_name), without_bidi_controls(self.last_name)
        super().save(*args, **kwargs)

    username = None
    email = models.EmailField(_("email address"), unique=True, error_messages={"unique": USER_EMAIL_TAKEN})
    company = models.ForeignKey(
        Company, verbose_name=_("company"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    # CONTACT INFORMATION of the manual's user page.
    address = models.CharField(_("address"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    zip_code = models.CharField(_("zip code"), max_length=20, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    manager = models.CharField(_("manager"), max_length=200, blank=True)
    fax = models.CharField(_("fax"), max_length=50, blank=True)
    mobile = models.CharField(_("mobile"), max_length=50, blank=True)
    department = models.CharField(_("department"), max_length=200, blank=True)
    office = models.CharField(_("office"), max_length=200, blank=True)
    home_phone = models.CharField(_("phone (home)"), max_length=50, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    # LOGIN INFORMATION
    primary_identity = models.CharField(
        _("primary identity"), max_length=20, choices=PrimaryIdentity.choices, default=PrimaryIdentity.INTERNAL
    )
    must_change_password = models.BooleanField(
        _("change password in next login"),
        default=False,
        help_text=_("The user must choose a new password before using the portal."),
    )
    password_expires_at = models.DateTimeField(_("password expiration date"), null=True, blank=True, validators=[validate_portal_year])
    # NOTIFICATIONS tab. Emails go out in this language; empty means the company's (accounts.languages).
    email_language = models.CharField(
        _("email language"), max_length=5, blank=True, choices=[("en", _("English")), ("es", _("Spanish"))]
    )
    # "Your provisioning is scheduled" can be turned off; the completion email cannot (the manual:
    # "Some email notifications are mandatory").
    notify_scheduled = models.BooleanField(_("email when a provisioning is scheduled"), default=True)
    reminder_hours = models.PositiveSmallIntegerField(
        _("reminder before the due time"), choices=ReminderHours.choices, default=ReminderHours.DAY
    )
    # Opt-in: an email before a cancellation window of a subscription below the user's company closes
    # (the last days seats can be reduced or the subscription cancelled with a refund).
    notify_window_closing = models.BooleanField(_("email before a cancellation window closes"), default=False)
    # The zone its date-time controls start in and its dates' local line is shown in (an IANA name of
    # core.datetimes.time_zone_names()); empty is UTC. Remembered when the user picks a zone in a
    # date-time control, or set on the NOTIFICATIONS tab.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, validators=[validate_time_zone])

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            # The login is case-insensitive (UserManager.get_by_natural_key), so the email must be too.
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci", violation_error_message=USER_EMAIL_TAKEN),
        ]

    def __str__(self):
        return self.email

    def get_absolute_url(self):
        # Where staff land after impersonating this user from the admin (django-hijack asks this).
        return reverse("user_detail", kwargs={"user_id": self.pk})

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class AuditLogEntry(models.Model):
    """Who did what, when, on which company. Written by services only."""

    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.CASCADE, related_name="audit_log")
    actor = models.ForeignKey(
        User, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The staff member working as `actor` (impersonation), so the entry names both.
    impersonator = models.ForeignKey(
        User, verbose_name=_("impersonated by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The user the entry is about (renamed, password reset, ...), for the user page's AUDIT LOG.
    target_user = models.ForeignKey(
        User, verbose_name=_("about user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=64)
    message = models.TextField(_("message"))
    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["company", "-created_at"]),
            models.Index(fields=["target_user", "-created_at"]),
            models.Index(fields=["actor", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action}"


class ApiToken(models.Model):
    """A personal API token: acts as its user (same visibility) on /api/v1/.

    Only a SHA-256 of the token is stored: it is shown once, when it is created, and a stolen
    database does not give working tokens. (A fast hash is enough: the token is 256 random bits,
    not a password someone could guess.)
    """

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the token, to tell tokens apart on the SECURITY tab.
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEndpoint(models.Model):
    """A reseller's webhook (company page, SECURITY tab): where the portal POSTs its import events,
    signed with `secret` (HMAC-SHA256). Deliveries and their log live in imports (WebhookDelivery)."""

    company = models.OneToOneField(Company, verbose_name=_("company"), on_delete=models.CASCADE, related_name="webhook_endpoint")
    url = models.URLField(_("webhook URL"), max_length=500)
    # Generated by the portal (secrets.token_urlsafe), shown on the tab, rotated there.
    secret = models.CharField(_("signing secret"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return f"{self.company} → {self.url}"
