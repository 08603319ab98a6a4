"""Reads on import jobs."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import User
from accounts.selectors import companies_visible_to

from .models import ImportJob, ImportRow


def imports_for(user: User) -> QuerySet[ImportJob]:
    """Jobs whose company is in the user's visible subtree (staff: all), newest first, with what
    My imports shows (creator, rows with their parent company and product) fetched up front."""
    rows = ImportRow.objects.select_related("parent_company", "order__service").order_by("position")
    return (
        ImportJob.objects.filter(company__in=companies_visible_to(user))
        .select_related("created_by", "company")
        .prefetch_related(Prefetch("rows", queryset=rows))
        .order_by("-created_at", "-id")
    )


def import_for_user(user: User, *, job_id) -> ImportJob:
    """A job the user may see; anything else is 404 (no hint that it exists)."""
    job = imports_for(user).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job
