"""Integration: auth.user.registered -> one customer, however often it arrives."""
import json
import threading
import uuid
from importlib.resources import files

import pytest
from atelier_contracts import Envelope
from django.db import connection, connections, transaction

from customers.events import on_user_registered
from customers.models import Customer
from customers.services import register_customer

pytestmark = pytest.mark.integration


def example_envelope(**data_overrides) -> Envelope:
    raw = json.loads(files("atelier_contracts").joinpath("examples/auth.user.registered/v1.json").read_text())
    raw["data"].update(data_overrides)
    return Envelope.from_dict(raw)


@pytest.mark.django_db
def test_handler_applied_twice_creates_one_customer():
    envelope = example_envelope()
    on_user_registered(envelope, connection)
    on_user_registered(envelope, connection)
    customers = Customer.objects.filter(user_id=envelope.data["user_id"])
    assert customers.count() == 1
    assert customers.get().email == "ada@example.com"


@pytest.mark.django_db
def test_register_reports_creation_once_and_keeps_the_first_email():
    user_id = uuid.uuid4()
    first, created = register_customer(user_id=user_id, email="first@example.com")
    again, created_again = register_customer(user_id=str(user_id), email="second@example.com")
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert again.email == "first@example.com"


def test_concurrent_duplicates_create_one_customer(django_db_blocker):
    """Two transactions insert the same user at once: the second waits on the first's
    row lock, then does nothing; neither fails. Runs on committed data, so it cleans up."""
    user_id = uuid.uuid4()
    barrier = threading.Barrier(2)
    results, failures = [], []

    def register(email: str) -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                results.append(register_customer(user_id=user_id, email=email)[1])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        try:
            threads = [threading.Thread(target=register, args=(f"{n}@example.com",)) for n in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert failures == []
            assert sorted(results) == [False, True]
            assert Customer.objects.filter(user_id=user_id).count() == 1
        finally:
            Customer.objects.filter(user_id=user_id).delete()
