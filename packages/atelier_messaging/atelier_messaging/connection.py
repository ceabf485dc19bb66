"""Connection parameters with explicit timeouts on every step."""
from __future__ import annotations

import pika

HEARTBEAT_S = 30
SOCKET_TIMEOUT_S = 5
BLOCKED_CONNECTION_TIMEOUT_S = 30


def parameters(amqp_url: str) -> pika.URLParameters:
    params = pika.URLParameters(amqp_url)
    params.heartbeat = HEARTBEAT_S
    params.socket_timeout = SOCKET_TIMEOUT_S
    params.stack_timeout = SOCKET_TIMEOUT_S * 2
    params.blocked_connection_timeout = BLOCKED_CONNECTION_TIMEOUT_S
    params.connection_attempts = 1
    return params


def connect(amqp_url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(parameters(amqp_url))
