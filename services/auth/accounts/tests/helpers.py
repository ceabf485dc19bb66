"""Helpers shared by the integration tests."""
from __future__ import annotations

import json

from django.db import connection

from accounts.tests.factories import DEFAULT_PASSWORD


def outbox_events(event_type: str) -> list[dict]:
    """Envelopes of one type written to the outbox, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM outbox WHERE body::jsonb ->> 'type' = %s ORDER BY id", [event_type])
        return [json.loads(row[0]) for row in cursor.fetchall()]


def login(client, email: str, password: str = DEFAULT_PASSWORD, **extra) -> dict:
    response = client.post("/api/auth/token", {"email": email, "password": password}, format="json", **extra)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["error"]["code"]
