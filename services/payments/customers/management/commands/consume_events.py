"""``python manage.py consume_events``: the payments event consumer process."""
from atelier_messaging.django import ConsumeEventsCommand

from customers.events import build_consumer


class Command(ConsumeEventsCommand):
    help = "Consume payments.events (auth.user.registered/deleted -> customers) until stopped."
    consumer_factory = staticmethod(build_consumer)
