"""One OpenAPI document for the whole public API, merged from each service's own.

Component names are prefixed with the service's name (auth_User, payments_User) and every
$ref and security requirement is rewritten to match, so two services may both define `Error`.
A service whose document is missing (404) or unreachable is left out and named under
`x-atelier-missing`; the rest is still shown.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

logger = logging.getLogger("gateway.openapi")

# service -> (base URL attribute of Settings, public path of its document)
SOURCES = (
    ("auth", "auth_url", "/api/auth/openapi.json"),
    ("payments", "payments_url", "/api/payments/openapi.json"),
    ("pre_inference", "pre_inference_url", "/api/v1/openapi.json"),
)
_REF = "#/components/"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _rename_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
                kind, _, name = value[len(_REF):].partition("/")
                out[key] = f"{_REF}{kind}/{service}_{name}"
            else:
                out[key] = _rename_refs(value, service)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, service) for item in node]
    return node


def _rename_security(requirements: Any, service: str) -> Any:
    if not isinstance(requirements, list):
        return requirements
    return [{f"{service}_{name}": scopes for name, scopes in req.items()} if isinstance(req, dict) else req
            for req in requirements]


def merge(documents: dict[str, dict], missing: list[str]) -> dict:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Atelier API", "version": "1",
                 "description": "Every public route, as the services describe themselves, served through the gateway."},
        "paths": {}, "components": {}, "tags": [],
    }
    tag_names: set[str] = set()
    for service, document in documents.items():
        document = _rename_refs(document, service)
        default_security = _rename_security(document.get("security"), service)
        for path, item in (document.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            target = merged["paths"].setdefault(path, {})
            for method, operation in item.items():
                if method in _METHODS and isinstance(operation, dict):
                    operation = dict(operation)
                    if "security" in operation:
                        operation["security"] = _rename_security(operation["security"], service)
                    elif default_security is not None:
                        operation["security"] = default_security
                    operation["tags"] = operation.get("tags") or [service]
                    if "operationId" in operation:
                        operation["operationId"] = f"{service}_{operation['operationId']}"
                    target[method] = operation
                else:
                    target.setdefault(method, operation)  # path-level parameters, summary
            for operation in target.values():
                if isinstance(operation, dict):
                    for tag in operation.get("tags") or []:
                        if isinstance(tag, str) and tag not in tag_names:
                            tag_names.add(tag)
                            merged["tags"].append({"name": tag, "x-service": service})
        for kind, entries in (document.get("components") or {}).items():
            if isinstance(entries, dict):
                bucket = merged["components"].setdefault(kind, {})
                for name, value in entries.items():
                    bucket[f"{service}_{name}"] = value
    if missing:
        merged["x-atelier-missing"] = missing
    return merged


def own_document(routes) -> dict:
    """The routes the gateway answers itself and describes (the facades; everything else of its
    own has include_in_schema=False), with the credentials they take."""
    from fastapi.openapi.utils import get_openapi

    document = get_openapi(title="Atelier gateway", version="1", routes=routes)
    document.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "an API key (atl_live_...) or a session token"},
        "basic": {"type": "http", "scheme": "basic", "description": "AUTOMATIC1111 clients: any user name, the API key as password"},
    }
    document["security"] = [{"bearer": []}, {"basic": []}]
    return document


class AggregatedDocument:
    """Fetches and merges the services' documents; keeps the result for a short while."""

    def __init__(self, settings, cache_s: float, own: dict | None = None):
        self.settings = settings
        self.cache_s = cache_s
        self.own = own  # the gateway's own routes (the compatible front doors), merged as "gateway"
        self._cached: tuple[float, dict] | None = None
        self._lock = asyncio.Lock()

    async def get(self, client: httpx.AsyncClient) -> dict:
        if self._cached and time.monotonic() - self._cached[0] < self.cache_s:
            return self._cached[1]
        async with self._lock:  # one refresh at a time; the others wait for its result
            if self._cached and time.monotonic() - self._cached[0] < self.cache_s:
                return self._cached[1]
            results = await asyncio.gather(*(self._fetch(client, s, a, p) for s, a, p in SOURCES))
            documents = {service: doc for (service, _, _), doc in zip(SOURCES, results) if doc is not None}
            if self.own is not None:
                documents["gateway"] = self.own
            missing = [service for (service, _, _), doc in zip(SOURCES, results) if doc is None]
            merged = merge(documents, missing)
            self._cached = (time.monotonic(), merged)
            return merged

    async def _fetch(self, client: httpx.AsyncClient, service: str, attribute: str, path: str) -> dict | None:
        url = getattr(self.settings, attribute).rstrip("/") + path
        try:
            response = await client.get(url, timeout=3.0, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            logger.warning("OpenAPI document of %s unavailable: %r", service, exc)
            return None
        if response.status_code != 200:
            if response.status_code != 404:
                logger.warning("OpenAPI document of %s answered %s", service, response.status_code)
            return None
        try:
            document = response.json()
        except ValueError:
            logger.warning("OpenAPI document of %s is not JSON", service)
            return None
        return document if isinstance(document, dict) else None
