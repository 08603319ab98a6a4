"""GET resources: companies, services, subscriptions, imports; every one limited to the token's subtree."""

import datetime as dt

from django.utils import timezone

from core.api.errors import NOT_FOUND
from devtools.demo import BASIC, KIOSK
from imports.models import ImportJob
from tests.imports.helpers import schedule


def test_companies_lists_the_tokens_subtree_only(demo, abbie):
    response = abbie.get("/api/v1/companies/")
    assert response.status_code == 200
    names = {company["name"] for company in response.json()["results"]}
    assert names == {"ABBIE BOX S.A.C.", "ERITECH PERU S.A.", "NORTE DIGITAL S.A.C.", "PACIFICO RETAIL S.A.C."}


def test_a_company_has_the_overview_fields(demo, abbie):
    body = abbie.get("/api/v1/companies/466158/").json()
    assert body["name"] == "ERITECH PERU S.A."
    assert body["parent_account_id"] == 410002
    assert (body["numeric_id"], body["parent_numeric_id"], body["domain"]) == (793131, 734772, "eritechperu.com")
    assert body["language"] == "English" and body["currency"] == "USD"


def test_another_resellers_company_is_404(demo, andes):
    for url in ("/api/v1/companies/466158/", "/api/v1/companies/466158/services/"):
        response = andes.get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": str(NOT_FOUND), "errors": {}}


def test_services_show_prices_billing_types_terms_and_vendor_fields(demo, abbie):
    response = abbie.get("/api/v1/companies/466158/services/")
    assert response.status_code == 200
    offers = {offer["code"]: offer for offer in response.json()}
    basic, kiosk = offers[BASIC], offers[KIOSK]
    assert (basic["terms_required"], basic["terms_accepted"]) == (True, False)
    assert kiosk["terms_accepted"] is True
    assert {option["key"] for option in basic["billing_types"]} == {"monthly:P1M", "monthly:P1Y"}
    p1y = next(option for option in basic["billing_types"] if option["key"] == "monthly:P1Y")
    assert (p1y["cost"], p1y["selling_price"], p1y["currency"]) == ("4.81750", "6.02175", "USD")
    fields = {field["name"]: field for field in basic["vendor_fields"]}
    assert set(fields) == {"end_date_alignment", "microsoft_tenant_id", "mpn_id"}
    assert fields["microsoft_tenant_id"]["required"] is True
    assert fields["microsoft_tenant_id"]["initial"] == "e0d72b05-fb92-4d65-9424-7b58ea99d5d3"


def test_subscriptions_list_and_detail(demo, abbie, andes):
    body = abbie.get("/api/v1/subscriptions/").json()
    # ERITECH's licences through Microsoft (issue 27) too: 493797, 493798.
    assert {sub["account_id"] for sub in body["results"]} == {493796, 466160, 466159, 493797, 493798}
    assert abbie.get("/api/v1/subscriptions/?company=466201").json()["results"] == []
    detail = abbie.get("/api/v1/subscriptions/493796/").json()
    assert (detail["product_code"], detail["company_account_id"]) == (KIOSK, 466158)
    assert andes.get("/api/v1/subscriptions/493796/").status_code == 404
    assert andes.get("/api/v1/subscriptions/").json()["results"] == []


def test_imports_list_filters_and_pages_by_cursor(demo, abbie, andes):
    due = timezone.now() + dt.timedelta(days=2)
    jobs = [schedule(demo, due_at=due) for _ in range(3)]
    ImportJob.objects.filter(pk=jobs[0].pk).update(status=ImportJob.Status.CANCELLED)
    pending = abbie.get("/api/v1/imports/?status=pending&per_page=1")
    assert pending.status_code == 200
    first = pending.json()
    assert [job["id"] for job in first["results"]] == [jobs[2].pk]
    second = abbie.get(first["next"]).json()
    assert [job["id"] for job in second["results"]] == [jobs[1].pk]
    assert second["next"] is None
    assert andes.get("/api/v1/imports/").json()["results"] == []


def test_an_import_has_its_rows(demo, abbie, andes):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=1), code=BASIC)
    body = abbie.get(f"/api/v1/imports/{job.pk}/").json()
    assert (body["status"], body["source"], body["company_account_id"]) == ("pending", "scheduled", 466158)
    (row,) = body["rows"]
    assert (row["parent_account_id"], row["product_code"], row["account_id"], row["error"]) == (466158, BASIC, None, "")
    assert andes.get(f"/api/v1/imports/{job.pk}/").status_code == 404


def test_cancel_a_pending_import_then_it_is_409(demo, abbie, andes):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=1))
    assert andes.post(f"/api/v1/imports/{job.pk}/cancel/").status_code == 404
    response = abbie.post(f"/api/v1/imports/{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = abbie.post(f"/api/v1/imports/{job.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["detail"] == "This import can no longer be cancelled."


def test_reschedule_a_pending_import(demo, abbie, andes):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=1))
    new = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    url = f"/api/v1/imports/{job.pk}/reschedule/"
    assert andes.post(url, {"schedule_at": new.isoformat()}, format="json").status_code == 404
    response = abbie.post(url, {"schedule_at": new.isoformat()}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["warnings"] == []
    job.refresh_from_db()
    assert job.due_at == new
    past = abbie.post(url, {"schedule_at": "2020-01-01T10:00:00Z"}, format="json")
    assert past.status_code == 400
    assert past.json()["errors"]["schedule_at"][0].startswith("The schedule time is in the past.")
    missing = abbie.post(url, {}, format="json")
    assert missing.status_code == 400 and "schedule_at" in missing.json()["errors"]
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CANCELLED)
    late = abbie.post(url, {"schedule_at": new.isoformat()}, format="json")
    assert late.status_code == 409


def test_an_unknown_api_address_is_a_json_404(demo, abbie):
    response = abbie.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": str(NOT_FOUND), "errors": {}}
    assert abbie.get("/api/v1/companies/not-a-number/").status_code == 404
