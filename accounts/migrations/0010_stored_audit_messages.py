"""Audit entries written as English text before they were stored as messages (core.stored_messages):
an entry that matches what a service wrote then is turned into its stored form, so a Spanish reader
sees it in Spanish; the values inside it (names, emails, dates; "on"/"off" and the like) stay as they
were written. Other entries stay as written. Reversible: going back writes the English text again.

The messages are copied here as they were when this migration was written."""

from django.db import migrations
from django.utils import translation

from core.stored_messages import TextMapper, rendered

# Longer messages before shorter ones sharing their start.
MESSAGES = [
    "Import '%(job)s' completed with errors: %(created)s. Failed: %(reasons)s",
    "Import '%(job)s' completed: %(created)s.",
    "Import '%(job)s' failed: %(reasons)s",
    "Terms and conditions '%(terms)s' accepted for %(service)s on price list %(price_list)s.",
    "Provisioning of %(service)s (%(quantity)s × %(term)s) scheduled for %(due)s (UTC), QuoteId %(quote)s.",
    "Import '%(job)s' (due %(due)s UTC) cancelled.",
    "Import '%(job)s' rescheduled from %(old)s to %(new)s (UTC).",
    "Import '%(job)s' (failed) opened again as a new order, QuoteId %(quote)s.",
    "Import of %(count)s %(account_type)s from %(file)s scheduled for %(due)s (UTC).",
    "API token '%(name)s' (%(prefix)s…) created for %(email)s.",
    "API token '%(name)s' (%(prefix)s…) of %(email)s revoked.",
    "%(count)s API token(s) of %(email)s revoked (%(reason)s).",
    "User %(email)s renamed from %(old)s to %(new)s.",
    "Password of %(email)s reset (must be changed at the next login).",
    "Password of %(email)s reset.",
    "Credentials (a one-time set-password link) sent to %(email)s.",
    "User %(email)s created.",
    "User %(email)s terminated.",
    "%(email)s set a new password (%(via)s).",
    "Notification settings of %(email)s: language %(language)s, scheduled email %(scheduled)s, reminder %(reminder)s.",
    "Company %(name)s created.",
    "Company %(name)s changed: %(fields)s.",
    "%(staff)s started impersonating %(user)s.",
    "%(staff)s stopped impersonating %(user)s.",
    "Webhook URL set to %(url)s (active: %(active)s).",
    "Webhook secret rotated.",
    "Company %(name)s terminated; %(count)s active user(s) terminated with it.",
    "Credentials (one-time set-password links) sent to the %(count)s active user(s) of %(name)s.",
]
# The failure reasons an "import.failed" entry lists (imports' migration 0012 maps the rows' own).
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
CHUNK = 1000


def mapper() -> TextMapper:
    reasons = TextMapper(REASONS, nested={"status": ["Active", "Suspended", "Terminated"]})
    return TextMapper(MESSAGES, nested={"reasons": reasons, "created": ["nothing to create"]})


def _rewrite(apps, convert):
    AuditLogEntry = apps.get_model("accounts", "AuditLogEntry")
    changed = []
    for entry in AuditLogEntry.objects.only("pk", "message").iterator(chunk_size=CHUNK):
        new = convert(entry.message)
        if new is not None and new != entry.message:
            entry.message = new
            changed.append(entry)
        if len(changed) >= CHUNK:
            AuditLogEntry.objects.bulk_update(changed, ["message"])
            changed = []
    if changed:
        AuditLogEntry.objects.bulk_update(changed, ["message"])


def forwards(apps, schema_editor):
    # One line each: an entry is mapped whole or left as written.
    convert = mapper().line
    _rewrite(apps, lambda text: convert(text) if "\n" not in text else None)


def backwards(apps, schema_editor):
    with translation.override("en"):
        _rewrite(apps, lambda text: rendered(text) if "i18n:" in text else None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_user_time_zone")]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
