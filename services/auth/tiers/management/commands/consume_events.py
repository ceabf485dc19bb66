"""``python manage.py consume_events``: the auth event consumer process."""
from atelier_messaging.django import ConsumeEventsCommand

from tiers.events import build_consumer


class Command(ConsumeEventsCommand):
    help = "Consume auth.events (payments.subscription.* -> tiers) until stopped."
    consumer_factory = staticmethod(build_consumer)
