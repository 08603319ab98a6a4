"""The Order review's pre-check for a job already scheduled: what would fail if it ran on a given day.

Read-only, below everything that shows it: rescheduling (imports.jobs.services), the API's answer
to a scheduling, My imports' reschedule form, and the reminder email (imports.notify.content).
"""

import datetime as dt

from orders.validation import validate_orders

from imports.models import ImportJob, ImportRow


def import_precheck(job: ImportJob, *, day: dt.date) -> list[str]:
    """The Order review's pre-check for a scheduled job's orders: the due-time checks run on `day`."""
    # From the table, not job.rows: a job read for My imports has its rows prefetched with what the
    # list shows only, and the checks read whole orders.
    rows = ImportRow.objects.filter(job=job).select_related("order__company", "order__service__vendor").order_by("position")
    orders = [row.order for row in rows if row.order_id]
    problems = validate_orders(orders, day=day) if orders else {}
    return [reason for order in orders for reason in problems.get(order.pk, [])]
