from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        migrations.CreateModel(
            name="LoginFailureCounter",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("failures", models.IntegerField()),
                ("window_started", models.DateTimeField()),
            ],
            options={"db_table": "atelier_django_login_failures"},
        ),
    ]
