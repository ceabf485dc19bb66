from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="DeadLetter",
            fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [("manage_dead_letters", "Can list, replay and drop dead letters")],
                "verbose_name": "dead letter",
                "verbose_name_plural": "dead letters",
            },
        ),
    ]
