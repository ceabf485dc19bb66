"""Scopes on every API view, failing closed.

``DEFAULT_PERMISSION_CLASSES = ["atelier_django.permissions.ScopeNotDeclared"]`` refuses
every view that does not name what it needs; a view declares it with
``permission_classes = (scope_required("billing:read"),)``, ``(scope_required(ACCOUNT),)``
or ``(Public,)``. The rule itself is ``atelier_identity.scopes.permits``.
"""
from __future__ import annotations

import logging

from atelier_identity.scopes import ACCOUNT, InsufficientScope as ScopeRefused, permits
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from .exceptions import InsufficientScope

logger = logging.getLogger(__name__)

__all__ = ["ACCOUNT", "Public", "ScopeNotDeclared", "ScopePermission", "scope_required", "declared_scope"]


def identity_of(request):
    """The token identity behind ``request.user``: an ``Identity`` (api_key_id, scopes)."""
    user = request.user
    return getattr(user, "identity", user)


class ScopePermission(BasePermission):
    """Base of every permission that declares a scope; ``scope`` None means public."""

    scope: str | None = None

    def has_permission(self, request, view) -> bool:
        if self.scope is None:
            return True
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        identity = identity_of(request)
        # Fail closed: a user that carries no scope information is never taken for a session.
        if hasattr(identity, "api_key_id") and hasattr(identity, "scopes") and permits(identity, self.scope):
            return True
        raise InsufficientScope(str(ScopeRefused(self.scope)))


class Public(ScopePermission):
    """Anyone, without a token (the plan catalogue, webhooks that sign their body)."""

    scope = None


class _SessionProbe:
    api_key_id = None
    scopes: tuple[str, ...] = ()


_SESSION_PROBE = _SessionProbe()
_CACHE: dict[str, type[ScopePermission]] = {}


def scope_required(scope: str) -> type[ScopePermission]:
    """The permission class for ``scope`` (a name from atelier_identity.scopes, or ACCOUNT)."""
    permits(_SESSION_PROBE, scope)  # an unknown scope is a ValueError at import, not a hole at run time
    if scope not in _CACHE:
        name = "Requires_" + scope.replace(":", "_")
        _CACHE[scope] = type(name, (ScopePermission,), {"scope": scope, "__doc__": f"needs the {scope!r} scope"})
    return _CACHE[scope]


class ScopeNotDeclared(BasePermission):
    """The default: a view that names no scope is refused, so a forgotten declaration is a
    403 in the first test rather than an open door."""

    def has_permission(self, request, view) -> bool:
        logger.error("view %s declares no scope; refusing", type(view).__name__)
        raise exceptions.PermissionDenied("this route declares no scope")


def declared_scope(view) -> tuple[bool, str | None]:
    """(declared, scope) of a view class, or of a URL pattern's callback (whose ``as_view``
    keyword arguments may set the permission classes): each must be a ScopePermission."""
    initkwargs = getattr(view, "view_initkwargs", None) or {}
    view_class = getattr(view, "view_class", view)
    classes = list(initkwargs.get("permission_classes", getattr(view_class, "permission_classes", ())))
    scoped = [klass for klass in classes if isinstance(klass, type) and issubclass(klass, ScopePermission)]
    if not classes or len(scoped) != len(classes):
        return False, None
    return True, scoped[0].scope


def api_routes(resolver=None, prefix: str = ""):
    """(route, callback) of every DRF view the URLconf serves, the admin left out: what
    ``undeclared_api_routes`` checks."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.views import APIView

    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith("admin/"):
                yield from api_routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield route, pattern.callback


def undeclared_api_routes(resolver=None) -> list[str]:
    """Routes whose view names no scope: each service's tests assert there are none."""
    return [route for route, callback in api_routes(resolver) if not declared_scope(callback)[0]]
