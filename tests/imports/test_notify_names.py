"""Issue 24, point 1: every email names the customer company (name and account id) and the product
by its name; the code stays where it is the point ("Import Type: Product <code>"). A bulk import is
named after its file and lists a few of its products, not thousands."""

import datetime as dt

from django.utils import timezone

from catalog.models import Service
from imports.models import ImportJob, ImportRow, Notification
from imports.notify.content import email_build, products_text

from .helpers import KIOSK, make_order, schedule

DUE = timezone.now() + dt.timedelta(days=3)


def _email(job, kind=Notification.Kind.IMPORT_FINISHED):
    rows = list(ImportRow.objects.filter(job=job).select_related("order__service").order_by("position"))
    job = ImportJob.objects.select_related("created_by__company", "company").get(pk=job.pk)
    return email_build(Notification.for_job(job.pk, now=timezone.now(), kind=kind), job, rows)


def test_the_scheduled_email_names_the_product_and_the_company(demo):
    email = _email(schedule(demo, due_at=DUE), Notification.Kind.IMPORT_SCHEDULED)
    assert "- Product: (NCE) Exchange Online Kiosk\n" in email.body
    assert "- Company: ERITECH PERU S.A. (466158)\n" in email.body
    assert f"- Import Type: Product {KIOSK}\n" in email.body  # the code where the code is the point


def test_a_bulk_imports_email_has_its_file_its_company_and_a_few_products(demo):
    job = ImportJob.objects.create(
        name="july.csv", source=ImportJob.Source.IMPORT, status=ImportJob.Status.COMPLETED, due_at=DUE,
        created_by=demo.admin_abbie, company=demo.eritech, imported_count=5,
    )
    services = list(Service.objects.order_by("code")[:5])
    for position, service in enumerate(services, start=1):
        order = make_order(demo)
        order.service = service
        order.save(update_fields=["service"])
        ImportRow.objects.create(job=job, position=position, parent_company=demo.eritech, order=order,
                                 status=ImportRow.Status.COMPLETED)
    email = _email(job)
    names = [service.name for service in services]
    assert "- Import name: july.csv\n" in email.body
    assert "- Company: ERITECH PERU S.A. (466158)\n" in email.body
    assert f"- Product: {', '.join(names[:3])} and 2 more\n" in email.body
    (html, _mimetype), = email.alternatives
    assert "<strong>Import name:</strong> july.csv</li>" in html


def test_products_text_names_each_product_once():
    class Row:
        def __init__(self, name):
            self.product_name = name

    assert products_text([Row("A"), Row("A"), Row(""), Row("B")]) == "A, B"
    assert products_text([]) == ""
