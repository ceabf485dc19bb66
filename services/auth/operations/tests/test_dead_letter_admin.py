"""The dead-letter page: who sees it, CSRF on its actions, replay and drop on the real broker."""
import json
import uuid

import pika
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.tests.factories import UserFactory
from atelier_messaging.topology import declare_topology

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
PAGE = "/admin/auth/operations/deadletter/"
ACTION = PAGE + "action/"
QUEUE = "auth.events"


@pytest.fixture
def broker():
    connection = pika.BlockingConnection(pika.URLParameters(settings.ATELIER_AMQP_URL))
    channel = connection.channel()
    declare_topology(channel)
    for queue in (QUEUE, QUEUE + ".dead"):
        channel.queue_purge(queue)
    yield channel
    connection.close()


def kill(channel, body: dict) -> str:
    """Dead-letter a message the way the consumer does: a reject without requeue."""
    message_id = str(uuid.uuid4())
    properties = pika.BasicProperties(message_id=message_id, type="payments.subscription.activated.v1",
                                      headers={"x-atelier-attempts": 4})
    channel.basic_publish("", QUEUE, json.dumps({"id": message_id, **body}).encode(), properties)
    method, _, _ = channel.basic_get(QUEUE)
    channel.basic_reject(method.delivery_tag, requeue=False)
    return message_id


def ids_in(channel, queue: str) -> list[str]:
    found = []
    while True:
        method, properties, _ = channel.basic_get(queue)
        if method is None:
            break
        found.append(properties.message_id)
    channel.basic_nack(0, multiple=True, requeue=True)
    channel.connection.process_data_events(time_limit=0.2)
    return found


def logged_in(user, **kw) -> Client:
    client = Client(**kw)
    client.force_login(user)
    return client


@pytest.fixture
def operator():
    user = UserFactory(is_staff=True, email_verified=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_dead_letters"))
    return user


def test_only_superusers_and_holders_of_the_permission_see_the_page(broker, operator):
    message_id = kill(broker, {"note": "poison"})
    assert Client().get(PAGE).status_code == 302  # to the login page
    plain_staff = UserFactory(is_staff=True)
    assert logged_in(plain_staff).get(PAGE).status_code == 403
    assert logged_in(plain_staff).post(ACTION, {"queue": QUEUE, "action": "drop", "all": "1"}).status_code == 403
    for user in (operator, UserFactory(is_staff=True, is_superuser=True)):
        page = logged_in(user).get(PAGE)
        assert page.status_code == 200
        text = page.content.decode()
        assert message_id in text and "rejected: breaks its contract" in text
    assert "Dead letters" in logged_in(operator).get("/admin/auth/").content.decode()
    assert ids_in(broker, QUEUE + ".dead") == [message_id]


def test_actions_need_a_csrf_token(broker, operator):
    message_id = kill(broker, {"note": "keep"})
    client = logged_in(operator, enforce_csrf_checks=True)
    response = client.post(ACTION, {"queue": QUEUE, "action": "drop", "id": message_id})
    assert response.status_code == 403
    assert ids_in(broker, QUEUE + ".dead") == [message_id]


def test_replay_and_drop_act_on_the_chosen_message_only(broker, operator):
    first, second, third = (kill(broker, {"n": n}) for n in range(3))
    client = logged_in(operator)
    response = client.post(ACTION, {"queue": QUEUE, "action": "replay", "id": second})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert ids_in(broker, QUEUE + ".dead") == [first, third]
    assert ids_in(broker, QUEUE) == [second]
    client.post(ACTION, {"queue": QUEUE, "action": "drop", "id": first})
    assert ids_in(broker, QUEUE + ".dead") == [third]
    page = client.get(PAGE).content.decode()
    assert "dropped 1 message" in page and third in page and first not in page


def test_bad_actions_are_refused_with_the_error_document(broker, operator):
    client = logged_in(operator)
    response = client.post(ACTION, {"queue": "nope", "action": "explode"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and set(error["fields"]) == {"queue", "action", "id"}
    assert client.get(ACTION).status_code == 405


def test_a_broker_that_is_down_is_said_on_the_page_not_a_500(operator, settings):
    settings.ATELIER_AMQP_URL = "amqp://guest:guest@127.0.0.1:9/nowhere"  # the discard port: refused
    client = logged_in(operator)
    page = client.get(PAGE)
    assert page.status_code == 200 and "the broker cannot be reached" in page.content.decode()
    response = client.post(ACTION, {"queue": QUEUE, "action": "replay", "all": "1"})
    assert response.status_code == 302
    page = client.get(PAGE).content.decode()
    assert "replay failed, the broker cannot be reached" in page.lower()
