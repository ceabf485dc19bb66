"""Hand unsent mail to the worker again: what was queued while the broker was down (the
after-commit hand-off failed) or what ran out of retries during a long SMTP outage.
Safe to run at any time (cron): sending is idempotent per mail id."""
from django.core.management.base import BaseCommand

from accounts.tasks import requeue_unsent_mail


class Command(BaseCommand):
    help = "Queue again the outgoing mail that is still unsent after a while"

    def add_arguments(self, parser):
        # Younger mail is most likely still in the worker's hands (queued or retrying).
        parser.add_argument("--older-than-minutes", type=int, default=30)

    def handle(self, *args, older_than_minutes: int, **options):
        queued = requeue_unsent_mail(older_than_minutes)
        self.stdout.write(f"queued {queued} unsent mail(s)\n")
