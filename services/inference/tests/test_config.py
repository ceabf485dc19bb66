import pytest

from atelier_inference.config import Settings, repo_root, resolve_path
from atelier_inference.events import attempts_of


def test_relative_paths_resolve_against_the_repository(monkeypatch, tmp_path):
    monkeypatch.setenv("ATELIER_ROOT", str(tmp_path))
    assert resolve_path("var/models/tiny-sd") == tmp_path / "var" / "models" / "tiny-sd"
    assert resolve_path("/abs/model") == resolve_path("/abs/model").resolve()


def test_default_root_is_the_checkout(monkeypatch):
    monkeypatch.delenv("ATELIER_ROOT", raising=False)
    assert (repo_root() / "services" / "inference" / "atelier_inference").is_dir()


def test_model_location_prefers_an_existing_local_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("ATELIER_ROOT", str(tmp_path))
    (tmp_path / "models" / "mine").mkdir(parents=True)
    assert Settings(model="models/mine").model_location == str(tmp_path / "models" / "mine")
    assert Settings(model="owner/name").model_location == "owner/name"


def test_blank_values_mean_defaults(monkeypatch):
    monkeypatch.setenv("ATELIER_DEVICE", "")
    monkeypatch.setenv("ATELIER_WORKER_NAME", " ")
    settings = Settings()
    assert settings.device is None and settings.worker_name


def test_production_refuses_development_defaults(monkeypatch):
    monkeypatch.setenv("ATELIER_ENV", "production")
    monkeypatch.delenv("ATELIER_AMQP_URL", raising=False)
    monkeypatch.delenv("ATELIER_MODEL", raising=False)
    with pytest.raises(RuntimeError, match="ATELIER_AMQP_URL.*ATELIER_MODEL"):
        Settings().check_production()
    monkeypatch.setenv("ATELIER_AMQP_URL", "amqp://worker:s3cret-long@mq:5672/atelier")
    monkeypatch.setenv("ATELIER_MODEL", "/models/sd15")
    Settings().check_production()


def test_unknown_env_is_refused(monkeypatch):
    monkeypatch.setenv("ATELIER_ENV", "staging")
    with pytest.raises(ValueError):
        Settings()


@pytest.mark.parametrize("headers,expected", [(None, 1), ({}, 1), ({"x-atelier-attempts": 3}, 3),
                                               ({"x-atelier-attempts": "2"}, 2), ({"x-atelier-attempts": "x"}, 1),
                                               ({"x-atelier-attempts": 0}, 1)])
def test_attempt_header_parsing(headers, expected):
    assert attempts_of(headers) == expected


def test_cpu_threads_leave_the_platform_a_core():
    from atelier_inference.pipeline import cpu_threads_for

    assert cpu_threads_for(None, 2) == 1
    assert cpu_threads_for(None, 1) == 1
    assert cpu_threads_for(None, 16) == 15
    assert cpu_threads_for(4, 2) == 4
