"""The transactional outbox and the consumer inbox (owned by atelier_messaging)."""
from atelier_messaging.django import messaging_tables_operations
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = messaging_tables_operations()
