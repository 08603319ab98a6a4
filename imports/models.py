"""Import jobs (My imports) and their rows.

A job is either one scheduled provisioning (one row, Source "Scheduled provisioning") or a
bulk import (many rows, Source "Import"). Its status moves only through imports.jobs.states.
"""

import datetime as dt
import uuid
from email.utils import parseaddr

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy as _

from accounts.models import Company, WebhookEndpoint
from orders.models import Order, Subscription, SubscriptionChange
from orders.facts import OrderFacts
from orders.validation import orders_precheck

from core.outbox import OutboxItem
from core.stored_messages import rendered, stored

from imports.search_texts import SEARCH_TEXT_MAX_LENGTH, SearchText  # noqa: F401 (a model of this app)

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


class ImportRetryDraft(models.Model):
    """The draft order "Schedule again" opened for a failed job, until it is scheduled: the job it
    then creates is linked to the failed one (ImportJob.retry_of). Kept in imports because orders
    knows nothing of jobs."""

    order = models.OneToOneField(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="+")
    failed_job = models.ForeignKey(ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("retry draft")
        verbose_name_plural = _("retry drafts")

    def __str__(self):
        return f"{self.failed_job_id} → {self.order_id}"


class MyImportsPreference(models.Model):
    """What a user chose on My imports and keeps from one visit (and device) to the next: rows per page."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    per_page = models.PositiveSmallIntegerField(_("Rows per page"), default=10)

    class Meta:
        verbose_name = _("My imports preference")
        verbose_name_plural = _("My imports preferences")

    def __str__(self):
        return f"{self.user_id}: {self.per_page}"


def _message_domain() -> str:
    """The right-hand side of our Message-IDs: the sender's domain, so they are ours and unique."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


class Notification(OutboxItem):
    """One message to send about a job: the email outbox (core.outbox, the kind imports.notify.outbox).

    Written in the very transaction that finishes the job, so a finished job always has its
    message to send and a rolled-back one never has. It is marked sent only after the mail
    server accepted it: a worker dying in between sends it again (same Message-ID), never drops it.
    Status, attempts, next attempt, last error, sent at and created at are OutboxItem's.
    """

    class Kind(models.TextChoices):
        # Mandatory (the manual: "Some email notifications are mandatory"): every finished job has one.
        IMPORT_FINISHED = "import_finished", _("Your import is completed")
        # Optional, per user (NOTIFICATIONS tab): when the job is created, and before it is due.
        IMPORT_SCHEDULED = "import_scheduled", _("Your provisioning is scheduled")
        IMPORT_REMINDER = "import_reminder", _("Reminder before a scheduled provisioning")
        # Once per job, when its first vendor try meets transient trouble (imports.vendor.finish): the job
        # waits for the vendor, with the next try's time and the reason.
        IMPORT_WAITING = "import_waiting", _("Your import is waiting for the vendor")
        # A scheduled change the sync with the vendor found wiped before the renewal (a mid-term change made
        # elsewhere removed it), or not applied by the renewal: to the change's creator, with the reason
        # (orders.sync; imports.engine.change_notices). One per change job and kind.
        CHANGE_WIPED = "change_wiped", _("A scheduled change was wiped at the vendor")
        CHANGE_RENEWAL_FAILED = "change_renewal_failed", _("A scheduled change did not apply at the renewal")

    # Every row of a burst is written once and updated twice (claimed, then sent), each time in every
    # index: so no index of its own here, the unique (job, kind) one serves lookups by job.
    job = models.ForeignKey(
        ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices, default=Kind.IMPORT_FINISHED)
    # The email's Message-ID header, fixed once: a re-send after a crash is the same message to
    # mail clients. A uuid part keeps it unique across databases (job ids restart after a reset).
    # Unique by a constraint rather than unique=True, which on PostgreSQL adds a second index for
    # LIKE 'prefix%' that nothing asks (the admin's search is a contains).
    message_id = models.CharField(_("Message-ID"), max_length=255)

    class Meta(OutboxItem.Meta):
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [OutboxItem.due_index("notification_status_next")]
        constraints = [
            models.UniqueConstraint(fields=["job", "kind"], name="notification_unique_job_kind"),
            models.UniqueConstraint(fields=["message_id"], name="notification_unique_message_id"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.job_id})"

    @classmethod
    def for_job(cls, job_id: int, *, now: dt.datetime, kind: str = Kind.IMPORT_FINISHED) -> "Notification":
        """The unsaved row of a job that has just finished, due at once."""
        message_id = f"<import-{job_id}-{kind}.{uuid.uuid4().hex}@{_message_domain()}>"
        return cls(job_id=job_id, kind=kind, next_attempt_at=now, created_at=now, message_id=message_id)


class SubscriptionNotice(OutboxItem):
    """One notice about a subscription to one user, not about a job: the notices' outbox (core.outbox,
    the kind imports.notify.notices), written by the engine's housekeeping pass when its time comes.

    Kinds are named apart from the job's emails and from the change failure and wipe notices (issue 27):
    - "change.reminder": a few days before a renewal that has scheduled changes, to their creators;
    - "window.closing": before a cancellation window closes, to the users above the subscription who
      opted in (accounts.User.notify_window_closing).
    Sent once each: unique per kind, subscription, recipient and occasion (the renewal or window end it
    is about; a later renewal is another occasion), and a fixed Message-ID for a re-send after a crash.
    """

    class Kind(models.TextChoices):
        CHANGE_REMINDER = "change.reminder", _("Reminder before a renewal with changes")
        WINDOW_CLOSING = "window.closing", _("Cancellation window closing")

    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="notices"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    # The renewal (term end) or the window's end the notice is about.
    occasion_at = models.DateTimeField(_("about"))
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)

    class Meta(OutboxItem.Meta):
        verbose_name = _("subscription notice")
        verbose_name_plural = _("subscription notices")
        indexes = [OutboxItem.due_index("subscription_notice_next")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subscription", "recipient", "occasion_at"], name="subscription_notice_once"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.subscription_id} → {self.recipient_id})"

    @classmethod
    def build(cls, kind: str, *, subscription_id: int, recipient_id: int, occasion_at: dt.datetime, now: dt.datetime):
        """The unsaved row, due at once."""
        message_id = f"<{kind}-{subscription_id}-{recipient_id}.{uuid.uuid4().hex}@{_message_domain()}>"
        return cls(
            kind=kind, subscription_id=subscription_id, recipient_id=recipient_id, occasion_at=occasion_at,
            next_attempt_at=now, created_at=now, message_id=message_id,
        )


class ImportFile(models.Model):
    """A file uploaded on the IMPORT ACCOUNTS page (imports.bulk).

    Its checksum lets a second upload of the same file warn about the earlier import. While the
    reseller still has to confirm (terms to accept, or the same file again) the upload waits here
    with its content, so the confirmation needs no second upload; the job is then created from it
    and the content is dropped.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("Creator"), on_delete=models.CASCADE, related_name="+"
    )
    account_type = models.CharField(_("Account type"), max_length=20, choices=ImportJob.AccountType.choices)
    name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("checksum"), max_length=64)
    # The schedule chosen on the page; None means as soon as possible (at confirmation time).
    due_at = models.DateTimeField(_("Import schedule date (UTC)"), null=True, blank=True)
    content = models.BinaryField(_("content"), blank=True, default=b"")
    job = models.OneToOneField(
        ImportJob, verbose_name=_("import job"), null=True, blank=True, on_delete=models.CASCADE, related_name="file"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("import file")
        verbose_name_plural = _("import files")
        indexes = [models.Index(fields=["sha256"], name="import_file_sha256")]

    def __str__(self):
        return self.name


class WebhookDelivery(OutboxItem):
    """One event POSTed to a reseller's webhook (accounts.WebhookEndpoint): the webhook outbox
    (core.outbox, the kind imports.webhooks.delivery.DELIVERIES).

    Written in the very transaction that moves the job to its final status (like Notification), so
    an event is never announced for a run that rolled back. imports.webhooks.delivery signs and sends
    it; `event_id` (the X-ICP-Delivery header) stays the same across retries, so the receiver can
    drop duplicates. Status, attempts, next attempt, last error, sent at and created at are OutboxItem's.
    """

    class Event(models.TextChoices):
        IMPORT_COMPLETED = "import.completed", "import.completed"
        IMPORT_COMPLETED_WITH_ERRORS = "import.completed_with_errors", "import.completed_with_errors"
        IMPORT_FAILED = "import.failed", "import.failed"
        IMPORT_CANCELLED = "import.cancelled", "import.cancelled"
        # Once per job, when its first vendor try meets transient trouble (not a final status: the
        # job's final event follows when the vendor is done, refuses, or the deadline passes).
        IMPORT_WAITING = "import.waiting", "import.waiting"
        # A scheduled change found wiped at the vendor, or not applied by the renewal (orders.sync), with its reason.
        CHANGE_WIPED = "change.wiped", "change.wiped"
        CHANGE_RENEWAL_FAILED = "change.renewal_failed", "change.renewal_failed"

    event_id = models.CharField(_("event id"), max_length=64, unique=True)
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    job = models.ForeignKey(ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="webhook_deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("webhook endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    # The whole JSON body ({"id", "type", "created_at", "data"}), fixed when the event happened.
    payload = models.JSONField(_("payload"), default=dict)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)

    class Meta(OutboxItem.Meta):
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [OutboxItem.due_index("webhook_delivery_status_next")]
        constraints = [models.UniqueConstraint(fields=["job", "event"], name="webhook_delivery_unique_job_event")]

    def __str__(self):
        return f"{self.event} ({self.job_id}) → {self.endpoint_id}"


class VendorOrder(OutboxItem):
    """One import row's order placed with the vendor (e.g. a Microsoft cart and its checkout): the vendor
    outbox (core.outbox, the third kind beside emails and webhooks).

    Written in the batch's transaction, once the row's due-time checks have passed, with every id the
    vendor calls will carry (`create_request_id`, `checkout_request_id`: MS-RequestId; `correlation_id`)
    and the subscription the row will create, priced on the creation day (`subscription`). The calls
    happen later, outside any transaction, by whichever sender holds the row's lease; each answer is
    recorded in a short transaction of its own (`cart_id` as soon as the cart exists). A sender killed
    at any point leaves the row to the next one with the same ids, so the vendor (idempotent per
    MS-RequestId, and per cart at checkout) never places a second order for one job.

    Status, attempts, next attempt (the next try, or the end of a sender's lease), last error (the
    last transient trouble, stored text), sent at (when it was final) and created at are OutboxItem's.
    """

    class Outcome(models.TextChoices):
        OPEN = "", _("Open")
        DONE = "done", _("Provisioned by the vendor")
        REFUSED = "refused", _("Refused by the vendor")
        # Transient trouble outlasted the deadline (IMPORT_VENDOR_DEADLINE_SECONDS after the due time).
        EXPIRED = "expired", _("Vendor unavailable until the deadline")

    row = models.OneToOneField(ImportRow, verbose_name=_("import row"), on_delete=models.CASCADE, related_name="vendor_order")
    job = models.ForeignKey(ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="vendor_orders")
    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="vendor_orders")
    integration = models.CharField(_("integration"), max_length=50)
    # What is asked: "cart" (a subscription on an existing customer tenant) or "customer" (a new tenant).
    operation = models.CharField(_("operation"), max_length=20)
    customer_id = models.CharField(_("vendor customer id"), max_length=64, blank=True)
    create_request_id = models.UUIDField(_("MS-RequestId of the creation"))
    checkout_request_id = models.UUIDField(_("MS-RequestId of the checkout"))
    correlation_id = models.UUIDField(_("MS-CorrelationId"))
    cart_id = models.CharField(_("cart id"), max_length=64, blank=True)
    vendor_order_id = models.CharField(_("vendor order id"), max_length=64, blank=True)
    vendor_subscription_id = models.CharField(_("vendor subscription id"), max_length=64, blank=True)
    # The Subscription the row creates when the vendor is done (orders.provisioning.subscription_build's
    # fields, JSON): the price of the creation day, read with the batch's facts, never read again.
    subscription = models.JSONField(_("subscription to create"), default=dict)
    account_id = models.PositiveBigIntegerField(_("Account Id"))
    deadline_at = models.DateTimeField(_("deadline"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.OPEN, blank=True)
    # The vendor's reason for a refusal, or the last transient reason at the deadline (stored text).
    reason = models.TextField(_("reason"), blank=True)
    # When the vendor checks at the due time (orders.validation.order_vendor_problems) passed: asked once,
    # so a retry after the cart exists does not ask again.
    checked_at = models.DateTimeField(_("vendor checks passed at"), null=True, blank=True)

    class Meta(OutboxItem.Meta):
        verbose_name = _("vendor order")
        verbose_name_plural = _("vendor orders")
        indexes = [
            OutboxItem.due_index("vendor_order_status_next"),
            models.Index(fields=["company", "status"], name="vendor_order_company_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status="pending") | ~models.Q(outcome=""), name="vendor_order_final_has_outcome"),
        ]

    def __str__(self):
        return f"{self.integration} {self.operation} for row {self.row_id}"


class EngineWorker(models.Model):
    """A process of the import engine as the database last saw it: `imports_worker`'s dispatcher,
    or a cluster worker that ran the every-minute tick (imports.engine.workers writes it; the
    health report reads it). All its times are the database's clock (core.clock.db_now)."""

    class Role(models.TextChoices):
        DISPATCHER = "dispatcher", _("dispatcher")
        TICK = "tick", _("every-minute tick")

    # host:pid, unique while the process lives (a restarted worker is a new row; old ones are pruned).
    name = models.CharField(_("name"), max_length=200, unique=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # This process's clock minus the database's, in seconds, as last measured: positive when it is fast.
    clock_offset_seconds = models.FloatField(_("clock offset (s)"), default=0.0)
    last_seen_at = models.DateTimeField(_("last seen"), db_index=True)
    # The last dispatcher round (or tick) that completed: a round that failed or hung never counts.
    last_round_at = models.DateTimeField(_("last completed round"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    last_failure = models.CharField(_("last failure reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("engine worker")
        verbose_name_plural = _("engine workers")
        ordering = ["name"]

    def __str__(self):
        return self.name
