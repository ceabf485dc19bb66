"""Integration: the real Consumer on this run's RabbitMQ vhost and database.

The consumer commits its own transactions (as in production), so these tests run on
committed data and remove what they made.
"""
import json
import threading
import time
import uuid
from importlib.resources import files

import pika
import pytest
from atelier_messaging.topology import EVENTS_EXCHANGE, declare_topology
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from customers.events import QUEUE, build_consumer
from customers.models import Customer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def example_body() -> tuple[dict, bytes]:
    """The contract's example event with fresh ids, so runs and tests never collide."""
    raw = json.loads(files("atelier_contracts").joinpath("examples/auth.user.registered/v1.json").read_text())
    raw["id"] = str(uuid.uuid4())
    raw["data"]["user_id"] = str(uuid.uuid4())
    return raw, json.dumps(raw).encode()


def publish(body: bytes, message_id: str, times: int) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(settings.ATELIER_AMQP_URL))
    try:
        channel = conn.channel()
        declare_topology(channel)
        channel.confirm_delivery()
        for _ in range(times):
            channel.basic_publish(
                exchange=EVENTS_EXCHANGE, routing_key="auth.user.registered.v1", body=body, mandatory=True,
                properties=pika.BasicProperties(message_id=message_id, content_type="application/json",
                                                delivery_mode=pika.DeliveryMode.Persistent),
            )
    finally:
        conn.close()


def queue_depth() -> int:
    conn = pika.BlockingConnection(pika.URLParameters(settings.ATELIER_AMQP_URL))
    try:
        return conn.channel().queue_declare(queue=QUEUE, passive=True).method.message_count
    finally:
        conn.close()


def inbox_rows(message_id: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM inbox WHERE message_id = %s AND consumer = %s", [message_id, QUEUE])
        return cursor.fetchone()[0]


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    made: list[dict] = []
    with django_db_blocker.unblock():
        yield made
        for raw in made:
            Customer.objects.filter(user_id=raw["data"]["user_id"]).delete()
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM inbox WHERE message_id = %s", [raw["id"]])


def test_event_delivered_twice_makes_one_customer_and_one_inbox_row(committed_db):
    raw, body = example_body()
    committed_db.append(raw)
    publish(body, raw["id"], times=2)

    call_command("consume_events", "--drain")  # the management command, draining the queue

    assert queue_depth() == 0
    customer = Customer.objects.get(user_id=raw["data"]["user_id"])
    assert customer.email == raw["data"]["email"]
    assert Customer.objects.filter(user_id=raw["data"]["user_id"]).count() == 1
    assert inbox_rows(raw["id"]) == 1


def test_running_consumer_handles_events_and_stops_on_request(committed_db):
    raw, body = example_body()
    committed_db.append(raw)
    consumer = build_consumer()

    def run() -> None:
        try:
            consumer.run(settings.ATELIER_AMQP_URL)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        publish(body, raw["id"], times=2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (inbox_rows(raw["id"]) and queue_depth() == 0):
            time.sleep(0.1)
    finally:
        consumer.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert Customer.objects.filter(user_id=raw["data"]["user_id"]).count() == 1
    assert inbox_rows(raw["id"]) == 1
