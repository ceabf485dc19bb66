import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="LedgerTransaction",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("kind", models.CharField(choices=[("payment", "Payment"), ("credit_grant", "Credit grant"), ("refund", "Refund"), ("credit_revoke", "Credit revocation")], max_length=20)),
                ("reference", models.CharField(max_length=200, unique=True)),
                ("user_id", models.UUIDField(blank=True, db_index=True, null=True)),
                ("memo", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={"ordering": ("-created_at",)},
        ),
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account", models.CharField(db_index=True, max_length=100)),
                ("amount", models.BigIntegerField(help_text="Minor units (or credits); positive is a debit to the account.")),
                ("unit", models.CharField(help_text="ISO 4217 code or CREDITS.", max_length=8)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("transaction", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="entries", to="ledger.ledgertransaction")),
            ],
            options={
                "ordering": ("id",),
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("amount", 0), _negated=True), name="ledger_entry_nonzero"),
                    models.CheckConstraint(condition=models.Q(("unit__regex", "^([A-Z]{3}|CREDITS)$")), name="ledger_entry_unit_known"),
                ],
            },
        ),
    ]
