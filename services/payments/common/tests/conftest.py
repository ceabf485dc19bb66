from __future__ import annotations

import pytest

from common.tests.auth_service import AuthService, serve


@pytest.fixture
def auth_service(make_token, verifier, settings):
    """Auth's login API on loopback, with payments' admin pointed at it."""
    service = AuthService(make_token)
    server = serve(service)
    settings.AUTH_URL = service.url
    settings.PAYMENTS_AUTH_TIMEOUT_S = 2.0
    yield service
    server.shutdown()
    server.server_close()
