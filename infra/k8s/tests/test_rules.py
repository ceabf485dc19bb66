"""The platform's own rules for its manifests, on each rendered overlay: every process of the
Procfile runs, hardened, with resources and probes on the ports it really serves; only the
gateway is reachable from outside; the monitors find their pods; the worker outlives its jobs."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import yaml
from atelier_devkit.platform import DEFAULT_PORTS
from atelier_kit.guard import has_development_marker

from atelier_kit.assignments import parse_assignments
from atelier_messaging.topology import jobs_queue
from atelier_messaging.topology import worker_pools as pools_setting

from manifests import ROOT, K8S, Workload, one, selector_labels, selects, workloads

PROCFILE = ROOT / "infra" / "local" / "Procfile"
IMAGES = ROOT / "infra" / "images"
# The images infra/images pins (locks/<image>.txt), and the worker's CUDA variant, which
# installs the inference lock with PyPI's CUDA torch wheels (infra/images/README.md).
IMAGE_NAMES = {path.stem for path in (IMAGES / "locks").glob("*.txt")} | {"inference-cuda"}
API_PORTS = {"atelier-gateway": "GATEWAY_PORT", "atelier-auth": "AUTH_PORT", "atelier-payments": "PAYMENTS_PORT",
             "atelier-pre-inference": "PRE_INFERENCE_PORT"}
METRICS_PORTS = {"atelier-auth-relay": "AUTH_RELAY_METRICS_PORT", "atelier-auth-consumer": "AUTH_CONSUMER_METRICS_PORT",
                 "atelier-payments-relay": "PAYMENTS_RELAY_METRICS_PORT",
                 "atelier-payments-consumer": "PAYMENTS_CONSUMER_METRICS_PORT",
                 "atelier-payments-worker": "PAYMENTS_WORKER_METRICS_PORT",
                 "atelier-pre-inference-relay": "PRE_INFERENCE_RELAY_METRICS_PORT",
                 "atelier-pre-inference-consumer": "PRE_INFERENCE_CONSUMER_METRICS_PORT",
                 "atelier-inference": "INFERENCE_METRICS_PORT"}
MONITORING_NAMESPACE = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}


def by_name(docs: list[dict]) -> dict[str, Workload]:
    return {w.name: w for w in workloads(docs)}


def http_deployments(docs):
    return [w for w in workloads(docs) if w.kind == "Deployment" and "http" in w.port_names()]


def container_port(workload: Workload, name: str) -> int:
    [port] = [p["containerPort"] for c in workload.containers for p in c.get("ports", []) if p.get("name") == name]
    return port


def worker_pools(docs: list[dict]) -> dict[str, Workload]:
    """pool -> its worker Deployment (the pool "default" is the Procfile's `inference`)."""
    return {w.labels["atelier.dev/pool"]: w for w in workloads(docs)
            if w.kind == "Deployment" and w.labels.get("app.kubernetes.io/component") == "gpu-worker"}


def pod_env(docs: list[dict], workload: Workload) -> dict[str, str]:
    """The container's environment from its ConfigMaps, later ones winning, then `env`."""
    [container] = workload.containers
    env = {}
    for ref in container.get("envFrom", []):
        if "configMapRef" in ref:
            env |= one(docs, "ConfigMap", ref["configMapRef"]["name"])["data"]
    return env | {e["name"]: e.get("value") for e in container.get("env", [])}


def test_every_procfile_process_has_its_deployment(overlay):
    _, docs = overlay
    processes = [line.split(":", 1)[0] for line in PROCFILE.read_text().splitlines()
                 if line and not line.startswith("#")]
    deployments = {w.name for w in workloads(docs) if w.kind == "Deployment"}
    more_pools = {w.name for pool, w in worker_pools(docs).items() if pool != "default"}
    assert more_pools and deployments == {f"atelier-{process}" for process in processes} | more_pools


def test_each_worker_pool_consumes_and_scales_on_its_own_queue(overlay):
    _, docs = overlay
    pools = worker_pools(docs)
    assert pools["default"].name == "atelier-inference" and len(pools) >= 2
    names = {}
    for pool, worker in pools.items():
        env = pod_env(docs, worker)
        assert env["ATELIER_POOL"] == pool, worker.name
        [scaled] = [d for d in docs if d["kind"] == "ScaledObject" and d["spec"]["scaleTargetRef"]["name"] == worker.name]
        [trigger] = scaled["spec"]["triggers"]
        assert trigger["metadata"]["queueName"] == jobs_queue(pool), worker.name
        assert scaled["spec"]["minReplicaCount"] == 0
        # A replica per batch of waiting jobs: the trigger follows the pool's own batch size.
        assert trigger["metadata"]["value"] == env["ATELIER_MAX_BATCH"], worker.name
        names[env.get("ATELIER_MODEL_NAME", "default")] = pool
    # Only the pool "default" serves the model of jobs that name none.
    assert names["default"] == "default" and list(names.values()).count("default") == 1
    # The dead-letter tools know every pool's queue (they cannot discover queues).
    platform = one(docs, "ConfigMap", "atelier-platform")["data"]
    assert set(pools_setting({"ATELIER_WORKER_POOLS": platform["ATELIER_WORKER_POOLS"]})) == set(pools) - {"default"}
    # pre_inference sends the pools' models to them while they are at zero replicas.
    pre_inference = pod_env(docs, by_name(docs)["atelier-pre-inference"])
    routed = parse_assignments(pre_inference["PRE_INFERENCE_MODEL_POOLS"], "PRE_INFERENCE_MODEL_POOLS")
    assert routed == {model: pool for model, pool in names.items() if pool != "default"}


def test_worker_pools_differ_only_in_what_makes_a_pool(overlay):
    """The Deployments are copies (kubectl 1.20's kustomize has no templating): keep them so."""
    _, docs = overlay
    pools = worker_pools(docs)
    default = pools.pop("default")

    def shape(worker: Workload) -> dict:
        pod = {k: v for k, v in worker.pod.items() if k != "affinity"}
        [container] = pod.pop("containers")
        container = {k: v for k, v in container.items() if k not in ("resources", "envFrom")}
        return {"pod": pod, "container": container, "strategy": worker.doc["spec"]["strategy"]}

    for pool, worker in pools.items():
        assert shape(worker) == shape(default), pool
        [container] = worker.containers
        assert container["envFrom"][0] == {"configMapRef": {"name": "atelier-inference"}}
        assert container["envFrom"][-1] == {"secretRef": {"name": "atelier-inference"}}


def test_ports_are_the_platforms_port_plan(overlay):
    _, docs = overlay
    deployments = by_name(docs)
    for name, variable in API_PORTS.items():
        port = container_port(deployments[name], "http")
        assert port == DEFAULT_PORTS[variable], name
        # The server binds that port on every address (the Procfile binds loopback).
        command = " ".join(deployments[name].containers[0]["command"])
        assert re.search(rf"(--port {port}\b|-b 0\.0\.0\.0:{port}\b)", command) and "127.0.0.1" not in command, name
    for name, variable in METRICS_PORTS.items():
        workload = deployments[name]
        assert container_port(workload, "metrics") == DEFAULT_PORTS[variable], name
        # ... and the process serves /metrics there, on the pod's address (not loopback).
        container = workload.containers[0]
        env = {name: value for ref in container.get("envFrom", []) if "configMapRef" in ref
               for name, value in one(docs, "ConfigMap", ref["configMapRef"]["name"])["data"].items()}
        env |= {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env["ATELIER_METRICS_PORT"] == str(DEFAULT_PORTS[variable]), name
        assert env["ATELIER_METRICS_HOST"] == "0.0.0.0", name


def test_every_pod_is_hardened_and_sized(overlay):
    _, docs = overlay
    for workload in workloads(docs):
        pod = workload.pod
        tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in workload.containers:
            where = f"{workload.name}/{container['name']}"
            security = container["securityContext"]
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: /tmp must be a writable emptyDir"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"], where


def test_http_services_probe_healthz_and_readyz_and_drain(overlay):
    _, docs = overlay
    apis = http_deployments(docs)
    assert {w.name for w in apis} == set(API_PORTS)
    for workload in apis:
        [container] = workload.containers
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", workload.name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", workload.name
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] == "http", workload.name
        # The endpoint is removed everywhere before the server starts draining, and the grace
        # period covers both.
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        assert int(pre_stop[1]) + 30 <= workload.pod["terminationGracePeriodSeconds"] <= 90, workload.name


def test_every_image_is_one_infra_images_builds(overlay):
    _, docs = overlay
    for workload in workloads(docs):
        for container in workload.containers:
            match = re.fullmatch(r"atelier/([a-z0-9-]+):([\w.-]+)", container["image"])
            assert match and match[1] in IMAGE_NAMES, f"{workload.name}: {container['image']}"


def test_only_the_gateway_has_an_ingress(overlay):
    _, docs = overlay
    [ingress] = [d for d in docs if d["kind"] == "Ingress"]
    backends = {path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert backends == {"atelier-gateway"}
    assert all(d["spec"]["type"] == "ClusterIP" for d in docs if d["kind"] == "Service")


def test_each_service_reaches_one_deployments_named_port(overlay):
    _, docs = overlay
    for service in (d for d in docs if d["kind"] == "Service"):
        targets = [w for w in workloads(docs) if w.kind == "Deployment" and selects(service["spec"]["selector"], w.labels)]
        assert [w.name for w in targets] == [service["metadata"]["name"]]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in targets[0].port_names()


def test_apis_have_a_disruption_budget_and_a_cpu_autoscaler(overlay):
    _, docs = overlay
    for workload in http_deployments(docs):
        assert "replicas" not in workload.doc["spec"], f"{workload.name}: the HPA owns replicas"
        budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"
                   and selects(selector_labels(d["spec"]["selector"]), workload.labels)]
        assert len(budgets) == 1, workload.name
        [hpa] = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"
                 and d["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload.name}]
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_celery_beat_runs_exactly_once(overlay):
    _, docs = overlay
    beats = [w for w in workloads(docs) if w.name.endswith("-beat")]
    assert {w.name for w in beats} == {"atelier-auth-beat", "atelier-payments-beat"}
    for beat in beats:
        assert beat.doc["spec"]["replicas"] == 1 and beat.doc["spec"]["strategy"] == {"type": "Recreate"}
        assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler" and d["spec"]["scaleTargetRef"]["name"] == beat.name]


def test_the_gpu_worker_outlives_its_longest_job(overlay):
    name, docs = overlay
    worker = by_name(docs)["atelier-inference"]
    config = one(docs, "ConfigMap", "atelier-inference")["data"]
    assert worker.pod["terminationGracePeriodSeconds"] > float(config["ATELIER_JOB_TIME_LIMIT_S"])
    scaled = one(docs, "ScaledObject", "atelier-inference")["spec"]
    assert scaled["minReplicaCount"] == 0 and scaled["triggers"][0]["metadata"]["queueName"] == "inference.jobs"
    if name == "prod":
        [container] = worker.containers
        assert container["image"].startswith("atelier/inference-cuda:")
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in worker.pod["tolerations"]


def words(command: list[str]) -> list[str]:
    """A command without the interpreter, `-m`, flags and their numbers: what it does."""
    return [w for w in command if w not in ("python", "-m") and not w.startswith("-") and not w.isdigit()]


def test_migrations_run_as_jobs_with_migrate_sh_commands(overlay):
    _, docs = overlay
    # (cd services/<service> && ../../.venv/bin/<program> <arguments>) in infra/local/migrate.sh
    expected = {service: words([Path(program).name, *arguments.split()]) for service, program, arguments in
                re.findall(r"cd services/(\w+) && (\S+) ([^)]*)\)", (ROOT / "infra" / "local" / "migrate.sh").read_text())}
    assert set(expected) == {"auth", "payments", "pre_inference"}
    jobs = [w for w in workloads(docs) if w.kind == "Job"]
    assert {w.name for w in jobs} == {"atelier-auth-migrate", "atelier-payments-migrate", "atelier-pre-inference-migrate"}
    for job in jobs:
        [container] = job.containers
        service = container["workingDir"].rsplit("/services/", 1)[1]
        assert words(container["command"]) == expected.pop(service), job.name
        assert job.doc["spec"]["backoffLimit"] >= 1 and job.doc["spec"]["ttlSecondsAfterFinished"] > 0
        assert job.pod["restartPolicy"] == "Never"
    assert not expected


def test_each_monitor_selects_a_rendered_pod_with_its_port(overlay):
    _, docs = overlay
    monitors = [doc for path in sorted((ROOT / "infra" / "monitoring" / "k8s").glob("*monitors.yaml"))
                for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert monitors
    pods = [w for w in workloads(docs) if w.kind == "Deployment"]
    for monitor in monitors:
        match = selector_labels(monitor["spec"]["selector"])
        if monitor["kind"] == "PodMonitor":
            [port] = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
            found = [w for w in pods if selects(match, w.labels) and port in w.port_names()]
        else:
            [port] = {e["port"] for e in monitor["spec"]["endpoints"]}
            services = [d for d in docs if d["kind"] == "Service" and selects(match, d["metadata"]["labels"])
                        and port in {p["name"] for p in d["spec"]["ports"]}]
            found = [w for s in services for w in pods if selects(s["spec"]["selector"], w.labels)]
        assert found, f"{monitor['kind']} {monitor['metadata']['name']} selects no rendered pod"


def test_only_the_gateway_is_reachable_from_outside(overlay):
    _, docs = overlay
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    pods = workloads(docs)
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert deny and deny[0]["spec"]["policyTypes"] == ["Ingress"], "a default deny of all ingress"
    for policy in policies:
        selected = [w.name for w in pods if selects(policy["spec"]["podSelector"].get("matchLabels", {}), w.labels)]
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            if not peers or any("ipBlock" in peer for peer in peers):
                assert selected == ["atelier-gateway"], f"{policy['metadata']['name']} opens {selected} to everyone"
                continue
            for peer in peers:
                # Pods of this namespace, or the monitoring namespace: nothing else.
                assert ("podSelector" in peer and "namespaceSelector" not in peer) or peer == {
                    "namespaceSelector": MONITORING_NAMESPACE}, policy["metadata"]["name"]


def test_each_api_admits_the_gateway_and_the_monitoring_namespace(overlay):
    _, docs = overlay
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    for workload in http_deployments(docs):
        if workload.name == "atelier-gateway":
            continue
        peers = [peer for p in policies if selects(p["spec"]["podSelector"].get("matchLabels", {}), workload.labels)
                 for rule in p["spec"].get("ingress", []) for peer in rule.get("from", [])]
        assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "atelier-gateway"}}} in peers, workload.name
        assert {"namespaceSelector": MONITORING_NAMESPACE} in peers, workload.name


def test_secrets_stay_out_of_git_except_obvious_development_ones(rendered):
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert not [r for r in base["resources"] if "secret" in Path(r).name]
    assert not [d for d in rendered["prod"] if d["kind"] == "Secret"], "production Secrets are created out of band"
    dev = rendered["dev"]
    for config in ("atelier-platform", "atelier-inference"):
        assert one(dev, "ConfigMap", config)["data"]["ATELIER_ENV"] == "development"
    for secret in (d for d in dev if d["kind"] == "Secret"):
        for key, encoded in secret["data"].items():
            value = base64.b64decode(encoded).decode()
            # A development value, an address without credentials, or a bucket name.
            harmless = has_development_marker(value) or ("://" in value and "@" not in value) or key.endswith("_BUCKET")
            assert harmless, f"{secret['metadata']['name']} {key} does not look like a development value"


def test_every_referenced_secret_has_an_example(overlay):
    _, docs = overlay
    examples = {doc["metadata"]["name"]: doc for path in (K8S / "base").glob("*/secret.example.yaml")
                for doc in yaml.safe_load_all(path.read_text()) if doc}
    referenced = set()
    for workload in workloads(docs):
        referenced |= {v["secret"]["secretName"] for v in workload.pod.get("volumes", []) if "secret" in v}
        for container in workload.containers:
            referenced |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
    for auth in (d for d in docs if d["kind"] == "TriggerAuthentication"):
        referenced |= {ref["name"] for ref in auth["spec"]["secretTargetRef"]}
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in examples[ref["name"]]["stringData"]
    assert referenced and referenced <= set(examples)
