"""Finding 4: an API key's scopes are enforced on every payments route.

Plans are public; reading the subscription, invoices, ledger and account needs
``billing:read``; checkout and cancel need ``account`` (a user's own session, never a key).
The URL walk makes sure no API view is left without a declared scope (fail closed)."""
import pytest
from rest_framework.views import APIView

from atelier_django.permissions import ScopeNotDeclared, api_routes, declared_scope, undeclared_api_routes

READS = ["/api/payments/subscription", "/api/payments/invoices", "/api/payments/ledger", "/api/payments/account"]
# A read too, but it answers 404 until there is a subscription to change.
PREVIEW = "/api/payments/subscription/change-preview?plan=partner-monthly"
MONEY = [("/api/payments/checkout", {"plan": "pro-monthly"}), ("/api/payments/subscription/cancel", {}),
         ("/api/payments/subscription/resume", {}), ("/api/payments/subscription/change", {"plan": "partner-monthly"})]


def key_token(make_token, customer, *scopes):
    return {"HTTP_AUTHORIZATION": f"Bearer {make_token(customer.user_id, key_id='key_1', scopes=list(scopes))}"}


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("path", [*READS, PREVIEW])
def test_a_jobs_read_key_cannot_read_billing(api_client, verifier, make_token, customer, path):
    response = api_client.get(path, **key_token(make_token, customer, "jobs:read"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize(("path", "body"), MONEY)
@pytest.mark.parametrize("scopes", [("jobs:read",), ("jobs:read", "jobs:write", "images:read", "usage:read",
                                                      "billing:read")])
def test_no_key_can_move_money(api_client, verifier, make_token, customer, pro_plan, path, body, scopes):
    response = api_client.post(path, body, format="json", **key_token(make_token, customer, *scopes))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.integration
@pytest.mark.django_db
def test_a_billing_read_key_reads_and_a_session_does_everything(api_client, verifier, make_token, customer, pro_plan,
                                                                auth):
    for path in READS:
        assert api_client.get(path, **key_token(make_token, customer, "billing:read")).status_code == 200, path
    preview = api_client.get(PREVIEW, **key_token(make_token, customer, "billing:read"))
    assert preview.json()["error"]["code"] == "subscription_not_found"
    checkout = api_client.post("/api/payments/checkout", {"plan": "pro-monthly"}, format="json", **auth)
    assert checkout.status_code == 201


@pytest.mark.integration
@pytest.mark.django_db
def test_plans_are_public(api_client):
    assert api_client.get("/api/payments/plans").status_code == 200


def test_every_api_view_declares_its_scope():
    routes = [route for route, _ in api_routes()]
    assert undeclared_api_routes() == []
    assert len(routes) >= 9, routes  # plans, account, checkout, subscription(+cancel), invoices, ledger, 2 webhooks


def test_views_without_a_declaration_are_refused_by_default():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] == ["atelier_django.permissions.ScopeNotDeclared"]
    assert not declared_scope(type("Forgotten", (APIView,), {"permission_classes": (ScopeNotDeclared,)}))[0]
