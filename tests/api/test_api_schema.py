"""The OpenAPI schema validates, and the reference is served without a CDN."""

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate


@pytest.fixture
def schema(db):
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_is_a_valid_openapi_3_document(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_the_schema_documents_every_resource_and_the_bearer_token(schema):
    paths = set(schema["paths"])
    assert {
        "/api/v1/companies/", "/api/v1/companies/{account_id}/", "/api/v1/companies/{account_id}/services/",
        "/api/v1/companies/{account_id}/scheduled-provisionings/", "/api/v1/imports/", "/api/v1/imports/{job_id}/",
        "/api/v1/imports/{job_id}/cancel/", "/api/v1/imports/{job_id}/reschedule/", "/api/v1/subscriptions/",
        "/api/v1/subscriptions/{account_id}/",
    } <= paths
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    post = schema["paths"]["/api/v1/companies/{account_id}/scheduled-provisionings/"]["post"]
    assert any(parameter["name"] == "Idempotency-Key" for parameter in post["parameters"])


def test_the_reference_page_uses_local_assets_only(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn." not in html and "unpkg" not in html


def test_the_schema_generates_without_warnings(db, tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
