"""Unit: the public shape of a plan (no database: the instance is never saved)."""
from plans.api.serializers import PlanSerializer
from plans.models import Plan


def test_plan_serializes_to_public_fields_only():
    plan = Plan(id=7, code="pro-monthly", name="Pro", price_cents=1200, currency="USD",
                interval="month", tier="pro", active=True)
    assert PlanSerializer(plan).data == {
        "code": "pro-monthly", "name": "Pro", "price_cents": 1200, "currency": "USD",
        "interval": "month", "tier": "pro",
    }


def test_plan_serializer_is_read_only():
    serializer = PlanSerializer(data={"code": "x", "name": "X", "price_cents": 1, "currency": "USD",
                                      "interval": "month", "tier": "pro"})
    assert serializer.is_valid()
    assert serializer.validated_data == {}
