"""The issue's "Done when", below the browser: the wizard's services schedule, the engine runs
at the due time, My imports and the company structure show the result, the email goes out."""

import datetime as dt

from freezegun import freeze_time

from catalog.models import BillingFrequency, Term
from imports.models import ImportJob
from imports.engine.dispatch import dispatch_due_imports
from orders.selectors import subscriptions_of
from imports.jobs.services import provisioning_schedule
from orders.services import order_configure, order_create, order_service_select, order_terms_accept
from orders.validation import REQUIRED_SUBSCRIPTION_MISSING

from .helpers import BASIC, ERITECH_TENANT_ID, PREMIUM, UTC

NOW = dt.datetime(2024, 7, 22, 15, 24, 28, tzinfo=UTC)


def schedule_through_the_wizard(demo, company, code, tenant_id, due_at):
    user = demo.admin_abbie
    order = order_create(company=company, user=user)
    order = order_service_select(order=order, service=demo.service(code), user=user)
    order_terms_accept(order=order, user=user)
    order = order_configure(
        order=order, user=user, subscription_name=order.service.name, quantity=1, billing_frequency=BillingFrequency.MONTHLY,
        term=Term.P1Y, send_to_backend=True, notify_me=False, billing_start_date=NOW, is_billable=True, contract_id="",
        vendor_config={"microsoft_tenant_id": tenant_id, "mpn_id": "", "end_date_alignment": ""},
    )
    provisioning_schedule(order_id=order.pk, user=user, due_at=due_at)
    return ImportJob.objects.get(rows__order=order)


def test_business_basic_for_eritech_is_provisioned_at_its_due_time(client, demo, django_capture_on_commit_callbacks, mailoutbox):
    due = NOW + dt.timedelta(minutes=2)
    with freeze_time(NOW):
        job = schedule_through_the_wizard(demo, demo.eritech, BASIC, ERITECH_TENANT_ID, due)
    assert (job.status, job.name, job.due_at) == (ImportJob.Status.PENDING, "(NCE) Microsoft 365 Business Basic(Microsoft)", due)
    with freeze_time(due - dt.timedelta(seconds=1)):
        assert dispatch_due_imports().claimed == 0  # not yet
    with freeze_time(due + dt.timedelta(seconds=1)), django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_imports().completed == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    assert "(NCE) Microsoft 365 Business Basic (1)" in [s.display_name for s in subscriptions_of(demo.eritech)]
    # "Your provisioning is scheduled" (sent by the first pass: scheduling's own after-commit send
    # did not run here), then the completion email.
    assert [m.subject for m in mailoutbox] == ["Your provisioning is scheduled", "Your import is completed"]
    email = mailoutbox[1]
    assert "Import Type: Product 100113_Micros365BusineBasic_14991" in email.body
    assert "Date created: 2024-07-22 15:24 UTC" in email.body
    client.force_login(demo.admin_abbie)
    html = client.get("/imports/").content.decode()
    assert "(NCE) Microsoft 365 Business Basic(Microsoft)" in html
    assert '<span class="status completed">Completed</span>' in html


def test_business_premium_for_a_customer_without_a_tenant_fails_with_the_reason(client, demo):
    due = NOW + dt.timedelta(minutes=2)
    with freeze_time(NOW):
        job = schedule_through_the_wizard(demo, demo.norte, PREMIUM, "11111111-2222-4333-8444-555555555555", due)
    with freeze_time(due):
        assert dispatch_due_imports().failed == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    reason = str(REQUIRED_SUBSCRIPTION_MISSING % {
        "service": "(NCE) Microsoft 365 Business Premium", "required": "Microsoft Organization tenant",
        "company": "NORTE DIGITAL S.A.C.",
    })
    assert reason.startswith("Required subscription missing")
    client.force_login(demo.admin_abbie)
    html = client.get("/imports/").content.decode()
    assert '<span class="status failed">Failed</span>' in html
    assert reason in html
