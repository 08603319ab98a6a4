"""Orders > My imports (the list of import jobs, cancelling a pending one) and the Order review's
"Schedule provisioning" button, which creates the job."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from orders.fields import format_utc
from orders.forms import ScheduleForm
from orders.views import ALREADY_SCHEDULED, SCHEDULED, review_response, wizard_step
from orders.wizard import STEP_REVIEW, Wizard

from .health import imports_health
from .models import ImportJob
from .selectors import import_for_user, imports_for
from .services import JOB_CANCELLED, JOB_NOT_CANCELLABLE, import_cancel, provisioning_schedule

ROWS_PER_PAGE = 10


def _my_imports_url(page) -> str:
    """Back to the page the user came from; anything but a plain number is ignored."""
    url = reverse("imports:my_imports")
    page = str(page or "")
    return f"{url}?page={page}" if page.isdigit() and len(page) < 7 else url


@login_required
@require_safe
def my_imports(request):
    paginator = Paginator(imports_for(request.user), ROWS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "imports/my_imports.html", {"page": page, "paginator": paginator})


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, job_id):
    """GET: the confirm question as a page (what the X opens when JavaScript is off).
    POST: cancel, as long as no worker has claimed the job yet."""
    job = import_for_user(request.user, job_id=job_id)
    back = _my_imports_url(request.POST.get("page") if request.method == "POST" else request.GET.get("page"))
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
    return render(request, "imports/cancel_confirm.html", {"job": job, "back": back, "page": request.GET.get("page", "")})


@wizard_step(STEP_REVIEW, methods=("POST",))
def schedule_provisioning(request, wizard: Wizard):
    """Schedule provisioning (UTC) on the Order review: the draft becomes a Pending job, then My imports.

    The path to the job is this view → imports.services.provisioning_schedule → orders.services.order_submit
    (lock, re-validate every step, mark Submitted) → import_job_create_for_order, in one transaction.
    """
    # order_submit re-validates every step under the order's lock; a WizardStepError it raises sends
    # the reseller back to that step (wizard_step), so nothing is validated twice here.
    form = ScheduleForm(request.POST, now=wizard.now)
    if form.is_valid():
        try:
            result = provisioning_schedule(order_id=wizard.order.pk, user=request.user, due_at=form.due_at())
        except ValidationError as exc:
            # A time that went out of range between the form check and the lock: shown on its field.
            form.add_error(None, exc)
        else:
            order = result.order
            names = {"service": order.service.name, "due": format_utc(order.scheduled_for)}
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
