"""A second checkout with its own AUTH_SECRET_KEY against the same database (audit finding
12): stored keys it cannot decrypt make it unready and its token routes 503, never 500."""
import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import error_code, login
from apikeys.services import create_key
from signing import keyring, readiness
from signing.keys import SigningKey, generate_private_pem
from signing.models import StoredSigningKey

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
OTHER_SECRET = "the secret key of another checkout, quite long enough 0123456789"


@pytest.fixture(autouse=True)
def fresh_readiness():
    """No answer cached by one test may reach the next."""
    readiness._last = None
    yield
    readiness._last = None


def store_a_key_of_another_checkout(settings) -> None:
    """What the other checkout's first start leaves in the shared database: a new current
    key, encrypted under its own AUTH_SECRET_KEY."""
    ours, settings.SECRET_KEY = settings.SECRET_KEY, OTHER_SECRET
    try:
        with transaction.atomic():
            StoredSigningKey.objects.filter(retired_at__isnull=True).update(retired_at=timezone.now())
            keyring._store(SigningKey.from_pem(generate_private_pem()))
    finally:
        settings.SECRET_KEY = ours


def test_unreadable_signing_keys_make_readyz_503_and_token_routes_503(api_client, settings):
    settings.AUTH_READINESS_CACHE_SECONDS = 0
    user = UserFactory(email_verified=True)
    issued = create_key(user, name="k")
    pair = login(api_client, user.email)
    ready = api_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "signing": "ok"}

    store_a_key_of_another_checkout(settings)

    ready = api_client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["signing"] == "signing_key_unreadable"
    assert "AUTH_SECRET_KEY" in ready.json()["reason"]
    answers = [
        api_client.post("/api/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"),
        api_client.post("/api/auth/token/refresh", {"refresh": pair["refresh"]}, format="json"),
        api_client.post("/internal/api-keys/introspect", {"key": issued.secret}, format="json",
                        HTTP_X_INTERNAL_TOKEN=settings.ATELIER_INTERNAL_TOKEN),
        api_client.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {pair['access']}"),
    ]
    assert [error_code(answer, 503) for answer in answers] == ["signing_unavailable"] * len(answers)
    assert "AUTH_SECRET_KEY" not in answers[0].json()["error"]["message"]  # the operator's detail stays in the log

    settings.SECRET_KEY_FALLBACKS = [OTHER_SECRET]  # the documented way out
    assert api_client.get("/readyz").status_code == 200
    login(api_client, user.email)


def test_readiness_is_cached_briefly(api_client, settings):
    settings.AUTH_READINESS_CACHE_SECONDS = 60
    assert api_client.get("/readyz").status_code == 200
    store_a_key_of_another_checkout(settings)
    assert api_client.get("/readyz").status_code == 200  # the cached answer, for a few seconds
    readiness._last = None
    assert api_client.get("/readyz").status_code == 503
