"""Throttling per token: a burst past the rate is 429 with Retry-After; other tokens are unaffected."""

from .conftest import client_for, token_for


def test_a_burst_is_throttled_per_token_with_retry_after(demo, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token_burst": "5/min", "token_sustained": "1000/hour"},
    }
    abbie = client_for(token_for(demo.admin_abbie))
    statuses = [abbie.get("/api/v1/companies/").status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    response = abbie.get("/api/v1/companies/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Too many requests for this token. Try again in")
    assert response.json()["errors"] == {}
    # Another token has its own allowance.
    assert client_for(token_for(demo.admin_andes)).get("/api/v1/companies/").status_code == 200


def test_a_throttled_post_writes_nothing(demo, settings):
    from imports.models import ImportJob

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token_burst": "1/min", "token_sustained": "1000/hour"},
    }
    abbie = client_for(token_for(demo.admin_abbie))
    body = {"product_code": "100113_ExchanOnlineKiosk_61893", "quantity": 1}
    assert abbie.post("/api/v1/companies/466158/scheduled-provisionings/", body, format="json").status_code == 201
    assert abbie.post("/api/v1/companies/466158/scheduled-provisionings/", body, format="json").status_code == 429
    assert ImportJob.objects.count() == 1
