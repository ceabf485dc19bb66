"""Unit: scope permissions on top of atelier_identity.scopes."""
from dataclasses import dataclass

import pytest
from rest_framework import exceptions

from atelier_django.exceptions import InsufficientScope
from atelier_django.permissions import ACCOUNT, Public, ScopeNotDeclared, declared_scope, scope_required


@dataclass
class Identity:
    api_key_id: str | None
    scopes: tuple[str, ...] = ()
    is_authenticated: bool = True


class Request:
    def __init__(self, user):
        self.user = user


def allowed(scope, identity):
    return scope_required(scope)().has_permission(Request(identity), None)


def test_a_session_may_do_everything():
    assert allowed("billing:read", Identity(None)) and allowed(ACCOUNT, Identity(None))


def test_a_key_needs_the_scope_and_never_holds_account():
    key = Identity("k1", ("jobs:read", "billing:read"))
    assert allowed("billing:read", key)
    with pytest.raises(InsufficientScope):
        allowed("jobs:write", key)
    with pytest.raises(InsufficientScope):
        allowed(ACCOUNT, key)


def test_anonymous_is_not_authenticated_and_unknown_users_fail_closed():
    with pytest.raises(exceptions.NotAuthenticated):
        allowed("billing:read", None)

    class Plain:
        is_authenticated = True

    with pytest.raises(InsufficientScope):
        allowed("billing:read", Plain())


def test_unknown_scope_names_fail_at_declaration():
    with pytest.raises(ValueError):
        scope_required("billing:raed")


def test_declared_scope_reads_view_classes():
    class A:
        permission_classes = (scope_required("billing:read"),)

    class B:
        permission_classes = (Public,)

    class C:
        permission_classes = (ScopeNotDeclared,)

    assert declared_scope(A) == (True, "billing:read")
    assert declared_scope(B) == (True, None)
    assert declared_scope(C) == (False, None)
    assert scope_required("billing:read") is scope_required("billing:read")
