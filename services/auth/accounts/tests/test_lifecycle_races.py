"""One-time tokens used twice at once: exactly one use wins."""
import threading

import pytest
from django.db import connection

from accounts import lifecycle
from accounts.services import create_verification_token
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import outbox_events
from common.errors import ApiError

pytestmark = pytest.mark.integration


def race(action, n=4) -> list[str]:
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def run():
        try:
            barrier.wait(timeout=10)
            action()
            outcomes.append("ok")
        except ApiError as exc:
            outcomes.append(exc.detail.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_one_verification_link_used_four_times_at_once_verifies_and_publishes_once():
    user = UserFactory()
    raw = create_verification_token(user)
    # The losers wait for the winner's row lock, then find the address verified.
    assert race(lambda: lifecycle.verify_email(raw)) == ["already_verified"] * 3 + ["ok"]
    try:
        assert len([e for e in outbox_events("auth.user.verified") if e["data"]["user_id"] == str(user.pk)]) == 1
    finally:  # committed rows outlive the test's flush: leave the outbox as other tests expect it
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM outbox WHERE body::jsonb -> 'data' ->> 'user_id' = %s", [str(user.pk)])
