"""The starting catalogue. Only fills gaps, so prices staff changed in admin survive;
the data is frozen here (not imported) so this migration means the same thing forever."""
from django.db import migrations

SEED_PLANS = (
    {"code": "free", "name": "Free", "price_cents": 0, "currency": "USD", "interval": "month", "tier": "free"},
    {"code": "pro-monthly", "name": "Pro", "price_cents": 1200, "currency": "USD", "interval": "month", "tier": "pro"},
    {"code": "partner-monthly", "name": "Partner", "price_cents": 9900, "currency": "USD", "interval": "month", "tier": "partner"},
)


def seed(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    for spec in SEED_PLANS:
        Plan.objects.get_or_create(code=spec["code"], defaults=spec)


def unseed(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    Plan.objects.filter(code__in=[spec["code"] for spec in SEED_PLANS]).delete()


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
