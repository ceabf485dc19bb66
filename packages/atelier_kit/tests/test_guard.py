"""Unit: the one production secret guard and the development defaults services share."""
import pytest

from atelier_kit import defaults, guard

STRONG = "q7Vx2mPz9LrT4wKc8NbY1sHd6FjU3gAe5ZoXi0Rl"


def test_environment_is_one_of_three():
    assert guard.atelier_env(None) == "development"
    with pytest.raises(guard.InsecureSetting, match="ATELIER_ENV"):
        guard.atelier_env("prod")


@pytest.mark.parametrize("value", [None, "", "short", "a" * 40, "9f" * 32, "django-insecure-" + STRONG,
                                   STRONG + "-change-me", "dev-only-" + STRONG, "dev-" + STRONG, "test_" + STRONG,
                                   "changeme-changeme-changeme-changeme"])
def test_production_refuses_missing_weak_or_development_secrets(value):
    with pytest.raises(guard.InsecureSetting, match="X_SECRET"):
        guard.secret("production", "X_SECRET", value)


def test_refusal_is_a_value_error_so_pydantic_validators_report_it():
    assert issubclass(guard.InsecureSetting, ValueError)


def test_every_development_default_is_refused_in_production():
    assert guard.secret_problem("K", defaults.DEV_STORAGE_SIGNING_KEY)
    assert guard.secret_problem("K", defaults.dev_secret("K"))
    assert guard.url_problem("ATELIER_AMQP_URL", defaults.DEV_AMQP_URL, schemes=("amqp", "amqps"))


def test_secrets_pass_in_production_and_default_elsewhere():
    assert guard.secret("production", "X_SECRET", STRONG) == STRONG
    assert guard.looks_like_development(guard.secret("development", "X_SECRET", None))
    assert guard.secret("test", "X", None, development_default="dev-insecure-x") == "dev-insecure-x"


def test_urls_need_their_scheme_and_no_development_credentials():
    assert guard.url_problem("U", "amqp://svc:s3cret@mq:5672/atelier", schemes=("amqp",)) is None
    assert "amqp" in guard.url_problem("U", "http://mq", schemes=("amqp",))
    assert "set" in guard.url_problem("U", "", schemes=("amqp",))


def test_refuse_names_every_problem_at_once():
    with pytest.raises(guard.InsecureSetting) as caught:
        guard.refuse([None, "A is weak", "B is missing"])
    assert caught.value.problems == ["A is weak", "B is missing"]
    assert "A is weak; B is missing" in str(caught.value)
    guard.refuse([None])
