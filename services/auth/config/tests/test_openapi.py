"""The OpenAPI document lists exactly the public routes and the methods they answer."""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from config.openapi import document

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def public_routes() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}

    def walk(patterns, prefix=""):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and route.startswith("api/auth/"):
                view = entry.callback.view_class
                path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
                found[path] = {m for m in HTTP_METHODS if hasattr(view, m)}

    walk(get_resolver().url_patterns)
    return found


def test_every_public_route_and_method_is_documented():
    documented = {path: {m for m in item if m in HTTP_METHODS} for path, item in document()["paths"].items()}
    assert documented == public_routes()


def test_internal_routes_are_not_in_the_public_document():
    assert not any(path.startswith("/internal") for path in document()["paths"])


@pytest.mark.integration
@pytest.mark.django_db
def test_the_document_is_served(api_client):
    response = api_client.get("/api/auth/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")
