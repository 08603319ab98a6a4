"""What imports adds to accounts' company page (accounts cannot import imports; see
accounts.company_page): + NEW, whose checks are a bulk import's company and user lines', the
PROVISIONING tab and RECREATE PROVISIONING (imports.company_provisioning), and the
cancel of a terminated company's Pending import jobs, by My imports' own cancel (imports.jobs)."""

from django.urls import reverse
from django.utils.translation import ngettext

from accounts.company_page import (
    register_new_account,
    register_provisioning_tab,
    register_recreate_provisioning,
    register_termination_handler,
)
from accounts.models import Company, User

from imports.bulk.new_account import new_kinds_refusals
from imports.company_provisioning.tab import provisioning_tab
from imports.company_provisioning.views import recreate_url
from imports.jobs.services import import_cancel
from imports.models import ImportJob


def new_account_url(user: User, company: Company) -> str:
    if all(new_kinds_refusals(company).values()):
        return ""
    return reverse("imports:new_account", kwargs={"account_id": company.account_id})


def pending_imports_cancel(actor: User, company: Company) -> str | None:
    """TERMINATE: every Pending job of the company cancelled as its X on My imports does (audited, its
    webhook event written). A job a worker claimed meanwhile runs, and its due-time check finds the
    company no longer active."""
    pending = ImportJob.objects.filter(company=company, status=ImportJob.Status.PENDING).values_list("pk", flat=True)
    cancelled = sum(import_cancel(job_id=job_id, user=actor) for job_id in list(pending))
    if not cancelled:
        return None
    return ngettext(
        "%(count)s pending import was cancelled.", "%(count)s pending imports were cancelled.", cancelled
    ) % {"count": cancelled}


def register() -> None:
    register_new_account(new_account_url)
    register_termination_handler(pending_imports_cancel)
    # The PROVISIONING tab and RECREATE PROVISIONING (imports.company_provisioning).
    register_provisioning_tab(provisioning_tab)
    register_recreate_provisioning(recreate_url)
