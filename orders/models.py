"""The wizard's draft order and the subscriptions it finally creates."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.dates import validate_portal_year
from accounts.models import Company
from catalog.models import BillingFrequency, Service, Term

TENANT_DOMAIN_TAKEN_SHORT = _("Another subscription already holds this tenant domain; a domain is unique on the platform.")


class Order(models.Model):
    """A NEW SERVICE order, saved step by step while the reseller walks the wizard."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    # Shown as QuoteId on the Configuration step.
    uuid = models.UUIDField(_("QuoteId"), default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.CASCADE, related_name="orders")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)

    # Step 1: Select service
    service = models.ForeignKey(
        Service, verbose_name=_("service"), null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    # Step 3: Configuration (None until the step has been saved)
    configured_at = models.DateTimeField(_("configured at"), null=True, blank=True)
    subscription_name = models.CharField(_("Subscription Name"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("Quantity"), null=True, blank=True)
    term = models.CharField(_("term"), max_length=3, choices=Term.choices, blank=True)
    billing_frequency = models.CharField(_("billing frequency"), max_length=10, choices=BillingFrequency.choices, blank=True)
    send_to_backend = models.BooleanField(_("Send to backend"), default=True)
    notify_me = models.BooleanField(_("Notify me"), default=False)
    billing_start_date = models.DateTimeField(_("Billing start date"), null=True, blank=True, validators=[validate_portal_year])
    is_billable = models.BooleanField(_("Is billable"), default=True)
    contract_id = models.CharField(_("Contract ID"), max_length=100, blank=True)
    # Fields declared by the vendor integration (e.g. microsoft_tenant_id, mpn_id, end_date_alignment).
    vendor_config = models.JSONField(_("vendor fields"), default=dict, blank=True)

    # Step 4: Order review
    scheduled_for = models.DateTimeField(_("Schedule provisioning (UTC)"), null=True, blank=True, validators=[validate_portal_year])
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        # The housekeeping's filter (drafts untouched for DRAFT_MAX_IDLE_DAYS), run every minute.
        indexes = [models.Index(fields=["status", "updated_at"], name="order_status_updated")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__isnull=True) | models.Q(quantity__gt=0), name="order_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(submitted_at__isnull=False),
                name="order_submitted_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.service or _('New service')} for {self.company} ({self.uuid})"

    @property
    def is_editable(self) -> bool:
        """Only a draft may change: a submitted order is what its import job will provision."""
        return self.status == self.Status.DRAFT


class SubscriptionQuerySet(models.QuerySet):
    def live(self) -> "SubscriptionQuerySet":
        """The one rule for which subscriptions a company holds: every one not terminated. A suspended
        subscription still exists (it can be resumed), so it still counts for "once per account",
        for the dependencies of other services and for the vendor checks."""
        return self.exclude(status=Subscription.Status.TERMINATED)


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="subscriptions")
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="subscriptions")
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.SET_NULL, related_name="subscriptions"
    )
    name = models.CharField(_("name"), max_length=255)
    account_id = models.PositiveBigIntegerField(_("account id"), unique=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    term = models.CharField(_("term"), max_length=3, choices=Term.choices, blank=True)
    billing_frequency = models.CharField(_("billing frequency"), max_length=10, choices=BillingFrequency.choices, blank=True)
    # Prices of the price-list item in force on the day the subscription was created.
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=5)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # The domain it holds that must be unique on the whole platform (a Microsoft tenant's
    # <domain>.onmicrosoft.com), from the vendor integration; the unique index is the last line
    # behind the due-time check (orders.validation.check_domain_available).
    tenant_domain = models.CharField(
        _("tenant domain"),
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        error_messages={"unique": TENANT_DOMAIN_TAKEN_SHORT},
    )
    # The vendor's ids when the order went through its integration (Send to backend): its subscription,
    # the order that created it, and the status the vendor last gave (e.g. "pending", "active").
    vendor_subscription_id = models.CharField(_("vendor subscription id"), max_length=64, blank=True, db_index=True)
    vendor_order_id = models.CharField(_("vendor order id"), max_length=64, blank=True)
    vendor_status = models.CharField(_("vendor status"), max_length=30, blank=True)
    # Who provisioned it, e.g. "import-row:42". Unique, so a repeated provisioning run cannot create a second one.
    provisioning_key = models.CharField(_("provisioning key"), max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The current term (orders.terms): set at provisioning (from the vendor's answer when it went through its
    # integration) and kept in sync with the vendor before each renewal and on demand. Empty for a service
    # without a term. The cancellation window is the 7 days after the purchase or the last renewal.
    term_start = models.DateTimeField(_("term start"), null=True, blank=True)
    term_end = models.DateTimeField(_("term end"), null=True, blank=True, db_index=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    cancellation_window_ends_at = models.DateTimeField(_("cancellation window ends"), null=True, blank=True)
    # The vendor's next-term instructions as last read from it (Partner Center's scheduledNextTermInstructions),
    # and when the subscription was last read from the vendor.
    next_term_instructions = models.JSONField(_("next-term instructions"), default=dict, blank=True)
    synced_at = models.DateTimeField(_("synced with the vendor"), null=True, blank=True)
    # A sync with the vendor in progress holds the subscription until then (orders.sync): never two at once.
    sync_claimed_until = models.DateTimeField(_("sync claimed until"), null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["company", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="subscription_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(term_end__isnull=True) | models.Q(term_start__lt=models.F("term_end")),
                name="subscription_term_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["company", "service"])]

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        """As in the company structure: licence-based services show their quantity, "(NCE) Exchange Online Kiosk (1)"."""
        return f"{self.name} ({self.quantity})" if self.term else self.name


class SubscriptionChange(models.Model):
    """A change scheduled on a live subscription (issue "Scheduled changes to live subscriptions").

    Run by the engine like a scheduled provisioning: its import job (Source "Scheduled change", one row of
    type "change" pointing here) falls due at `due_at` and makes exactly one vendor call. Kinds that apply
    mid-term (quantity up, auto-renew, cancel now inside the cancellation window, and the reductions
    inside that window) are applied then; "at renewal" kinds are sent to the vendor at once as next-term
    instructions (status Sent) and verified when the subscription renews (Applied), or found wiped by a
    mid-term change made elsewhere (Wiped). The rules of each kind live in orders.changes.rules; the
    status moves in orders.changes.states.
    """

    class Kind(models.TextChoices):
        QUANTITY = "quantity", _("Quantity")
        BILLING_CYCLE = "billing_cycle", _("Billing cycle")
        TERM = "term", _("Term")
        UPGRADE = "upgrade", _("Product upgrade")
        AUTO_RENEW = "auto_renew", _("Auto-renew")
        CANCEL = "cancel", _("Cancellation")

    class When(models.TextChoices):
        # At a chosen UTC date-time (now included): applied at the vendor then.
        AT = "at", _("At a chosen time")
        # At the subscription's renewal: sent at once as next-term instructions, applied by the renewal.
        RENEWAL = "renewal", _("At renewal")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent for renewal")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        REPLACED = "replaced", _("Replaced")
        WIPED = "wiped", _("Wiped at the vendor")

    # Open: not applied yet, and one per kind per subscription (the database says so).
    OPEN_STATUSES = frozenset({Status.PENDING, Status.SENT})
    FINAL_STATUSES = frozenset({Status.APPLIED, Status.FAILED, Status.CANCELLED, Status.REPLACED, Status.WIPED})

    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="changes"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    when = models.CharField(_("when"), max_length=10, choices=When.choices)
    # When it applies: the chosen time, or the renewal (the term's end when it was scheduled).
    due_at = models.DateTimeField(_("applies at"))
    # What it changes to (only the field of its kind is set; orders.changes.rules checks which).
    quantity = models.PositiveIntegerField(_("new quantity"), null=True, blank=True)
    billing_frequency = models.CharField(
        _("new billing cycle"), max_length=10, choices=BillingFrequency.choices, blank=True
    )
    term = models.CharField(_("new term"), max_length=3, choices=Term.choices, blank=True)
    service = models.ForeignKey(
        Service, verbose_name=_("upgrade to"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    auto_renew = models.BooleanField(_("auto-renew"), null=True, blank=True)
    # The subscription's values when the change was scheduled ({"quantity": 10, ...}), for "Quantity 10 → 8".
    before = models.JSONField(_("before"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    # Why it failed or was wiped: a stored message (core.stored_messages), shown in the reader's language.
    reason = models.TextField(_("reason"), blank=True)
    replaced_by = models.ForeignKey(
        "self", verbose_name=_("replaced by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # When the vendor took it (Sent) and when it was found in force (Applied).
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscription change")
        verbose_name_plural = _("subscription changes")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind"],
                condition=models.Q(status__in=["pending", "sent"]),
                name="subscription_change_one_open_per_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__isnull=True) | models.Q(quantity__gt=0),
                name="subscription_change_quantity_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="quantity") | models.Q(quantity__isnull=False),
                name="subscription_change_quantity_has_quantity",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="billing_cycle") | ~models.Q(billing_frequency=""),
                name="subscription_change_cycle_has_cycle",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="term") | ~models.Q(term=""), name="subscription_change_term_has_term"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="upgrade") | models.Q(service__isnull=False),
                name="subscription_change_upgrade_has_service",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="auto_renew") | models.Q(auto_renew__isnull=False),
                name="subscription_change_auto_renew_has_value",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="subscription_change_due"),
            models.Index(fields=["subscription", "status"], name="subscription_change_open"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.subscription_id} ({self.get_status_display()})"
