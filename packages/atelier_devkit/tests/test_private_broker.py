"""The private broker really goes away and comes back with its durable messages."""
import pika
import pytest

from atelier_devkit.brokers import private_rabbit

pytestmark = pytest.mark.integration


def test_outage_drops_connections_and_keeps_persistent_messages():
    with private_rabbit() as broker:
        connection = pika.BlockingConnection(pika.URLParameters(broker.url))
        channel = connection.channel()
        channel.queue_declare("kept", durable=True)
        channel.basic_publish("", "kept", b"hello", pika.BasicProperties(delivery_mode=2))
        with broker.outage():
            with pytest.raises(pika.exceptions.AMQPError):
                pika.BlockingConnection(pika.URLParameters(broker.url))
        with pytest.raises(pika.exceptions.AMQPError):
            channel.basic_publish("", "kept", b"after")  # the old connection died with the outage
        connection = pika.BlockingConnection(pika.URLParameters(broker.url))
        method, _, body = connection.channel().basic_get("kept", auto_ack=True)
        assert body == b"hello"
        connection.close()
