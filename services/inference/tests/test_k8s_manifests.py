"""infra/k8s: the worker Deployment and its KEDA autoscaling, checked against the code's own settings."""
from pathlib import Path

import pytest
import yaml

from atelier_inference.config import Settings
from atelier_messaging.topology import JOBS_QUEUE

K8S = Path(__file__).resolve().parents[3] / "infra" / "k8s" / "base" / "inference"


def documents():
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def one(kind, name="atelier-inference"):
    found = [d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def config():
    return one("ConfigMap")["data"]


@pytest.fixture(scope="module")
def container():
    containers = one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_every_manifest_parses_and_is_labelled():
    docs = documents()
    assert {d["kind"] for d in docs} >= {"Deployment", "ConfigMap", "Secret", "ScaledObject", "TriggerAuthentication"}
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "atelier"


def test_scaled_object_scales_the_worker_from_zero_on_the_jobs_queue():
    scaled = one("ScaledObject")["spec"]
    assert scaled["minReplicaCount"] == 0 and scaled["maxReplicaCount"] >= 1
    assert scaled["scaleTargetRef"]["name"] == one("Deployment")["metadata"]["name"]
    trigger, = scaled["triggers"]
    assert trigger["type"] == "rabbitmq" and trigger["metadata"]["queueName"] == JOBS_QUEUE
    auth = one("TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]["secretTargetRef"]
    host, = [ref for ref in auth if ref["parameter"] == "host"]
    assert host["key"] == "ATELIER_AMQP_URL" and host["key"] in one("Secret")["stringData"]


def test_deployment_runs_the_worker_entry_point_on_a_gpu(container):
    assert container["command"] == ["python", "-m", "atelier_inference"]
    assert container["workingDir"].endswith("services/inference")
    assert int(container["resources"]["limits"]["nvidia.com/gpu"]) >= 1
    sources = {(kind, ref["name"]) for source in container["envFrom"] for kind, ref in source.items()}
    assert sources == {("configMapRef", one("ConfigMap")["metadata"]["name"]), ("secretRef", one("Secret")["metadata"]["name"])}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["exec"]["command"][:3] == ["python", "-m", "atelier_inference.probe"]


def test_grace_period_outlasts_the_job_time_limit(config):
    spec = one("Deployment")["spec"]["template"]["spec"]
    limit = float(config["ATELIER_JOB_TIME_LIMIT_S"])
    assert spec["terminationGracePeriodSeconds"] > limit
    assert one("ScaledObject")["spec"]["cooldownPeriod"] > limit


def test_config_is_valid_for_the_worker_and_secrets_stay_out_of_it(config, monkeypatch):
    for name in ("ATELIER_AMQP_URL", "ATELIER_S3_SECRET_ACCESS_KEY", "ATELIER_S3_ACCESS_KEY_ID"):
        assert name not in config
    for name, value in {**config, "ATELIER_AMQP_URL": "amqp://inference:pw@mq/atelier",
                        "ATELIER_S3_BUCKET": "b", "ATELIER_S3_SECRET_ACCESS_KEY": "s"}.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    settings.check_production()
    assert settings.env == "production" and settings.storage_backend == "s3" and settings.heartbeat_file


def test_rabbitmq_consumer_timeout_covers_a_full_prefetch_of_jobs(config):
    conf = (K8S.parents[2] / "rabbitmq" / "rabbitmq.conf").read_text()
    timeout_ms, = [int(line.split("=")[1]) for line in conf.splitlines() if line.startswith("consumer_timeout")]
    assert timeout_ms > int(config["ATELIER_MAX_BATCH"]) * float(config["ATELIER_JOB_TIME_LIMIT_S"]) * 1000
    assert timeout_ms > Settings().max_batch * Settings().job_time_limit_s * 1000  # the defaults too
