"""{% job_vendor_state job as vendor %}: where a job stands with the vendor (imports.jobs.waiting), for
My imports' rows and cards. Reads the vendor orders the list prefetched with the job (no query)."""

from django import template

from imports.jobs.waiting import VendorState, job_vendor_state as _job_vendor_state

register = template.Library()


@register.simple_tag
def job_vendor_state(job) -> VendorState | None:
    return _job_vendor_state(job)
