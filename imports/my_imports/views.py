"""Orders > My imports (the list of import jobs: rows per page, filters, search, sort, live refresh,
EXPORT; cancel, reschedule and schedule again) and the Order review's "Schedule provisioning"
button, which creates the job. Thin: the address is parsed by imports.my_imports.listing, reads are
imports.my_imports.selectors', writes imports.jobs.services'."""

import html

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from core.numbers import parse_whole
from accounts.selectors import companies_visible_to
from core.datetimes import format_utc, utc_text
from accounts.users.services import user_time_zone_remember
from orders.forms import ScheduleForm
from orders.views import (
    ALREADY_SCHEDULED,
    SCHEDULED,
    review_response,
    step_url,
    wizard_step,
)
from orders.wizard import STEP_REVIEW, Wizard

from imports.my_imports import export
from imports.my_imports.forms import RescheduleForm
from imports.engine.health import imports_health
from imports.my_imports.labels import job_labels
from imports.my_imports.listing import PAGE_SIZES, SORTS, Listing, chips
from imports.models import ImportJob
from imports.my_imports.pages import imports_page
from imports.my_imports.selectors import (
    filter_choices,
    import_for_user,
    imports_for,
    imports_for_export,
)
from imports.jobs.services import (
    JOB_CANCELLED,
    JOB_NOT_CANCELLABLE,
    JOB_RESCHEDULED,
    JobNotReschedulable,
    JobNotRetryable,
    import_cancel,
    import_reschedule,
    import_retry,
    not_reschedulable_reason,
    provisioning_schedule,
)

ROWS_PER_PAGE = PAGE_SIZES[0]
# How often the rows of unfinished jobs refresh themselves (seconds).
LIVE_REFRESH_SECONDS = 5
# The live refresh asks for at most a page of jobs (the largest page size).
LIVE_MAX_IDS = max(PAGE_SIZES)


def _list_url(listing: Listing) -> str:
    return f"{reverse('imports:my_imports')}?{listing.urlencode()}"


def _back_listing(data) -> Listing:
    """The view the user came from: an action's form carries it as `back` (the list's query string)
    and `page`; a link carries it as its own query string. Parsed like the list's address."""
    back = data.get("back")
    if not isinstance(back, str):
        return Listing.parse(data)
    query = QueryDict(back, mutable=True)
    if "page" in data:
        query["page"] = data.get("page")
    return Listing.parse(query)


def _export_url(listing: Listing, fmt: str) -> str:
    """EXPORT of what the list shows: its filters, search and sort, every page."""
    query = QueryDict(listing.urlencode(page=False), mutable=True)
    query["format"] = fmt
    return f"{reverse('imports:export')}?{query.urlencode()}"


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _options(choices, selected, label: str) -> str:
    """<option>s of a filter select, escaped. Up to a thousand of them: built with the standard
    library's escape, not the template language's (which costs more than the rest of the page)."""
    parts = []
    for value, name, *_rest in choices:
        text = html.escape(label.format(name=name, value=value))
        mark = " selected" if value == selected else ""
        parts.append(f'<option value="{html.escape(str(value))}"{mark}>{text}</option>')
    return mark_safe("".join(parts))  # every value and label escaped above


def _list_context(request, listing: Listing) -> dict:
    visible = companies_visible_to(request.user)
    page = imports_page(request.user, listing, visible=visible)
    choices = filter_choices(request.user, visible=visible)
    shown = page.listing
    names = page.names
    columns = []
    for key, (_column, label) in SORTS.items():
        current = key == shown.sort
        columns.append({
            "key": key, "label": label, "current": current,
            "aria_sort": ("descending" if shown.descending else "ascending") if current else "",
            "url": _list_url(shown.sorted_by(key)),
        })
    return {
        "page": page,
        "listing": shown,
        "qs": shown.urlencode(),
        "back": shown.urlencode(),
        "sort_columns": {column["key"]: column for column in columns},
        "page_sizes": PAGE_SIZES,
        "statuses": ImportJob.Status.choices,
        "sources": ImportJob.Source.choices,
        "account_types": ImportJob.AccountType.choices,
        "company_options": _options(choices["companies"], shown.company, "{name} ({value})"),
        "creator_options": _options(choices["creators"], shown.creator, "{name}"),
        "chips": [
            (label, _list_url(without))
            for label, without in chips(
                shown,
                company_name=names.company.name if names.company else None,
                creator_email=names.creator.email if names.creator else None,
            )
        ],
        "clear_url": _list_url(shown.cleared()),
        "keep_params": [(k, v) for k, v in shown.params(page=False) if k in ("per_page", "sort")],
        "filter_params": [(k, v) for k, v in shown.params(page=False) if k != "per_page"],
        "urls": {
            "first": _list_url(page.first()),
            "previous": _list_url(page.previous()),
            "next": _list_url(page.next()),
            "last": _list_url(page.last()),
            "csv": _export_url(shown, "csv"),
            "xlsx": _export_url(shown, "xlsx"),
            "live": f"{reverse('imports:live')}?{shown.urlencode()}",
        },
        "labels": job_labels(),
        "live_ids": ",".join(str(job.pk) for job in page.jobs if job.is_live),
        "live_seconds": LIVE_REFRESH_SECONDS,
    }


@login_required
@require_safe
def my_imports(request):
    """Orders > My imports: the user's jobs, as the address asks (imports.my_imports.listing)."""
    return render(request, "imports/my_imports.html", _list_context(request, Listing.parse(request.GET)))


@login_required
@require_safe
def live(request):
    """The live refresh (htmx, every few seconds while shown jobs are unfinished): the main row and the
    details of each job asked for, swapped in place (an open row or dialog stays open), and the
    poller itself, which stops once none of them can change any more."""
    listing = Listing.parse(request.GET)
    parts = request.GET.get("ids", "").split(",")[:LIVE_MAX_IDS]
    ids = [number for part in parts if (number := parse_whole(part)) is not None]
    jobs = list(imports_for(request.user).filter(pk__in=ids)) if ids else []
    live_ids = ",".join(str(job.pk) for job in jobs if job.is_live)
    context = {
        "jobs": jobs, "listing": listing, "qs": listing.urlencode(), "back": listing.urlencode(),
        "live_ids": live_ids, "live_seconds": LIVE_REFRESH_SECONDS, "labels": job_labels(),
        "urls": {"live": f"{reverse('imports:live')}?{listing.urlencode()}"},
    }
    return render(request, "imports/_live.html", context)


@login_required
@require_safe
def export_list(request):
    """EXPORT: the filtered list, all pages, in the list's order (?format=csv or xlsx)."""
    listing = Listing.parse(request.GET)
    jobs = imports_for_export(request.user, listing)
    return export.export_response(request.GET.get("format", "csv"), jobs)


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, job_id):
    """GET: the confirm question as a page (what the X opens when JavaScript is off).
    POST: cancel, as long as no worker has claimed the job yet."""
    job = import_for_user(request.user, job_id=job_id)
    listing = _back_listing(request.POST if request.method == "POST" else request.GET)
    back = _list_url(listing)
    if request.method == "POST":
        try:
            cancelled = import_cancel(job_id=job.pk, user=request.user)
        except ImportJob.DoesNotExist:  # deleted (admin) since it was read above
            raise Http404 from None
        if cancelled:
            messages.success(request, JOB_CANCELLED % {"name": job.name or "-"})
        else:
            messages.error(request, JOB_NOT_CANCELLABLE)
        return redirect(back)
    if not job.is_cancellable:
        messages.error(request, JOB_NOT_CANCELLABLE)
        return redirect(back)
    context = {"job": job, "back": back, "page": listing.page, "back_qs": listing.urlencode()}
    return render(request, "imports/cancel_confirm.html", context)


def _reschedule_response(request, job, form, listing, *, error: str = ""):
    context = {
        "job": job, "form": form, "error": error, "back": _list_url(listing), "back_qs": listing.urlencode(),
        "warnings": job.precheck(day=timezone.now().date()) if job.is_reschedulable else [],
        "in_dialog": _is_htmx(request),
    }
    template = "imports/_reschedule_form.html" if _is_htmx(request) else "imports/reschedule.html"
    return render(request, template, context)


def _go(request, url: str):
    """Redirect; an htmx request (the dialog) is told to load the page instead of swapping it in."""
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def reschedule(request, job_id):
    """Reschedule a pending job. GET: the form with the current time filled in (a page without
    JavaScript, the dialog's content with it). POST: move it, or show why not in the same form."""
    job = import_for_user(request.user, job_id=job_id)
    listing = _back_listing(request.POST if request.method == "POST" else request.GET)
    now = timezone.now()
    if request.method == "GET":
        if not job.is_reschedulable:
            messages.error(request, not_reschedulable_reason(job).message)
            return _go(request, _list_url(listing))
        form = RescheduleForm(now=now, initial={"due_at": job.due_at}, time_zone=request.user.time_zone)
        return _reschedule_response(request, job, form, listing)
    form = RescheduleForm(request.POST, now=now, time_zone=request.user.time_zone)
    if not form.is_valid():
        return _reschedule_response(request, job, form, listing)
    user_time_zone_remember(user=request.user, time_zone=form.chosen_zone)
    try:
        result = import_reschedule(job_id=job.pk, user=request.user, due_at=form.cleaned_data["due_at"], now=now)
    except (ImportJob.DoesNotExist, PermissionDenied):  # deleted, or moved out of the subtree, meanwhile
        raise Http404 from None
    except ValidationError as exc:
        form.add_error("due_at", exc)
        return _reschedule_response(request, job, form, listing)
    except JobNotReschedulable as exc:
        messages.error(request, exc.message)
        return _go(request, _list_url(listing))
    names = {"name": job.name or "-", "old": format_utc(result.old_due_at), "new": format_utc(result.job.due_at)}
    messages.success(request, JOB_RESCHEDULED % names)
    for warning in result.warnings:
        messages.warning(request, warning)
    return _go(request, _list_url(listing))


@login_required
@require_POST
def retry(request, job_id):
    """Schedule again a failed scheduled provisioning: its order's review, as a new draft."""
    job = import_for_user(request.user, job_id=job_id)
    listing = _back_listing(request.POST)
    try:
        draft = import_retry(job_id=job.pk, user=request.user)
    except (ImportJob.DoesNotExist, PermissionDenied):
        raise Http404 from None
    except JobNotRetryable as exc:
        messages.error(request, exc.message)
        return redirect(_list_url(listing))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(_list_url(listing))
    return redirect(step_url(draft, STEP_REVIEW))


@wizard_step(STEP_REVIEW, methods=("POST",))
def schedule_provisioning(request, wizard: Wizard):
    """Schedule provisioning (UTC) on the Order review: the draft becomes a Pending job, then My imports.

    The path to the job is this view → imports.jobs.services.provisioning_schedule → orders.services.order_submit
    (lock, re-validate every step, mark Submitted) → import_job_create_for_order, in one transaction.
    """
    # order_submit re-validates every step under the order's lock; a WizardStepError it raises sends
    # the reseller back to that step (wizard_step), so nothing is validated twice here.
    form = ScheduleForm(request.POST, now=wizard.now, time_zone=request.user.time_zone)
    if form.is_valid():
        user_time_zone_remember(user=request.user, time_zone=form.chosen_zone)
        try:
            result = provisioning_schedule(order_id=wizard.order.pk, user=request.user, due_at=form.due_at())
        except ValidationError as exc:
            # A time that went out of range between the form check and the lock: shown on its field.
            form.add_error(None, exc)
        else:
            order = result.order
            names = {"service": order.service.name, "due": utc_text(order.scheduled_for)}
            if result.created:
                messages.success(request, SCHEDULED % names)
            else:
                messages.info(request, ALREADY_SCHEDULED % names)
            return redirect("imports:my_imports")
    return review_response(request, wizard, form)


@staff_member_required
@require_safe
def health(request):
    """The figures of `manage.py imports_health`, for staff (linked from the admin index)."""
    report = imports_health()
    return render(request, "imports/health.html", {"health": report, "problems": report.problems()})
