"""Failure reasons written as English text before they were stored as messages (core.stored_messages):
each line that matches a reason the portal gives is turned into its stored form, so a Spanish reader
sees it in Spanish too; other lines (a vendor's or a model's own wording) stay as written. Reversible:
going back writes the English text again.

The messages are copied here as they were when this migration was written (a migration must not
change when the code does)."""

from django.db import migrations
from django.utils import translation

from core.stored_messages import TextMapper, rendered

REASONS = [
    "The parent account %(company)s is not active (status: %(status)s).",
    "The service %(service)s is no longer active.",
    "The price list of %(company)s does not offer the service %(service)s.",
    "The terms and conditions of %(service)s have not been accepted for the price list %(price_list)s.",
    "The price list has no price for %(service)s (%(billing_type)s) on %(day)s.",
    "%(company)s already has %(service)s; it can be ordered only once per account.",
    "Required subscription missing: the account %(company)s has no %(required)s, which %(service)s needs.",
    "The tenant domain %(domain)s is already taken; an onmicrosoft.com domain is unique across the platform. "
    "Choose another tenant domain.",
    "Quantity %(quantity)s is above the limit of %(limit)s for %(service)s.",
    "Microsoft Tenant Id must be a GUID, e.g. e0d72b05-fb92-4d65-9424-7b58ea99d5d3.",
    "Microsoft Tenant Id is required.",
    "Microsoft Tenant Id does not belong to a Microsoft Organization tenant of this company.",
    "Tenant domain must be 1 to 27 lower-case letters, digits or hyphens (it becomes <domain>.onmicrosoft.com).",
    "MPN ID (Reseller) must contain digits only (at most 10).",
    "Subscription end date alignment must be one of the listed options.",
    "This line's type (%(type)s) cannot be run by this server.",
    "The parent account %(id)s is not one of the companies of the import's creator (any more).",
    "This import row has no order to provision.",
    "The order of this import row has no quantity or billing type configured.",
    "The import could not be processed because of an unexpected error. Please contact support.",
    "The import could not be processed: the platform was unavailable for too long after its scheduled time. "
    "Please schedule it again.",
    "Another company already has this domain; a domain belongs to one company only.",
    "This email address cannot be used; choose another one.",
]
# Company statuses, shown inside the first reason: translated too once stored.
STATUSES = ["Active", "Suspended", "Terminated"]
CHUNK = 1000


def mapper() -> TextMapper:
    return TextMapper(REASONS, nested={"status": STATUSES})


def _rewrite(apps, convert):
    ImportRow = apps.get_model("imports", "ImportRow")
    changed = []
    for row in ImportRow.objects.exclude(error="").only("pk", "error").iterator(chunk_size=CHUNK):
        new = convert(row.error)
        if new is not None and new != row.error:
            row.error = new
            changed.append(row)
        if len(changed) >= CHUNK:
            ImportRow.objects.bulk_update(changed, ["error"])
            changed = []
    if changed:
        ImportRow.objects.bulk_update(changed, ["error"])


def forwards(apps, schema_editor):
    _rewrite(apps, mapper().text)


def backwards(apps, schema_editor):
    with translation.override("en"):
        _rewrite(apps, lambda text: rendered(text) if "i18n:" in text else None)


class Migration(migrations.Migration):
    dependencies = [("imports", "0014_job_completed_with_errors")]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
