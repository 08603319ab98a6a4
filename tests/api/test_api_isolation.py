"""Isolation matrix of the API: every /api/ pattern, enumerated from the URLconf, as the other
reseller's token (404, nothing changed) and without a token (401). A new API URL fails
test_every_api_pattern_has_a_case until it has one."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportJob
from tests.imports.helpers import schedule
from tests.portal.test_isolation_matrix import ALL_PATTERNS

from .conftest import client_for, token_for

API = [p for p in ALL_PATTERNS if p.route.startswith("api/")]


def _job(demo) -> dict:
    return {"job_id": schedule(demo, due_at=timezone.now() + dt.timedelta(days=1)).pk}


def _change(demo) -> dict:
    from tests.portal.test_isolation_matrix import _change as change_of_eritech

    return change_of_eritech(demo)


ERITECH = lambda demo: {"account_id": demo.eritech.account_id}  # noqa: E731

ID_CASES = {
    "api_v1:company": ERITECH,
    "api_v1:company_services": ERITECH,
    "api_v1:scheduled_provisionings": ERITECH,
    "api_v1:import": _job,
    "api_v1:import_cancel": _job,
    "api_v1:import_reschedule": _job,
    "api_v1:subscription": lambda demo: {"account_id": 493796},
    "api_v1:subscription_changes": lambda demo: {"account_id": 493796},
    "api_v1:subscription_change_cancel": _change,
    "api_v1:subscription_change_reschedule": _change,
}
# Lists: the other reseller's token gets its own (empty) subtree.
LIST_CASES = {"api_v1:companies", "api_v1:imports", "api_v1:subscriptions", "api_v1:upcoming"}
PUBLIC = {"api:schema", "api:docs", "api/v1/^.*/$"}


def test_every_api_pattern_has_a_case():
    assert {p.key for p in API} == set(ID_CASES) | LIST_CASES | PUBLIC


@pytest.mark.parametrize("key", sorted(ID_CASES))
def test_the_other_resellers_token_gets_404_and_changes_nothing(demo, key):
    kwargs = ID_CASES[key](demo)
    url = reverse(key, kwargs=kwargs)
    andes = client_for(token_for(demo.admin_andes))
    before = list(ImportJob.objects.values_list("pk", "status", "due_at"))
    for method in ("get", "post"):
        response = getattr(andes, method)(url, {"schedule_at": "2099-01-01T00:00:00Z"}, format="json")
        if response.status_code == 405:
            continue
        assert response.status_code == 404, (key, method, response.status_code)
        assert b"ERITECH" not in response.content
    assert list(ImportJob.objects.values_list("pk", "status", "due_at")) == before


@pytest.mark.parametrize("key", sorted(ID_CASES) + sorted(LIST_CASES))
def test_without_a_token_every_resource_is_401(demo, key):
    url = reverse(key, kwargs=ID_CASES[key](demo)) if key in ID_CASES else reverse(key)
    for method in ("get", "post"):
        response = getattr(client_for(None), method)(url)
        assert response.status_code == 401, (key, method, response.status_code)
        assert set(response.json()) == {"detail", "errors"}
