"""Issue 24, the API's edges: one reading of billing types for the API and bulk files
(catalog.billing.billing_type_parse), request components named without a doubled "Request", and the
SECURITY tab's help that shows the header as text."""

import pytest
import yaml
from django.test import Client
from django.utils import translation

from catalog.billing import billing_type_parse
from devtools.demo import BASIC, TENANT
from imports.models import ImportJob
from orders.models import Order

URL = "/api/v1/companies/466158/scheduled-provisionings/"
LABEL = "Monthly (with 1-year commitment) - P1Y"
OFFERED = [("monthly:P1M", "Monthly (with 1-month commitment) - P1M"), ("monthly:P1Y", LABEL)]


@pytest.mark.parametrize(
    "typed, key",
    [
        ("monthly:P1Y", "monthly:P1Y"),
        ("MONTHLY:p1y", "monthly:P1Y"),
        (LABEL, "monthly:P1Y"),
        ("  monthly (with 1-year   commitment) - p1y ", "monthly:P1Y"),
        ("P1M", "monthly:P1M"),
        ("Mensual (con compromiso de 1 año) - P1Y", None),  # only in Spanish, below
    ],
)
def test_the_one_parser_reads_keys_labels_and_terms(typed, key):
    if key is None:
        with translation.override("es"):
            assert billing_type_parse(typed, OFFERED) == "monthly:P1Y"
        return
    assert billing_type_parse(typed, OFFERED) == key


def test_a_refusal_lists_the_valid_keys():
    with pytest.raises(ValueError) as refused:
        billing_type_parse("P3Y", OFFERED)
    message = str(refused.value)
    assert message.startswith("P3Y is not a billing type of this service; use one of:")
    assert "monthly:P1M (Monthly (with 1-month commitment) - P1M)" in message
    assert f"monthly:P1Y ({LABEL})" in message


def test_an_ambiguous_term_is_refused_with_the_keys():
    offered = [*OFFERED, ("annual:P1Y", "Annual (with 1-year commitment) - P1Y")]
    with pytest.raises(ValueError, match="matches more than one billing type.*annual:P1Y"):
        billing_type_parse("P1Y", offered)


def test_the_api_accepts_the_label_bulk_files_accept(demo, abbie):
    payload = {"product_code": BASIC, "quantity": 1, "accept_terms": True, "billing_type": LABEL}
    response = abbie.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert (order.billing_frequency, order.term) == ("monthly", "P1Y")


def test_the_api_accepts_the_term_alone_and_the_key(demo, abbie):
    for billing_type, term in (("P1M", "P1M"), ("monthly:P1Y", "P1Y")):
        payload = {"product_code": BASIC, "quantity": 1, "accept_terms": True, "billing_type": billing_type}
        response = abbie.post(URL, payload, format="json")
        assert response.status_code == 201, response.json()
        assert ImportJob.objects.latest("id").rows.get().order.term == term


def test_the_api_refusal_lists_the_valid_keys_and_writes_nothing(demo, abbie):
    payload = {"product_code": BASIC, "quantity": 1, "accept_terms": True, "billing_type": "weekly"}
    response = abbie.post(URL, payload, format="json")
    assert response.status_code == 400
    (message,) = response.json()["errors"]["billing_type"]
    assert message.startswith("weekly is not a billing type of this service; use one of:")
    assert "monthly:P1Y" in message and "monthly:P1M" in message
    assert not Order.objects.exists() and not ImportJob.objects.exists()


def test_the_api_refusal_for_a_service_with_one_billing_type(demo, abbie):
    payload = {"product_code": TENANT, "quantity": 1, "billing_type": LABEL}
    response = abbie.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "use one of: monthly:P1M (Monthly (with 1-month commitment) - P1M)." in response.json()["errors"]["billing_type"][0]


@pytest.fixture
def schema(db):
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_request_components_are_named_once(schema):
    components = set(schema["components"]["schemas"])
    assert {"ScheduledProvisioningRequest", "RescheduleRequest"} <= components
    assert not [name for name in components if "RequestRequest" in name]
    post = schema["paths"]["/api/v1/companies/{account_id}/scheduled-provisionings/"]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ScheduledProvisioningRequest"
    reschedule = schema["paths"]["/api/v1/imports/{job_id}/reschedule/"]["post"]
    assert reschedule["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RescheduleRequest")
    # The JSON keys are the same.
    fields = set(schema["components"]["schemas"]["ScheduledProvisioningRequest"]["properties"])
    assert {"product_code", "quantity", "schedule_at", "accept_terms", "billing_type", "vendor_fields"} <= fields
    assert set(schema["components"]["schemas"]["RescheduleRequest"]["properties"]) == {"schedule_at"}


@pytest.mark.parametrize("language, words", [("en", "send it as"), ("es", "envíelo como")])
def test_the_security_tab_shows_the_bearer_header_as_text(abbie_client, demo, language, words):
    page = abbie_client.get(
        f"/users/{demo.admin_abbie.pk}/?tab=security", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert f"{words} Authorization: Bearer &lt;token&gt;." in page
    assert "Bearer <token>" not in page and "Bearer ." not in page
