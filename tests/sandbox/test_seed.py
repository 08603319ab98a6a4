"""The sandbox's seed (SANDBOX_SEED, by default sandbox/demo_customers.json): customers it holds from its
start, applied again by POST /_sandbox/seed, emptied with everything else by POST /_sandbox/reset; and
the shipped seed agrees with the demo (devtools/demo.py), so the demo's orders pass the vendor check."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from orders.models import Subscription
from tests.vendor_sandbox import Sandbox

pytestmark = pytest.mark.once

SHIPPED_SEED = Path(settings.BASE_DIR) / "sandbox" / "demo_customers.json"


def _seed_file(tmp_path, customers) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"customers": customers}))
    return path


def test_the_shipped_seed_holds_every_tenant_the_demo_creates(demo):
    """Each tenant subscription seed_demo creates (a tenant id with its domain) is a customer of the seed,
    with that domain and its company's name; and the seed holds nothing else."""
    demo_tenants = {
        (s.attributes["tenant_id"].lower(), s.attributes["domain"].lower(), s.company.name)
        for s in Subscription.objects.select_related("company")
        if s.attributes.get("tenant_id") and s.attributes.get("domain")
    }
    seeded = {
        (c["id"].lower(), c["domain"].lower(), c["companyName"])
        for c in json.loads(SHIPPED_SEED.read_text())["customers"]
    }
    assert demo_tenants and seeded == demo_tenants
    # Every other subscription naming a tenant names one of these (the demo's licences use ERITECH's tenant).
    named = {s.attributes["tenant_id"].lower() for s in Subscription.objects.all() if s.attributes.get("tenant_id")}
    assert named <= {tenant for tenant, _domain, _name in seeded}


def test_the_seed_is_there_from_the_start_applied_again_and_reset_empties_it(tmp_path):
    customer = {"id": str(uuid.uuid4()), "domain": f"seed{uuid.uuid4().hex[:10]}.onmicrosoft.com",
                "companyName": "SEEDED S.A.", "relationshipToPartner": "reseller"}
    sandbox = Sandbox(tmp_path, "seeded", SANDBOX_SEED=_seed_file(tmp_path, [customer]))
    try:
        found = sandbox.request("GET", f"/v1/customers/{customer['id']}")
        assert found.status == 200
        body = found.json()
        assert (body["companyProfile"]["domain"], body["companyProfile"]["companyName"], body["relationshipToPartner"]) == (
            customer["domain"], "SEEDED S.A.", "reseller"
        )
        assert sandbox.request("HEAD", f"/v1/domains/{customer['domain']}").status == 200  # taken
        # Idempotent: applied again, nothing is added.
        again = sandbox.request("POST", "/_sandbox/seed", auth=False, request_id=False)
        assert (again.status, again.json()["added"], again.json()["customers"]) == (200, 0, 1)
        assert [c["id"] for c in sandbox.ledger()["customers"]] == [customer["id"]]
        # Reset keeps its meaning (empties everything, the seed's customers too); seed puts them back.
        assert sandbox.request("POST", "/_sandbox/reset", auth=False, request_id=False).status == 200
        assert sandbox.ledger()["customers"] == []
        assert sandbox.request("GET", f"/v1/customers/{customer['id']}").status == 404
        assert sandbox.request("POST", "/_sandbox/seed", auth=False, request_id=False).json()["added"] == 1
        assert sandbox.request("GET", f"/v1/customers/{customer['id']}").status == 200
    finally:
        assert sandbox.stop()


def test_by_default_the_demo_tenant_and_an_empty_seed_none(tmp_path):
    demo_tenant = json.loads(SHIPPED_SEED.read_text())["customers"][0]["id"]
    default = Sandbox(tmp_path, "default")  # SANDBOX_SEED unset: the shipped demo customers
    try:
        assert default.request("GET", f"/v1/customers/{demo_tenant}").status == 200
    finally:
        assert default.stop()
    empty = Sandbox(tmp_path, "empty", SANDBOX_SEED="")
    try:
        assert empty.ledger()["customers"] == []
    finally:
        assert empty.stop()


@pytest.mark.parametrize("content", ["{not json", '{"customers": {}}', '{"customers": [{"id": "x", "domain": "a.onmicrosoft.com"}]}',
                                     '{"customers": [{"id": "e0d72b05-fb92-4d65-9424-7b58ea99d5d3", "domain": "a.example"}]}'])
def test_a_broken_seed_stops_the_start_with_a_clear_message(tmp_path, content):
    path = tmp_path / "broken.json"
    path.write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "0", "--db", ":memory:"], cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "SANDBOX_SEED": str(path)}, capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert "seed" in done.stderr and str(path) in done.stderr


def test_the_shipped_seed_holds_the_demo_s_vendor_subscriptions(demo):
    """ERITECH's licences provisioned through Microsoft (issue 27): the seed holds each with the demo's vendor id,
    offer (the portal's catalog item id for its service) and quantity; one renews in 3 days, one is inside its
    7-day window, in the demo and at the sandbox alike."""
    import datetime as dt

    from catalog.integrations.microsoft_orders import catalog_item_id
    from orders.sync import vendor_customer_id

    seeded = {s["id"]: s for s in json.loads(SHIPPED_SEED.read_text())["subscriptions"]}
    demo_vendor = Subscription.objects.exclude(vendor_subscription_id="").select_related("service")
    assert {s.vendor_subscription_id for s in demo_vendor} == set(seeded)
    for subscription in demo_vendor:
        item = seeded[subscription.vendor_subscription_id]
        assert (item["offerId"], item["quantity"], item["customerId"]) == (
            catalog_item_id(subscription.service), subscription.quantity, vendor_customer_id(subscription)
        )
    now = dt.datetime.now(dt.UTC)
    basic = Subscription.objects.get(account_id=493797)
    assert basic.service.name == "(NCE) Microsoft 365 Business Basic" and basic.company == demo.eritech
    assert dt.timedelta(days=2) < basic.term_end - now <= dt.timedelta(days=3)
    assert basic.cancellation_window_ends_at < now  # mid-term
    standard = Subscription.objects.get(account_id=493798)
    assert dt.timedelta(days=4) < standard.cancellation_window_ends_at - now < dt.timedelta(days=5, minutes=1)
    # The demo catalog's upgrade paths.
    assert set(basic.service.upgrades_to.values_list("name", flat=True)) == {
        "(NCE) Microsoft 365 Business Standard", "(NCE) Microsoft 365 Business Premium"}
    assert list(standard.service.upgrades_to.values_list("name", flat=True)) == ["(NCE) Microsoft 365 Business Premium"]
    # Every local subscription with a term is in its current one.
    assert not Subscription.objects.exclude(term="").filter(term_end__lte=now).exists()
