"""Each overlay rendered once per run (kubectl kustomize takes a second or so)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # manifests, beside this file

import manifests  # noqa: E402


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Overlay name -> its objects; "base" too, which must render on its own."""
    return {name: manifests.render(manifests.K8S / "overlays" / name) for name in manifests.OVERLAYS} | {
        "base": manifests.render(manifests.K8S / "base")}


@pytest.fixture(scope="session", params=manifests.OVERLAYS)
def overlay(request, rendered) -> tuple[str, list[dict]]:
    return request.param, rendered[request.param]
