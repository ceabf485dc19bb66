"""The key's tier is a staff override only (empty = the owner's current tier); the
rename says so, and keeps every value staff had set."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("apikeys", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="apikey", old_name="tier", new_name="tier_override"),
        migrations.AlterField(
            model_name="apikey",
            name="tier_override",
            field=models.CharField(blank=True, choices=[("free", "Free"), ("pro", "Pro"), ("partner", "Partner")],
                                   help_text="staff only; empty = the owner's current tier", max_length=16, null=True),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="limits",
            field=models.JSONField(blank=True, help_text="staff only: per-key overrides of the tier's limits", null=True),
        ),
    ]
