import factory
from factory.django import DjangoModelFactory

from plans.models import Interval, Plan, Tier


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"test-plan-{n}")
    name = factory.Sequence(lambda n: f"Test plan {n}")
    price_cents = 2500
    currency = "USD"
    interval = Interval.MONTH
    tier = Tier.PRO
    active = True
