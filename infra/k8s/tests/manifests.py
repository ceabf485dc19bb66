"""Renders infra/k8s with kustomize and reads what it rendered: the objects, their pod
templates and containers, and label selection as Kubernetes does it. Offline: `kubectl
kustomize` and the KEDA validator (validate/, npm) read only this checkout."""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

K8S = Path(__file__).resolve().parents[1]
ROOT = K8S.parents[1]
OVERLAYS = ("dev", "prod")
KEDA_API = "keda.sh/v1alpha1"
KEDA_VALIDATOR = K8S / "validate" / "validate_keda.mjs"
POD_OWNERS = {"Deployment", "Job"}


def render(directory: Path) -> list[dict]:
    """`kubectl kustomize` of one kustomization (kubectl 1.20's embedded kustomize v2.0.3 on
    Debian 12, or any newer one)."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: `make system` installs Debian's kubernetes-client"
    done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def validate_keda(objects: list[dict]) -> list[dict]:
    """KEDA's CRD schema, through @kubernetes-models/keda: one result per object."""
    node = shutil.which("node")
    assert node, "node is missing: `make system` installs Node.js"
    assert (KEDA_VALIDATOR.parent / "node_modules").is_dir(), \
        "infra/k8s/validate/node_modules is missing: `make test-unit` installs it (npm ci)"
    done = subprocess.run([node, str(KEDA_VALIDATOR)], input=json.dumps(objects), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode in (0, 1), f"the KEDA validator failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Workload:
    """A Deployment or Job with what the checks read from its pod template."""
    kind: str
    name: str
    doc: dict

    @property
    def pod(self) -> dict:
        return self.doc["spec"]["template"]["spec"]

    @property
    def labels(self) -> dict:
        return self.doc["spec"]["template"]["metadata"]["labels"]

    @property
    def containers(self) -> list[dict]:
        return self.pod["containers"]

    def port_names(self) -> set[str]:
        return {port["name"] for c in self.containers for port in c.get("ports", []) if "name" in port}


def workloads(docs: list[dict]) -> list[Workload]:
    return [Workload(d["kind"], d["metadata"]["name"], d) for d in docs if d["kind"] in POD_OWNERS]


def one(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def selects(match_labels: dict, labels: dict) -> bool:
    """A matchLabels selector (the only kind these manifests use) against an object's labels."""
    return all(labels.get(key) == value for key, value in match_labels.items())


def selector_labels(selector: dict) -> dict:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are checked here: {selector}"
    return selector.get("matchLabels", {})
