"""Orders > My imports (the list of import jobs: rows per page, filters, search, sort, live refresh,
EXPORT; cancel, reschedule and schedule again) and the Order review's "Schedule provisioning"
button, which creates the job. Thin: the address is parsed by imports.my_imports.listing, reads are
imports.my_imports.selectors', writes imports.jobs.services'."""

import html

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from core.clock import db_now
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
from imports.my_imports.listing import (
    DATE_MAX_LENGTH,
    DATE_PLACEHOLDER,
    PAGE_SIZES,
    SORTS,
    Listing,
    chips,
    date_filters,
    listing_problems,
)
from imports.my_imports.preferences import per_page_for, per_page_remember
from imports.models import ImportJob
from imports.my_imports.pages import imports_page
from imports.my_imports.selectors import (
    LINES_SHOWN,
    filter_choices,
    import_for_user,
    imports_for,
    imports_for_export,
    imports_visible_to,
    job_lines,
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
    imports_cancel_selected,
    imports_reschedule_selected,
    not_reschedulable_reason,
    provisioning_schedule,
)

ROWS_PER_PAGE = PAGE_SIZES[0]
ALREADY_RETRIED = _("This import was already scheduled again, and import #%(number)s completed.")
# Jobs one selection may act on: a page's worth at most (the largest page size).
SELECTION_MAX = max(PAGE_SIZES)
SELECTION_EMPTY = _("Select at least one pending import first.")
SELECTION_UNKNOWN_ACTION = _("Choose what to do with the selected imports: cancel or reschedule.")
SELECTED_CANCELLED = ngettext_lazy("%(count)d cancelled", "%(count)d cancelled", "count")
SELECTED_NOT_CANCELLED = ngettext_lazy("%(count)d not cancelled: %(reasons)s", "%(count)d not cancelled: %(reasons)s", "count")
SELECTED_RESCHEDULED = ngettext_lazy(
    "%(count)d rescheduled to %(new)s (UTC)", "%(count)d rescheduled to %(new)s (UTC)", "count"
)
SELECTED_NOT_RESCHEDULED = ngettext_lazy(
    "%(count)d not rescheduled: %(reasons)s", "%(count)d not rescheduled: %(reasons)s", "count"
)
# Why one job of a selection was left as it was: "#123 is no longer pending".
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
        "back_without_page": shown.urlencode(page=False),
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
        "selectable": any(job.is_cancellable for job in page.jobs),
        "selection_form": RescheduleForm(now=db_now(), prefix="selected"),
    }


@login_required
@require_safe
def my_imports(request):
    """Orders > My imports: the user's jobs, as the address asks (imports.my_imports.listing); an
    address that does not say how many rows a page has gets the user's Rows per page."""
    listing = Listing.parse(request.GET, default_per_page=per_page_for(request.user))
    context = _list_context(request, listing)
    context["problems"] = [message for messages_ in listing_problems(request.GET).values() for message in messages_]
    context["date_filters"] = date_filters(request.GET, context["listing"])
    context["date_placeholder"] = DATE_PLACEHOLDER
    context["date_max_length"] = DATE_MAX_LENGTH
    return render(request, "imports/my_imports.html", context)


@login_required
@require_safe
def live(request):
    """The live refresh (htmx, every few seconds while shown jobs are unfinished): the main row and the
    details of each job asked for, swapped in place (an open row or dialog stays open), and the
    poller itself, which stops once none of them can change any more."""
    listing = Listing.parse(request.GET)
    parts = request.GET.get("ids", "").split(",")[:LIVE_MAX_IDS]
    ids = [number for part in parts if (number := parse_whole(part)) is not None]
    jobs = list(imports_for(request.user, lines=LINES_SHOWN).filter(pk__in=ids)) if ids else []
    live_ids = ",".join(str(job.pk) for job in jobs if job.is_live)
    context = {
        "jobs": jobs, "listing": listing, "qs": listing.urlencode(), "back": listing.urlencode(),
        "live_ids": live_ids, "live_seconds": LIVE_REFRESH_SECONDS, "labels": job_labels(),
        "urls": {"live": f"{reverse('imports:live')}?{listing.urlencode()}"},
    }
    return render(request, "imports/_live.html", context)


@login_required
@require_POST
def rows_per_page(request):
    """Rows per page: the user's choice, kept server-side for its next visits (on any device), then
    the same list with that many rows a page from its first page."""
    listing = _back_listing(request.POST)
    chosen = parse_whole(request.POST.get("per_page", ""), maximum=max(PAGE_SIZES))
    if chosen in PAGE_SIZES:
        per_page_remember(user=request.user, per_page=chosen)
        listing = listing.with_(per_page=chosen, page=1)
    return redirect(_list_url(listing))


# The lines page of one job: a bulk import holds up to 5,000 lines, shown this many at a time.
LINES_PER_PAGE = 50


@login_required
@require_safe
def lines(request, job_id):
    """Every line of one job, a page at a time: what "N more lines" under a job's first lines opens.
    The same few statements for a job of 5 lines or 5,000 (a count, then one page)."""
    job = import_for_user(request.user, job_id=job_id)
    paginator = Paginator(job_lines(job), LINES_PER_PAGE)
    page = paginator.get_page(parse_whole(request.GET.get("page", ""), maximum=10**9) or 1)
    context = {
        "job": job, "page": page, "labels": job_labels(),
        "back": f"{_list_url(Listing(job=job.pk))}#import-{job.pk}",
        "urls": {
            "first": "?page=1",
            "previous": f"?page={page.number - 1}",
            "next": f"?page={page.number + 1}",
            "last": f"?page={paginator.num_pages}",
        },
    }
    return render(request, "imports/job_lines.html", context)


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
            messages.success(request, JOB_CANCELLED % {"name": job.display_name})
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
        "warnings": job.precheck(day=db_now().date()) if job.is_reschedulable else [],
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
    now = db_now()
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
    names = {"name": job.display_name, "old": format_utc(result.old_due_at), "new": format_utc(result.job.due_at)}
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
    if (done := job.completed_retry) is not None:  # a page from before the retry completed
        messages.info(request, ALREADY_RETRIED % {"number": done.pk})
        return redirect(_list_url(listing))
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


def _selected_ids(data) -> list[int]:
    """The job ids ticked on the page, each once, in order, at most SELECTION_MAX."""
    ids = [number for part in data.getlist("jobs") if (number := parse_whole(part)) is not None]
    return list(dict.fromkeys(ids))[:SELECTION_MAX]


def _summary(done, not_done, reasons: list[str], **names) -> str:
    """"3 cancelled; 1 not cancelled: #123 is no longer pending"."""
    parts = []
    if names["count"]:
        parts.append(done % names)
    if reasons:
        parts.append(not_done % {"count": len(reasons), "reasons": ", ".join(reasons)})
    return "; ".join(str(part) for part in parts) + "."


@login_required
@require_POST
def selected(request):
    """The selection bar: cancel or reschedule the ticked Pending jobs together. Each job goes through
    imports.jobs.services' cancel or reschedule with its own rules (a worker may have claimed one
    meanwhile); one message then says what happened to each. Cancelling asks first (a page that
    lists them, as the X's confirm page does)."""
    listing = _back_listing(request.POST)
    back = _list_url(listing)
    ids = _selected_ids(request.POST)
    action = request.POST.get("action")
    if not ids:
        messages.error(request, SELECTION_EMPTY)
        return redirect(back)
    if action not in ("cancel", "reschedule"):
        messages.error(request, SELECTION_UNKNOWN_ACTION)
        return redirect(back)
    if action == "cancel":
        if request.POST.get("confirmed") != "yes":
            found = imports_visible_to(request.user).filter(pk__in=ids).select_related("company").in_bulk()
            jobs = [found[pk] for pk in ids if pk in found]
            context = {"jobs": jobs, "back": back, "back_qs": listing.urlencode(), "page": listing.page}
            return render(request, "imports/cancel_selected.html", context)
        return _cancel_selected(request, ids, back)
    return _reschedule_selected(request, ids, back)


def _cancel_selected(request, ids: list[int], back: str):
    result = imports_cancel_selected(job_ids=ids, user=request.user)
    summary = _summary(SELECTED_CANCELLED, SELECTED_NOT_CANCELLED, result.reasons, count=result.done)
    (messages.success if not result.reasons else messages.warning if result.done else messages.error)(request, summary)
    return redirect(back)


def _reschedule_selected(request, ids: list[int], back: str):
    now = db_now()
    form = RescheduleForm(request.POST, now=now, prefix="selected")
    if not form.is_valid():
        for message in form.errors.get("due_at", []):
            messages.error(request, message)
        return redirect(back)
    due_at = form.cleaned_data["due_at"]
    result = imports_reschedule_selected(job_ids=ids, user=request.user, due_at=due_at, now=now)
    summary = _summary(SELECTED_RESCHEDULED, SELECTED_NOT_RESCHEDULED, result.reasons, count=result.done, new=format_utc(due_at))
    (messages.success if not result.reasons else messages.warning if result.done else messages.error)(request, summary)
    for warning in result.warnings:
        messages.warning(request, warning)
    return redirect(back)


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
        # An order the review's own pre-check says would fail is scheduled only once the reseller has
        # confirmed it knowing the reasons (issue 24): without that, the review comes back naming
        # them, with "Schedule anyway". (The API schedules at once and answers with the warnings.)
        warnings = wizard.precheck()
        if not form.confirms(warnings):
            if problem := wizard.problem():
                raise problem  # a step no longer complete: back to it (wizard_step), as order_submit would
            return review_response(request, wizard, form, warnings=warnings, confirm_failing=True)
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
