"""Vendors, services, terms and price lists."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.dates import validate_portal_year
from accounts.models import Company


class Vendor(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    # Key of the vendor integration (catalog.integrations) that adds fields and due-time checks.
    integration = models.CharField(_("integration"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("vendor")
        verbose_name_plural = _("vendors")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class TermsAndConditions(models.Model):
    """One version of a terms text. A new version is a new row; acceptances point at a version."""

    title = models.CharField(_("title"), max_length=200)
    version = models.PositiveIntegerField(_("version"), default=1)
    text = models.TextField(_("text"))
    # The same terms in Spanish, shown below the English text (Intcomex's terms are bilingual:
    # "English Version - Below is the Spanish Version"). Empty when the terms have none.
    text_es = models.TextField(
        _("Spanish version"), blank=True, default="",
        help_text=_("The same terms in Spanish, shown below the English text. Leave empty if there is none."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("terms and conditions")
        verbose_name_plural = _("terms and conditions")
        ordering = ["title", "-version"]
        constraints = [models.UniqueConstraint(fields=["title", "version"], name="terms_title_version_unique")]

    def __str__(self):
        return f"{self.title} (v{self.version})"

    def versions(self) -> list[tuple[str, str]]:
        """(language code, text) of every version it has: English, then Spanish when there is one.
        Every reader sees them all, in this order, as the English text announces."""
        return [("en", self.text), *([("es", self.text_es)] if self.text_es.strip() else [])]


class Service(models.Model):
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    vendor = models.ForeignKey(Vendor, verbose_name=_("vendor"), on_delete=models.PROTECT, related_name="services")
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="services")
    active = models.BooleanField(_("active"), default=True)
    once_per_account = models.BooleanField(
        _("once per account"), default=False, help_text=_("Can be ordered only once for the same company.")
    )
    dependencies = models.ManyToManyField(
        "self",
        verbose_name=_("requires"),
        symmetrical=False,
        blank=True,
        related_name="required_by",
        help_text=_("The company must already hold a subscription to one of these services."),
    )
    terms = models.ForeignKey(
        TermsAndConditions,
        verbose_name=_("terms and conditions"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="services",
    )
    max_quantity = models.PositiveIntegerField(_("maximum quantity"), default=10000)
    integration_options = models.JSONField(
        _("integration options"),
        default=dict,
        blank=True,
        help_text=_('Options for the vendor integration, e.g. {"creates_tenant": true} for a Microsoft tenant.'),
    )
    # The catalog's upgrade paths: the products a subscription of this service may be upgraded to
    # (e.g. Business Basic → Business Standard). A scheduled upgrade off these paths is refused.
    upgrades_to = models.ManyToManyField(
        "self", verbose_name=_("upgrades to"), symmetrical=False, blank=True, related_name="upgrades_from"
    )

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Term(models.TextChoices):
    P1M = "P1M", _("1-month commitment")
    P1Y = "P1Y", _("1-year commitment")
    P3Y = "P3Y", _("3-year commitment")


class BillingFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUAL = "annual", _("Annual")
    TRIENNIAL = "triennial", _("Triennial")


class PriceList(models.Model):
    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(Company, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="owned_price_lists")
    currency = models.CharField(_("currency"), max_length=3, default="USD")

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["name"]

    def __str__(self):
        return self.name


class PriceListAssignment(models.Model):
    """The price list a company buys from (one per company)."""

    company = models.OneToOneField(
        Company, verbose_name=_("company"), on_delete=models.CASCADE, related_name="price_list_assignment"
    )
    price_list = models.ForeignKey(PriceList, verbose_name=_("price list"), on_delete=models.PROTECT, related_name="assignments")

    class Meta:
        verbose_name = _("price list assignment")
        verbose_name_plural = _("price list assignments")

    def __str__(self):
        return f"{self.company} → {self.price_list}"


class PriceListItem(models.Model):
    """The price of a service for one billing type, effective from a day until the next item's day."""

    price_list = models.ForeignKey(PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="items")
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="price_items")
    term = models.CharField(_("term"), max_length=3, choices=Term.choices)
    billing_frequency = models.CharField(
        _("billing frequency"), max_length=10, choices=BillingFrequency.choices, default=BillingFrequency.MONTHLY
    )
    effective_from = models.DateField(_("effective from"), validators=[validate_portal_year])
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=5)
    selling_price = models.DecimalField(_("selling price"), max_digits=14, decimal_places=5)
    currency = models.CharField(_("currency"), max_length=3, default="USD")

    class Meta:
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        ordering = ["service__name", "term", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "service", "term", "billing_frequency", "effective_from"],
                name="price_item_unique_per_day",
            ),
            models.CheckConstraint(condition=models.Q(cost__gte=0), name="price_item_cost_non_negative"),
            models.CheckConstraint(condition=models.Q(selling_price__gte=0), name="price_item_price_non_negative"),
        ]
        indexes = [models.Index(fields=["price_list", "service", "effective_from"])]

    def __str__(self):
        return f"{self.service} {self.term} from {self.effective_from}"


class TermsAcceptance(models.Model):
    """Terms of a service accepted for a whole price list: later orders on it skip the terms step."""

    price_list = models.ForeignKey(PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="acceptances")
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="acceptances")
    terms = models.ForeignKey(TermsAndConditions, verbose_name=_("terms"), on_delete=models.PROTECT, related_name="acceptances")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("accepted by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("terms acceptance")
        verbose_name_plural = _("terms acceptances")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "service", "terms"], name="terms_accepted_once_per_version"),
        ]

    def __str__(self):
        return f"{self.price_list}: {self.service} ({self.terms})"


class VendorCall(models.Model):
    """One call to a vendor's API, as the connector's observer saw it: the company page's PROVISIONING
    tab lists a company's calls, staff read them all in the admin. Written outside the caller's
    transaction (a call that rolled back still happened at the vendor)."""

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")
        TRANSIENT = "transient", _("Try again later")
        UNKNOWN = "unknown", _("No answer")

    at = models.DateTimeField(_("time"), db_index=True)
    company = models.ForeignKey(
        Company, verbose_name=_("company"), null=True, blank=True, on_delete=models.CASCADE, related_name="vendor_calls"
    )
    integration = models.CharField(_("integration"), max_length=50)
    operation = models.CharField(_("operation"), max_length=50)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("result"), max_length=20, choices=Outcome.choices)
    detail = models.TextField(_("detail"), blank=True)
    request_id = models.CharField(_("MS-RequestId"), max_length=64, blank=True)
    correlation_id = models.CharField(_("MS-CorrelationId"), max_length=64, blank=True, db_index=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("vendor call")
        verbose_name_plural = _("vendor calls")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["company", "at"], name="vendor_call_company_at")]

    def __str__(self):
        return f"{self.operation} {self.outcome} ({self.at:%Y-%m-%d %H:%M:%S})"


class VendorTenantPause(models.Model):
    """A customer tenant the vendor asked us to leave alone for a while (a 429 with Retry-After on its
    resources): every sender of every worker skips the tenant's calls until `until`, instead of each
    order meeting the limit again on its own."""

    integration = models.CharField(_("integration"), max_length=50)
    customer_id = models.CharField(_("vendor customer id"), max_length=64)
    until = models.DateTimeField(_("paused until"))

    class Meta:
        verbose_name = _("paused vendor tenant")
        verbose_name_plural = _("paused vendor tenants")
        constraints = [models.UniqueConstraint(fields=["integration", "customer_id"], name="vendor_tenant_pause_unique")]

    def __str__(self):
        return f"{self.integration} {self.customer_id} until {self.until:%Y-%m-%d %H:%M:%S}"


class VendorTenantBudget(models.Model):
    """The requests reserved for one customer tenant in one slot of time (catalog.integrations.budget):
    every sender of every worker reserves a request here, with one conditional statement, before each
    call the vendor counts against the tenant; a full slot means the order waits for the next one."""

    integration = models.CharField(_("integration"), max_length=50)
    customer_id = models.CharField(_("vendor customer id"), max_length=64)
    # The slot's start on the database's clock (a multiple of the slot's length since the epoch).
    slot_start = models.DateTimeField(_("slot start"), db_index=True)
    count = models.PositiveIntegerField(_("requests"), default=0)

    class Meta:
        verbose_name = _("vendor tenant request budget")
        verbose_name_plural = _("vendor tenant request budgets")
        constraints = [
            models.UniqueConstraint(fields=["integration", "customer_id", "slot_start"], name="vendor_tenant_budget_unique"),
        ]

    def __str__(self):
        return f"{self.integration} {self.customer_id} {self.slot_start:%Y-%m-%d %H:%M:%S}: {self.count}"


class VendorCircuit(models.Model):
    """An integration's circuit (catalog.integrations.circuit): after a few consecutive failures of the
    vendor itself (5xx, no connection, no answer) across senders, the integration is marked down until a
    probe time; meanwhile one probe order at a time may call, the others wait without calling. A probe the
    vendor answers closes it."""

    integration = models.CharField(_("integration"), max_length=50, unique=True)
    # Consecutive failures of the vendor itself seen by the senders (reset by any answer).
    failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    # Set while the circuit is open (the vendor is taken as down); null when closed.
    opened_at = models.DateTimeField(_("down since"), null=True, blank=True)
    # While open: when the next probe may call, and how many probes failed since it opened.
    probe_at = models.DateTimeField(_("next probe"), null=True, blank=True)
    probe_failures = models.PositiveIntegerField(_("failed probes"), default=0)
    # The current probe's lease: no other probe starts before it ends (a probe whose sender died).
    probing_until = models.DateTimeField(_("probe under way until"), null=True, blank=True)
    # The probe time an order already waits for (it will be the probe): parked orders wait for
    # parked_until, one waits for each probe.
    probe_booked_for = models.DateTimeField(_("probe booked for"), null=True, blank=True)
    # Orders parked while open wait until this time, exactly: closing the circuit finds them by it and
    # releases them gradually (imports.vendor.parking).
    parked_until = models.DateTimeField(_("parked orders wait until"), null=True, blank=True)
    closed_at = models.DateTimeField(_("last closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("vendor circuit")
        verbose_name_plural = _("vendor circuits")

    def __str__(self):
        return f"{self.integration}: {'down since ' + f'{self.opened_at:%Y-%m-%d %H:%M:%S}' if self.opened_at else 'up'}"
