"""Set-up helpers for the import engine tests: submitted orders on the demo data, scheduled
through imports.jobs.services.import_job_create_for_order (what provisioning_schedule calls after
the wizard's order_submit)."""

import datetime as dt

from django.utils import timezone

from catalog.models import BillingFrequency, Term, TermsAcceptance
from devtools.demo import BASIC, ERITECH_TENANT_ID, KIOSK, PREMIUM, STANDARD, TENANT
from imports.models import ImportJob
from imports.jobs.services import import_job_create_for_order
from orders.models import Order

UTC = dt.timezone.utc

__all__ = ["BASIC", "ERITECH_TENANT_ID", "KIOSK", "PREMIUM", "STANDARD", "TENANT", "UTC"]


def make_order(
    demo,
    *,
    company=None,
    code=KIOSK,
    quantity=1,
    term=Term.P1Y,
    frequency=BillingFrequency.MONTHLY,
    name=None,
    notify_me=False,
    vendor_config=None,
    user=None,
) -> Order:
    """A submitted order as the wizard leaves it (Kiosk for ERITECH by default: its terms are accepted)."""
    company = company or demo.eritech
    service = demo.service(code)
    if vendor_config is None:
        vendor_config = {"microsoft_tenant_id": ERITECH_TENANT_ID, "mpn_id": "", "end_date_alignment": ""}
    now = timezone.now()
    return Order.objects.create(
        company=company,
        created_by=user or demo.admin_abbie,
        status=Order.Status.SUBMITTED,
        service=service,
        configured_at=now,
        subscription_name=service.name if name is None else name,
        quantity=quantity,
        term=term,
        billing_frequency=frequency,
        notify_me=notify_me,
        vendor_config=vendor_config,
        submitted_at=now,
    )


def schedule(demo, *, due_at, user=None, **order_fields) -> ImportJob:
    user = user or demo.admin_abbie
    order = make_order(demo, user=user, **order_fields)
    order.scheduled_for = due_at
    order.save(update_fields=["scheduled_for"])
    return import_job_create_for_order(order=order, due_at=due_at, user=user)


def accept_terms(demo, code, price_list=None):
    service = demo.service(code)
    TermsAcceptance.objects.get_or_create(
        price_list=price_list or demo.abbie_price_list, service=service, terms_id=service.terms_id
    )
