"""The OpenAPI 3.1 document of the public routes (the gateway aggregates it at /api/docs).

Written by hand, compactly: the views are plain APIViews, so a generator would guess.
A test checks that every public route and method is here and nothing else is.
"""
from __future__ import annotations

from typing import Any

from apikeys.models import SCOPES

_S = "#/components/schemas/"


def _ref(name: str) -> dict:
    return {"$ref": _S + name}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _obj(required: list[str], **props: Any) -> dict:
    schema: dict = {"type": "object", "additionalProperties": False, "properties": props}
    return {**schema, "required": required} if required else schema


def _ok(status: str, description: str, schema: dict | None = None) -> dict:
    answer: dict = {"description": description}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    return {status: answer, "4XX": {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}}


def _op(summary: str, responses: dict, body: dict | None = None, auth: bool = True) -> dict:
    op: dict = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = _body(body)
    op["security"] = [{"bearer": []}] if auth else []
    return op


STR = {"type": "string"}
EMAIL = {"type": "string", "format": "email", "maxLength": 254}
PASSWORD = {"type": "string", "maxLength": 128}
TOKEN = {"type": "string", "maxLength": 128}
KEY_ID = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}

COMPONENTS = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    "schemas": {
        "Error": _obj(["error"], error=_obj(["code", "message"], code=STR, message=STR,
                                           fields={"type": "object", "additionalProperties": {"type": "array", "items": STR}})),
        "TokenPair": _obj(["access"], access=STR, refresh={
            "type": "string", "description": "absent when it went into the HttpOnly atelier_refresh cookie (delivery: cookie)"}),
        "User": _obj(["id", "email", "tier"], id={"type": "string", "format": "uuid"}, email=EMAIL,
                     tier={"enum": ["free", "pro", "partner"]}),
        "Me": _obj(["id", "email", "tier", "verified", "date_joined"], id={"type": "string", "format": "uuid"},
                   email=EMAIL, tier={"enum": ["free", "pro", "partner"]}, verified={"type": "boolean"},
                   date_joined={"type": "string", "format": "date-time"}),
        "ApiKey": _obj(
            ["id", "name", "prefix", "scopes", "tier", "limits", "created_at", "last_used_at", "expires_at", "revoked_at"],
            id={"type": "string", "format": "uuid"}, name=STR, prefix=STR,
            scopes={"type": "array", "items": {"enum": list(SCOPES)}}, tier={"enum": ["free", "pro", "partner"]},
            limits={"type": ["object", "null"]}, created_at={"type": "string", "format": "date-time"},
            last_used_at={"type": ["string", "null"], "format": "date-time"},
            expires_at={"type": ["string", "null"], "format": "date-time"},
            revoked_at={"type": ["string", "null"], "format": "date-time"},
        ),
        "Jwks": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "object"}}}},
    },
}

# Where the refresh token goes: the body (API clients), or an HttpOnly cookie (browsers).
DELIVERY = {"enum": ["body", "cookie"], "description": "cookie: the refresh token is set as the HttpOnly, SameSite=Strict "
            "atelier_refresh cookie for /api/auth/ and left out of the body"}

ISSUED_KEY = {"allOf": [_ref("ApiKey"), {"type": "object", "required": ["secret"],
                                         "properties": {"secret": {"type": "string", "description": "shown once"}}}]}

PATHS = {
    "/api/auth/signup": {"post": _op("Create an account; sends the verification e-mail (an address with an account gets the same 201 and its owner a mail)",
                                     _ok("201", "created", _ref("User")), _obj(["email", "password"], email=EMAIL, password=PASSWORD), auth=False)},
    "/api/auth/verify": {"post": _op("Verify the e-mail address with the token from the e-mail",
                                     _ok("200", "verified", _ref("Me")), _obj(["token"], token=TOKEN), auth=False)},
    "/api/auth/verify/resend": {"post": _op("Send a new verification e-mail (rate limited)", _ok("202", "sent"))},
    "/api/auth/token": {"post": _op("Log in (429 rate_limited after repeated failures from one address)", _ok("200", "tokens", _ref("TokenPair")),
                                    _obj(["email", "password"], email=EMAIL, password=PASSWORD, delivery=DELIVERY), auth=False)},
    "/api/auth/token/refresh": {"post": _op("Rotate a refresh token (from the body, else from the atelier_refresh cookie); the new access token has current claims",
                                            _ok("200", "tokens", _ref("TokenPair")), _obj([], refresh=STR, delivery=DELIVERY), auth=False)},
    "/api/auth/logout": {"post": _op("End the session of this refresh token (from the body, else from the cookie, which is removed), its access tokens included",
                                     _ok("204", "revoked"), _obj([], refresh=STR), auth=False)},
    "/api/auth/me": {
        "get": _op("The caller's account", _ok("200", "account", _ref("Me"))),
        "delete": _op("Delete the account (publishes auth.user.deleted)", _ok("204", "deleted"), _obj(["password"], password=PASSWORD)),
    },
    "/api/auth/password/change": {"post": _op("Change the password; other sessions end",
                                              _ok("200", "a fresh token pair", _ref("TokenPair")),
                                              _obj(["old_password", "new_password"], old_password=PASSWORD, new_password=PASSWORD))},
    "/api/auth/password/reset": {"post": _op("Mail a password reset link (always 202)", _ok("202", "accepted"),
                                             _obj(["email"], email=EMAIL), auth=False)},
    "/api/auth/password/reset/confirm": {"post": _op("Set a new password with the token from the e-mail", _ok("200", "changed"),
                                                     _obj(["token", "new_password"], token=TOKEN, new_password=PASSWORD), auth=False)},
    "/api/auth/api-keys": {
        "get": _op("The caller's API keys", _ok("200", "keys", _obj(["items"], items={"type": "array", "items": _ref("ApiKey")}))),
        "post": _op("Create an API key (verified accounts); the secret is shown once", _ok("201", "created", ISSUED_KEY),
                    _obj(["name"], name={"type": "string", "maxLength": 100},
                         scopes={"type": "array", "items": {"enum": list(SCOPES)}, "minItems": 1},
                         expires_in_days={"type": ["integer", "null"], "minimum": 1, "maximum": 3650})),
    },
    "/api/auth/api-keys/{key_id}": {"parameters": [KEY_ID], "delete": _op("Revoke an API key", _ok("204", "revoked"))},
    "/api/auth/api-keys/{key_id}/rotate": {
        "parameters": [KEY_ID],
        "post": _op("Replace an API key's secret; the old one stops after grace_seconds", _ok("201", "created", ISSUED_KEY),
                    {**_obj([], grace_seconds={"type": "integer", "minimum": 0, "maximum": 604800})}),
    },
    "/api/auth/.well-known/jwks.json": {"get": _op("Public keys that verify access tokens", _ok("200", "JWKS", _ref("Jwks")), auth=False)},
    "/api/auth/openapi.json": {"get": _op("This document", _ok("200", "OpenAPI 3.1"), auth=False)},
}


def document() -> dict:
    return {"openapi": "3.1.0", "info": {"title": "Atelier auth", "version": "1.0.0"},
            "paths": PATHS, "components": COMPONENTS}

# Rotation takes an optional body.
PATHS["/api/auth/api-keys/{key_id}/rotate"]["post"]["requestBody"]["required"] = False
