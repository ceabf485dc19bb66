"""Integration: POST /api/payments/checkout, the caller's read routes, and their refusals."""
import pytest

from billing.checkout import start_checkout
from billing.models import CheckoutSession, Subscription
from customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

URL = "/api/payments/checkout"


def test_checkout_for_a_plan_returns_the_hosted_page(api_client, auth, pro_plan, customer):
    response = api_client.post(URL, {"plan": "pro-monthly"}, format="json", **auth)
    assert response.status_code == 201, response.content
    url = response.json()["checkout_url"]
    checkout = CheckoutSession.objects.get(customer=customer)
    assert url == f"http://testserver/api/payments/sandbox/checkout/{checkout.provider_session_id}"
    assert (checkout.plan, checkout.amount_cents, checkout.status) == (pro_plan, 1200, "open")


def test_checkout_for_a_credit_pack(api_client, auth, pack, customer):
    response = api_client.post(URL, {"credit_pack": "credits-100"}, format="json", **auth)
    assert response.status_code == 201
    assert CheckoutSession.objects.get(customer=customer).credit_pack == pack


@pytest.mark.parametrize("body,field", [
    ({}, "non_field_errors"),
    ({"plan": "pro-monthly", "credit_pack": "credits-100"}, "non_field_errors"),
    ({"plan": "pro-monthly", "coupon": "FREE"}, "coupon"),
    ({"plan": 12}, "plan"),
    ({"plan": ["pro-monthly"]}, "plan"),
    ({"plan": "x" * 5000}, "plan"),
    ({"plan": "no-such-plan"}, "plan"),
    ({"plan": "free"}, "plan"),
    ({"credit_pack": "nope"}, "credit_pack"),
])
def test_bad_bodies_are_refused_and_nothing_is_written(api_client, auth, pro_plan, pack, body, field):
    response = api_client.post(URL, body, format="json", **auth)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"]
    assert CheckoutSession.objects.count() == 0


@pytest.mark.parametrize("raw,content_type,status,code", [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"[1,2]", "application/json", 400, "validation_error"),
    (b"plan=pro-monthly", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
])
def test_malformed_requests(api_client, auth, raw, content_type, status, code):
    response = api_client.generic("POST", URL, raw, content_type=content_type, **auth)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


@pytest.mark.parametrize("route", ["checkout", "subscription", "subscription/cancel", "invoices", "ledger"])
def test_routes_need_a_valid_token(api_client, verifier, make_token, route):
    method = api_client.post if route in ("checkout", "subscription/cancel") else api_client.get
    assert method(f"/api/payments/{route}").status_code == 401
    expired = make_token(expires_in=-60)
    response = method(f"/api/payments/{route}", HTTP_AUTHORIZATION=f"Bearer {expired}")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "token_expired")
    response = method(f"/api/payments/{route}", HTTP_AUTHORIZATION="Bearer forged.token.here")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "token_invalid")


def test_no_customer_yet_is_a_clear_404(api_client, verifier, make_token, pro_plan):
    response = api_client.post(URL, {"plan": "pro-monthly"}, format="json",
                               HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "customer_not_found")


def test_a_second_subscription_is_refused(api_client, auth, pro_plan, customer):
    Subscription.objects.create(customer=customer, plan=pro_plan, provider="sandbox", provider_subscription_id="s1",
                                current_period_start="2026-01-01T00:00Z", current_period_end="2026-02-01T00:00Z",
                                provider_updated_at="2026-01-01T00:00Z")
    response = api_client.post(URL, {"plan": "pro-monthly"}, format="json", **auth)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "subscription_exists")


def test_subscription_is_null_without_one(api_client, auth):
    assert api_client.get("/api/payments/subscription", **auth).json() == {"subscription": None}


def test_cancel_without_a_subscription_is_404(api_client, auth):
    response = api_client.post("/api/payments/subscription/cancel", {}, format="json", **auth)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "subscription_not_found")


def test_cancel_refuses_a_body_with_fields(api_client, auth):
    response = api_client.post("/api/payments/subscription/cancel", {"now": True}, format="json", **auth)
    assert response.status_code == 400 and "now" in response.json()["error"]["fields"]


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page_size=1000", "page_size=0", "sort=amount"])
def test_bad_paging_is_refused(api_client, auth, query):
    for route in ("invoices", "ledger"):
        response = api_client.get(f"/api/payments/{route}?{query}", **auth)
        assert response.status_code == 400, (route, query)
        assert response.json()["error"]["code"] == "validation_error"


def test_start_checkout_uses_the_configured_provider(customer, pro_plan):
    checkout = start_checkout(user_id=str(customer.user_id), plan_code="pro-monthly")
    assert checkout.provider == "sandbox" and checkout.provider_session_id.startswith("cs_sandbox_")


def test_deleted_customers_cannot_check_out(api_client, auth, customer, pro_plan):
    from django.utils import timezone
    type(customer).objects.filter(pk=customer.pk).update(deleted_at=timezone.now())
    response = api_client.post(URL, {"plan": "pro-monthly"}, format="json", **auth)
    assert response.status_code == 404


def test_openapi_document_lists_the_routes(api_client):
    response = api_client.get("/api/payments/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for route in ("/api/payments/checkout", "/api/payments/subscription", "/api/payments/invoices",
                  "/api/payments/ledger", "/api/payments/plans", "/api/payments/webhooks/sandbox"):
        assert any(p.rstrip("/") == route for p in paths), route


def test_other_customers_do_not_matter(api_client, auth, pro_plan):
    CustomerFactory()
    assert api_client.post(URL, {"plan": "pro-monthly"}, format="json", **auth).status_code == 201


@pytest.mark.parametrize("method,route", [
    ("get", "checkout"), ("delete", "checkout"), ("post", "subscription"), ("get", "subscription/cancel"),
    ("post", "invoices"), ("delete", "ledger"), ("put", "webhooks/sandbox"),
])
def test_wrong_methods_are_405(api_client, auth, method, route):
    response = getattr(api_client, method)(f"/api/payments/{route}", **auth)
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")


def test_paging_walks_the_callers_invoices(api_client, auth, customer, pack):
    from billing.models import Payment
    for n in range(3):
        Payment.objects.create(customer=customer, provider="sandbox", provider_payment_id=f"pi_{n}",
                               description="100 credits", amount_cents=500, currency="USD")
    first = api_client.get("/api/payments/invoices?page_size=2", **auth).json()
    second = api_client.get("/api/payments/invoices?page_size=2&page=2", **auth).json()
    assert (first["total"], len(first["items"]), first["has_more"]) == (3, 2, True)
    assert (len(second["items"]), second["has_more"]) == (1, False)
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in second["items"])
