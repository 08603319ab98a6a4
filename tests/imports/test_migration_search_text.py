"""Migrations 0003, 0007 and 0009 give the jobs that existed their search text (0003 writes it, 0007
folds it, 0009 moves it to SearchText, one row per distinct text), as the services write it."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from imports.models import ImportJob, SearchText
from imports.jobs.services import search_text_for

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
    twin = Job.objects.create(name="(NCE) Exchange Online Kiosk(Microsoft)", **common)
    order = Order.objects.create(company_id=demo.eritech.pk, created_by_id=demo.admin_abbie.pk, service=service,
                                 status="submitted", submitted_at=due)
    Row.objects.create(job=twin, position=1, parent_company_id=demo.eritech.pk, order=order)
    bare = Job.objects.create(name="", source="import", **common)  # nothing to search but its company
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
    assert ImportJob.objects.get(pk=scheduled.pk).search.text == expected == (
        "(nce) exchange online kiosk(microsoft) | 100113_exchanonlinekiosk_61893")  # folded by 0007
    assert ImportJob.objects.get(pk=twin.pk).search_id == ImportJob.objects.get(pk=scheduled.pk).search_id  # shared
    assert ImportJob.objects.get(pk=bulk.pk).search.text == "x-1"
    assert ImportJob.objects.get(pk=bare.pk).search is None
    assert SearchText.objects.count() == 2
    assert SearchText.objects.for_text(expected).pk == ImportJob.objects.get(pk=scheduled.pk).search_id
