"""Migrations 0003 and 0007 fill ImportJob.search_text of the jobs that existed (0007 folds it), as
the services write it."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from imports.models import ImportJob
from imports.services import search_text_for

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("imports", "0002_notification_outbox")]
AFTER = [("imports", "0003_my_imports_retry_and_indexes")]


def test_existing_jobs_get_their_search_text(demo):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Job, Row = apps.get_model("imports", "ImportJob"), apps.get_model("imports", "ImportRow")
    Order, Service = apps.get_model("orders", "Order"), apps.get_model("catalog", "Service")
    service = Service.objects.get(code="100113_ExchanOnlineKiosk_61893")
    due = dt.datetime(2024, 7, 31, 10, 0, tzinfo=dt.timezone.utc)
    common = {"due_at": due, "created_by_id": demo.admin_abbie.pk, "company_id": demo.eritech.pk}
    scheduled = Job.objects.create(name="(NCE) Exchange Online Kiosk(Microsoft)", **common)
    order = Order.objects.create(company_id=demo.eritech.pk, created_by_id=demo.admin_abbie.pk, service=service,
                                 status="submitted", submitted_at=due)
    Row.objects.create(job=scheduled, position=1, parent_company_id=demo.eritech.pk, order=order)
    bulk = Job.objects.create(name="", source="import", **common)
    Row.objects.create(job=bulk, position=1, parent_company_id=demo.eritech.pk, payload={"product_code": "X-1"})
    Row.objects.create(job=bulk, position=2, parent_company_id=demo.eritech.pk, payload={})

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    expected = search_text_for(scheduled.name, [(service.name, service.code)])
    assert ImportJob.objects.get(pk=scheduled.pk).search_text == expected == (
        "(nce) exchange online kiosk(microsoft) | 100113_exchanonlinekiosk_61893")  # folded by 0007
    assert ImportJob.objects.get(pk=bulk.pk).search_text == "x-1"
