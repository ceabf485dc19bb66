"""Every rendered object against its schema, offline: the Kubernetes OpenAPI schemas of the
oldest cluster version the manifests target and of the newest the validator knows (strict:
an unknown or misspelt field fails), and KEDA's CRD schema for ScaledObject and
TriggerAuthentication. The last two tests prove the validators refuse a broken object."""
from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from manifests import KEDA_API, validate_keda

# policy/v1 PDBs, autoscaling/v2 HPAs, the namespace name label the NetworkPolicies match
# (kubernetes.io/metadata.name) and KEDA >= 2.10 all hold from here on.
OLDEST_KUBERNETES = "1.30"
KUBERNETES_VERSIONS = (OLDEST_KUBERNETES, kubernetes_validate.latest_version())


def schema_problems(docs: list[dict], version: str) -> list[str]:
    problems = []
    for doc in docs:
        if doc["apiVersion"] == KEDA_API:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{doc['kind']} {doc['metadata']['name']}: {'.'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{doc['kind']} {doc['metadata']['name']}: {error.message}")
    return problems


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", ["base", "dev", "prod"])
def test_every_object_matches_the_kubernetes_openapi_schema_strictly(rendered, name, version):
    assert schema_problems(rendered[name], version) == []


@pytest.mark.parametrize("name", ["base", "dev", "prod"])
def test_keda_objects_match_kedas_crd_schema(rendered, name):
    keda = [doc for doc in rendered[name] if doc["apiVersion"] == KEDA_API]
    assert {doc["kind"] for doc in keda} == {"ScaledObject", "TriggerAuthentication"}
    results = validate_keda(keda)
    assert [(r["kind"], r["name"]) for r in results] == [(d["kind"], d["metadata"]["name"]) for d in keda]
    assert [r for r in results if r["error"]] == []


def test_the_kubernetes_validator_refuses_an_unknown_field(rendered):
    deployment = copy.deepcopy(next(d for d in rendered["prod"] if d["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    [problem] = schema_problems([deployment], OLDEST_KUBERNETES)
    assert "readinesProbe" in problem


def test_the_keda_validator_refuses_a_broken_scaled_object(rendered):
    scaled = copy.deepcopy(next(d for d in rendered["prod"] if d["kind"] == "ScaledObject"))
    scaled["spec"]["minReplicaCount"] = "zero"
    del scaled["spec"]["scaleTargetRef"]
    [result] = validate_keda([scaled])
    assert "scaleTargetRef" in result["error"] or "minReplicaCount" in result["error"]
