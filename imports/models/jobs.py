"""Import jobs (My imports) and their rows.

A job is either one scheduled provisioning (one row, Source "Scheduled provisioning") or a
bulk import (many rows, Source "Import"). Its status moves only through imports.jobs.states.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy as _

from accounts.models import Company
from orders.models import Order, Subscription, SubscriptionChange
from orders.facts import OrderFacts
from orders.validation import orders_precheck

from core.stored_messages import rendered, stored

from imports.search_texts import SearchText

# Subscription.provisioning_key of the subscription an import row creates: "import-row:<row id>".
PROVISIONING_KEY_PREFIX = "import-row:"


# A bulk import row's failure reason with the file's line it came from (My imports, the email, failed lines).
ROW_LINE_REASON = _("Line %(line)s: %(reason)s")

# An import job without a name, in stored messages: "Scheduled provisioning #12".
JOB_UNNAMED = _("%(source)s #%(id)s")


class ImportJob(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        # Some rows done, some failed (a bulk import): Failed is kept for a run where none succeeded.
        COMPLETED_WITH_ERRORS = "completed_with_errors", _("Completed with errors")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        # Its checks passed and its orders are with the vendor (VendorOrder): sent, or waiting to be
        # sent again after transient trouble. Shown with the vendor's name ("Waiting for Microsoft").
        WAITING = "waiting", _("Waiting for vendor")

    class AccountType(models.TextChoices):
        PRODUCTS = "products", _("Products")
        COMPANIES = "companies", _("Companies")
        USERS = "users", _("Users")
        # Scheduled changes to live subscriptions (one change per row: orders.models.SubscriptionChange).
        CHANGES = "changes", _("Changes")

    class Source(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled provisioning")
        IMPORT = "import", _("Import")
        # One scheduled change to a live subscription (its row points at the orders.models.SubscriptionChange).
        CHANGE = "change", _("Scheduled change")

    # The statuses a job never leaves. imports.jobs.states reads them from here and allows no move out of them.
    FINAL_STATUSES = frozenset({Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED, Status.CANCELLED})
    # Cancelling is possible only before a worker claims the job; imports.jobs.states builds its cancel moves from this.
    CANCELLABLE_STATUSES = frozenset({Status.PENDING})
    # The final statuses reached by running: a cancelled job never ran, so it has no end of run to show.
    RAN_STATUSES = frozenset({Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED})

    name = models.CharField(_("Import name"), max_length=255, blank=True)
    # The import name and the product names and codes of its rows, set when the job is created
    # (imports.jobs.services.search_entry_for): My imports searches them without joining rows, orders and
    # services. None: nothing to search but the company (a job made outside the services).
    search = models.ForeignKey(
        SearchText, verbose_name=_("search text"), null=True, blank=True, editable=False, on_delete=models.PROTECT,
        related_name="jobs", db_index=False,  # indexed below, with the company
    )
    account_type = models.CharField(_("Account type"), max_length=20, choices=AccountType.choices, default=AccountType.PRODUCTS)
    source = models.CharField(_("Source"), max_length=20, choices=Source.choices, default=Source.SCHEDULED)
    status = models.CharField(_("Status"), max_length=24, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(_("Import schedule date (UTC)"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("Creator"), on_delete=models.PROTECT, related_name="import_jobs"
    )
    # The company whose subtree the job belongs to (the parent account of its rows), for visibility.
    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="import_jobs")
    created_at = models.DateTimeField(_("Date created UTC"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    imported_count = models.PositiveIntegerField(_("Imported accounts (No.)"), default=0)
    error_count = models.PositiveIntegerField(_("Errors (No.)"), default=0)
    # Recipients besides the creator (the company contact when Notify me was checked).
    notify_emails = models.JSONField(_("also notify"), default=list, blank=True)
    # "Schedule again" on a failed job: the new job points at the failed one, which stays as history;
    # the failed one finds its retries through `retries`.
    retry_of = models.ForeignKey(
        "self", verbose_name=_("retry of"), null=True, blank=True, on_delete=models.SET_NULL, related_name="retries",
        db_index=False,  # indexed below, only where set: almost every job has none
    )

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            # Claims take due jobs in this order (imports.engine.dispatch): a company's jobs due together
            # land in the same batches, so concurrent batches rarely wait on the same company lock.
            models.Index(fields=["status", "due_at", "company", "id"], name="import_job_claim_order"),
            models.Index(fields=["status", "lease_expires_at"], name="import_job_status_lease"),
            # My imports (imports.my_imports.pages.imports_page) walks the sort column's index to read a page;
            # with the company in it, the reseller's subtree is checked without reading the table.
            # The id is the tie-break of every sort (SQLite keeps it in every index; PostgreSQL gets it
            # named). Status, Imported accounts and Errors are sorted by (column, id).
            models.Index(fields=["created_at", "id", "company"], name="import_job_created_company"),
            models.Index(fields=["due_at", "id", "company"], name="import_job_due_company"),
            models.Index(fields=["status", "id"], name="import_job_status_id"),
            models.Index(fields=["imported_count", "id"], name="import_job_imported_id"),
            models.Index(fields=["error_count", "id"], name="import_job_errors_id"),
            # Counting a reseller's jobs with a status filter ("everything failed") from the index alone.
            models.Index(fields=["company", "status"], name="import_job_company_status"),
            # A search's matching texts give the jobs; the company is checked from the index alone.
            models.Index(fields=["search", "company"], name="import_job_search_company"),
            models.Index(fields=["retry_of"], name="import_job_retry_of", condition=models.Q(retry_of__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="in_progress") | models.Q(lease_expires_at__isnull=False),
                name="import_job_in_progress_has_lease",
            ),
            # ...and only then: "claimed under a live lease" (imports.notify.priority, health) is
            # then the lease alone, whatever the status filter says.
            models.CheckConstraint(
                condition=models.Q(status="in_progress") | models.Q(lease_expires_at__isnull=True),
                name="import_job_lease_only_in_progress",
            ),
        ]

    def __str__(self):
        return self.name or f"{self.get_source_display()} #{self.pk}"

    def stored_label(self) -> str:
        """str(self) for a stored message (core.stored_messages): the source is translated when shown."""
        if self.name:
            return self.name
        return stored(JOB_UNNAMED, source=dict(self.Source.choices).get(self.source, self.source), id=self.pk)

    @property
    def display_name(self) -> str:
        """The Import name as My imports, its export and its messages show it: the product of a
        scheduled provisioning, the uploaded file of a bulk import, "-" when there is none."""
        return self.name or "-"

    @property
    def more_lines(self) -> int:
        """Lines not shown inline on My imports: read with imports.my_imports.selectors.with_rows_shown(lines=N),
        a job carries its first lines (`lines_shown`) and how many it has (`line_count`)."""
        return max(0, getattr(self, "line_count", 0) - len(getattr(self, "lines_shown", ())))

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def is_cancellable(self) -> bool:
        """Whether My imports offers the X (import_cancel still decides, atomically, who wins)."""
        return self.status in self.CANCELLABLE_STATUSES

    @property
    def is_reschedulable(self) -> bool:
        """Whether My imports offers Reschedule: only before a worker claims the job, like cancelling
        (imports.jobs.services.import_reschedule still decides, atomically)."""
        return self.status == self.Status.PENDING

    @property
    def is_retryable(self) -> bool:
        """Whether My imports offers "Schedule again": a failed scheduled provisioning (its order can be
        copied into a new draft). Bulk imports are re-run by importing their file again."""
        return self.status == self.Status.FAILED and self.source == self.Source.SCHEDULED

    @property
    def completed_retry(self) -> "ImportJob | None":
        """The retry of this job ("Schedule again") that completed, if one did: then there is nothing
        left to schedule again (My imports keeps the link to it). Reads the prefetched retries
        (imports.my_imports.selectors.with_rows_shown) when there are."""
        return next((retry for retry in self.retries.all() if retry.status == self.Status.COMPLETED), None)

    @property
    def offers_schedule_again(self) -> bool:
        """Whether My imports shows "Schedule again": a retryable job none of whose retries completed."""
        return self.is_retryable and self.completed_retry is None

    @property
    def is_live(self) -> bool:
        """Whether the list keeps refreshing this row: it can still change by itself."""
        return self.status in (self.Status.PENDING, self.Status.IN_PROGRESS, self.Status.WAITING)

    @property
    def schedule_end(self):
        """The right end of the "Import schedule date (UTC)" column ("due - end"): when the run
        finished for a job that ran, otherwise the due time again."""
        if self.finished_at and self.status in self.RAN_STATUSES:
            return self.finished_at
        return self.due_at

    def precheck(self, *, day: dt.date, vendor: bool = False) -> list[str]:
        """The Order review's pre-check for this job's orders: the due-time checks run on `day` (what
        would fail if it ran then). Rescheduling, the API's answer to a scheduling, My imports'
        reschedule form and the reminder email (imports.notify.content) show it, so the reasons come
        rendered in the active language.

        `vendor`: also ask the vendor (orders.validation.orders_precheck) about the orders that pass the
        local checks; its reasons, then what it could not be asked ("could not be asked now"), follow.
        Only callers outside any transaction pass it (the API's scheduling, after its commit): the others
        run inside one (reschedule) or in the engine (the reminder), where the due time asks anyway."""
        # From the table, not self.rows: a job read for My imports has its rows prefetched with what the
        # list shows only, and the checks read whole orders.
        rows = ImportRow.objects.filter(job=self).select_related("order__company", "order__service__vendor").order_by("position")
        orders = [row.order for row in rows if row.order_id]
        if not orders:
            return []
        results = orders_precheck(orders, OrderFacts.load(orders, day=day), vendor=vendor)
        return [rendered(text) for result in results for text in (*result.reasons, *result.notes)]


class ImportRow(models.Model):
    class ImportType(models.TextChoices):
        PRODUCT = "product", _("Product")
        COMPANY = "company", _("Company")
        USER = "user", _("User")
        CHANGE = "change", _("Subscription change")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    job = models.ForeignKey(ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField(_("line"), default=1)
    import_type = models.CharField(_("Import type"), max_length=20, choices=ImportType.choices, default=ImportType.PRODUCT)
    parent_company = models.ForeignKey(
        Company, verbose_name=_("Parent account"), on_delete=models.PROTECT, related_name="import_rows"
    )
    # A scheduled provisioning row carries its order; one order can be scheduled only once.
    order = models.OneToOneField(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT, related_name="import_row"
    )
    # A bulk import row carries what the file said instead.
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    # Why the row failed: one reason a line, each stored as a message and its parameters
    # (core.stored_messages) so that it is shown in the reader's language; rows written before that
    # hold English text, shown as it is. Read it through failure_reason (rendered).
    error = models.TextField(_("error"), blank=True)
    subscription = models.OneToOneField(
        Subscription, verbose_name=_("subscription"), null=True, blank=True, on_delete=models.SET_NULL, related_name="import_row"
    )
    # A "change" row: the scheduled change to a live subscription it runs.
    change = models.OneToOneField(
        SubscriptionChange, verbose_name=_("subscription change"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="import_row",
    )
    # Indexed: My imports finds a job by the account id a row created.
    result_account_id = models.PositiveBigIntegerField(_("Account Id"), null=True, blank=True, db_index=True)
    # What a company or user line created, as it was created (the account may be renamed later; the
    # reseller reconciles the file with what it made): {"name"} of a company (its account id is
    # result_account_id), {"user_id", "email", "name"} of a user. Read it through created_account.
    created = models.JSONField(_("created account"), default=dict, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        ordering = ["job", "position"]
        constraints = [models.UniqueConstraint(fields=["job", "position"], name="import_row_unique_position")]

    def __str__(self):
        return f"{self.job} #{self.position}"

    @property
    def product_code(self) -> str:
        """The service code the row provisions: its order's service, or what the bulk file said."""
        if self.order_id:
            return self.order.service.code if self.order.service_id else ""
        if self.change_id:  # a scheduled change: the subscription's service
            return self.change.subscription.service.code
        value = self.payload.get("product_code") if isinstance(self.payload, dict) else None
        return "" if value is None else str(value)

    @property
    def product_name(self) -> str:
        """The name of the service the row provisions (what a reseller reads; the code is for files and
        the email's "Import Type: Product <code>"): its order's service, else the code the file gave."""
        if self.order_id:
            return self.order.service.name if self.order.service_id else ""
        if self.change_id:
            return self.change.subscription.name
        value = self.payload.get("product_name") if isinstance(self.payload, dict) else None
        return str(value) if value else self.product_code

    @property
    def is_direct_payment(self) -> bool:
        """Scheduled provisioning is always billed through the reseller; bulk rows say so in their file."""
        return bool(self.payload.get("is_direct_payment")) if isinstance(self.payload, dict) else False

    @property
    def file_line(self) -> int | None:
        """The line of the uploaded file this row came from (the spreadsheet's row number, the header
        counted), None for a scheduled provisioning (it has no file: only a bulk row carries a payload)."""
        return self.position if self.payload else None

    @property
    def created_account(self) -> dict | None:
        """What a completed row created, as the pages, the export and the API show it:
        {"type": "company" | "user" | "subscription", "id", "name", "email"}; `id` is the company's
        or subscription's account id, or the user's User Id. None while nothing was created."""
        if self.status != self.Status.COMPLETED:
            return None
        created = self.created if isinstance(self.created, dict) else {}
        if self.import_type == self.ImportType.USER:
            if not created.get("user_id"):
                return None  # a user line completed before its account was recorded
            return {"type": "user", "id": created["user_id"], "name": created.get("name") or "", "email": created.get("email") or ""}
        if not self.result_account_id:
            return None
        kind = "company" if self.import_type == self.ImportType.COMPANY else "subscription"
        return {"type": kind, "id": self.result_account_id, "name": created.get("name") or "", "email": ""}

    @property
    def failure_reason(self) -> str:
        """The reason shown under the row on My imports, in its export and the API, in the active
        language (one reason a line): only a failed row has one to show."""
        return rendered(self.error) if self.status == self.Status.FAILED else ""

    @property
    def failure_on_line(self) -> str:
        """failure_reason with the file's line before each reason ("Line 7: ..."), for a bulk import's
        row shown or mailed apart from its line number; a scheduled provisioning's as it is."""
        reason = self.failure_reason
        line = self.file_line
        if not reason or line is None:
            return reason
        return "\n".join(gettext(ROW_LINE_REASON) % {"line": line, "reason": part} for part in reason.split("\n"))

    @property
    def provisioning_key(self) -> str:
        """The Subscription.provisioning_key this row writes: unique, so a row provisions at most once."""
        return f"{PROVISIONING_KEY_PREFIX}{self.pk}"
