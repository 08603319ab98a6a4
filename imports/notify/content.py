"""What each notification of a job says, in its recipient's language (accounts.languages: the
user's choice, else its company's), as text and HTML:

- IMPORT_SCHEDULED, "Your provisioning is scheduled": product, company, due time (UTC), link;
- IMPORT_REMINDER, before the due time: the Order review's pre-check run again, and "this order
  would fail today because ..." when it would;
- IMPORT_FINISHED, the manual's "Your import is completed" (or "... completed with errors"),
  with the failed rows' reasons and the link to the job;
- IMPORT_WAITING, "Your import is waiting for Microsoft": once per job whose vendor orders met
  transient trouble, with the next try's time, the deadline and the reason.

imports.notify.send sends them from the outbox; nothing here writes.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import ngettext

from core.datetimes import utc_text  # "2024-07-22 15:24 UTC", as every date-time of the portal
from accounts.languages import user_language
from core.clock import db_now

from core.stored_messages import rendered
from orders.changes.describe import change_text
from orders.models import SubscriptionChange
from imports.models import ImportJob, ImportRow, Notification, VendorOrder

UTC = dt.timezone.utc
Kind = Notification.Kind
TEMPLATES = {
    Kind.IMPORT_FINISHED: "imports/email/import_completed",
    Kind.IMPORT_SCHEDULED: "imports/email/import_scheduled",
    Kind.IMPORT_REMINDER: "imports/email/import_reminder",
    Kind.IMPORT_WAITING: "imports/email/import_waiting",
    Kind.CHANGE_WIPED: "imports/email/change_notice",
    Kind.CHANGE_RENEWAL_FAILED: "imports/email/change_notice",
}
# A scheduled change the sync with the vendor moved (imports.engine.change_notices): the status it reports.
CHANGE_NOTICE_STATUS = {Kind.CHANGE_WIPED: SubscriptionChange.Status.WIPED,
                        Kind.CHANGE_RENEWAL_FAILED: SubscriptionChange.Status.FAILED}


_my_imports_urls: dict[tuple, str] = {}


def my_imports_url() -> str:
    """Absolute: the email is sent by a worker, which has no request to build it from. Reversed
    once per site, URLconf and script prefix (every email of a burst asks for it)."""
    key = (settings.SITE_URL, settings.ROOT_URLCONF, get_urlconf(), get_script_prefix())
    if key not in _my_imports_urls:
        _my_imports_urls[key] = f"{settings.SITE_URL}{reverse('imports:my_imports')}"
    return _my_imports_urls[key]


def job_url(job: ImportJob) -> str:
    """My imports showing this one job (its ?job= filter)."""
    return f"{my_imports_url()}?job={job.pk}"


def import_recipients(job: ImportJob) -> list[str]:
    """The creator, then the company contacts asked for with Notify me; each address once."""
    seen: set[str] = set()
    recipients = []
    for email in [job.created_by.email, *(job.notify_emails or [])]:
        email = (email or "").strip()
        if email and email.lower() not in seen:
            seen.add(email.lower())
            recipients.append(email)
    return recipients


def recipients_for(kind: str, job: ImportJob) -> list[str]:
    """The reminder is the creator's own setting, so it goes to the creator only; so does what happened to a
    scheduled change after its job (the change's creator)."""
    if kind == Kind.IMPORT_REMINDER or kind in CHANGE_NOTICE_STATUS:
        return [job.created_by.email] if job.created_by.email else []
    return import_recipients(job)




def _import_type(row: ImportRow) -> str:
    """"Product 100113_Micros365BusineBasic_14991": the row's type and what it provisions."""
    return f"{row.get_import_type_display()} {row.product_code}".strip()


def _import_types(job: ImportJob, rows: list[ImportRow]) -> str:
    if job.source == ImportJob.Source.IMPORT:
        # A bulk import says what kind of accounts it imported ("Product", "Company", "User"), not
        # every product code of a file of thousands of lines.
        return ", ".join(dict.fromkeys(str(row.get_import_type_display()) for row in rows))
    return ", ".join(dict.fromkeys(_import_type(row) for row in rows))


# A bulk import of thousands of lines names this many of its products, then "and N more".
PRODUCTS_NAMED = 3


def company_text(job: ImportJob) -> str:
    """"ERITECH PERU S.A. (466158)": the customer company, by name and account id."""
    return f"{job.company.name} ({job.company.account_id})"


def products_text(rows: list[ImportRow]) -> str:
    """The products' names (the code is the Import Type's), each once, in file order; a long list
    ends with "and N more"."""
    names = list(dict.fromkeys(name for row in rows if (name := row.product_name)))
    if len(names) <= PRODUCTS_NAMED:
        return ", ".join(names)
    rest = len(names) - PRODUCTS_NAMED
    more = ngettext("and %(count)d more", "and %(count)d more", rest) % {"count": rest}
    return f"{', '.join(names[:PRODUCTS_NAMED])} {more}"


def _common(job: ImportJob, rows: list[ImportRow]) -> dict:
    return {
        "job": job,
        "user_name": job.created_by.get_full_name() or job.created_by.email,
        "created_by": job.created_by.email,
        "date_created": utc_text(job.created_at),
        "import_type": _import_types(job, rows),
        # A bulk import's name is its file's; a scheduled provisioning's repeats the product's.
        "import_name": job.display_name if job.source == ImportJob.Source.IMPORT else "",
        "company": company_text(job),
        "product": products_text(rows),
        "job_url": job_url(job),
    }


def finished_context(job: ImportJob, rows: list[ImportRow]) -> dict:
    failed_rows = [row for row in rows if row.status == ImportRow.Status.FAILED]
    return {
        **_common(job, rows),
        "has_errors": job.error_count > 0 or job.status == ImportJob.Status.FAILED,
        # Nothing succeeded: "Your import failed", as My imports says Failed (some lines done: "completed with errors").
        "failed": job.status == ImportJob.Status.FAILED,
        "completed_accounts": job.imported_count,
        "failed_accounts": job.error_count,
        # Each reason once per line; bulk imports say which line of the file it was ("Line 7: ...").
        "errors": [reason for row in failed_rows for reason in (row.failure_on_line.splitlines() or [""])],
    }


def scheduled_context(job: ImportJob, rows: list[ImportRow]) -> dict:
    return {
        **_common(job, rows),
        "schedule_date": utc_text(job.due_at),
    }


def reminder_context(job: ImportJob, rows: list[ImportRow], *, now: dt.datetime) -> dict:
    return {
        **scheduled_context(job, rows),
        # The Order review's pre-check, run today: what would fail if the job ran now.
        "problems": job.precheck(day=now.astimezone(UTC).date()),
    }


def waiting_context(job: ImportJob, rows: list[ImportRow]) -> dict | None:
    """"Your import is waiting for Microsoft": when the next try is, until when, and why (the open
    vendor order tried next: imports.vendor.finish keeps its last trouble and next try); None when none is
    open any more (the job's final email follows)."""
    waiting = (
        VendorOrder.objects.filter(job=job, status=VendorOrder.Status.PENDING)
        .select_related("row__order__service__vendor").order_by("next_attempt_at", "id").first()
    )
    if waiting is None:
        return None
    order = waiting.row.order
    return {
        **_common(job, rows),
        "vendor": order.service.vendor.name if order and order.service_id else waiting.integration,
        "next_try": utc_text(waiting.next_attempt_at),
        "deadline": utc_text(waiting.deadline_at),
        "reason": rendered(waiting.last_error),
    }


def change_notice_context(kind: str, job: ImportJob, rows: list[ImportRow]) -> dict | None:
    """A scheduled change wiped at the vendor, or not applied by the renewal: which change ("Quantity 10 → 8 at
    renewal on 2027-03-01"), of which subscription, and why; None when the job's change is no longer so."""
    status = CHANGE_NOTICE_STATUS[kind]
    changes = list(
        SubscriptionChange.objects.filter(import_row__job=job, status=status).select_related("subscription", "service")
    )
    if not changes:
        return None
    subscription = changes[0].subscription
    return {
        **_common(job, rows),
        "wiped": status == SubscriptionChange.Status.WIPED,
        "subscription": f"{subscription.name} ({subscription.account_id})",
        # (what, why) pairs: hashable, so identical emails render once (_render_key).
        "changes": [(change_text(change), rendered(change.reason)) for change in changes],
    }


def context_for(kind: str, job: ImportJob, rows: list[ImportRow], *, now: dt.datetime) -> dict | None:
    """The template context of a notification, or None when there is nothing to say any more
    (a reminder, or a scheduled notice, of a job that is no longer pending; a waiting notice of a job
    that no longer waits)."""
    if kind == Kind.IMPORT_FINISHED:
        return finished_context(job, rows)
    if kind == Kind.IMPORT_WAITING:
        return waiting_context(job, rows) if job.status == ImportJob.Status.WAITING else None
    if kind in CHANGE_NOTICE_STATUS:
        return change_notice_context(kind, job, rows)
    if job.status != ImportJob.Status.PENDING:
        return None
    if kind == Kind.IMPORT_SCHEDULED:
        return scheduled_context(job, rows)
    return reminder_context(job, rows, now=now)


def render(kind: str, context: dict, *, language: str) -> tuple[str, str, str]:
    """(subject, text, html) in `language`."""
    base = TEMPLATES[kind]
    with translation.override(language):
        return (
            " ".join(render_to_string(f"{base}.subject.txt", context).split()),
            render_to_string(f"{base}.txt", context),
            render_to_string(f"{base}.html", context),
        )


# What differs between the emails of one kind, language and outcome: the job's link, its creator,
# its customer, its product, its times. Each email's body is rendered once per distinct rest (the
# render key) with these stand-ins in place of those values, and each message gets its own values
# put in (EmailParts.filled; imports.notify.mime does the same in the MIME bytes). Only a value on
# one line that HTML escaping leaves unchanged is stood in (the text templates are not escaped, the
# HTML ones are: such a value reads the same in both); any other value is rendered, and keyed, as
# it is. The stand-ins survive escaping unchanged, and no real value contains them.
JOB_URL_STAND_IN = "https://job-link.invalid/stand-in"
STAND_INS = {
    "job_url": JOB_URL_STAND_IN,
    **{name: f"icp-stand-in-{name.replace('_', '-')}.invalid"
       for name in ("user_name", "created_by", "date_created", "company", "import_name", "product")},
}


def _stands_in(value) -> bool:
    return isinstance(value, str) and bool(value) and "\n" not in value and "\r" not in value and escape(value) == value


def _render_key(kind: str, language: str, context: dict) -> tuple:
    """Everything the templates show (the job object itself is only there for overrides)."""
    values = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(context.items()) if k != "job")
    return (kind, language, values)


@dataclass(frozen=True)
class EmailParts:
    """One notification's email before it becomes a message: its recipients and its rendered
    subject, text and HTML, with stand-ins (STAND_INS) where its own values go (`fields`: each
    stand-in and its value). `key` names the rendered content: two notifications with the same key
    differ only by their recipients, their `fields` and their Message-ID (imports.notify.mime builds
    their MIME once)."""

    key: tuple
    recipients: list[str]
    subject: str
    text: str
    html: str
    fields: tuple[tuple[str, str], ...] = ()

    def filled(self) -> tuple[str, str, str]:
        """(subject, text, html) with this email's own values in place of the stand-ins."""
        parts = (self.subject, self.text, self.html)
        for stand_in, value in self.fields:
            parts = tuple(part.replace(stand_in, value) for part in parts)
        return parts


def email_parts(
    notification: Notification,
    job: ImportJob,
    rows: list[ImportRow],
    *,
    rendered: dict | None = None,
    languages: dict | None = None,
    now: dt.datetime | None = None,
) -> EmailParts | None:
    """The parts of one notification's email, or None when it has no recipient or nothing to say.

    `rendered` (kept for one sending run) remembers rendered bodies: rendering is most of an
    email's cost, and the emails of one burst differ mostly by the values stood in (STAND_INS), so
    each distinct rest is rendered once. `languages` (also per run) remembers each creator's language.
    """
    kind = notification.kind
    recipients = recipients_for(kind, job)
    if not recipients:
        return None
    languages = {} if languages is None else languages
    if job.created_by_id not in languages:
        languages[job.created_by_id] = user_language(job.created_by)
    language = languages[job.created_by_id]
    # The context holds translated text too (import type, the pre-check's reasons): built in the
    # recipient's language, like the templates.
    with translation.override(language):
        context = context_for(kind, job, rows, now=now or db_now())
    if context is None:
        return None
    fields = tuple((STAND_INS[name], context[name]) for name in STAND_INS if _stands_in(context.get(name)))
    shared = {**context, **{name: STAND_INS[name] for name in STAND_INS if _stands_in(context.get(name))}}
    key = _render_key(kind, language, shared)
    rendered = {} if rendered is None else rendered
    if key not in rendered:
        rendered[key] = render(kind, shared, language=language)
    subject, text, html = rendered[key]
    return EmailParts(key=key, recipients=recipients, subject=subject, text=text, html=html, fields=fields)


def email_message(parts: EmailParts, *, message_id: str, connection=None) -> EmailMultiAlternatives:
    """`parts` as a Django message (any mail backend)."""
    subject, text, html = parts.filled()
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=parts.recipients, connection=connection,
        # The outbox's id for this message, the same on a re-send (Django makes one up otherwise).
        headers={"Message-ID": message_id} if message_id else None,
    )
    message.attach_alternative(html, "text/html")
    return message


def email_build(
    notification: Notification,
    job: ImportJob,
    rows: list[ImportRow],
    *,
    connection=None,
    rendered: dict | None = None,
    languages: dict | None = None,
    now: dt.datetime | None = None,
) -> EmailMultiAlternatives | None:
    """The email of one notification, or None when it has no recipient or nothing to say
    (email_parts, then email_message)."""
    parts = email_parts(notification, job, rows, rendered=rendered, languages=languages, now=now)
    if parts is None:
        return None
    return email_message(parts, message_id=notification.message_id, connection=connection)
