"""Writes on import jobs. Status moves go through imports.states."""

import datetime as dt

from django.db import transaction

from accounts.models import User
from orders.models import Order

from .models import ImportJob, ImportRow


def import_job_name_for(order: Order) -> str:
    """The manual's import name: "(NCE) Microsoft 365 Business Basic(Microsoft)"."""
    return f"{order.service.name}({order.service.vendor.name})"


@transaction.atomic
def import_job_create_for_order(*, order: Order, due_at: dt.datetime, user: User) -> ImportJob:
    """One Pending "Scheduled provisioning" job with one Product row for the order.

    Called inside order_schedule's transaction; ImportRow.order is unique, so an order can
    never be scheduled twice even if two requests got this far.
    """
    notify = [order.company.email] if order.notify_me and order.company.email else []
    job = ImportJob.objects.create(
        name=import_job_name_for(order),
        account_type=ImportJob.AccountType.PRODUCTS,
        source=ImportJob.Source.SCHEDULED,
        status=ImportJob.Status.PENDING,
        due_at=due_at,
        created_by=user,
        company=order.company,
        notify_emails=notify,
    )
    ImportRow.objects.create(
        job=job, position=1, import_type=ImportRow.ImportType.PRODUCT, parent_company=order.company, order=order
    )
    return job
