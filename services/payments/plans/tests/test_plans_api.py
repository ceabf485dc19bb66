"""Integration: GET /api/payments/plans against the migrated database."""
import pytest

from plans.models import Plan

from .factories import PlanFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

URL = "/api/payments/plans"


def test_seeded_plans_are_listed_cheapest_first(api_client):
    response = api_client.get(URL)
    assert response.status_code == 200
    plans = response.json()["plans"]
    assert [p["code"] for p in plans] == ["free", "pro-monthly", "partner-monthly"]
    assert plans[0] == {"code": "free", "name": "Free", "price_cents": 0, "currency": "USD",
                        "interval": "month", "tier": "free"}
    assert plans[1]["price_cents"] == 1200 and plans[1]["tier"] == "pro"


def test_inactive_plans_are_hidden(api_client):
    PlanFactory(code="retired", active=False)
    PlanFactory(code="pro-yearly", price_cents=12000, interval="year")
    codes = [p["code"] for p in api_client.get(URL).json()["plans"]]
    assert "retired" not in codes
    assert codes[-1] == "pro-yearly"


def test_plans_are_public_even_with_a_bad_token(api_client):
    response = api_client.get(URL, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200


def test_trailing_slash_is_accepted(api_client):
    assert api_client.get(URL + "/").status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_are_refused(api_client, method):
    response = getattr(api_client, method)(URL, data="{not json", content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_database_refuses_a_bad_currency():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Plan.objects.create(code="bad", name="Bad", price_cents=1, currency="usd", interval="month", tier="pro")
