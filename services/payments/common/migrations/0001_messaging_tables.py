"""The outbox and inbox tables of atelier_messaging, in the payments schema."""
from atelier_messaging.django import messaging_tables_operations
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = messaging_tables_operations()
