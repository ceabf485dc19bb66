import threading

import pytest
from django.db import connection
from rest_framework import exceptions

from accounts.tests.factories import UserFactory
from signing import services
from signing.models import Session

pytestmark = pytest.mark.integration


@pytest.mark.django_db(transaction=True)
def test_one_refresh_token_used_twice_at_once_gives_one_new_pair():
    user = UserFactory()
    pair = services.issue_token_pair(user)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def use_it():
        try:
            barrier.wait(timeout=10)
            services.rotate_refresh_token(pair.refresh)
            outcomes.append("ok")
        except exceptions.APIException as exc:
            outcomes.append(exc.get_codes())
        finally:
            connection.close()

    threads = [threading.Thread(target=use_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # One use wins; the others are reuse of a spent token, which ends the session itself.
    assert sorted(outcomes) == ["ok", "token_revoked", "token_revoked", "token_revoked"]
    assert Session.objects.get(user=user).revoke_reason == "refresh_reuse"
