from django.db import migrations, models

SEED_PACKS = (
    {"code": "credits-100", "name": "100 credits", "credits": 100, "price_cents": 500, "currency": "USD"},
    {"code": "credits-500", "name": "500 credits", "credits": 500, "price_cents": 2000, "currency": "USD"},
)


def seed(apps, schema_editor):
    CreditPack = apps.get_model("plans", "CreditPack")
    for spec in SEED_PACKS:
        CreditPack.objects.get_or_create(code=spec["code"], defaults=spec)


class Migration(migrations.Migration):
    dependencies = [("plans", "0002_seed_plans")]

    operations = [
        migrations.CreateModel(
            name="CreditPack",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.SlugField(help_text="Stable identifier clients send at checkout.", unique=True)),
                ("name", models.CharField(max_length=100)),
                ("credits", models.PositiveIntegerField()),
                ("price_cents", models.PositiveIntegerField(help_text="Price in the currency's minor unit.")),
                ("currency", models.CharField(default="USD", help_text="ISO 4217 code, upper case.", max_length=3)),
                ("active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ("price_cents", "code"),
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("currency__regex", "^[A-Z]{3}$")), name="pack_currency_iso4217"),
                    models.CheckConstraint(condition=models.Q(("credits__gte", 1)), name="pack_credits_positive"),
                    models.CheckConstraint(condition=models.Q(("price_cents__gte", 1)), name="pack_price_positive"),
                ],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
