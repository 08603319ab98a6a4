"""The IMPORT ACCOUNTS page (from My imports), its templates and the failed lines of a finished
import. Thin: reading and checking the file is imports.bulk.files and .checks, starting the job
imports.bulk.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.clock import db_now
from imports.models import ImportFile, ImportJob, ImportRow
from imports.my_imports.selectors import import_for_user
from imports.bulk.columns import COLUMNS, ERROR_COLUMN
from core.spreadsheets import FORMATS, spreadsheet_response
from core.uploads import upload_refused
from core.datetimes import utc_text
from accounts.users.services import user_time_zone_remember
from imports.bulk.files import template_rows
from imports.bulk.forms import AGAIN_REQUIRED, TERMS_REQUIRED, BulkImportForm, ConfirmForm
from imports.bulk.services import BulkStart, imports_bulk_confirm, imports_bulk_start, safe_file_name

IMPORT_QUEUED = ngettext_lazy(
    "The import of %(count)s line from %(file)s is scheduled for %(due)s.",
    "The import of %(count)s lines from %(file)s is scheduled for %(due)s.",
    "count",
)



def _page(request, form, *, result: BulkStart | None = None, confirm_form=None, status=200):
    context = {
        "form": form,
        "result": result,
        "confirm_form": confirm_form or ConfirmForm(),
        "template_types": [(value, label) for value, label in form.fields["account_type"].choices],
    }
    return render(request, "imports/bulk_import.html", context, status=status)


def _started(request, result: BulkStart):
    job = result.job
    count = job.rows.count()
    messages.success(request, IMPORT_QUEUED % {"count": count, "file": job.file.name, "due": utc_text(job.due_at)})
    return redirect(f"{redirect('imports:my_imports').url}?job={job.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def bulk_import(request):
    """GET: the form (the account type preselected by ?type=). POST: check the file; start it, ask to
    confirm (terms, same file again) or show every problem with its line, keeping type and date."""
    now = db_now()
    if request.method == "GET":
        wanted = request.GET.get("type")
        initial = {"account_type": wanted} if wanted in COLUMNS else {}
        return _page(request, BulkImportForm(initial=initial, now=now, time_zone=request.user.time_zone))
    form = BulkImportForm(request.POST, request.FILES, now=now, too_big=upload_refused(request), time_zone=request.user.time_zone)
    if not form.is_valid():
        return _page(request, form, status=400)
    user_time_zone_remember(user=request.user, time_zone=form.chosen_zone)
    result = imports_bulk_start(
        user=request.user,
        account_type=form.cleaned_data["account_type"],
        file_name=safe_file_name(form.cleaned_data["file"].name),
        content=form.content(),
        due_at=form.cleaned_data["due_at"],
        now=now,
    )
    for warning in result.warnings:  # the vendor could not be asked about a line now: said, not refused
        messages.warning(request, warning)
    if result.job:
        return _started(request, result)
    return _page(request, form, result=result, status=400 if result.errors else 200)


@login_required
@require_POST
def bulk_confirm(request, upload_id: int):
    """The confirmation of an upload that waited: accept the listed terms, import the same file again."""
    if not ImportFile.objects.filter(pk=upload_id, created_by=request.user).exists():
        raise Http404  # someone else's upload, or none: no hint which
    confirm = ConfirmForm(request.POST)
    confirm.is_valid()  # two optional check boxes: always valid
    accept, again = confirm.cleaned_data.get("accept_terms", False), confirm.cleaned_data.get("import_again", False)
    result = imports_bulk_confirm(user=request.user, upload_id=upload_id, accept_terms=accept, import_again=again)
    if result.job:
        return _started(request, result)
    pending = ImportFile.objects.filter(pk=upload_id, created_by=request.user, job__isnull=True).first()
    initial = {"account_type": pending.account_type, "due_at": pending.due_at} if pending else {}
    form = BulkImportForm(initial=initial, now=db_now(), time_zone=request.user.time_zone)
    if result.pending:
        if result.terms and not accept:
            confirm.add_error("accept_terms", TERMS_REQUIRED)
        if result.earlier and not again:
            confirm.add_error("import_again", AGAIN_REQUIRED)
    return _page(request, form, result=result, confirm_form=confirm, status=400)


@login_required
@require_safe
def bulk_template(request, account_type: str, fmt: str):
    """A type's template: its header and one example line, in CSV or .xlsx."""
    if account_type not in COLUMNS or fmt not in FORMATS:
        raise Http404
    name = f"import-{account_type}-template"
    return spreadsheet_response(fmt, name, template_rows(COLUMNS[account_type]))


@login_required
@require_safe
def failed_lines(request, job_id: int):
    """The failed lines of a bulk import, as the template's columns plus the error, to fix and re-import."""
    job = import_for_user(request.user, job_id=job_id)
    if job.source != ImportJob.Source.IMPORT:
        raise Http404
    fmt = request.GET.get("format", "csv")
    if fmt not in FORMATS:
        raise Http404
    columns = COLUMNS[job.account_type]
    rows = [[c.label for c in columns] + [gettext(ERROR_COLUMN)]]
    for row in job.rows.filter(status=ImportRow.Status.FAILED).order_by("position"):
        cells = (row.payload or {}).get("cells") or {}
        # "Line 7: ..." names the line of the file imported, which this download renumbers.
        rows.append([cells.get(c.key, "") for c in columns] + [row.failure_on_line.replace("\n", " ")])
    return spreadsheet_response(fmt, f"import-{job.pk}-failed-lines", rows)
