"""What the pages keep between requests: a failed job's draft for "Schedule again", a user's My imports
preference, a bulk upload waiting for its confirmation."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import Order

from imports.models.jobs import ImportJob


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
